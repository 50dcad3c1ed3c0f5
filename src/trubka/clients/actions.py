"""State changes of clients."""

from __future__ import annotations

from collections.abc import Iterable

from django.db import transaction

from trubka.clients.models import Company, Contact, PhoneNumber


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
) -> Contact:
    """Create a contact with its numbers, given as ``(kind, number)`` pairs."""
    contact = Contact.objects.create(
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
