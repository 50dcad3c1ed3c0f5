"""State changes of phone calls."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from django.db import IntegrityError, transaction

from trubka.calls.archive import queue_archive
from trubka.calls.models import CallPopup, CallRecording, Direction, PhoneCall
from trubka.calls.popups import call_state, push_call_update, push_ring
from trubka.clients.lookup import CallerMatch, find_caller
from trubka.core.phones import normalize_phone
from trubka.staff.models import Employee
from trubka.tickets.models import Ticket


def _locked_call(provider: str, provider_call_id: str) -> PhoneCall | None:
    return (
        PhoneCall.objects.select_for_update()
        .filter(provider=provider, provider_call_id=provider_call_id)
        .first()
    )


# No savepoint of its own: a failure here fails the caller's transaction as a whole (every
# caller lets it), and a ring's transaction is two queries shorter.
@transaction.atomic(savepoint=False)
def do_log_call(
    *,
    provider: str,
    provider_call_id: str,
    started_at: datetime,
    client_number: str,
    direction: str | None = None,
    our_number: str = "",
    employee: Employee | None = None,
    answered_at: datetime | None = None,
    finished_at: datetime | None = None,
    wait_duration: int | None = None,
    talk_duration: int | None = None,
    is_missed: bool = False,
    missed_by: str = "",
    ticket: Ticket | None = None,
    raw: dict[str, Any] | None = None,
    employee_if_free: bool = False,
    caller: CallerMatch | None = None,
) -> PhoneCall:
    """Create or update the call ``(provider, provider_call_id)``.

    Values given here overwrite earlier ones, values left out keep them, so notifications of
    one call can arrive in any order. The client is found by number when the call has none.

    ``employee_if_free``: ``employee`` and ``our_number`` are taken only while the call has no
    employee and was not answered (a ring on another extension, processed after the call was
    answered elsewhere or after an earlier ring, must not rename who has the call).
    ``caller``: ``find_caller(client_number)`` as the caller already has it, to spare a second
    lookup; only used when ``client_number`` is given.
    """

    def merge(call: PhoneCall) -> None:
        nonlocal employee, our_number
        if employee_if_free and (call.employee_id or call.answered_at):
            employee, our_number = None, ""
        phone = normalize_phone(client_number)
        if client_number:
            call.client_number = phone.raw
            call.client_e164 = phone.e164 or ""
            call.client_match_key = phone.match_key
        if direction:
            call.direction = direction
        call.started_at = min(call.started_at, started_at)
        updates: dict[str, object] = {
            "our_number": our_number,
            "employee": employee,
            "answered_at": answered_at,
            "finished_at": finished_at,
            "wait_duration": wait_duration,
            "talk_duration": talk_duration,
            "missed_by": missed_by,
            "ticket": ticket,
        }
        for name, value in updates.items():
            if value not in (None, ""):
                setattr(call, name, value)
        call.is_missed = call.is_missed or is_missed
        if raw:
            call.raw = {**call.raw, **raw}
        if call.contact_id is None and call.company_id is None and call.client_match_key:
            use_caller = caller is not None and client_number
            match = caller if use_caller else find_caller(call.client_number)
            assert match is not None
            call.contact = match.contact
            call.company = match.company

    call = _locked_call(provider, provider_call_id)
    if call is None:
        # A new call is inserted complete, in one statement.
        call = PhoneCall(
            provider=provider,
            provider_call_id=provider_call_id,
            started_at=started_at,
            direction=direction or Direction.INCOMING,
        )
        merge(call)
        try:
            with transaction.atomic():
                call.save(force_insert=True)
            return call
        except IntegrityError:
            # Another transaction logged the same call meanwhile: merge into that one.
            call = PhoneCall.objects.select_for_update().get(
                provider=provider, provider_call_id=provider_call_id
            )
    previous_state = call_state(call)
    merge(call)
    call.save()
    if call_state(call) != previous_state:
        push_call_update(call)
    return call


def do_mark_answered(call: PhoneCall) -> None:
    """The call was answered after all (e.g. a recording of a second leg proves it): it is
    no longer missed. Only the flag changes; no live update is pushed."""
    PhoneCall.objects.filter(pk=call.pk).update(is_missed=False)
    call.is_missed = False


def do_link_call_to_ticket(call: PhoneCall, ticket: Ticket) -> None:
    """Link ``call`` to ``ticket`` (e.g. the ticket its miss opened) and show the change to
    whoever has the call on screen."""
    PhoneCall.objects.filter(pk=call.pk).update(ticket=ticket)
    call.ticket = ticket
    push_call_update(call)


def do_add_recording(
    call: PhoneCall,
    *,
    source_url: str = "",
    duration: int | None = None,
    content_type: str = "",
) -> CallRecording:
    """Attach a recording link to a call; the same link twice is one recording.

    A link is queued for archiving (``calls.archive.queue_archive``: with
    ``TRUBKA_RECORDING_ARCHIVE`` on, once per recording), so every way a recording arrives
    (UIS notifications, the Okdesk API) gets its audio copied by the worker.
    """
    if source_url:
        recording, _created = CallRecording.objects.get_or_create(
            call=call,
            source_url=source_url,
            defaults={"duration": duration, "content_type": content_type},
        )
        queue_archive(recording)
        return recording
    return CallRecording.objects.create(call=call, duration=duration, content_type=content_type)


@transaction.atomic(savepoint=False)  # as do_log_call
def do_request_popup(
    *,
    phone: str,
    extensions: list[str],
    call: PhoneCall | None = None,
    caller: CallerMatch | None = None,
    employees: Mapping[str, list[Employee]] | None = None,
) -> list[CallPopup]:
    """Ask for the call from ``phone`` to pop up for every employee with one of ``extensions``.

    One request per extension (and call): asking again for the same ringing call changes
    nothing. Returns the requests made now. ``caller`` (``find_caller(phone)``) and
    ``employees`` (the active employees of an extension) spare the lookups when the caller
    already made them.
    """
    match = (caller if caller is not None else find_caller(phone)) if phone else None
    contact = call.contact if call and call.contact_id else (match.contact if match else None)
    company = call.company if call and call.company_id else (match.company if match else None)
    made: list[CallPopup] = []
    for extension in dict.fromkeys(e for e in extensions if e):
        if call is not None and CallPopup.objects.filter(call=call, extension=extension).exists():
            continue
        if employees is not None and extension in employees:
            found = employees[extension]
        else:
            found = list(Employee.objects.filter(extension=extension, is_active=True))
        receivers: list[Employee | None] = [*found] or [None]
        for employee in receivers:
            made.append(
                CallPopup.objects.create(
                    call=call,
                    employee=employee,
                    extension=extension,
                    phone=phone,
                    contact=contact,
                    company=company,
                )
            )
    for popup in made:
        push_ring(popup)
    return made
