"""Workers say they are alive, at most every few seconds."""

from __future__ import annotations

import contextlib
import os
import socket
import threading
import time

from django.db import DatabaseError
from django.utils import timezone

from trubka.ops.models import WorkerHeartbeat

BEAT_EVERY_SECONDS = 5.0


class Heartbeat:
    def __init__(self) -> None:
        self.name = f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"
        self.started_at = timezone.now()
        self._last = 0.0
        self.processed = 0

    def beat(self, processed: int = 0, *, force: bool = False) -> None:
        """Count ``processed`` events and, when it is time, record that this worker lives."""
        self.processed += processed
        now = time.monotonic()
        if not force and now - self._last < BEAT_EVERY_SECONDS:
            return
        self._last = now
        # The worker's own loop reports database trouble; a missed beat is not news.
        with contextlib.suppress(DatabaseError):
            WorkerHeartbeat.objects.update_or_create(
                name=self.name,
                defaults={
                    "started_at": self.started_at,
                    "seen_at": timezone.now(),
                    "processed": self.processed,
                },
            )

    def stop(self) -> None:
        with contextlib.suppress(DatabaseError):
            WorkerHeartbeat.objects.filter(name=self.name).delete()
