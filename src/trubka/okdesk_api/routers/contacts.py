"""Contacts: search, create, edit, list and archive (okdesk-api notes §4).

Decisions where Okdesk's documentation could not be read (notes §4, §11 item 3):

- ``GET /contacts`` answers **one root object** [S5, S8, S14]. When nothing matches, the answer
  is ``200 {}``: clients test ``'id' in res`` or ``len(res) == 0`` [S14, S9] and S2 reads an
  empty answer as «none», so a 404 would only make them fail.
- Several search parameters narrow each other (all must match). A parameter given empty
  matches nothing; no parameter at all is a 422.
- ``phone`` follows Trubka's caller rule (``trubka.clients.lookup.find_caller``): any format,
  the last ``TRUBKA_PHONE_MATCH_DIGITS`` digits, exact E.164 preferred, active contacts
  preferred. A number shared by several contacts is ambiguous and answers ``{}``, the same
  rule as the call popup: an API answer never names one of several people. The candidates
  are listed by ``GET /contacts/list?phone=…`` (a Trubka extension).
- ``phone`` is the contact's work number and ``mobile_phone`` its mobile one; on ``PATCH``
  each replaces the numbers of its kind (an empty value removes them).
- ``first_name`` or ``last_name`` is required (Okdesk's clients send both [S9]; Trubka's
  contacts need one of them).
- ``PATCH /contacts/{id}/activations`` with no body archives, like Okdesk's archive call
  [S2 «Архивация»].
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest
from ninja import Router
from ninja.params.functions import Query
from pydantic import Field

from trubka.clients.actions import do_add_phone, do_create_contact
from trubka.clients.lookup import find_caller
from trubka.clients.models import Company, Contact, PhoneNumber
from trubka.okdesk_api import shapes
from trubka.okdesk_api.common import (
    MANY,
    ONE,
    PAGE_DOC,
    WRITE,
    ActivationIn,
    ApiError,
    CleanInput,
    body_doc,
    keyset,
    not_found,
    page_params,
    set_active,
    unwrap,
)

router = Router(tags=["contacts"])


class ContactIn(CleanInput):
    """A contact's fields; every one is optional here (``PATCH`` is partial)."""

    first_name: str | None = Field(default=None, max_length=150)
    last_name: str | None = Field(default=None, max_length=150)
    patronymic: str | None = Field(default=None, max_length=150)
    phone: str | None = Field(default=None, max_length=64, description="work number")
    mobile_phone: str | None = Field(default=None, max_length=64)
    email: str | None = Field(default=None, max_length=254)
    company_id: int | None = None
    position: str | None = Field(default=None, max_length=255)
    comment: str | None = None


class ContactCreateIn(ContactIn):
    """``first_name`` or ``last_name`` is required (checked by the endpoint)."""


PHONE_KINDS = {"phone": PhoneNumber.Kind.WORK, "mobile_phone": PhoneNumber.Kind.MOBILE}
TEXT_FIELDS = ("first_name", "last_name", "patronymic", "email", "position", "comment")
NAME_REQUIRED = {
    "first_name": ["обязателен, если не указан last_name"],
    "last_name": ["обязателен, если не указан first_name"],
}


def _contacts() -> QuerySet[Contact]:
    return Contact.objects.select_related("company").prefetch_related("phones")


def _get(contact_id: int) -> Contact:
    contact = _contacts().filter(pk=contact_id).first()
    if contact is None:
        raise not_found("contact")
    return contact


def _company(company_id: int | None) -> Company | None:
    if company_id is None:
        return None
    company = Company.objects.filter(pk=company_id).first()
    if company is None:
        raise ApiError(422, {"company_id": ["компания не найдена"]})
    return company


def _fresh(contact: Contact) -> dict[str, Any]:
    return shapes.contact(_get(contact.pk))


@router.get(
    "/contacts",
    response=ONE,
    summary="Find one contact by phone (any format), id or e-mail; {} when none",
)
def find_contact(
    request: HttpRequest,
    phone: str | None = None,
    email: str | None = None,
    contact_id: int | None = Query(None, alias="id"),
) -> dict[str, Any]:
    if phone is None and email is None and contact_id is None:
        raise ApiError(422, {"base": ["укажите параметр поиска: phone, id или email"]})
    contacts = _contacts()
    if contact_id is not None:
        contacts = contacts.filter(pk=contact_id)
    if email is not None:
        if not email.strip():
            return {}
        contacts = contacts.filter(email__iexact=email.strip())
    if phone is not None:
        match = find_caller(phone)
        contacts = contacts.filter(pk__in=[c.pk for c in match.contacts])
    found = list(contacts.order_by("pk")[:2])
    return shapes.contact(found[0]) if len(found) == 1 else {}


@router.post(
    "/contacts",
    response=WRITE,
    openapi_extra=body_doc(ContactCreateIn, "contact"),
    summary="Create a contact ({'contact': {...}} or the bare object)",
)
def create_contact(request: HttpRequest) -> dict[str, Any]:
    body = unwrap(request, "contact", ContactCreateIn)
    if not (body.first_name or body.last_name):
        raise ApiError(422, dict(NAME_REQUIRED))
    company = _company(body.company_id)
    phones = [
        (kind, value) for field, kind in PHONE_KINDS.items() if (value := getattr(body, field))
    ]
    with transaction.atomic():
        contact = do_create_contact(
            first_name=body.first_name or "",
            last_name=body.last_name or "",
            patronymic=body.patronymic or "",
            company=company,
            email=body.email or "",
            position=body.position or "",
            comment=body.comment or "",
            phones=phones,
        )
    return _fresh(contact)


# Registered before "/contacts/{contact_id}": the URL patterns are tried in order and
# "list" would otherwise be taken for an id.
@router.get(
    "/contacts/list",
    response=MANY,
    openapi_extra=PAGE_DOC,
    summary="Contacts by keyset pages (page[size] ≤ 100, page[from_id], page[direction])",
)
def list_contacts(
    request: HttpRequest,
    phone: str | None = Query(
        None, description="Trubka extension: every contact the number could belong to"
    ),
    company_id: int | None = Query(None, description="Trubka extension: one company's"),
) -> list[dict[str, Any]]:
    page = page_params(request)
    contacts = _contacts()
    if phone is not None:
        contacts = contacts.filter(pk__in=[c.pk for c in find_caller(phone).contacts])
    if company_id is not None:
        contacts = contacts.filter(company_id=company_id)
    return [shapes.contact(c) for c in keyset(contacts, page)]


@router.patch(
    "/contacts/{contact_id}",
    response=WRITE,
    openapi_extra=body_doc(ContactIn, "contact"),
    summary="Edit a contact: only the fields given change",
)
def update_contact(request: HttpRequest, contact_id: int) -> dict[str, Any]:
    contact = _get(contact_id)
    body = unwrap(request, "contact", ContactIn)
    given = body.model_fields_set
    for field in TEXT_FIELDS:
        if field in given:
            setattr(contact, field, getattr(body, field) or "")
    if not (contact.first_name or contact.last_name):
        raise ApiError(422, dict(NAME_REQUIRED))
    if "company_id" in given:
        contact.company = _company(body.company_id)
    with transaction.atomic():
        contact.save()
        for field, kind in PHONE_KINDS.items():
            if field in given:
                contact.phones.filter(kind=kind).delete()
                if value := getattr(body, field):
                    do_add_phone(contact, value, kind=kind)
    return _fresh(contact)


@router.patch(
    "/contacts/{contact_id}/activations",
    response=WRITE,
    openapi_extra=body_doc(ActivationIn, "contact", required=False),
    summary="Archive ({'active': false}, the default) or restore ({'active': true}) a contact",
)
def activate_contact(request: HttpRequest, contact_id: int) -> dict[str, Any]:
    contact = _get(contact_id)
    set_active(request, "contact", contact)
    return _fresh(contact)
