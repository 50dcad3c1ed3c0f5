"""Which due events a worker takes next, and how it keeps other workers off them.

PostgreSQL claims a batch with ``SELECT … FOR UPDATE SKIP LOCKED`` and a lease
(``claimed_until``). SQLite picks with plain reads and claims with one conditional
``UPDATE`` only what runs outside a transaction (see ``queue/__init__.py``).
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from trubka.connector.models import CallEvent, EventKind, EventStatus

#: The lanes of a worker (``queue/worker.py``); ``claim_batch(lane=None)`` takes from all of
#: them, rings first.
LANE_EVENTS = "events"
LANE_JOBS = "jobs"
#: Only rings: what the events lane takes between the events of a batch.
LANE_RINGS = "rings"
BATCH_SIZE = 20


def claim_lease() -> timedelta:
    """How long a claimed event is reserved for its worker. A worker that dies mid-event
    leaves it to be claimed again once this passes. Longer than any one event should take."""
    return timedelta(seconds=settings.TRUBKA_CLAIM_LEASE_SECONDS)


# The claim's query, the worker's most frequent one: written out, since building it with the
# ORM cost the worker more than running it (a third of a busy worker's CPU). Due pending
# events of one kind, oldest first. One call's events are handled one at a time, in the
# order they arrived: an event waits while an earlier one of its call is still pending (in
# backoff, or claimed and not yet done), so a call's end is never delivered before its ring,
# and two workers never race on it. Jobs have no account (NULL never equals NULL): none
# waits for another. ``status = 'pending'`` is written as a constant so that both databases
# see the partial indexes apply: each kind is then one range of ``event_pending_kind_idx``
# (or, for «every other event», ``event_pending_order_idx``) read in order and cut off at
# the limit, never a sort of the whole backlog; the earlier-event check is a probe of
# ``event_call_order_idx``.
_PICK_SQL = """
SELECT e.id, e.kind FROM {table} e
WHERE e.status = 'pending'
  AND (e.next_attempt_at IS NULL OR e.next_attempt_at <= %s)
  AND (e.claimed_until IS NULL OR e.claimed_until < %s)
  AND {kind}
  AND NOT (e.call_id > '' AND EXISTS (
    SELECT 1 FROM {table} p
    WHERE p.status = 'pending' AND p.integration_id = e.integration_id
      AND p.call_id = e.call_id AND p.id < e.id
  ))
ORDER BY e.received_at, e.id
LIMIT %s{lock}
"""


def lane_kinds(lane: str | None) -> list[tuple[str, list[str]]]:
    """What ``lane`` takes, in order of precedence (SQL conditions on ``e``, their values);
    each kind oldest first."""
    rings = ("e.kind = %s", [EventKind.RING.value])
    if lane == LANE_RINGS:
        return [rings]
    if lane == LANE_JOBS:
        return [("e.kind = %s", [EventKind.JOB.value])]
    if lane == LANE_EVENTS:
        return [rings, ("e.kind <> %s AND e.kind <> %s", [EventKind.RING, EventKind.JOB])]
    if lane is None:
        return [rings, ("e.kind <> %s", [EventKind.RING.value])]
    raise ValueError(f"no lane {lane!r}")


def pick_query(
    now: datetime, kind: tuple[str, list[str]], limit: int, *, lock: bool
) -> tuple[str, list[Any]]:
    """The SQL and parameters picking up to ``limit`` due events of one ``kind``."""
    condition, values = kind
    sql = _PICK_SQL.format(
        table=connection.ops.quote_name(CallEvent._meta.db_table),
        kind=condition,
        lock=" FOR UPDATE SKIP LOCKED" if lock else "",
    )
    moment = connection.ops.adapt_datetimefield_value(now)
    return sql, [moment, moment, *[str(v) for v in values], limit]


def pick(now: datetime, limit: int, lane: str | None, *, lock: bool) -> list[tuple[int, str]]:
    """Up to ``limit`` due events of ``lane``: their ids and kinds, in order."""
    picked: list[tuple[int, str]] = []
    with connection.cursor() as cursor:
        for kind in lane_kinds(lane):
            if len(picked) >= limit:
                break
            sql, params = pick_query(now, kind, limit - len(picked), lock=lock)
            cursor.execute(sql, params)
            picked += [(int(event_id), str(kind)) for event_id, kind in cursor.fetchall()]
    return picked


def single_writer() -> bool:
    """SQLite: one write lock for the whole database, and no ``SKIP LOCKED``."""
    return not connection.features.has_select_for_update_skip_locked


def claim(limit: int, lane: str | None) -> list[tuple[int, str]]:
    """Claim up to ``limit`` due events of ``lane``: their ids and kinds, in order."""
    now = timezone.now()
    if not single_writer():
        with transaction.atomic():
            picked = pick(now, limit, lane, lock=True)
            if picked:
                CallEvent.objects.filter(id__in=[i for i, _k in picked]).update(
                    claimed_until=now + claim_lease()
                )
        return picked
    # SQLite: choose with plain reads, then take with one conditional UPDATE. Only rows still
    # pending and unclaimed are taken; the lease's end, made unique with a few random
    # microseconds, tells this claim's rows from another's if someone was faster.
    picked = pick(now, limit, lane, lock=False)
    if not picked:
        return []
    until = now + claim_lease() + timedelta(microseconds=random.randrange(1, 1_000_000))  # noqa: S311
    ids = [i for i, _k in picked]
    taken = (
        CallEvent.objects.filter(id__in=ids, status=EventStatus.PENDING)
        .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
        .update(claimed_until=until)
    )
    if taken != len(ids):
        ours = set(
            CallEvent.objects.filter(id__in=ids, claimed_until=until).values_list("id", flat=True)
        )
        picked = [(i, k) for i, k in picked if i in ours]
    return picked


def lease(event_id: int) -> bool:
    """Claim one event that was picked without a claim (SQLite), unless someone has it."""
    now = timezone.now()
    return bool(
        CallEvent.objects.filter(pk=event_id, status=EventStatus.PENDING)
        .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
        .update(claimed_until=now + claim_lease())
    )


def claim_batch(limit: int = BATCH_SIZE, lane: str | None = None) -> list[int]:
    """Claim up to ``limit`` due events for this worker; returns their ids.

    ``lane``: ``LANE_EVENTS`` (notifications, rings first, never a job), ``LANE_JOBS`` (jobs
    only), ``LANE_RINGS`` (rings only) or None (all of them, rings first). Within each kind
    the oldest come first.
    """
    return [event_id for event_id, _kind in claim(limit, lane)]


def release(event_ids: list[int]) -> None:
    """Hand claimed events back (a stopping worker), due again at once."""
    if event_ids:
        CallEvent.objects.filter(id__in=event_ids, status=EventStatus.PENDING).update(
            claimed_until=None
        )
