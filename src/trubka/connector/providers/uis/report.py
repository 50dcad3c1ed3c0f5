"""UIS's words for what happens to a call, and the ``CallReport`` a stored notification makes.

The guide's three notifications are ``wait`` (a phone rings on an extension), ``history`` (a
conversation took place, with its recording) and ``lost`` (nobody answered). Any other
action is recorded and ignored.
"""

from __future__ import annotations

from trubka.connector.gateways.base import CallReport, PermanentDeliveryError
from trubka.connector.models import CallEvent, EventKind
from trubka.connector.providers.uis.parse import UisNotification

#: What each action of the guide means for the call.
KIND_OF_ACTION: dict[str, str] = {
    "wait": EventKind.RING,
    "history": EventKind.ANSWERED,
    "lost": EventKind.MISSED,
}
KNOWN_ACTIONS = tuple(KIND_OF_ACTION)


def report_of(event: CallEvent) -> CallReport:
    """The call as the stored notification ``event`` tells it."""
    integration = event.integration
    if integration is None:
        raise PermanentDeliveryError("the event belongs to no connected account")
    note = UisNotification.model_validate(event.parsed)
    if not note.call_id:
        raise PermanentDeliveryError("the notification has no call_id")
    try:
        started = note.start_time(integration.timezone)
    except ValueError as exc:
        raise PermanentDeliveryError(f"started_at: {exc}") from None
    ring = event.kind == EventKind.RING
    answered = event.kind == EventKind.ANSWERED
    return CallReport(
        provider=integration.provider_key,
        call_id=note.call_id,
        direction=note.direction,
        client_phone=note.client_phone or "",
        extension=note.extension,
        started_at=started or (event.received_at if ring else None),
        talk_duration=note.phone_call.duration,
        answered=answered,
        missed=event.kind == EventKind.MISSED,
        missed_by=tuple(note.noanswered_employee_full_names),
        recording_urls=tuple(note.recording_urls) if answered else (),
        raw=event.parsed,
    )
