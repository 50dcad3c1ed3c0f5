"""What ``/healthz`` and ``/metrics`` report, read from the database when asked.

Every value is cluster-wide: the ``CallEvent`` table is the queue every web and worker
process shares, so any process answers for all of them. Nothing is counted in memory, and a
restarted process reports the same numbers.

What a scrape costs does not grow with the table (millions of rows kept for
``TRUBKA_KEEP_EVENTS_DAYS``):

- the queue gauges read the pending rows only, through the partial ``event_queue_idx``;
- the notification counters (received, by status, retries, jobs) add the sums already
  folded into ``EventTally`` to the few rows not folded yet: those above the fold mark (a
  primary-key range, at most ``FOLD_FROM`` plus ten minutes of traffic, since the scrape
  folds when more wait), the pending and the failed ones (partial indexes), and the
  stragglers listed in ``UnsettledEvent``. Folding and its guarantees are described in
  ``trubka.ops.tally``;
- the latency histogram reads the events received in the last day through the
  ``received_at`` index;
- the popup counter adds the ringing-call notices ``trubka purge`` deleted (kept in
  ``MetricsState``) to the notices still kept (``TRUBKA_KEEP_NOTICES_HOURS``, by the
  ``kind`` index).

So counters no longer drop when ``trubka purge`` deletes old rows: folded rows stay counted.
They still drop if a UIS account is deleted with its unfolded rows, or a person retries a
failed notification (its attempts start again); Prometheus reads a drop as a counter reset.
On PostgreSQL a scrape reads one snapshot, so a row changing status or a concurrent fold
or purge is counted exactly once.

The latency histogram is a snapshot of a sliding window (events processed in the last
``LATENCY_WINDOW``): read it with ``histogram_quantile`` directly, not through ``rate()``.

Notifications are the rows that belong to a connected UIS account. Rows without one are the
worker's own jobs (archiving a recording); they count in the queue metrics, where they take
a worker's time, and in ``trubka_jobs_total``.

``trubka.ops.prometheus`` turns these readings into Prometheus metric families.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count, Min, Q
from django.db.models.functions import Coalesce

from trubka.connector.models import CallEvent, EventStatus
from trubka.ops import tally
from trubka.ops.models import MetricsState, WorkerHeartbeat
from trubka.ops.tally import EventCounts
from trubka.realtime.models import AgentNotice

LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0)
LATENCY_WINDOW = timedelta(minutes=15)
LATENCY_MAX_EVENTS = 10_000
# Only events received this recently are looked at for latency, which keeps the query on the
# ``received_at`` index. An event retried for longer than this is left out of the histogram.
LATENCY_LOOKBACK = timedelta(days=1)
POPUP_NOTICE_KIND = "ring"
HEALTH_WORKERS_LISTED = 20


def _due(now: datetime) -> Q:
    return Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now)


def _seconds(later: datetime, earlier: datetime | None) -> float | None:
    if earlier is None:
        return None
    return max((later - earlier).total_seconds(), 0.0)


# The queue and the workers (shared by /healthz and /metrics).


@dataclass(frozen=True)
class QueueState:
    pending: int
    due: int
    # Since the oldest pending event was received (its whole life, retries included).
    oldest_pending_seconds: float | None
    # How long the longest-waiting due event has waited for a worker: since it was received,
    # or since its retry time came.
    oldest_due_seconds: float | None


def queue_state(now: datetime) -> QueueState:
    """One query over the pending rows (the partial queue index covers them)."""
    due = _due(now)
    row = CallEvent.objects.filter(status=EventStatus.PENDING).aggregate(
        pending=Count("id"),
        due=Count("id", filter=due),
        oldest=Min("received_at"),
        oldest_due=Min(Coalesce("next_attempt_at", "received_at"), filter=due),
    )
    return QueueState(
        pending=row["pending"],
        due=row["due"],
        oldest_pending_seconds=_seconds(now, row["oldest"]),
        oldest_due_seconds=_seconds(now, row["oldest_due"]),
    )


def failed_count() -> int:
    return CallEvent.objects.filter(status=EventStatus.FAILED).count()


def stale_after() -> timedelta:
    return timedelta(seconds=settings.TRUBKA_HEALTH_WORKER_STALE_SECONDS)


def workers_alive(now: datetime) -> int:
    return WorkerHeartbeat.objects.filter(seen_at__gte=now - stale_after()).count()


@dataclass(frozen=True)
class WorkerSeen:
    name: str
    seen_seconds_ago: float
    processed: int


def recent_workers(now: datetime, limit: int = HEALTH_WORKERS_LISTED) -> list[WorkerSeen]:
    """The workers heard from most recently, stale ones included (they say who went quiet)."""
    rows = WorkerHeartbeat.objects.order_by("-seen_at").values_list("name", "seen_at", "processed")
    return [
        WorkerSeen(name, _seconds(now, seen_at) or 0.0, processed)
        for name, seen_at, processed in rows[:limit]
    ]


# Counts of notifications.


@dataclass(frozen=True)
class Counters:
    events: EventCounts
    popups: int


def counters(now: datetime) -> Counters:
    """The notification and popup counters: folded sums plus the rows not folded yet.

    Folds first when many rows wait (a short write of its own), then reads everything in
    one snapshot where the database offers one (see the module docstring).
    """
    tally.fold_if_behind(now)
    with _one_snapshot():
        mark, rings_purged = (
            MetricsState.objects.filter(pk=1)
            .values_list("events_folded_through", "ring_notices_purged")
            .first()
        ) or (0, 0)
        tallies = tally.folded()
        for key, (events, retries) in tally.unfolded(mark, tally.account_app_ids()).items():
            tally.add(tallies, key, events, retries)
        popups = rings_purged + popup_notices_kept()
    return Counters(events=EventCounts.of(tallies), popups=popups)


@contextmanager
def _one_snapshot() -> Iterator[None]:
    """A read-only REPEATABLE READ transaction on PostgreSQL: one snapshot for every
    statement. SQLite stays in autocommit: a transaction there takes the write lock."""
    if connection.vendor != "postgresql" or connection.in_atomic_block:
        yield
        return
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        yield


@dataclass(frozen=True)
class Latency:
    buckets: list[tuple[str, float]]  # cumulative, ending with +Inf
    count: int
    total_seconds: float


def processing_latency(now: datetime) -> Latency:
    """Received → processed, over notifications processed in the last ``LATENCY_WINDOW``
    (at most the ``LATENCY_MAX_EVENTS`` received last)."""
    rows = (
        CallEvent.objects.filter(
            integration__isnull=False,
            status=EventStatus.PROCESSED,
            received_at__gte=now - LATENCY_WINDOW - LATENCY_LOOKBACK,
            processed_at__gte=now - LATENCY_WINDOW,
        )
        .order_by("-received_at")
        .values_list("received_at", "processed_at")[:LATENCY_MAX_EVENTS]
    )
    durations = [_seconds(processed, received) or 0.0 for received, processed in rows if processed]
    buckets = [
        (_bound(bound), float(sum(1 for d in durations if d <= bound))) for bound in LATENCY_BUCKETS
    ]
    buckets.append(("+Inf", float(len(durations))))
    return Latency(buckets=buckets, count=len(durations), total_seconds=sum(durations))


def _bound(value: float) -> str:
    return repr(float(value))


def popup_notices_kept() -> int:
    return AgentNotice.objects.filter(kind=POPUP_NOTICE_KIND).count()
