"""``trubka purge``: delete old notifications and live notices (the retention settings).

Run it daily (``trubka serve`` runs it every hour by itself); see README «Scaling out».
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser
from django.utils import timezone

from trubka.ops.retention import purge


def _when(moment: datetime) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M")


class Command(BaseCommand):
    help = (
        "Delete processed, ignored and rejected notifications older than "
        "TRUBKA_KEEP_EVENTS_DAYS and live notices older than TRUBKA_KEEP_NOTICES_HOURS. "
        "Pending and failed notifications, calls, tickets and recordings are kept."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--dry-run", action="store_true", help="count what would be deleted, delete nothing"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        report = purge(dry_run=options["dry_run"])
        verb = "Would delete" if report.dry_run else "Deleted"
        days, hours = settings.TRUBKA_KEEP_EVENTS_DAYS, settings.TRUBKA_KEEP_NOTICES_HOURS
        self.stdout.write(
            f"{verb} {report.events} processed, ignored or rejected notifications received "
            f"before {_when(report.events_before)} (older than {days} days)."
        )
        self.stdout.write(
            f"{verb} {report.notices} live notices created before "
            f"{_when(report.notices_before)} (older than {hours} hours)."
        )
        if report.failed_kept:
            self.stdout.write(
                f"Kept {report.failed_kept} failed notifications older than {days} days: "
                "retry or read them in the notification log."
            )
