"""``trubka worker``: drain the notification queue until stopped (SIGTERM/SIGINT finish the
event in hand first). Run any number of them on PostgreSQL; on SQLite run one.

Each runs two lanes: rings and the other notifications in one, recording downloads in the
other, so a download never delays a popup. It is woken as soon as a notification is stored in
another process, through Redis (``REDIS_URL``) or, without Redis, PostgreSQL ``LISTEN``;
``--idle`` is then only how often it looks anyway (events that come due after a backoff, or
a wake-up channel that is down)."""

from __future__ import annotations

import signal
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from trubka.connector.queue.worker import Worker, drain


class Command(BaseCommand):
    help = "Process UIS notifications from the queue."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--once", action="store_true", help="process what is due now, then exit"
        )
        parser.add_argument(
            "--idle",
            type=float,
            default=1.0,
            help="seconds between polls when idle and not woken (default 1)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["once"]:
            count = drain()
            self.stdout.write(f"Processed {count} events.")
            return
        worker = Worker(idle_seconds=options["idle"])

        def stop(signum: int, frame: object) -> None:
            self.stdout.write("Stopping after the current event…")
            worker.stop()

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        self.stdout.write("Worker started; waiting for notifications.")
        worker.run()
