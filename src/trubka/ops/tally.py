"""Counting notifications for ``/metrics`` without a pass over the whole ``CallEvent`` table.

A notification's status settles once: processed, ignored and rejected rows never change
again (only a failed row goes back to pending, when a person retries it). So the settled
rows are counted once, in order of id, into ``EventTally``, and a scrape counts only

- the rows above the mark (``MetricsState.events_folded_through``): a primary-key range;
- the pending and the failed rows: each through its partial index, and few by nature;
- the rows at or below the mark that were pending or failed when the mark passed them
  (``UnsettledEvent``) and have settled since: looked up by primary key.

The mark only moves up to the last row received more than ``SETTLE_AFTER`` ago: a row below
it that is not visible yet (its insert not committed) would be missed for good, and no
insert stays uncommitted for ten minutes. Folding holds the ``MetricsState`` row locked, so
two processes never fold the same rows twice. ``trubka purge`` folds first and deletes only
folded rows, so the counters stay where they were when old rows go.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Count, F, Q, QuerySet, Sum
from django.utils import timezone

from trubka.connector import providers
from trubka.connector.models import CallEvent, EventStatus, Integration
from trubka.ops.models import EventTally, MetricsState, UnsettledEvent

SETTLED = (EventStatus.PROCESSED, EventStatus.IGNORED, EventStatus.REJECTED)
UNSETTLED = (EventStatus.PENDING, EventStatus.FAILED)
# Statuses whose attempts beyond the first count as retries.
RETRY_STATUSES = (EventStatus.PROCESSED, EventStatus.FAILED, EventStatus.PENDING)
# The mark passes only rows received longer ago than this: an insert still uncommitted below
# the mark would never be counted.
SETTLE_AFTER = timedelta(minutes=10)
# Ids folded in one go: a scrape that folds stays short, and so do its locks.
FOLD_BATCH = 50_000
# A scrape folds once this many ids wait above the mark; until then it counts them.
FOLD_FROM = 1_000
LOOKUP_CHUNK = 500


def action_label(action: str) -> str:
    """Known actions by name; anything else a sender made up is «other», so a stream of
    invented actions cannot create unbounded series."""
    if not action:
        return "none"
    return action if action in _known_actions() else "other"


def _known_actions() -> set[str]:
    return {name for provider in providers.every() for name in provider.known_actions()}


# (app_id, action, status) → [events, retries beyond the first]; app_id empty for jobs.
Tallies = dict[tuple[str, str, str], list[int]]


@dataclass
class EventCounts:
    """The notification counters as ``/metrics`` reports them."""

    received: dict[tuple[str, str], int] = field(default_factory=dict)  # (app_id, action) → n
    by_status: dict[str, int] = field(default_factory=lambda: dict.fromkeys(EventStatus.values, 0))
    retries: int = 0
    jobs: dict[tuple[str, str], int] = field(default_factory=dict)  # (action, status) → jobs

    @classmethod
    def of(cls, tallies: Tallies) -> EventCounts:
        counts = cls()
        for (app_id, action, status), (events, retries) in tallies.items():
            if not app_id:
                counts.jobs[(action, status)] = counts.jobs.get((action, status), 0) + events
                continue
            counts.received[(app_id, action)] = counts.received.get((app_id, action), 0) + events
            counts.by_status[status] = counts.by_status.get(status, 0) + events
            counts.retries += retries
        return counts


def add(tallies: Tallies, key: tuple[str, str, str], events: int, retries: int) -> None:
    total = tallies.setdefault(key, [0, 0])
    total[0] += events
    total[1] += retries


def count_into(tallies: Tallies, events: QuerySet[CallEvent], app_ids: dict[int, str]) -> None:
    """Add one grouped pass over ``events`` to ``tallies``, under the metrics' labels."""
    retried = Q(status__in=RETRY_STATUSES, attempts__gt=0)
    rows = (
        events.order_by()
        .values("integration_id", "action", "status")
        .annotate(
            n=Count("id"),
            attempts_sum=Sum("attempts", filter=retried),
            attempted_n=Count("id", filter=retried),
        )
    )
    for row in rows:
        if row["integration_id"] is None:
            app_id, action = "", row["action"] or "none"
        else:
            app_id = str(app_ids.get(row["integration_id"], "unknown"))
            action = action_label(row["action"])
        retries = (row["attempts_sum"] or 0) - row["attempted_n"]
        add(tallies, (app_id, action, row["status"]), row["n"], retries)


def account_app_ids() -> dict[int, str]:
    return dict(Integration.objects.values_list("id", "account_id"))


def folded() -> Tallies:
    """What ``EventTally`` holds."""
    tallies: Tallies = {}
    for row in EventTally.objects.values_list("app_id", "action", "status", "events", "retries"):
        add(tallies, (row[0], row[1], row[2]), row[3], row[4])
    return tallies


def unfolded(mark: int, app_ids: dict[int, str]) -> Tallies:
    """The rows a scrape still counts itself (see the module docstring)."""
    tallies: Tallies = {}
    count_into(tallies, CallEvent.objects.filter(id__gt=mark, status__in=SETTLED), app_ids)
    count_into(tallies, CallEvent.objects.filter(status=EventStatus.PENDING), app_ids)
    count_into(tallies, CallEvent.objects.filter(status=EventStatus.FAILED), app_ids)
    stragglers = UnsettledEvent.objects.values("event_id")
    count_into(tallies, CallEvent.objects.filter(id__in=stragglers, status__in=SETTLED), app_ids)
    return tallies


def state() -> MetricsState:
    """The one ``MetricsState`` row (created on first use)."""
    return MetricsState.objects.get_or_create(pk=1)[0]


# Folding.


def fold_target(now: datetime) -> int:
    """The newest id the mark may pass: the last row received before ``SETTLE_AFTER`` ago
    (one step down the ``received_at`` index)."""
    newest = (
        CallEvent.objects.filter(received_at__lt=now - SETTLE_AFTER)
        .order_by("-received_at", "-id")
        .values_list("id", flat=True)
        .first()
    )
    return newest or 0


def fold(now: datetime | None = None, *, batch: int = FOLD_BATCH) -> int:
    """Fold up to ``batch`` more ids into ``EventTally``, and the unsettled rows below the
    mark that have settled since. Returns how far the mark moved."""
    target = fold_target(now or timezone.now())
    with transaction.atomic():
        state()
        # Held until commit: a second process folding waits here, then sees the new mark.
        current = MetricsState.objects.select_for_update().get(pk=1)
        mark = current.events_folded_through
        new_mark = max(min(target, mark + batch), mark)
        app_ids = account_app_ids()
        tallies: Tallies = {}
        if new_mark > mark:
            _fold_range(tallies, mark, new_mark, app_ids)
            current.events_folded_through = new_mark
            current.save(update_fields=["events_folded_through"])
        _fold_settled_stragglers(tallies, app_ids)
        _store(tallies)
    return new_mark - mark


def fold_all(now: datetime | None = None) -> int:
    """Fold everything the mark may pass (``trubka purge`` does this before deleting)."""
    now = now or timezone.now()
    total = moved = fold(now)
    while moved:
        moved = fold(now)
        total += moved
    return total


def fold_if_behind(now: datetime) -> None:
    """What a scrape does: fold when ``FOLD_FROM`` ids or more wait above the mark."""
    mark = MetricsState.objects.filter(pk=1).values_list("events_folded_through", flat=True)
    if fold_target(now) - (mark.first() or 0) >= FOLD_FROM:
        fold(now)


def _fold_range(tallies: Tallies, mark: int, new_mark: int, app_ids: dict[int, str]) -> None:
    in_range = CallEvent.objects.filter(id__gt=mark, id__lte=new_mark)
    # The unsettled ones first: a row that settles between the two statements is then a
    # straggler, counted once, instead of in neither.
    unsettled = in_range.filter(status__in=UNSETTLED).values_list("id", flat=True)
    UnsettledEvent.objects.bulk_create(
        [UnsettledEvent(event_id=event_id) for event_id in unsettled], ignore_conflicts=True
    )
    stragglers = UnsettledEvent.objects.filter(event_id__gt=mark, event_id__lte=new_mark)
    settled = in_range.filter(status__in=SETTLED).exclude(id__in=stragglers.values("event_id"))
    count_into(tallies, settled, app_ids)


def _fold_settled_stragglers(tallies: Tallies, app_ids: dict[int, str]) -> None:
    waiting = list(UnsettledEvent.objects.values_list("event_id", flat=True))
    for start in range(0, len(waiting), LOOKUP_CHUNK):
        chunk = waiting[start : start + LOOKUP_CHUNK]
        statuses = dict(CallEvent.objects.filter(id__in=chunk).values_list("id", "status"))
        settled = [event_id for event_id, status in statuses.items() if status in SETTLED]
        if settled:
            count_into(tallies, CallEvent.objects.filter(id__in=settled), app_ids)
        # Settled ones are counted now; missing ones went with their deleted account.
        done = settled + [event_id for event_id in chunk if event_id not in statuses]
        UnsettledEvent.objects.filter(event_id__in=done).delete()


def _store(tallies: Tallies) -> None:
    for (app_id, action, status), (events, retries) in tallies.items():
        updated = EventTally.objects.filter(app_id=app_id, action=action, status=status).update(
            events=F("events") + events, retries=F("retries") + retries
        )
        if not updated:
            EventTally.objects.create(
                app_id=app_id, action=action, status=status, events=events, retries=retries
            )
