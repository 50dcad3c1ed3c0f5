"""State changes of clients."""

from __future__ import annotations

from collections.abc import Iterable

from django.db import transaction
from django.utils import timezone

from trubka.clients.models import Company, Contact, PhoneNumber
from trubka.core.phones import normalize_phone


@transaction.atomic
def do_create_contact(
    *,
    first_name: str = "",
    last_name: str = "",
    patronymic: str = "",
    company: Company | None = None,
    email: str = "",
    position: str = "",
    comment: str = "",
    phones: Iterable[tuple[str, str]] = (),
    from_unknown_call: bool = False,
) -> Contact:
    """Create a contact with its numbers, given as ``(kind, number)`` pairs."""
    contact = Contact.objects.create(
        from_unknown_call_at=timezone.now() if from_unknown_call else None,
        first_name=first_name,
        last_name=last_name,
        patronymic=patronymic,
        company=company,
        email=email,
        position=position,
        comment=comment,
    )
    for kind, raw in phones:
        do_add_phone(contact, raw, kind=kind)
    return contact


@transaction.atomic
def do_create_company(
    *, name: str, phones: Iterable[tuple[str, str]] = (), **fields: str
) -> Company:
    company = Company.objects.create(name=name, **fields)
    for kind, raw in phones:
        do_add_phone(company, raw, kind=kind)
    return company


def do_add_phone(
    owner: Contact | Company, raw: str, *, kind: str = PhoneNumber.Kind.WORK
) -> PhoneNumber:
    """Attach a number to a client; a number the client already has is returned as is."""
    phone = PhoneNumber(raw=raw, kind=kind)
    if isinstance(owner, Contact):
        phone.contact = owner
    else:
        phone.company = owner
    phone.clean()
    existing = PhoneNumber.objects.filter(
        contact=phone.contact, company=phone.company, match_key=phone.match_key
    ).first()
    if existing is not None:
        return existing
    phone.save()
    return phone


def _relink_calls(match_key: str, contact: Contact | None, company: Company | None) -> int:
    from trubka.calls.models import PhoneCall

    return PhoneCall.objects.filter(client_match_key=match_key).update(
        contact=contact, company=company if contact is None else contact.company
    )


def _placeholder_for(match_key: str) -> Contact | None:
    return (
        Contact.objects.filter(from_unknown_call_at__isnull=False, phones__match_key=match_key)
        .order_by("id")
        .first()
    )


@transaction.atomic
def do_fill_in_caller(
    phone: str,
    *,
    first_name: str = "",
    last_name: str = "",
    patronymic: str = "",
    company: Company | None = None,
    email: str = "",
    position: str = "",
) -> Contact:
    """The person behind an unknown number: fill in the card made for it, or make one.

    Every past call from the number is linked to the contact afterwards.
    """
    normalized = normalize_phone(phone)
    contact = _placeholder_for(normalized.match_key)
    if contact is None:
        contact = do_create_contact(phones=[(PhoneNumber.Kind.MOBILE, phone)])
    contact.first_name, contact.last_name, contact.patronymic = first_name, last_name, patronymic
    contact.company, contact.email, contact.position = company, email, position
    contact.from_unknown_call_at = None
    contact.save()
    _relink_calls(normalized.match_key, contact, None)
    return contact


@transaction.atomic
def do_attach_number(phone: str, client: Contact | Company) -> Contact | Company:
    """Add an unknown number to an existing client and move everything of the card that was
    made for it (calls, tickets, comments) to that client; the made-up card is deleted."""
    from trubka.tickets.models import Ticket, TicketComment

    normalized = normalize_phone(phone)
    placeholder = _placeholder_for(normalized.match_key)
    do_add_phone(client, phone, kind=PhoneNumber.Kind.MOBILE)
    contact = client if isinstance(client, Contact) else None
    company = client.company if isinstance(client, Contact) else client
    if placeholder is not None and placeholder != client:
        Ticket.objects.filter(contact=placeholder).update(contact=contact, company=company)
        TicketComment.objects.filter(author_contact=placeholder).update(author_contact=contact)
        placeholder.delete()
    _relink_calls(normalized.match_key, contact, company)
    return client
