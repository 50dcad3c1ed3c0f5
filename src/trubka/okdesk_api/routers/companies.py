"""Companies: search, create, edit, list and archive (okdesk-api notes §5).

Per the documented search [doc S1, S2 «Поиск компании»]:

- ``GET /companies`` answers **one root object**; nothing found is ``200 {}`` (S2 reads an
  empty answer as «none»).
- ``name`` is an exact, case-insensitive match of the name or the additional name; ``phone``
  follows Trubka's caller rule (any format, the last N digits, exact E.164 and active
  companies preferred) applied to the companies' own numbers; ``id`` is the id. Given
  together they narrow each other; several companies left is ambiguous and answers ``{}``.
  ``crm_1c_id``: Trubka keeps none, so it matches nothing.
- ``search_string`` is a case-insensitive substring of the name; when it is given the other
  parameters are ignored [doc S1]. It answers the best of the matches: an exact name first,
  then active companies, then the oldest.
- ``GET /companies/list``: keyset pages [doc S2], filters ``name``/``additional_name`` (exact,
  case-insensitive) and ``created_since``/``created_until`` in the account's time zone; a
  date alone for ``created_until`` takes in the whole day. Trubka has no categories,
  assignees or observers for companies: ``category_ids[]``, ``default_assignee_ids[]``,
  ``default_assignee_group_ids[]``, ``observer_ids[]`` and ``observer_group_ids[]`` match
  every company when they hold ``0`` («without») and none otherwise.
- ``phone`` is the company's work number; ``PATCH`` replaces the work numbers (an empty value
  removes them).
- ``PATCH /companies/{id}/activations`` with no body archives [S2 ``ArchiveCompanyRequest``].
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest
from ninja import Router
from ninja.params.functions import Query
from pydantic import Field

from trubka.clients.actions import do_add_phone, do_create_company
from trubka.clients.lookup import find_caller
from trubka.clients.models import Company, PhoneNumber
from trubka.core.search import search_term
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
    int_list,
    keyset,
    not_found,
    page_params,
    parse_datetime,
    set_active,
    unwrap,
)

router = Router(tags=["companies"])

TEXT_FIELDS = ("additional_name", "email", "site", "address", "comment")
UNSUPPORTED_ID_FILTERS = (
    "category_ids",
    "default_assignee_ids",
    "default_assignee_group_ids",
    "observer_ids",
    "observer_group_ids",
)
_DATE_ONLY = re.compile(r"^\s*(\d{4}-\d{2}-\d{2}|\d{2}[-.]\d{2}[-.]\d{4})\s*$")


class CompanyIn(CleanInput):
    """A company's fields; every one is optional here (``PATCH`` is partial)."""

    name: str | None = Field(default=None, max_length=255)
    additional_name: str | None = Field(default=None, max_length=255)
    phone: str | None = Field(default=None, max_length=64, description="work number")
    email: str | None = Field(default=None, max_length=254)
    site: str | None = Field(default=None, max_length=255)
    address: str | None = Field(default=None, max_length=500)
    comment: str | None = None


class CompanyCreateIn(CompanyIn):
    """``name`` is required."""

    name: str = Field(min_length=1, max_length=255)


def _companies() -> QuerySet[Company]:
    return Company.objects.prefetch_related("phones", "contacts")


def _get(company_id: int) -> Company:
    company = _companies().filter(pk=company_id).first()
    if company is None:
        raise not_found("company")
    return company


def _fresh(company: Company) -> dict[str, Any]:
    return shapes.company(_get(company.pk))


def _named(term: str, *, fields: tuple[str, ...] = ("name", "additional_name")) -> list[int]:
    """Ids of companies whose name (or additional name) is ``term``, ignoring case and runs
    of spaces. The lower-cased ``search_text`` column narrows the candidates on every
    database; the exact comparison is made here (SQLite folds ASCII case only)."""
    if not term:
        return []
    candidates = Company.objects.filter(search_text__contains=term).only("pk", *fields)
    return [c.pk for c in candidates if any(search_term(getattr(c, f)) == term for f in fields)]


@router.get(
    "/companies",
    response=ONE,
    summary="Find one company by name, phone, id or search_string; {} when none",
)
def find_company(
    request: HttpRequest,
    name: str | None = None,
    phone: str | None = None,
    company_id: int | None = Query(None, alias="id"),
    crm_1c_id: str | None = None,
    search_string: str | None = None,
) -> dict[str, Any]:
    if search_string is not None:
        return _best_substring_match(search_term(search_string))
    if name is None and phone is None and company_id is None and crm_1c_id is None:
        raise ApiError(
            422, {"base": ["укажите параметр поиска: name, phone, id или search_string"]}
        )
    if crm_1c_id is not None:
        return {}
    companies = _companies()
    if company_id is not None:
        companies = companies.filter(pk=company_id)
    if name is not None:
        companies = companies.filter(pk__in=_named(search_term(name)))
    if phone is not None:
        companies = companies.filter(pk__in=[c.pk for c in find_caller(phone).companies])
    found = list(companies.order_by("pk")[:2])
    return shapes.company(found[0]) if len(found) == 1 else {}


def _best_substring_match(term: str) -> dict[str, Any]:
    if not term:
        return {}
    candidates = Company.objects.filter(search_text__contains=term).only("pk", "name", "active")
    matches = [c for c in candidates if term in search_term(c.name)]
    if not matches:
        return {}
    best = min(matches, key=lambda c: (search_term(c.name) != term, not c.active, c.pk))
    return _fresh(best)


@router.post(
    "/companies",
    response=WRITE,
    openapi_extra=body_doc(CompanyCreateIn, "company"),
    summary="Create a company ({'company': {...}} or the bare object)",
)
def create_company(request: HttpRequest) -> dict[str, Any]:
    body = unwrap(request, "company", CompanyCreateIn)
    if not body.name:
        raise ApiError(422, {"name": ["обязательно"]})
    fields = {f: getattr(body, f) or "" for f in TEXT_FIELDS}
    phones = [(PhoneNumber.Kind.WORK, body.phone)] if body.phone else []
    with transaction.atomic():
        company = do_create_company(name=body.name, phones=phones, **fields)
    return _fresh(company)


# Registered before "/companies/{company_id}" (the URL patterns are tried in order).
def _moment(name: str, value: str | None, *, end: bool) -> tuple[datetime | None, bool]:
    """A ``created_*`` bound and whether it is exclusive: ``created_until`` given as a date
    alone ends before the next day."""
    try:
        moment = parse_datetime(value)
        if moment is None:
            return None, False
        if not 1900 <= moment.year <= 9000:
            raise ValueError("дата вне допустимого диапазона")
    except ValueError as exc:
        raise ApiError(422, {name: [str(exc)]}) from None
    if end and value is not None and _DATE_ONLY.match(value):
        return moment + timedelta(days=1), True
    return moment, False


@router.get(
    "/companies/list",
    response=MANY,
    openapi_extra=PAGE_DOC,
    summary="Companies by keyset pages (page[size] ≤ 100, page[from_id], page[direction])",
)
def list_companies(
    request: HttpRequest,
    name: str | None = None,
    additional_name: str | None = None,
    created_since: str | None = Query(
        None, description="YYYY-MM-DD or YYYY-MM-DD HH:MM, the account's time zone"
    ),
    created_until: str | None = Query(
        None, description="inclusive; a date alone takes in the whole day"
    ),
) -> list[dict[str, Any]]:
    page = page_params(request)
    since, _ = _moment("created_since", created_since, end=False)
    until, exclusive = _moment("created_until", created_until, end=True)
    for filter_name in UNSUPPORTED_ID_FILTERS:
        ids = int_list(request, filter_name)
        if ids and 0 not in ids:
            return []
    companies = _companies()
    if name is not None:
        companies = companies.filter(pk__in=_named(search_term(name), fields=("name",)))
    if additional_name is not None:
        companies = companies.filter(
            pk__in=_named(search_term(additional_name), fields=("additional_name",))
        )
    if since is not None:
        companies = companies.filter(created_at__gte=since)
    if until is not None and exclusive:
        companies = companies.filter(created_at__lt=until)
    elif until is not None:
        companies = companies.filter(created_at__lte=until)
    return [shapes.company(c) for c in keyset(companies, page)]


@router.patch(
    "/companies/{company_id}",
    response=WRITE,
    openapi_extra=body_doc(CompanyIn, "company"),
    summary="Edit a company: only the fields given change",
)
def update_company(request: HttpRequest, company_id: int) -> dict[str, Any]:
    company = _get(company_id)
    body = unwrap(request, "company", CompanyIn)
    given = body.model_fields_set
    if "name" in given:
        if not body.name:
            raise ApiError(422, {"name": ["не может быть пустым"]})
        company.name = body.name
    for field in TEXT_FIELDS:
        if field in given:
            setattr(company, field, getattr(body, field) or "")
    with transaction.atomic():
        company.save()
        if "phone" in given:
            company.phones.filter(kind=PhoneNumber.Kind.WORK).delete()
            if body.phone:
                do_add_phone(company, body.phone, kind=PhoneNumber.Kind.WORK)
    return _fresh(company)


@router.patch(
    "/companies/{company_id}/activations",
    response=WRITE,
    openapi_extra=body_doc(ActivationIn, "company", required=False),
    summary="Archive ({'active': false}, the default) or restore ({'active': true}) a company",
)
def activate_company(request: HttpRequest, company_id: int) -> dict[str, Any]:
    company = _get(company_id)
    set_active(request, "company", company)
    return _fresh(company)
