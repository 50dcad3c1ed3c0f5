from __future__ import annotations

import re
from typing import Any

from django.contrib import messages
from django.db import transaction
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _

from trubka.calls.models import PhoneCall
from trubka.clients.actions import do_attach_number, do_fill_in_caller
from trubka.clients.forms import (
    CompanyForm,
    CompanyPhoneFormSet,
    ContactForm,
    ContactPhoneFormSet,
    FillInForm,
)
from trubka.clients.models import Company, Contact, PhoneNumber
from trubka.core.phones import NormalizedPhone, normalize_phone
from trubka.core.search import search_term
from trubka.core.views import paginate, query_without_page
from trubka.tickets.models import Ticket

_DIGITS = re.compile(r"\D+")


def _phone_query(query: str) -> Q | None:
    """Numbers matching what was typed: the whole number in any format, or a part of it."""
    digits = _DIGITS.sub("", query)
    if len(digits) < 3 or len(digits) * 2 < len(re.sub(r"\s+", "", query)):
        return None
    key = normalize_phone(query).match_key
    return Q(phones__match_key=key) | Q(phones__match_key__contains=digits)


def _search(query: str) -> tuple[QuerySet[Contact], QuerySet[Company]]:
    contacts = Contact.objects.select_related("company").prefetch_related("phones")
    companies = Company.objects.prefetch_related("phones")
    if not query:
        return contacts, companies
    by_phone = _phone_query(query)
    if by_phone is not None:
        return contacts.filter(by_phone).distinct(), companies.filter(by_phone).distinct()
    term = search_term(query)
    return contacts.filter(search_text__contains=term), companies.filter(search_text__contains=term)


def client_list(request: HttpRequest) -> HttpResponse:
    """Contacts and companies as two tabs; a search shows how many of each it found."""
    query = request.GET.get("q", "").strip()
    kind = "company" if request.GET.get("kind") == "company" else "contact"
    contacts, companies = _search(query)
    rows = companies if kind == "company" else contacts
    return render(
        request,
        "clients/list.html",
        {
            "page": paginate(request, rows),
            "query": query,
            "kind": kind,
            "contact_count": contacts.count(),
            "company_count": companies.count(),
            "filters": query_without_page(request),
        },
    )


def _calls_and_tickets(calls: QuerySet[PhoneCall], tickets: QuerySet[Ticket]) -> dict[str, Any]:
    return {
        "calls": calls.select_related("employee", "ticket", "contact").prefetch_related(
            "recordings"
        ),
        "tickets": tickets.select_related("assignee"),
    }


def contact_detail(request: HttpRequest, pk: int) -> HttpResponse:
    contact = get_object_or_404(Contact.objects.select_related("company"), pk=pk)
    context = {
        "contact": contact,
        "phones": contact.phones.all(),
        "new_ticket_query": f"contact={contact.pk}",
        **_calls_and_tickets(contact.phone_calls.all(), contact.tickets.all()),
    }
    return render(request, "clients/contact_detail.html", context)


def company_detail(request: HttpRequest, pk: int) -> HttpResponse:
    company = get_object_or_404(Company, pk=pk)
    calls = PhoneCall.objects.filter(Q(company=company) | Q(contact__company=company))
    tickets = Ticket.objects.filter(Q(company=company) | Q(contact__company=company))
    context = {
        "company": company,
        "phones": company.phones.all(),
        "new_ticket_query": f"company={company.pk}",
        "contacts": company.contacts.prefetch_related("phones"),
        **_calls_and_tickets(calls, tickets),
    }
    return render(request, "clients/company_detail.html", context)


def _edit_client(
    request: HttpRequest,
    instance: Contact | Company | None,
    form_class: type[ContactForm] | type[CompanyForm],
    formset_class: Any,
    template: str,
) -> HttpResponse:
    initial: dict[str, Any] = {}
    phone_initial: list[dict[str, str]] = []
    if instance is None:
        if request.GET.get("company"):
            initial["company"] = request.GET["company"]
        if request.GET.get("phone"):
            phone_initial = [{"raw": request.GET["phone"], "kind": PhoneNumber.Kind.MOBILE}]
    form = form_class(request.POST or None, instance=instance, initial=initial)
    formset = formset_class(
        request.POST or None, instance=form.instance, prefix="phones", initial=phone_initial
    )
    if request.method == "POST" and form.is_valid() and formset.is_valid():
        with transaction.atomic():
            client = form.save()
            formset.instance = client
            formset.save()
            if isinstance(client, Contact):
                # Keep the company name searchable on the contact.
                client.save()
        messages.success(request, _("Saved."))
        return redirect(client_url(client))
    return render(request, template, {"form": form, "formset": formset, "object": instance})


def client_url(client: Contact | Company) -> str:
    if isinstance(client, Contact):
        return reverse("clients:contact", args=[client.pk])
    return reverse("clients:company", args=[client.pk])


def contact_create(request: HttpRequest) -> HttpResponse:
    return _edit_client(
        request, None, ContactForm, ContactPhoneFormSet, "clients/contact_form.html"
    )


def contact_edit(request: HttpRequest, pk: int) -> HttpResponse:
    contact = get_object_or_404(Contact, pk=pk)
    return _edit_client(
        request, contact, ContactForm, ContactPhoneFormSet, "clients/contact_form.html"
    )


def company_create(request: HttpRequest) -> HttpResponse:
    return _edit_client(
        request, None, CompanyForm, CompanyPhoneFormSet, "clients/company_form.html"
    )


def company_edit(request: HttpRequest, pk: int) -> HttpResponse:
    company = get_object_or_404(Company, pk=pk)
    return _edit_client(
        request, company, CompanyForm, CompanyPhoneFormSet, "clients/company_form.html"
    )


CLOSE_MATCH_DIGITS = 7


def _close_matches(phone: NormalizedPhone) -> tuple[list[Contact], list[Company]]:
    """Clients whose numbers end like this one: the likeliest owners, offered first."""
    tail = phone.digits[-CLOSE_MATCH_DIGITS:]
    if len(tail) < CLOSE_MATCH_DIGITS:
        return [], []
    contacts = (
        Contact.objects.filter(phones__match_key__endswith=tail, from_unknown_call_at__isnull=True)
        .select_related("company")
        .prefetch_related("phones")
        .distinct()[:10]
    )
    companies = (
        Company.objects.filter(phones__match_key__endswith=tail)
        .prefetch_related("phones")
        .distinct()[:10]
    )
    return list(contacts), list(companies)


def fill_in(request: HttpRequest) -> HttpResponse:
    """The «+» of an unknown caller: a new contact, or the number added to an existing client.

    Either way every past call from the number is linked to the client afterwards.
    """
    raw = request.GET.get("phone") or request.POST.get("phone", "")
    phone = normalize_phone(raw)
    if not phone.match_key:
        messages.error(request, _("There is no phone number to fill in a client for."))
        return redirect("clients:list")
    form = FillInForm(request.POST if request.POST.get("mode") == "new" else None)
    if request.method == "POST":
        mode = request.POST.get("mode")
        client: Contact | Company | None = None
        if mode == "new" and form.is_valid():
            client = do_fill_in_caller(phone.raw, **form.cleaned_data)
        elif mode == "attach":
            kind, _sep, pk = request.POST.get("client", "").partition(":")
            target: Contact | Company | None = None
            if pk.isdecimal() and kind == "contact":
                target = Contact.objects.filter(pk=int(pk)).first()
            elif pk.isdecimal() and kind == "company":
                target = Company.objects.filter(pk=int(pk)).first()
            if target is not None:
                client = do_attach_number(phone.raw, target)
            if client is None:
                messages.error(request, _("Choose the client the number belongs to."))
        if client is not None:
            messages.success(
                request,
                _("The number %(phone)s now belongs to %(client)s; its calls are linked.")
                % {"phone": phone.display, "client": client},
            )
            return redirect(client_url(client))
    matches_contacts, matches_companies = _close_matches(phone)
    query = request.GET.get("q", "").strip()
    found_contacts: list[Contact] = []
    found_companies: list[Company] = []
    if query:
        contacts, companies = _search(query)
        found_contacts = list(contacts.filter(from_unknown_call_at__isnull=True)[:20])
        found_companies = list(companies[:20])
    calls_count = PhoneCall.objects.filter(client_match_key=phone.match_key).count()
    return render(
        request,
        "clients/fill_in.html",
        {
            "phone": phone,
            "form": form,
            "match_contacts": matches_contacts,
            "match_companies": matches_companies,
            "query": query,
            "found_contacts": found_contacts,
            "found_companies": found_companies,
            "calls_count": calls_count,
        },
    )
