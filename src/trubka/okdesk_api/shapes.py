"""The JSON shapes of Okdesk's objects, built from Trubka's models (okdesk-api notes §4–§8).

Every endpoint renders through these, so one object looks the same wherever it appears.
"""

from __future__ import annotations

from typing import Any

from django.urls import reverse
from django.utils import translation

from trubka.calls.models import PhoneCall
from trubka.clients.models import Company, Contact, PhoneNumber
from trubka.okdesk_api.common import iso
from trubka.staff.models import Employee
from trubka.tickets.models import Priority, Source, Status, Ticket, TicketComment, TicketType

# Trubka's ticket sources in Okdesk's vocabulary; Trubka's own code rides along as
# ``trubka_source``.
SOURCE_CODES: dict[str, str] = {
    Source.MANUAL: "from_employee",
    Source.PHONE: "phone",
    Source.MISSED_CALL: "phone",
    Source.API: "api",
}
TYPE_IDS = {code: index for index, code in enumerate(TicketType.values, start=1)}


def label(choice: Any) -> str:
    """A choice's name in Russian, the language Okdesk answers in."""
    with translation.override("ru"):
        return str(choice.label)


def _phone_of(phones: list[PhoneNumber], kind: str) -> str:
    for phone in phones:
        if phone.kind == kind:
            return phone.display
    return ""


def contact(c: Contact) -> dict[str, Any]:
    phones = list(c.phones.all())
    return {
        "id": c.pk,
        "first_name": c.first_name,
        "last_name": c.last_name,
        "patronymic": c.patronymic,
        "name": c.name,
        "position": c.position,
        "email": c.email,
        "phone": _phone_of(phones, PhoneNumber.Kind.WORK)
        or _phone_of(phones, PhoneNumber.Kind.OTHER),
        "mobile_phone": _phone_of(phones, PhoneNumber.Kind.MOBILE),
        "phones": [p.display for p in phones],
        "company_id": c.company_id,
        "comment": c.comment,
        "active": c.active,
        "custom_parameters": {},
        "created_at": iso(c.created_at),
        "updated_at": iso(c.updated_at),
    }


def company(c: Company) -> dict[str, Any]:
    phones = list(c.phones.all())
    return {
        "id": c.pk,
        "name": c.name,
        "additional_name": c.additional_name,
        "site": c.site,
        "email": c.email,
        "phone": _phone_of(phones, PhoneNumber.Kind.WORK) or (phones[0].display if phones else ""),
        "phones": [p.display for p in phones],
        "address": c.address,
        "comment": c.comment,
        "active": c.active,
        "coordinates": None,
        "crm_1c_id": None,
        "observers": [],
        "contacts": [{"id": x.pk, "name": x.name} for x in c.contacts.all()],
        "default_assignee": None,
        "category": None,
        "attachments": [],
        "parameters": [],
        "created_at": iso(c.created_at),
    }


def employee(e: Employee) -> dict[str, Any]:
    return {
        "id": e.pk,
        "first_name": e.first_name,
        "last_name": e.last_name,
        "patronymic": e.patronymic,
        "position": e.position,
        "active": e.is_active,
        "email": e.email,
        "login": e.username,
        "phone": e.phone,
        "telephony_number": e.extension or "",
        "comment": "",
        "groups": [],
        "roles": [{"id": 1, "name": "Администратор"}] if e.is_staff else [],
    }


def person(e: Employee | None) -> dict[str, Any] | None:
    return {"id": e.pk, "name": e.full_name} if e is not None else None


def status(code: str) -> dict[str, Any] | None:
    if not code:
        return None
    return {"code": code, "name": label(Status(code))}


def issue(t: Ticket) -> dict[str, Any]:
    comments = list(t.comments.all())
    return {
        "id": t.pk,
        "title": t.title,
        "description": t.description,
        "created_at": iso(t.created_at),
        "updated_at": iso(t.updated_at),
        "completed_at": iso(t.completed_at),
        "deadline_at": None,
        "delayed_to": None,
        "source": SOURCE_CODES.get(t.source, t.source),
        "trubka_source": t.source,
        "company_id": t.company_id,
        "group_id": None,
        "type": {
            "id": TYPE_IDS.get(t.type, 0),
            "code": t.type,
            "name": label(TicketType(t.type)),
            "available_for_client": True,
        },
        "priority": {"code": t.priority, "name": label(Priority(t.priority))},
        "status": status(t.status),
        "old_status": status(t.old_status),
        "contact": {"id": t.contact.pk, "name": t.contact.name} if t.contact else None,
        "assignee": person(t.assignee),
        "author": (
            {"id": t.author.pk, "name": t.author.full_name, "type": "employee"}
            if t.author
            else None
        ),
        "observers": [],
        "comments": {
            "count": len(comments),
            "last_at": iso(comments[-1].created_at) if comments else None,
        },
        "parameters": [],
        "attachments": [],
        "parent_id": None,
        "child_ids": [],
    }


def comment(c: TicketComment) -> dict[str, Any]:
    if c.author is not None:
        author = {"id": c.author.pk, "name": c.author.full_name, "type": "employee"}
    elif c.author_contact is not None:
        author = {"id": c.author_contact.pk, "name": c.author_contact.name, "type": "contact"}
    else:
        author = None
    return {
        "id": c.pk,
        "content": c.content,
        "public": c.public,
        "published_at": iso(c.created_at),
        "author": author,
        "attachments": [],
    }


def phone_call(c: PhoneCall) -> dict[str, Any]:
    recordings = [reverse("calls:recording", args=[r.uuid]) for r in c.recordings.all()]
    return {
        "id": c.pk,
        "call_id": c.provider_call_id,
        "direction": 0 if c.direction == "in" else 1,
        "started_at": iso(c.started_at),
        "finished_at": iso(c.finished_at),
        "duration": c.talk_duration,
        "source_phone": c.client_display if c.direction == "in" else c.our_number,
        "receiver_phone": c.our_number if c.direction == "in" else c.client_display,
        "missed": c.is_missed,
        "employee_id": c.employee_id,
        "contact_id": c.contact_id,
        "company_id": c.company_id,
        "issue_id": c.ticket_id,
        "recordings": recordings,
    }
