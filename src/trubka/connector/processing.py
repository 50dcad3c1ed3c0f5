"""What each notification does, and the worker that drains the ``CallEvent`` queue.

- ``wait`` (a phone is ringing on an extension): find the client or create a card, log the
  call as ringing with the employee, pop it up for that extension. A ``wait`` that arrives
  after the call already ended (``history``/``lost`` processed first) only fills in the log.
- ``history`` (a recorded conversation): merge duration, recording, employee and client into
  the same call.
- ``lost`` (missed): log the call as missed and open «Пропущенный звонок от …», or comment on
  the client's missed-call ticket that is still open.

The row is the queue: a worker claims due ``pending`` rows (``SELECT … FOR UPDATE SKIP
LOCKED`` where the database has it), processes each in one transaction with its effects in
the local desk, and records the outcome. Temporary failures are retried with exponential
backoff up to ``TRUBKA_EVENT_MAX_ATTEMPTS``; permanent ones are recorded and not retried.
A claim is a lease: a worker killed mid-event leaves the row to be claimed again. One call's
events are handled one at a time, in the order they arrived.

Popups first. A ringing phone is the one thing someone waits for, so:

- a worker runs two lanes, each a thread: the *events* lane takes UIS notifications, due
  ``wait`` rows before any other, and never takes a job; the *jobs* lane takes only jobs
  (``JOBS``: recording downloads), so a slow download never sits between two rings;
- when something new is queued while the events lane works through a batch, it takes the
  rings that became due before the next non-ring event of the batch;
- one ``wait`` looks its caller and the extension's employees up once (the ``ClientRef``
  from ``ensure_client`` rides along in ``CallReport.client``);
- ``wake_worker()`` also wakes the workers of other processes, through Redis or PostgreSQL
  ``LISTEN``/``NOTIFY`` (``connector.wakeup``), instead of leaving them to their idle poll.

SQLite has one write lock for the whole database, and a webhook that wants it while the
worker holds it sleeps and polls (SQLite's busy handler: 1, 2, 5 … 100 ms), so the worker
holds it as little as it can:

- the worker picks its rows with plain reads (readers never wait under WAL) and does not
  claim an event it processes in one transaction: that transaction, whose last statement
  marks the event processed only if it is still pending and nobody holds a claim on it, is
  the whole of its exactly-once guarantee (SQLite runs write transactions one at a time; a
  worker that dies mid-event leaves nothing behind). Only work done outside a transaction (a
  job, another system's desk) is claimed first, with one conditional ``UPDATE``;
- an event's reads come before its write transaction: the event itself, and
  ``LocalDesk.look_ahead`` (the caller, the extension's employees). A number nobody had is
  looked up again inside, before a card is made;
- an event for a desk in another system (an Okdesk account) makes its HTTP calls outside any
  transaction: nothing of it is written here but the outcome. A claim keeps other workers
  off it, as for jobs.

PostgreSQL locks rows, not the database: there a batch is claimed with ``SKIP LOCKED`` and
each event keeps its row lock for the whole of its processing, as before.
"""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, Protocol

from django.conf import settings
from django.db import DatabaseError, close_old_connections, connection, transaction
from django.db.models import F, Q, QuerySet
from django.utils import timezone

from trubka.calls.models import Direction
from trubka.connector.gateways.base import (
    CallReport,
    Gateway,
    PermanentDeliveryError,
    TemporaryDeliveryError,
)
from trubka.connector.gateways.local import LocalDesk
from trubka.connector.gateways.okdesk import OkdeskCloud
from trubka.connector.models import CallEvent, EventStatus, Integration, Target
from trubka.connector.providers.uis.parse import UisNotification
from trubka.connector.wakeup import Listener
from trubka.connector.wakeup import request_publish as request_wakeup
from trubka.core import jobs
from trubka.core.locks import lock_for_transaction
from trubka.core.phones import normalize_phone
from trubka.ops.heartbeat import Heartbeat

logger = logging.getLogger(__name__)

KNOWN_ACTIONS = ("wait", "history", "lost")
# How long a claimed event is reserved for its worker. A worker that dies mid-event leaves
# it to be claimed again once this passes. Longer than any one event should take.
CLAIM_LEASE = timedelta(seconds=settings.TRUBKA_CLAIM_LEASE_SECONDS)
BACKOFF_BASE_SECONDS = settings.TRUBKA_BACKOFF_BASE_SECONDS
BACKOFF_MAX_SECONDS = settings.TRUBKA_BACKOFF_MAX_SECONDS

#: The lanes of a worker (see the module's docstring); ``claim_batch(lane=None)`` takes from
#: all of them, rings first.
LANE_EVENTS = "events"
LANE_JOBS = "jobs"
#: Only ``wait`` notifications: what the events lane takes between the events of a batch.
LANE_RINGS = "rings"
RING_ACTION = "wait"
BATCH_SIZE = 20
#: After a wake-up the jobs lane waits this long before it claims, so a burst of
#: notifications costs it one claim, not one each (downloads are not urgent).
JOBS_GATHER_SECONDS = 0.25
#: Before each job the jobs lane waits, at most this long, for its worker's events lane to be
#: idle: downloads take the time notifications leave over, not a share of it.
JOBS_YIELD_SECONDS = 0.5

# What the lanes of the workers in this process wait on between polls.
_wakeup = threading.Event()
_jobs_wakeup = threading.Event()


def _wake_local_lanes() -> None:
    _wakeup.set()
    _jobs_wakeup.set()


def wake_worker() -> None:
    """Tell the workers that new events are waiting: those in this process at once, those in
    other processes through Redis or PostgreSQL when configured (``connector.wakeup``).

    Never raises: a wake-up that cannot be delivered leaves the workers to their idle poll.
    """
    _wake_local_lanes()
    request_wakeup()


def gateway_for(integration: Integration) -> Gateway:
    if integration.target == Target.LOCAL:
        return LocalDesk()
    if not integration.okdesk_account or not integration.okdesk_api_key:
        raise PermanentDeliveryError("the Okdesk account name or API key is not set")
    return OkdeskCloud(
        integration.okdesk_account,
        integration.okdesk_api_key,
        zone=integration.okdesk_timezone,
    )


def report_of(event: CallEvent, note: UisNotification) -> CallReport:
    integration = event.integration
    assert integration is not None
    if not note.call_id:
        raise PermanentDeliveryError("the notification has no call_id")
    try:
        started = note.start_time(integration.timezone)
    except ValueError as exc:
        raise PermanentDeliveryError(f"started_at: {exc}") from None
    return CallReport(
        provider=integration.provider_key,
        call_id=note.call_id,
        direction=note.direction,
        client_phone=note.client_phone or "",
        extension=note.extension,
        started_at=started or (event.received_at if note.action == "wait" else None),
        talk_duration=note.phone_call.duration,
        answered=note.action == "history",
        missed=note.action == "lost",
        missed_by=tuple(note.noanswered_employee_full_names),
        recording_urls=tuple(note.recording_urls) if note.action == "history" else (),
        raw=event.parsed,
    )


def _call_has_ended(event: CallEvent) -> bool:
    # By call id alone, the account compared here: SQLite, without statistics, would
    # otherwise walk the account's whole history through the integration_id index.
    accounts = CallEvent.objects.filter(
        call_id=event.call_id, action__in=["history", "lost"], status=EventStatus.PROCESSED
    ).values_list("integration_id", flat=True)
    return event.integration_id in set(accounts)


def with_client(gateway: Gateway, report: CallReport) -> CallReport:
    """Find or make the caller's client first; the report then carries it, so the desk
    does not look the same number up again for the call and the popup."""
    if not report.client_phone:
        return report
    return replace(report, client=gateway.ensure_client(report.client_phone))


def handle_wait(gateway: Gateway, event: CallEvent, report: CallReport) -> None:
    report = with_client(gateway, report)
    gateway.record_call(report)
    if report.direction == Direction.INCOMING and not _call_has_ended(event):
        gateway.show_popup(report)


def handle_history(gateway: Gateway, event: CallEvent, report: CallReport) -> None:
    report = with_client(gateway, report)
    gateway.record_call(report)


def handle_lost(gateway: Gateway, event: CallEvent, report: CallReport) -> None:
    report = with_client(gateway, report)
    gateway.record_call(report)
    gateway.open_missed_call_ticket(report)


HANDLERS: dict[str, Callable[[Gateway, CallEvent, CallReport], None]] = {
    "wait": handle_wait,
    "history": handle_history,
    "lost": handle_lost,
}


# Work the worker does that is not a UIS notification: no gateway, and no transaction around
# it (an archive download can take minutes and must not hold database locks). Apps register
# their jobs in ``trubka.core.jobs`` (``JOBS``); a job is queued with no UIS account
# (``integration`` empty), its name as the action. Job names are never in KNOWN_ACTIONS: the
# webhook ignores a notification that claims one.
JOBS = jobs.REGISTRY


def enqueue_job(name: str, payload: dict[str, Any], *, key: str, group: str = "") -> bool:
    """``trubka.core.jobs``' queue: one ``CallEvent`` per ``name`` and ``key``; the workers
    are woken once the caller's transaction commits."""
    _event, created = CallEvent.objects.get_or_create(
        dedupe_key=f"{name}:{key}",
        defaults={"action": name, "call_id": group[:100], "method": "", "parsed": payload},
    )
    if created:
        transaction.on_commit(wake_worker)
    return created


@dataclass(frozen=True)
class _Work:
    """What one notification asks of the desk, read from the event before any of it is done."""

    handler: Callable[[Gateway, CallEvent, CallReport], None]
    report: CallReport
    number_lock: str | None


def _work_of(event: CallEvent) -> _Work:
    integration = event.integration
    if integration is None:
        raise PermanentDeliveryError("the event belongs to no connected UIS account")
    note = UisNotification.model_validate(event.parsed)
    handler = HANDLERS.get(note.action or "")
    if handler is None:
        raise PermanentDeliveryError(f"unknown action {note.action!r}")
    report = report_of(event, note)
    number_lock = None
    if report.client_phone:
        # Events of different calls from one number take turns: one new caller, one card;
        # one open missed-call ticket, the next miss a comment on it.
        match_key = normalize_phone(report.client_phone).match_key
        number_lock = f"trubka:number:{integration.pk}:{match_key}"
    return _Work(handler, report, number_lock)


def _do(work: _Work, gateway: Gateway, event: CallEvent) -> None:
    if work.number_lock:
        lock_for_transaction(work.number_lock)
    work.handler(gateway, event, work.report)


def process_event(event: CallEvent, gateway: Gateway | None = None) -> None:
    """Apply one event to its help desk (``gateway``, by default the event's account's).

    Raises a DeliveryError subclass on failure.
    """
    work = _work_of(event)
    assert event.integration is not None
    _do(work, gateway if gateway is not None else gateway_for(event.integration), event)


def backoff(attempts: int) -> timedelta:
    seconds = min(BACKOFF_BASE_SECONDS * 2 ** max(attempts - 1, 0), BACKOFF_MAX_SECONDS)
    return timedelta(seconds=seconds * random.uniform(0.8, 1.2))  # noqa: S311 - jitter only


# The claim's query, the worker's most frequent one: written out, since building it with the
# ORM cost the worker more than running it (a third of a busy worker's CPU). Due pending
# events of one kind, oldest first. One call's events are handled one at a time, in the
# order they arrived: an event waits while an earlier one of its call is still pending (in
# backoff, or claimed and not yet done), so a call's end is never delivered before its ring,
# and two workers never race on it. Jobs have no account (NULL never equals NULL): none
# waits for another. ``status = 'pending'`` is written as a constant so that both databases
# see the partial indexes apply: each kind is then one range of ``event_pending_kind_idx``
# (or, for «every other notification», ``event_pending_order_idx``) read in order and cut
# off at the limit, never a sort of the whole backlog; the earlier-event check is a probe
# of ``event_call_order_idx``.
_PICK_SQL = """
SELECT e.id, e.action FROM {table} e
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


def _lane_kinds(lane: str | None) -> list[tuple[str, list[str]]]:
    """What ``lane`` takes, in order of precedence (SQL conditions on ``e``, their values);
    each kind oldest first."""
    jobs = list(JOBS)
    not_a_job = "e.action NOT IN ({})".format(", ".join(["%s"] * len(jobs)))
    rings = ("e.action = %s", [RING_ACTION])
    if lane == LANE_RINGS:
        return [rings]
    if lane == LANE_JOBS:
        return [("e.action IN ({})".format(", ".join(["%s"] * len(jobs))), jobs)]
    if lane == LANE_EVENTS:
        return [rings, (f"e.action <> %s AND {not_a_job}", [RING_ACTION, *jobs])]
    if lane is None:
        return [rings, ("e.action <> %s", [RING_ACTION])]
    raise ValueError(f"no lane {lane!r}")


def _pick_query(
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
    return sql, [moment, moment, *values, limit]


def _pick(now: datetime, limit: int, lane: str | None, *, lock: bool) -> list[tuple[int, str]]:
    picked: list[tuple[int, str]] = []
    with connection.cursor() as cursor:
        for kind in _lane_kinds(lane):
            if len(picked) >= limit:
                break
            sql, params = _pick_query(now, kind, limit - len(picked), lock=lock)
            cursor.execute(sql, params)
            picked += [(int(event_id), str(action)) for event_id, action in cursor.fetchall()]
    return picked


def _single_writer() -> bool:
    """SQLite: one write lock for the whole database, and no ``SKIP LOCKED``."""
    return not connection.features.has_select_for_update_skip_locked


def _claim(limit: int, lane: str | None) -> list[tuple[int, str]]:
    """Claim up to ``limit`` due events of ``lane``: their ids and actions, in order."""
    now = timezone.now()
    if not _single_writer():
        with transaction.atomic():
            picked = _pick(now, limit, lane, lock=True)
            if picked:
                CallEvent.objects.filter(id__in=[i for i, _a in picked]).update(
                    claimed_until=now + CLAIM_LEASE
                )
        return picked
    # SQLite: choose with plain reads, then take with one conditional UPDATE. Only rows still
    # pending and unclaimed are taken; the lease's end, made unique with a few random
    # microseconds, tells this claim's rows from another's if someone was faster.
    picked = _pick(now, limit, lane, lock=False)
    if not picked:
        return []
    until = now + CLAIM_LEASE + timedelta(microseconds=random.randrange(1, 1_000_000))  # noqa: S311
    ids = [i for i, _a in picked]
    taken = (
        CallEvent.objects.filter(id__in=ids, status=EventStatus.PENDING)
        .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
        .update(claimed_until=until)
    )
    if taken != len(ids):
        ours = set(
            CallEvent.objects.filter(id__in=ids, claimed_until=until).values_list("id", flat=True)
        )
        picked = [(i, a) for i, a in picked if i in ours]
    return picked


def _lease(event_id: int) -> bool:
    """Claim one event that was picked without a claim (SQLite), unless someone has it."""
    now = timezone.now()
    return bool(
        CallEvent.objects.filter(pk=event_id, status=EventStatus.PENDING)
        .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
        .update(claimed_until=now + CLAIM_LEASE)
    )


def claim_batch(limit: int = BATCH_SIZE, lane: str | None = None) -> list[int]:
    """Claim up to ``limit`` due events for this worker; returns their ids.

    ``lane``: ``LANE_EVENTS`` (notifications, rings first, never a job), ``LANE_JOBS`` (jobs
    only), ``LANE_RINGS`` (``wait`` only) or None (all of them, rings first). Within each
    kind the oldest come first.
    """
    return [event_id for event_id, _action in _claim(limit, lane)]


def _events() -> QuerySet[CallEvent]:
    # The worker never needs the account's webhook token or UIS key: not decrypting them
    # saves each event two decryptions.
    return CallEvent.objects.select_related("integration").defer(
        "integration__webhook_token", "integration__uis_api_key"
    )


class _AlreadyHandled(Exception):
    """The event stopped being pending (or another worker took it) while this one worked."""

    def __init__(self, status: str) -> None:
        super().__init__(status)
        self.status = status


def _record_success(event_id: int, *, unclaimed: bool = False) -> None:
    """Mark the event processed, provided it is still pending (and, ``unclaimed``, nobody
    holds a claim on it); otherwise raise ``_AlreadyHandled``, undoing the transaction."""
    now = timezone.now()
    still_ours = CallEvent.objects.filter(pk=event_id, status=EventStatus.PENDING)
    if unclaimed:
        still_ours = still_ours.filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
    updated = still_ours.update(
        status=EventStatus.PROCESSED,
        attempts=F("attempts") + 1,
        processed_at=now,
        claimed_until=None,
        next_attempt_at=None,
        last_error="",
    )
    if not updated:
        status = CallEvent.objects.filter(pk=event_id).values_list("status", flat=True).first()
        raise _AlreadyHandled(status or EventStatus.PROCESSED)


def _held_by_another(event: CallEvent, claimed: bool) -> bool:
    """Whether someone else holds a live claim on ``event`` (when this worker holds none)."""
    return not claimed and event.claimed_until is not None and event.claimed_until >= timezone.now()


def _is_job(event_id: int) -> bool:
    action = (
        CallEvent.objects.filter(pk=event_id, integration__isnull=True)
        .values_list("action", flat=True)
        .first()
    )
    return action in JOBS


def run_event(event_id: int, *, job: bool | None = None, claimed: bool = True) -> str:
    """Process one event and record the outcome; returns the new status.

    ``job``: whether the event is a job (``JOBS``), when the caller knows; None: look.
    ``claimed``: the caller holds the event's claim (``claim_batch``). Without one (SQLite's
    worker, which picks without claiming): an event processed in one transaction needs
    none, since that transaction and its conditional outcome are the whole of it; work
    done outside a transaction (a job, another system's desk) claims the event first, and
    an event someone else holds is left to them.
    """
    if job is None:
        job = _is_job(event_id)
    if job:
        if not claimed and not _lease(event_id):
            return EventStatus.PENDING
        return _run_job(event_id)
    try:
        if not _single_writer():
            with transaction.atomic():
                # of=self: PostgreSQL cannot lock the nullable side of the outer join.
                event = _events().select_for_update(of=("self",)).get(pk=event_id)
                if event.status != EventStatus.PENDING or _held_by_another(event, claimed):
                    return event.status
                process_event(event)
                _record_success(event_id, unclaimed=not claimed)
            return EventStatus.PROCESSED
        # SQLite: read first, write briefly (see the module's docstring).
        event = _events().get(pk=event_id)
        if event.status != EventStatus.PENDING or _held_by_another(event, claimed):
            return event.status
        work = _work_of(event)
        assert event.integration is not None
        gateway = gateway_for(event.integration)
        if isinstance(gateway, LocalDesk):
            gateway.look_ahead(work.report)
            with transaction.atomic():
                _do(work, gateway, event)
                _record_success(event_id, unclaimed=not claimed)
        else:
            # Another system's desk: its requests run outside any transaction, under a claim.
            if not claimed and not _lease(event_id):
                return EventStatus.PENDING
            _do(work, gateway, event)
            _record_success(event_id)
        return EventStatus.PROCESSED
    except _AlreadyHandled as handled:
        logger.warning("event %s was handled elsewhere meanwhile; left as it is", event_id)
        return handled.status
    except PermanentDeliveryError as exc:
        return _record_failure(event_id, str(exc), permanent=True)
    except (TemporaryDeliveryError, DatabaseError) as exc:
        return _record_failure(event_id, f"{type(exc).__name__}: {exc}", permanent=False)
    except Exception as exc:
        # A bug or an unforeseen answer: keep the event and retry it, with the trace logged.
        logger.exception("event %s failed unexpectedly", event_id)
        return _record_failure(event_id, f"{type(exc).__name__}: {exc}", permanent=False)


def _run_job(event_id: int) -> str:
    """Run a job outside any transaction; the claim's lease keeps other workers off it."""
    event = CallEvent.objects.get(pk=event_id)
    if event.status != EventStatus.PENDING:
        return event.status
    job = JOBS.get(event.action)
    try:
        if job is None:
            raise jobs.PermanentFailure(f"no job {event.action!r} is registered")
        job(event.parsed)
    except jobs.PermanentFailure as exc:
        return _record_failure(event_id, str(exc), permanent=True)
    except (jobs.TemporaryFailure, DatabaseError) as exc:
        return _record_failure(event_id, f"{type(exc).__name__}: {exc}", permanent=False)
    except Exception as exc:
        logger.exception("job %s failed unexpectedly", event_id)
        return _record_failure(event_id, f"{type(exc).__name__}: {exc}", permanent=False)
    try:
        _record_success(event_id)
    except _AlreadyHandled as handled:
        return handled.status
    return EventStatus.PROCESSED


def _record_failure(event_id: int, error: str, *, permanent: bool) -> str:
    with transaction.atomic():
        event = CallEvent.objects.select_for_update().get(pk=event_id)
        event.attempts += 1  # the failed attempt's own increment was rolled back
        event.last_error = error[:2000]
        event.claimed_until = None
        if permanent or event.attempts >= settings.TRUBKA_EVENT_MAX_ATTEMPTS:
            event.status = EventStatus.FAILED
            event.failed_at = timezone.now()
            event.next_attempt_at = None
        else:
            event.next_attempt_at = timezone.now() + backoff(event.attempts)
        event.save()
    logger.warning(
        "event %s %s after attempt %s: %s",
        event_id,
        "failed" if event.status == EventStatus.FAILED else "will be retried",
        event.attempts,
        error,
    )
    return event.status


class _Beats(Protocol):
    def beat(self, processed: int = 0, *, force: bool = False) -> None: ...


def drain(
    limit: int | None = None,
    *,
    heartbeat: _Beats | None = None,
    lane: str | None = None,
    wake: threading.Event | None = None,
    stop: threading.Event | None = None,
    give_way: threading.Event | None = None,
) -> int:
    """Process due events until none is left (or ``limit`` were run); returns the count.

    ``lane`` limits what is taken (see ``claim_batch``). With ``heartbeat``, the worker says
    it is alive between events, so a long backlog does not look like a dead worker to
    /healthz. With ``wake`` (set when something new is queued), rings that became due are
    taken before the rest of a batch that is not rings. With ``stop``, it returns after the
    event in hand once ``stop`` is set, handing the rest of its claims back. With
    ``give_way``, each event first waits up to ``JOBS_YIELD_SECONDS`` for it to be set.

    PostgreSQL claims each batch (``SKIP LOCKED``, a lease); SQLite picks it with plain
    reads and claims only what runs outside a transaction (see ``run_event``).
    """
    claims = not _single_writer()
    done = 0

    def take(count: int, kind: str | None) -> list[tuple[int, str]]:
        return _claim(count, kind) if claims else _pick(timezone.now(), count, kind, lock=False)

    def run(event_id: int, action: str) -> None:
        nonlocal done
        if give_way is not None:
            give_way.wait(JOBS_YIELD_SECONDS)
        run_event(event_id, job=None if action in JOBS else False, claimed=claims)
        done += 1
        if heartbeat is not None:
            heartbeat.beat(1)

    while limit is None or done < limit:
        if stop is not None and stop.is_set():
            return done
        batch = take(BATCH_SIZE if limit is None else min(BATCH_SIZE, limit - done), lane)
        if not batch:
            return done
        for n, (event_id, action) in enumerate(batch):
            if stop is not None and stop.is_set():
                if claims:
                    _release([i for i, _a in batch[n:]])
                return done
            # A ring queued meanwhile goes before the rest of this batch (when there is more
            # of it than this one event: after it, the next batch takes rings first anyway).
            if wake is not None and wake.is_set() and action != RING_ACTION and len(batch) > n + 1:
                wake.clear()
                for ring_id, ring in take(BATCH_SIZE, LANE_RINGS):
                    run(ring_id, ring)
            run(event_id, action)
    return done


def _release(event_ids: list[int]) -> None:
    """Hand claimed events back (a stopping worker), due again at once."""
    if event_ids:
        CallEvent.objects.filter(id__in=event_ids, status=EventStatus.PENDING).update(
            claimed_until=None
        )


def retry_event(event: CallEvent) -> None:
    """Put a failed event back in the queue with a fresh attempt budget."""
    CallEvent.objects.filter(pk=event.pk, status=EventStatus.FAILED).update(
        status=EventStatus.PENDING,
        attempts=0,
        failed_at=None,
        # Due now, and waiting since now: an old event retried is not an old backlog.
        next_attempt_at=timezone.now(),
        claimed_until=None,
    )
    transaction.on_commit(wake_worker)


class _SharedHeartbeat:
    """One heartbeat for both lanes of a worker (one worker on /healthz, not two)."""

    def __init__(self, heartbeat: Heartbeat) -> None:
        self._heartbeat = heartbeat
        self._lock = threading.Lock()

    def beat(self, processed: int = 0, *, force: bool = False) -> None:
        with self._lock:
            self._heartbeat.beat(processed, force=force)

    def stop(self) -> None:
        with self._lock:
            self._heartbeat.stop()


class Worker:
    """Drains the queue until stopped; polls every ``idle_seconds`` or when woken.

    ``run`` works the events lane in the calling thread and, with ``jobs`` (the default), the
    jobs lane in a second thread; it listens for wake-ups from other processes when Redis or
    PostgreSQL carries them. Stopping finishes the event in hand in each lane.
    """

    def __init__(self, idle_seconds: float = 1.0, *, jobs: bool = True) -> None:
        self.idle_seconds = idle_seconds
        self.jobs = jobs
        self._stop = threading.Event()
        self.listener: Listener | None = None
        #: Set while the events lane waits for work (tests wait for it).
        self.idle = threading.Event()

    def stop(self) -> None:
        self._stop.set()
        _wake_local_lanes()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def run(self) -> None:
        heartbeat = _SharedHeartbeat(Heartbeat())
        heartbeat.beat(force=True)
        jobs_lane: threading.Thread | None = None
        try:
            try:
                self.listener = Listener(_wake_local_lanes, self._stop).start()
            except Exception:
                # Wake-ups from other processes are a shortcut; without them it polls.
                logger.exception("cannot listen for wake-ups from other processes; polling")
            if self.jobs:
                jobs_lane = threading.Thread(
                    target=self._lane,
                    args=(LANE_JOBS, _jobs_wakeup, heartbeat),
                    name="trubka-worker-jobs",
                    daemon=True,
                )
                jobs_lane.start()
            self._lane(LANE_EVENTS, _wakeup, heartbeat)
        finally:
            self.stop()
            if jobs_lane is not None:
                jobs_lane.join()
            if self.listener is not None:
                self.listener.join(timeout=5)
            heartbeat.stop()
            close_old_connections()

    def _lane(self, lane: str, wake: threading.Event, heartbeat: _SharedHeartbeat) -> None:
        try:
            while not self._stop.is_set():
                wake.clear()
                try:
                    drain(
                        heartbeat=heartbeat,
                        lane=lane,
                        wake=wake if lane == LANE_EVENTS else None,
                        stop=self._stop,
                        give_way=self.idle if lane == LANE_JOBS else None,
                    )
                    heartbeat.beat()
                except DatabaseError:
                    logger.exception("the worker cannot reach the database; retrying")
                    close_old_connections()
                    self._stop.wait(5)
                    continue
                if lane == LANE_EVENTS:
                    self.idle.set()
                woken = wake.wait(self.idle_seconds)
                if lane == LANE_EVENTS:
                    self.idle.clear()
                if not woken:
                    # Idle: let the connection go (CONN_MAX_AGE, the pool). While wake-ups
                    # keep coming it is kept, rather than opened again for every drain.
                    close_old_connections()
                if woken and lane == LANE_JOBS:
                    self._stop.wait(JOBS_GATHER_SECONDS)
        finally:
            if lane == LANE_JOBS:
                connection.close()  # this thread's own connection

    def start_thread(self) -> threading.Thread:
        thread = threading.Thread(target=self.run, name="trubka-worker", daemon=True)
        thread.start()
        return thread
