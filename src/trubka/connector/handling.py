"""What each kind of call event does to the help desk, whichever provider reported it.

- ``ring`` (a phone is ringing on an extension): find the client or create a card, log the
  call as ringing with the employee, pop it up for that extension. A ring that arrives
  after the call already ended (its ``answered``/``missed`` event processed first) only fills
  in the log.
- ``answered`` (a conversation took place): merge duration, recording, employee and client
  into the same call.
- ``missed`` (nobody answered): log the call as missed and open «Пропущенный звонок от …», or
  comment on the client's missed-call ticket that is still open (``calls/missed_calls.py``).

The provider turns its stored notification into a ``CallReport`` (``Provider.report``); the
``Gateway`` of the account's target (this desk, or an Okdesk account) carries it out. The
queue (``connector/queue/``) decides when an event runs and records how it went.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

from trubka.calls.models import Direction
from trubka.connector import providers
from trubka.connector.gateways.base import CallReport, Gateway, PermanentDeliveryError
from trubka.connector.gateways.local import LocalDesk
from trubka.connector.gateways.okdesk import OkdeskCloud
from trubka.connector.models import CallEvent, EventKind, EventStatus, Integration, Target
from trubka.core.locks import lock_for_transaction
from trubka.core.phones import normalize_phone


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


def _call_has_ended(event: CallEvent) -> bool:
    # By call id alone, the account compared here: SQLite, without statistics, would
    # otherwise walk the account's whole history through the integration_id index.
    accounts = CallEvent.objects.filter(
        call_id=event.call_id,
        kind__in=[EventKind.ANSWERED, EventKind.MISSED],
        status=EventStatus.PROCESSED,
    ).values_list("integration_id", flat=True)
    return event.integration_id in set(accounts)


def with_client(gateway: Gateway, report: CallReport) -> CallReport:
    """Find or make the caller's client first; the report then carries it, so the desk
    does not look the same number up again for the call and the popup."""
    if not report.client_phone:
        return report
    return replace(report, client=gateway.ensure_client(report.client_phone))


def handle_ring(gateway: Gateway, event: CallEvent, report: CallReport) -> None:
    report = with_client(gateway, report)
    gateway.record_call(report)
    if report.direction == Direction.INCOMING and not _call_has_ended(event):
        gateway.show_popup(report)


def handle_answered(gateway: Gateway, event: CallEvent, report: CallReport) -> None:
    report = with_client(gateway, report)
    gateway.record_call(report)


def handle_missed(gateway: Gateway, event: CallEvent, report: CallReport) -> None:
    report = with_client(gateway, report)
    gateway.record_call(report)
    gateway.open_missed_call_ticket(report)


HANDLERS: dict[str, Callable[[Gateway, CallEvent, CallReport], None]] = {
    EventKind.RING: handle_ring,
    EventKind.ANSWERED: handle_answered,
    EventKind.MISSED: handle_missed,
}


@dataclass(frozen=True)
class Work:
    """What one event asks of the desk, read from it before any of it is done."""

    handler: Callable[[Gateway, CallEvent, CallReport], None]
    report: CallReport
    number_lock: str | None


def work_of(event: CallEvent) -> Work:
    integration = event.integration
    if integration is None:
        raise PermanentDeliveryError("the event belongs to no connected account")
    handler = HANDLERS.get(event.kind)
    if handler is None:
        raise PermanentDeliveryError(f"nothing handles events of kind {event.kind!r}")
    try:
        provider = providers.get(integration.provider)
    except providers.UnknownProviderError as exc:
        raise PermanentDeliveryError(str(exc)) from None
    report = provider.report(event)
    number_lock = None
    if report.client_phone:
        # Events of different calls from one number take turns: one new caller, one card;
        # one open missed-call ticket, the next miss a comment on it.
        match_key = normalize_phone(report.client_phone).match_key
        number_lock = f"trubka:number:{integration.pk}:{match_key}"
    return Work(handler, report, number_lock)


def carry_out(work: Work, gateway: Gateway, event: CallEvent) -> None:
    if work.number_lock:
        lock_for_transaction(work.number_lock)
    work.handler(gateway, event, work.report)


def process_event(event: CallEvent, gateway: Gateway | None = None) -> None:
    """Apply one event to its help desk (``gateway``, by default the event's account's).

    Raises a DeliveryError subclass on failure.
    """
    work = work_of(event)
    assert event.integration is not None
    carry_out(work, gateway if gateway is not None else gateway_for(event.integration), event)
