"""The ``Gateway`` for the help desk in this same Trubka: the desk's actions, in-process."""

from __future__ import annotations

from django.conf import settings
from django.db import transaction
from django.utils import formats, timezone, translation
from django.utils.translation import gettext as _

from trubka.calls.actions import do_add_recording, do_log_call, do_request_popup
from trubka.calls.models import Direction, PhoneCall
from trubka.calls.popups import push_call_update
from trubka.calls.recordings import queue_archive
from trubka.clients.actions import do_create_contact
from trubka.clients.lookup import find_caller
from trubka.connector.gateway import CallReport, ClientRef, TicketRef
from trubka.core.phones import normalize_phone
from trubka.staff.models import Employee
from trubka.tickets.actions import do_add_ticket_comment, do_create_ticket
from trubka.tickets.models import Source, Ticket, TicketType


def new_client_name(phone: str) -> str:
    with translation.override(settings.LANGUAGE_CODE):
        return _("New client")


class LocalDesk:
    """Writes straight into this desk; everything runs in the caller's transaction."""

    def ensure_client(self, phone: str) -> ClientRef:
        normalized = normalize_phone(phone)
        if not normalized.match_key:
            return ClientRef()
        match = find_caller(phone)
        if match.found or match.ambiguous:
            return ClientRef(
                contact_id=match.contact.pk if match.contact else None,
                company_id=match.company.pk if match.company else None,
                ambiguous=match.ambiguous,
            )
        if normalized.e164 is None:
            # An internal or malformed number: no card for it.
            return ClientRef()
        contact = do_create_contact(
            last_name=new_client_name(phone),
            first_name=normalized.display,
            phones=[("mobile", phone)],
            from_unknown_call=True,
        )
        return ClientRef(contact_id=contact.pk, created=True)

    def record_call(self, report: CallReport) -> None:
        employee = self._employee(report.extension)
        extension = report.extension or ""
        if not (report.answered or report.missed):
            # A ring on another extension, processed after the call was answered elsewhere
            # (or after an earlier ring), must not rename who has the call.
            known = self._call(report)
            if known is not None and (known.employee_id or known.answered_at):
                employee, extension = None, ""
        now = timezone.now()
        finished = report.answered or report.missed
        call = do_log_call(
            provider=report.provider,
            provider_call_id=report.call_id,
            started_at=report.started_at or now,
            client_number=report.client_phone,
            direction=report.direction or Direction.INCOMING,
            our_number=extension,
            employee=employee,
            answered_at=(report.started_at or now) if report.answered else None,
            finished_at=now if finished else None,
            talk_duration=report.talk_duration,
            is_missed=report.missed,
            missed_by=", ".join(report.missed_by),
            raw={str(report.raw.get("action") or "event"): report.raw} if report.raw else None,
        )
        if report.answered and call.is_missed:
            # A recording proves the call was answered after all (e.g. by a second leg).
            PhoneCall.objects.filter(pk=call.pk).update(is_missed=False)
        for url in report.recording_urls:
            recording = do_add_recording(call, source_url=url, duration=report.talk_duration)
            queue_archive(recording)

    def show_popup(self, report: CallReport) -> None:
        if not report.extension:
            return
        call = self._call(report)
        do_request_popup(phone=report.client_phone, extensions=[report.extension], call=call)

    @transaction.atomic
    def open_missed_call_ticket(self, report: CallReport) -> TicketRef:
        call = self._call(report)
        if call is None:
            self.record_call(report)
            call = self._call(report)
        assert call is not None
        if call.ticket_id:
            return TicketRef(ticket_id=call.ticket_id, created=False)
        with translation.override(settings.LANGUAGE_CODE):
            when = formats.date_format(timezone.localtime(call.started_at), "DATETIME_FORMAT")
            number = normalize_phone(call.client_number).display or _("a hidden number")
            names = ", ".join(report.missed_by)
            details = _("Missed call at %(when)s from %(number)s.") % {
                "when": when,
                "number": number,
            }
            if names:
                details += " " + _("Not answered by: %(names)s.") % {"names": names}
            ticket = self._open_missed_ticket_of(call)
            if ticket is not None:
                do_add_ticket_comment(
                    ticket, content=_("Another missed call.") + " " + details, public=False
                )
                created = False
            else:
                ticket = do_create_ticket(
                    title=_("Missed call from %(number)s") % {"number": number},
                    description=details,
                    contact=call.contact,
                    company=call.company,
                    source=Source.MISSED_CALL,
                    type=TicketType.INCIDENT,
                )
                created = True
        PhoneCall.objects.filter(pk=call.pk).update(ticket=ticket)
        call.ticket = ticket
        push_call_update(call)
        return TicketRef(ticket_id=ticket.pk, created=created)

    @staticmethod
    def _open_missed_ticket_of(call: PhoneCall) -> Ticket | None:
        if not settings.TRUBKA_MISSED_CALL_REUSE_OPEN_TICKET:
            return None
        tickets = Ticket.objects.open().filter(source=Source.MISSED_CALL)
        if call.contact_id:
            tickets = tickets.filter(contact_id=call.contact_id)
        elif call.company_id:
            tickets = tickets.filter(company_id=call.company_id, contact__isnull=True)
        elif call.client_match_key:
            tickets = tickets.filter(
                contact__isnull=True,
                company__isnull=True,
                phone_calls__client_match_key=call.client_match_key,
            )
        else:
            return None
        return tickets.order_by("-created_at").first()

    @staticmethod
    def _employee(extension: str | None) -> Employee | None:
        if not extension:
            return None
        return Employee.objects.filter(extension=extension, is_active=True).first()

    @staticmethod
    def _call(report: CallReport) -> PhoneCall | None:
        return PhoneCall.objects.filter(
            provider=report.provider, provider_call_id=report.call_id
        ).first()
