"""Retention: old rows of the raw notification log and of the popup notices are deleted.

- ``CallEvent`` rows that are processed, ignored or rejected, received more than
  ``TRUBKA_KEEP_EVENTS_DAYS`` ago. Pending rows are never deleted (the worker still owes
  them), nor failed ones (they wait for a person to retry them from the notification log).
- ``AgentNotice`` rows created more than ``TRUBKA_KEEP_NOTICES_HOURS`` ago (a reconnecting
  browser is replayed two minutes at most).

Phone calls, tickets, recordings and clients are never touched: nothing references a
``CallEvent`` or an ``AgentNotice`` by foreign key. Rows go in batches of ``BATCH`` ids,
one short ``DELETE`` each, so no lock is held for long. The notifications are folded into
the ``/metrics`` counters first (``trubka.ops.tally``) and only folded rows are deleted, so
the counters do not go down.

``purge()`` is what ``trubka purge`` runs and what a worker may call; ``Purger`` runs it
every hour in a thread (``trubka serve`` starts one).
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connections, transaction
from django.db.models import F, QuerySet
from django.utils import timezone

from trubka.connector.models import CallEvent, EventStatus
from trubka.ops import tally
from trubka.ops.models import MetricsState, UnsettledEvent
from trubka.realtime.models import AgentNotice

logger = logging.getLogger(__name__)

BATCH = 5_000
PURGEABLE = tally.SETTLED  # processed, ignored, rejected
PURGE_EVERY = timedelta(hours=1)
RING_KIND = "ring"


@dataclass(frozen=True)
class PurgeReport:
    events_before: datetime
    notices_before: datetime
    events: int  # notifications deleted (or that would be, on a dry run)
    notices: int  # live notices deleted (or that would be)
    failed_kept: int  # failed notifications older than the limit, kept for a person
    dry_run: bool


def cutoffs(now: datetime) -> tuple[datetime, datetime]:
    return (
        now - timedelta(days=settings.TRUBKA_KEEP_EVENTS_DAYS),
        now - timedelta(hours=settings.TRUBKA_KEEP_NOTICES_HOURS),
    )


def purge(now: datetime | None = None, *, dry_run: bool = False, batch: int = BATCH) -> PurgeReport:
    """Delete what the retention settings no longer keep; with ``dry_run``, only count it."""
    now = now or timezone.now()
    events_before, notices_before = cutoffs(now)
    if dry_run:
        events = purgeable_events(events_before).count()
        notices = AgentNotice.objects.filter(created_at__lt=notices_before).count()
    else:
        tally.fold_all(now)
        events = _purge_events(events_before, batch)
        notices = _purge_notices(notices_before, batch)
    failed_kept = CallEvent.objects.filter(
        status=EventStatus.FAILED, received_at__lt=events_before
    ).count()
    return PurgeReport(events_before, notices_before, events, notices, failed_kept, dry_run)


def purgeable_events(before: datetime) -> QuerySet[CallEvent]:
    return CallEvent.objects.filter(received_at__lt=before, status__in=PURGEABLE)


def _purge_events(before: datetime, batch: int) -> int:
    mark = tally.state().events_folded_through
    # Folded rows only (at or below the mark, not a straggler still to be counted), oldest
    # first along the received_at index, which ends the last scan at the cutoff.
    candidates = (
        purgeable_events(before)
        .filter(id__lte=mark)
        .exclude(id__in=UnsettledEvent.objects.values("event_id"))
        .order_by("received_at")
        .values_list("id", flat=True)
    )
    deleted = 0
    while ids := list(candidates[:batch]):
        deleted += CallEvent.objects.filter(id__in=ids).delete()[0]
    return deleted


def _purge_notices(before: datetime, batch: int) -> int:
    old = AgentNotice.objects.filter(created_at__lt=before).order_by("id")
    deleted = last = 0
    while True:
        ids = list(old.filter(id__gt=last).values_list("id", flat=True)[:batch])
        if not ids:
            return deleted
        with transaction.atomic():
            tally.state()
            # The lock keeps two purges from both counting the same deleted rings.
            MetricsState.objects.select_for_update().get(pk=1)
            rings = AgentNotice.objects.filter(id__in=ids, kind=RING_KIND).count()
            deleted += AgentNotice.objects.filter(id__in=ids).delete()[0]
            MetricsState.objects.filter(pk=1).update(
                ring_notices_purged=F("ring_notices_purged") + rings
            )
        last = ids[-1]


class Purger:
    """Runs ``purge()`` now and then every ``every`` until stopped, in a daemon thread."""

    def __init__(self, every: timedelta = PURGE_EVERY) -> None:
        self.every = every
        self._stop = threading.Event()
        self.runs = 0

    def stop(self) -> None:
        self._stop.set()

    def run(self) -> None:
        while not self._stop.is_set():
            try:
                report = purge()
                if report.events or report.notices:
                    logger.info(
                        "purged %s notifications and %s live notices",
                        report.events,
                        report.notices,
                    )
            except Exception:
                # A database that is away now is retried at the next round.
                logger.exception("the hourly purge failed")
            finally:
                self.runs += 1
                # This thread's connections: not kept open for an hour.
                connections.close_all()
            self._stop.wait(self.every.total_seconds())

    def start_thread(self) -> threading.Thread:
        thread = threading.Thread(target=self.run, name="trubka-purge", daemon=True)
        thread.start()
        return thread
