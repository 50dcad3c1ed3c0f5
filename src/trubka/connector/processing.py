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
A claim is a lease: a worker killed mid-event leaves the row to be claimed again.
"""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Callable
from datetime import timedelta

from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.db.models import Exists, F, OuterRef, Q
from django.utils import timezone

from trubka.calls.models import Direction
from trubka.calls.recordings import ARCHIVE_ACTION, archive_queued
from trubka.connector.gateway import (
    CallReport,
    Gateway,
    PermanentDeliveryError,
    TemporaryDeliveryError,
)
from trubka.connector.gateways.local import LocalDesk
from trubka.connector.gateways.okdesk import OkdeskCloud
from trubka.connector.models import CallEvent, EventStatus, Integration, Target
from trubka.connector.providers.uis.parse import UisNotification
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

_wakeup = threading.Event()


def wake_worker() -> None:
    """Tell an in-process worker that new events are waiting (no-op without one)."""
    _wakeup.set()


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
    return CallEvent.objects.filter(
        integration=event.integration,
        call_id=event.call_id,
        action__in=["history", "lost"],
        status=EventStatus.PROCESSED,
    ).exists()


def handle_wait(gateway: Gateway, event: CallEvent, report: CallReport) -> None:
    if report.client_phone:
        gateway.ensure_client(report.client_phone)
    gateway.record_call(report)
    if report.direction == Direction.INCOMING and not _call_has_ended(event):
        gateway.show_popup(report)


def handle_history(gateway: Gateway, event: CallEvent, report: CallReport) -> None:
    if report.client_phone:
        gateway.ensure_client(report.client_phone)
    gateway.record_call(report)


def handle_lost(gateway: Gateway, event: CallEvent, report: CallReport) -> None:
    if report.client_phone:
        gateway.ensure_client(report.client_phone)
    gateway.record_call(report)
    gateway.open_missed_call_ticket(report)


HANDLERS: dict[str, Callable[[Gateway, CallEvent, CallReport], None]] = {
    "wait": handle_wait,
    "history": handle_history,
    "lost": handle_lost,
}


# Work the worker does that is not a UIS notification: no gateway, and no transaction around
# it (an archive download can take minutes and must not hold database locks). Queued with no
# UIS account (``integration`` empty). ARCHIVE_ACTION is deliberately not in KNOWN_ACTIONS:
# the webhook ignores a notification that claims it.
JOBS: dict[str, Callable[[CallEvent], None]] = {
    ARCHIVE_ACTION: lambda event: archive_queued(event.parsed),
}


def process_event(event: CallEvent) -> None:
    """Apply one event to its help desk. Raises a DeliveryError subclass on failure."""
    integration = event.integration
    if integration is None:
        raise PermanentDeliveryError("the event belongs to no connected UIS account")
    note = UisNotification.model_validate(event.parsed)
    handler = HANDLERS.get(note.action or "")
    if handler is None:
        raise PermanentDeliveryError(f"unknown action {note.action!r}")
    report = report_of(event, note)
    if report.client_phone:
        # Events of different calls from one number take turns: one new caller, one card;
        # one open missed-call ticket, the next miss a comment on it.
        match_key = normalize_phone(report.client_phone).match_key
        lock_for_transaction(f"trubka:number:{integration.pk}:{match_key}")
    handler(gateway_for(integration), event, report)


def backoff(attempts: int) -> timedelta:
    seconds = min(BACKOFF_BASE_SECONDS * 2 ** max(attempts - 1, 0), BACKOFF_MAX_SECONDS)
    return timedelta(seconds=seconds * random.uniform(0.8, 1.2))  # noqa: S311 - jitter only


def claim_batch(limit: int = 20) -> list[int]:
    """Claim up to ``limit`` due events for this worker; returns their ids, oldest first."""
    now = timezone.now()
    with transaction.atomic():
        # One call's events are handled one at a time, in the order they arrived: an event
        # waits while an earlier one of its call is still pending (in backoff, say), so a
        # call's end is never delivered before its ring, and two workers never race on it.
        earlier_of_same_call = CallEvent.objects.filter(
            integration_id=OuterRef("integration_id"),
            call_id=OuterRef("call_id"),
            status=EventStatus.PENDING,
            id__lt=OuterRef("id"),
        )
        due = (
            CallEvent.objects.filter(status=EventStatus.PENDING)
            .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
            .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
            .exclude(Q(call_id__gt="") & Exists(earlier_of_same_call))
            .order_by("received_at", "id")
        )
        if connection.features.has_select_for_update_skip_locked:
            due = due.select_for_update(skip_locked=True)
        ids = list(due.values_list("id", flat=True)[:limit])
        if ids:
            CallEvent.objects.filter(id__in=ids).update(claimed_until=now + CLAIM_LEASE)
    return ids


def run_event(event_id: int) -> str:
    """Process one claimed event and record the outcome; returns the new status."""
    action = (
        CallEvent.objects.filter(pk=event_id, integration__isnull=True)
        .values_list("action", flat=True)
        .first()
    )
    if action in JOBS:
        return _run_job(event_id, JOBS[action])
    try:
        with transaction.atomic():
            # of=self: PostgreSQL cannot lock the nullable side of the outer join.
            event = (
                CallEvent.objects.select_for_update(of=("self",))
                .select_related("integration")
                .get(pk=event_id)
            )
            if event.status != EventStatus.PENDING:
                return event.status
            event.attempts += 1
            process_event(event)
            event.status = EventStatus.PROCESSED
            event.processed_at = timezone.now()
            event.claimed_until = None
            event.next_attempt_at = None
            event.last_error = ""
            event.save()
            return event.status
    except PermanentDeliveryError as exc:
        return _record_failure(event_id, str(exc), permanent=True)
    except (TemporaryDeliveryError, DatabaseError) as exc:
        return _record_failure(event_id, f"{type(exc).__name__}: {exc}", permanent=False)
    except Exception as exc:
        # A bug or an unforeseen answer: keep the event and retry it, with the trace logged.
        logger.exception("event %s failed unexpectedly", event_id)
        return _record_failure(event_id, f"{type(exc).__name__}: {exc}", permanent=False)


def _run_job(event_id: int, job: Callable[[CallEvent], None]) -> str:
    """Run a job outside any transaction; the claim's lease keeps other workers off it."""
    event = CallEvent.objects.get(pk=event_id)
    if event.status != EventStatus.PENDING:
        return event.status
    try:
        job(event)
    except PermanentDeliveryError as exc:
        return _record_failure(event_id, str(exc), permanent=True)
    except (TemporaryDeliveryError, DatabaseError) as exc:
        return _record_failure(event_id, f"{type(exc).__name__}: {exc}", permanent=False)
    except Exception as exc:
        logger.exception("job %s failed unexpectedly", event_id)
        return _record_failure(event_id, f"{type(exc).__name__}: {exc}", permanent=False)
    CallEvent.objects.filter(pk=event_id).update(
        status=EventStatus.PROCESSED,
        attempts=F("attempts") + 1,
        processed_at=timezone.now(),
        claimed_until=None,
        next_attempt_at=None,
        last_error="",
    )
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


def drain(limit: int | None = None, *, heartbeat: Heartbeat | None = None) -> int:
    """Process due events until none is left (or ``limit`` were run); returns the count.

    With ``heartbeat``, the worker says it is alive between events, so a long backlog does
    not look like a dead worker to /healthz.
    """
    done = 0
    while limit is None or done < limit:
        batch = claim_batch(20 if limit is None else min(20, limit - done))
        if not batch:
            return done
        for event_id in batch:
            run_event(event_id)
            done += 1
            if heartbeat is not None:
                heartbeat.beat(1)
    return done


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


class Worker:
    """Drains the queue until stopped; polls every ``idle_seconds`` or when woken."""

    def __init__(self, idle_seconds: float = 1.0) -> None:
        self.idle_seconds = idle_seconds
        self._stop = threading.Event()

    def stop(self) -> None:
        self._stop.set()
        _wakeup.set()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def run(self) -> None:
        from django.db import close_old_connections

        heartbeat = Heartbeat()
        heartbeat.beat(force=True)
        try:
            while not self._stop.is_set():
                _wakeup.clear()
                try:
                    drain(heartbeat=heartbeat)
                    heartbeat.beat()
                except DatabaseError:
                    logger.exception("the worker cannot reach the database; retrying")
                    close_old_connections()
                    self._stop.wait(5)
                    continue
                close_old_connections()
                _wakeup.wait(self.idle_seconds)
        finally:
            heartbeat.stop()
            close_old_connections()

    def start_thread(self) -> threading.Thread:
        thread = threading.Thread(target=self.run, name="trubka-worker", daemon=True)
        thread.start()
        return thread
