"""The ``Gateway`` for the help desk in this same Trubka: the desk's actions, in-process.

A thin adapter: it turns a ``CallReport`` into calls of the desk's actions (``calls.actions``,
``calls.missed_calls``, ``clients.actions``) and writes no model itself.

One ``LocalDesk`` serves one event (``connector.handling.gateway_for`` makes a new one each
time), so what it looks up is looked up once per event: the caller comes back with the
``ClientRef`` that ``ensure_client`` returned (``CallReport.client``), and the employees of an
extension and the call record are remembered between ``record_call`` and ``show_popup``.

``look_ahead`` does the event's reads early, so that on SQLite they run before the event's
write transaction instead of holding the database's one write lock (``connector/queue/``).
A number nobody had then is looked up again inside the transaction before a card is made, so
a card someone made meanwhile is found rather than doubled.
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from trubka.calls.actions import do_add_recording, do_log_call, do_mark_answered, do_request_popup
from trubka.calls.missed_calls import do_open_missed_call_ticket
from trubka.calls.models import Direction, PhoneCall
from trubka.clients.actions import do_create_contact
from trubka.clients.lookup import CallerMatch, find_caller
from trubka.connector.gateways.base import CallReport, ClientRef, TicketRef, new_client_name
from trubka.core.phones import normalize_phone
from trubka.staff.models import Employee


class LocalDesk:
    """Writes straight into this desk; everything but ``look_ahead`` runs in the caller's
    transaction."""

    in_process = True

    def __init__(self) -> None:
        # What this event looked up already (see the module's docstring).
        self._employees: dict[str, list[Employee]] = {}
        self._calls: dict[tuple[str, str], PhoneCall] = {}
        self._callers: dict[str, CallerMatch] = {}

    def look_ahead(self, report: CallReport) -> None:
        """Look up what the event of ``report`` will need: its caller and the employees of its
        extension (reads only; see the module's docstring)."""
        if report.client_phone and normalize_phone(report.client_phone).match_key:
            self._callers[report.client_phone] = find_caller(report.client_phone)
        self._active_employees(report.extension)

    def ensure_client(self, phone: str) -> ClientRef:
        normalized = normalize_phone(phone)
        if not normalized.match_key:
            return ClientRef()
        match = self._callers.pop(phone, None)
        if match is None or not (match.found or match.ambiguous or normalized.e164 is None):
            # Not looked up yet, or nobody had the number then and a card would be made now:
            # look (again), in the transaction that makes it.
            match = find_caller(phone)
        if match.found or match.ambiguous:
            return ClientRef(
                contact_id=match.contact.pk if match.contact else None,
                company_id=match.company.pk if match.company else None,
                ambiguous=match.ambiguous,
                found=match,
            )
        if normalized.e164 is None:
            # An internal or malformed number: no card for it.
            return ClientRef(found=match)
        contact = do_create_contact(
            last_name=new_client_name(phone),
            first_name=normalized.display,
            phones=[("mobile", phone)],
            from_unknown_call=True,
        )
        # What find_caller would answer now: the new card, the only one with this number.
        created = CallerMatch(phone=normalized, contact=contact, contacts=[contact])
        return ClientRef(contact_id=contact.pk, created=True, found=created)

    def record_call(self, report: CallReport) -> None:
        employees = self._active_employees(report.extension)
        now = timezone.now()
        finished = report.answered or report.missed
        call = do_log_call(
            provider=report.provider,
            provider_call_id=report.call_id,
            started_at=report.started_at or now,
            client_number=report.client_phone,
            direction=report.direction or Direction.INCOMING,
            our_number=report.extension or "",
            employee=employees[0] if employees else None,
            # A ring may not take a call someone else has (see do_log_call); the end of the
            # call names who had it.
            employee_if_free=not finished,
            answered_at=(report.started_at or now) if report.answered else None,
            finished_at=now if finished else None,
            talk_duration=report.talk_duration,
            is_missed=report.missed,
            missed_by=", ".join(report.missed_by),
            raw={str(report.raw.get("action") or "event"): report.raw} if report.raw else None,
            caller=self._caller(report),
        )
        self._calls[(report.provider, report.call_id)] = call
        if report.answered and call.is_missed:
            # A recording proves the call was answered after all (e.g. by a second leg).
            do_mark_answered(call)
        for url in report.recording_urls:
            do_add_recording(call, source_url=url, duration=report.talk_duration)

    def show_popup(self, report: CallReport) -> None:
        if not report.extension:
            return
        do_request_popup(
            phone=report.client_phone,
            extensions=[report.extension],
            call=self._call(report),
            caller=self._caller(report),
            employees={report.extension: self._active_employees(report.extension)},
        )

    @transaction.atomic
    def open_missed_call_ticket(self, report: CallReport) -> TicketRef:
        call = self._call(report)
        if call is None:
            self.record_call(report)
            call = self._call(report)
        assert call is not None
        ticket, created = do_open_missed_call_ticket(call, missed_by=report.missed_by)
        return TicketRef(ticket_id=ticket.pk, created=created)

    def _active_employees(self, extension: str | None) -> list[Employee]:
        """The active employees of ``extension``, first the one a call is logged with."""
        if not extension:
            return []
        if extension not in self._employees:
            self._employees[extension] = list(
                Employee.objects.filter(extension=extension, is_active=True)
            )
        return self._employees[extension]

    def _call(self, report: CallReport) -> PhoneCall | None:
        key = (report.provider, report.call_id)
        if key not in self._calls:
            call = PhoneCall.objects.filter(
                provider=report.provider, provider_call_id=report.call_id
            ).first()
            if call is None:
                return None
            self._calls[key] = call
        return self._calls[key]

    @staticmethod
    def _caller(report: CallReport) -> CallerMatch | None:
        """The caller as ``ensure_client`` found it for this report's number, if it did."""
        found = report.client.found if report.client is not None else None
        if isinstance(found, CallerMatch) and found.phone.raw == report.client_phone.strip():
            return found
        return None
