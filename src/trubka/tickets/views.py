from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from trubka.core.search import search_term
from trubka.core.views import paginate, query_without_page
from trubka.staff.models import Employee
from trubka.tickets.actions import (
    TicketStatusError,
    do_add_ticket_comment,
    do_assign_ticket,
    do_change_ticket_status,
    do_create_ticket,
)
from trubka.tickets.forms import AssignForm, CommentForm, StatusForm, TicketFilterForm, TicketForm
from trubka.tickets.models import OPEN_STATUSES, Source, Ticket


def _employee(request: HttpRequest) -> Employee:
    user = request.user
    assert isinstance(user, Employee)
    return user


def ticket_list(request: HttpRequest) -> HttpResponse:
    params = request.GET.copy()
    params.setdefault("status", TicketFilterForm.STATUS_OPEN)
    form = TicketFilterForm(params)
    form.is_valid()
    # A filter with a bad value (a stale link, say) is dropped alone; the others still apply.
    data = form.cleaned_data
    tickets = Ticket.objects.select_related("contact", "company", "assignee")
    query = data.get("q", "").strip().lstrip("#")
    if query.isdecimal() and len(query) <= 12:
        # A ticket number finds that ticket whatever the other filters say.
        tickets = tickets.filter(pk=int(query))
    else:
        status = data.get("status") or TicketFilterForm.STATUS_OPEN
        if status == TicketFilterForm.STATUS_OPEN:
            tickets = tickets.filter(status__in=OPEN_STATUSES)
        elif status != TicketFilterForm.STATUS_ANY:
            tickets = tickets.filter(status=status)
        if data.get("mine"):
            tickets = tickets.filter(assignee=_employee(request))
        elif data.get("assignee"):
            tickets = tickets.filter(assignee=data["assignee"])
        if data.get("source"):
            tickets = tickets.filter(source=data["source"])
        if query:
            tickets = tickets.filter(search_text__contains=search_term(query))
    return render(
        request,
        "tickets/list.html",
        {
            "form": form,
            "page": paginate(request, tickets),
            "filters": query_without_page(request),
            "missed_source": Source.MISSED_CALL,
        },
    )


def ticket_create(request: HttpRequest) -> HttpResponse:
    initial = {k: request.GET[k] for k in ("contact", "company") if request.GET.get(k)}
    form = TicketForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        ticket = do_create_ticket(author=_employee(request), **form.cleaned_data)
        messages.success(request, _("Ticket #%(n)s created.") % {"n": ticket.pk})
        return redirect("tickets:detail", pk=ticket.pk)
    return render(request, "tickets/form.html", {"form": form})


def ticket_detail(request: HttpRequest, pk: int) -> HttpResponse:
    ticket = get_object_or_404(
        Ticket.objects.select_related("contact", "company", "assignee", "author"), pk=pk
    )
    status_form = StatusForm(allowed=ticket.allowed_statuses())
    return render(
        request,
        "tickets/detail.html",
        {
            "ticket": ticket,
            "comments": ticket.comments.select_related("author", "author_contact"),
            "calls": ticket.phone_calls.select_related("employee", "contact").prefetch_related(
                "recordings"
            ),
            "status_form": status_form,
            "assign_form": AssignForm(initial={"assignee": ticket.assignee_id}),
            "comment_form": CommentForm(),
        },
    )


@require_POST
def ticket_change_status(request: HttpRequest, pk: int) -> HttpResponse:
    ticket = get_object_or_404(Ticket, pk=pk)
    form = StatusForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose a status."))
        return redirect("tickets:detail", pk=pk)
    try:
        do_change_ticket_status(
            ticket,
            form.cleaned_data["status"],
            by=_employee(request),
            comment=form.cleaned_data["comment"],
        )
    except TicketStatusError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, _("Status changed."))
    return redirect("tickets:detail", pk=pk)


@require_POST
def ticket_assign(request: HttpRequest, pk: int) -> HttpResponse:
    ticket = get_object_or_404(Ticket, pk=pk)
    form = AssignForm(request.POST)
    if form.is_valid():
        do_assign_ticket(ticket, form.cleaned_data["assignee"])
        messages.success(request, _("Assignee changed."))
    else:
        messages.error(request, _("Choose an active employee."))
    return redirect("tickets:detail", pk=pk)


@require_POST
def ticket_comment(request: HttpRequest, pk: int) -> HttpResponse:
    ticket = get_object_or_404(Ticket, pk=pk)
    form = CommentForm(request.POST)
    if form.is_valid():
        do_add_ticket_comment(
            ticket,
            content=form.cleaned_data["content"],
            public=form.cleaned_data["public"],
            author=_employee(request),
        )
        messages.success(request, _("Comment added."))
    else:
        messages.error(request, _("A comment cannot be empty."))
    return redirect("tickets:detail", pk=pk)
