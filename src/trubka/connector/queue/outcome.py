"""Running one queued event (or job) and recording how it went.

Temporary failures are retried with exponential backoff up to
``TRUBKA_EVENT_MAX_ATTEMPTS``; permanent ones are recorded and not retried.
"""

from __future__ import annotations

import logging
import random
from datetime import timedelta

from django.conf import settings
from django.db import DatabaseError, transaction
from django.db.models import F, Q, QuerySet
from django.utils import timezone

from trubka.connector import handling
from trubka.connector.gateways.base import PermanentDeliveryError, TemporaryDeliveryError
from trubka.connector.models import CallEvent, EventKind, EventStatus
from trubka.connector.queue.claim import lease, single_writer
from trubka.connector.queue.jobs import JOBS
from trubka.connector.queue.wakeup import wake_worker
from trubka.core import jobs

logger = logging.getLogger(__name__)


def backoff(attempts: int) -> timedelta:
    # Read at use: the settings of the moment (the fault drills shorten them).
    base, most = settings.TRUBKA_BACKOFF_BASE_SECONDS, settings.TRUBKA_BACKOFF_MAX_SECONDS
    seconds = min(base * 2 ** max(attempts - 1, 0), most)
    return timedelta(seconds=seconds * random.uniform(0.8, 1.2))  # noqa: S311 - jitter only


def _events() -> QuerySet[CallEvent]:
    # The worker never needs the account's webhook token or provider key: not decrypting
    # them saves each event two decryptions.
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


def _record_error(event_id: int, exc: BaseException) -> str:
    """Record a failed attempt by what was raised: permanent, temporary, or unforeseen (a
    bug or an unexpected answer: kept and retried, with the trace logged)."""
    if isinstance(exc, (PermanentDeliveryError, jobs.PermanentFailure)):
        return _record_failure(event_id, str(exc), permanent=True)
    if not isinstance(exc, (TemporaryDeliveryError, jobs.TemporaryFailure, DatabaseError)):
        logger.exception("event %s failed unexpectedly", event_id)
    return _record_failure(event_id, f"{type(exc).__name__}: {exc}", permanent=False)


def _held_by_another(event: CallEvent, claimed: bool) -> bool:
    """Whether someone else holds a live claim on ``event`` (when this worker holds none)."""
    return not claimed and event.claimed_until is not None and event.claimed_until >= timezone.now()


def _is_job(event_id: int) -> bool:
    return CallEvent.objects.filter(pk=event_id, kind=EventKind.JOB).exists()


def run_event(event_id: int, *, job: bool | None = None, claimed: bool = True) -> str:
    """Process one event and record the outcome; returns the new status.

    ``job``: whether the event is a job (kind ``job``), when the caller knows; None: look.
    ``claimed``: the caller holds the event's claim (``claim_batch``). Without one (SQLite's
    worker, which picks without claiming): an event processed in one transaction needs
    none, since that transaction and its conditional outcome are the whole of it; work
    done outside a transaction (a job, another system's desk) claims the event first, and
    an event someone else holds is left to them.
    """
    if job is None:
        job = _is_job(event_id)
    if job:
        if not claimed and not lease(event_id):
            return EventStatus.PENDING
        return _run_job(event_id)
    try:
        if not single_writer():
            return _run_locked(event_id, claimed)
        return _run_read_first(event_id, claimed)
    except _AlreadyHandled as handled:
        logger.warning("event %s was handled elsewhere meanwhile; left as it is", event_id)
        return handled.status
    except Exception as exc:
        return _record_error(event_id, exc)


def _run_locked(event_id: int, claimed: bool) -> str:
    """PostgreSQL: the event's row stays locked for the whole of its processing."""
    with transaction.atomic():
        # of=self: PostgreSQL cannot lock the nullable side of the outer join.
        event = _events().select_for_update(of=("self",)).get(pk=event_id)
        if event.status != EventStatus.PENDING or _held_by_another(event, claimed):
            return event.status
        handling.process_event(event)
        _record_success(event_id, unclaimed=not claimed)
    return EventStatus.PROCESSED


def _run_read_first(event_id: int, claimed: bool) -> str:
    """SQLite: read first, write briefly (see ``queue/__init__.py``)."""
    event = _events().get(pk=event_id)
    if event.status != EventStatus.PENDING or _held_by_another(event, claimed):
        return event.status
    work = handling.work_of(event)
    assert event.integration is not None
    gateway = handling.gateway_for(event.integration)
    if gateway.in_process:
        look_ahead = getattr(gateway, "look_ahead", None)
        if look_ahead is not None:
            look_ahead(work.report)
        with transaction.atomic():
            handling.carry_out(work, gateway, event)
            _record_success(event_id, unclaimed=not claimed)
    else:
        # Another system's desk: its requests run outside any transaction, under a claim.
        if not claimed and not lease(event_id):
            return EventStatus.PENDING
        handling.carry_out(work, gateway, event)
        _record_success(event_id)
    return EventStatus.PROCESSED


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
    except Exception as exc:
        return _record_error(event_id, exc)
    try:
        _record_success(event_id)
    except _AlreadyHandled as handled:
        return handled.status
    return EventStatus.PROCESSED


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
