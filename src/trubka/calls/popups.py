"""What an employee's browser is told about a ringing call and its progress."""

from __future__ import annotations

from typing import Any

from django.urls import reverse

from trubka.calls.models import CallPopup, PhoneCall
from trubka.clients.models import Company, Contact
from trubka.core.phones import normalize_phone
from trubka.realtime.notify import notify_employee
from trubka.tickets.models import Ticket

OPEN_TICKETS_SHOWN = 5


def _client(contact: Contact | None, company: Company | None) -> dict[str, Any] | None:
    if contact is not None:
        return {
            "kind": "contact",
            "id": contact.pk,
            "name": contact.name,
            "company": contact.company.name if contact.company else None,
            "url": reverse("clients:contact", args=[contact.pk]),
            "unconfirmed": contact.from_unknown_call_at is not None,
        }
    if company is not None:
        return {
            "kind": "company",
            "id": company.pk,
            "name": company.name,
            "company": None,
            "url": reverse("clients:company", args=[company.pk]),
            "unconfirmed": False,
        }
    return None


def _open_tickets(contact: Contact | None, company: Company | None) -> list[dict[str, Any]]:
    if contact is not None:
        tickets = Ticket.objects.open().filter(contact=contact)
    elif company is not None:
        tickets = Ticket.objects.open().filter(company=company)
    else:
        return []
    return [
        {"id": t.pk, "title": t.title, "url": reverse("tickets:detail", args=[t.pk])}
        for t in tickets.order_by("-created_at")[:OPEN_TICKETS_SHOWN]
    ]


def ring_payload(popup: CallPopup) -> dict[str, Any]:
    """The popup of a ringing call: who calls, their open tickets, where to click."""
    contact, company = popup.contact, popup.company
    call = popup.call
    if call is not None and contact is None and company is None:
        contact, company = call.contact, call.company
    phone = normalize_phone(popup.phone)
    client = _client(contact, company)
    fill_in = None
    if client is None or client["unconfirmed"]:
        fill_in = reverse("clients:fill_in") + f"?phone={phone.e164 or phone.digits}"
        if call is not None:
            fill_in += f"&call={call.uuid}"
    employee = popup.employee
    return {
        "call": str(call.uuid) if call else None,
        "popup": str(popup.uuid),
        "phone": phone.display or popup.phone,
        "extension": popup.extension,
        "client": client,
        "tickets": _open_tickets(contact, company),
        "fill_in_url": fill_in,
        "new_ticket_url": reverse("tickets:create")
        + (f"?contact={contact.pk}" if contact else f"?company={company.pk}" if company else ""),
        "auto_open": bool(employee and employee.popup_auto_open),
        "state": "ringing",
    }


def call_state(call: PhoneCall) -> str:
    if call.is_missed:
        return "missed"
    if call.finished_at or call.talk_duration is not None:
        return "ended"
    if call.answered_at:
        return "answered"
    return "ringing"


def update_payload(call: PhoneCall) -> dict[str, Any]:
    return {
        "call": str(call.uuid),
        "state": call_state(call),
        "ticket_url": reverse("tickets:detail", args=[call.ticket_id]) if call.ticket_id else None,
        "ticket": call.ticket_id,
    }


def push_ring(popup: CallPopup) -> None:
    if popup.employee_id is None:
        return
    notify_employee(popup.employee_id, "ring", ring_payload(popup))


def push_call_update(call: PhoneCall) -> None:
    """Tell everyone the call popped up for how it went on."""
    employee_ids = set(
        CallPopup.objects.filter(call=call, employee__isnull=False).values_list(
            "employee_id", flat=True
        )
    )
    if not employee_ids:
        return
    payload = update_payload(call)
    for employee_id in employee_ids:
        notify_employee(employee_id, "update", payload)
