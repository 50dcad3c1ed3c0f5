"""Issues («заявки»), their statuses and comments (okdesk-api notes §6, §8).

Where Okdesk's documentation is silent or Trubka has less than Okdesk, the choices are:

- ``POST /issues`` takes the documented ``{"issue": {...}}`` or the bare object. ``author`` is
  Okdesk's «Administrator keys only» field: an employee other than the key's own needs a staff
  key (403 otherwise); a contact author is allowed for any key, but Trubka's tickets have an
  employee author only, so the ticket gets no author and the contact becomes the ticket's
  contact when ``contact_id`` is absent. ``deadline_at`` is checked for format and otherwise
  ignored (tickets have no deadline yet); ``custom_parameters``, ``group_id``, observers and
  the like are accepted and ignored.
- Filters of ``/issues/list`` and ``/issues/count`` share one implementation, so each endpoint
  also understands the other's names (``status_codes[]`` and ``status[]`` alike). Date filters
  are read in the account's time zone; a date without a time is a whole day, so
  ``created_until=22-06-2016`` includes that day. An unknown status, priority or type code
  matches nothing rather than failing: Okdesk accounts have codes Trubka does not.
- ``POST /issues/{id}/comments`` documents ``author_id`` as required; Trubka is liberal and
  uses the key's employee when it is missing. Writing as another employee needs a staff key,
  as for issue authors.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.utils import translation
from ninja import Query, Router

from trubka.clients.models import Company, Contact
from trubka.okdesk_api import shapes
from trubka.okdesk_api.common import (
    ERRORS,
    ApiError,
    ErrorOut,
    body_doc,
    int_list,
    not_found,
    page_params,
    parse_datetime,
    str_list,
    unwrap,
)
from trubka.okdesk_api.schemas.issues import (
    COUNT_PARAMETERS,
    LIST_PARAMETERS,
    MAX_PAGE_SIZE,
    ONE_ISSUE,
    PERIODS,
    SORT_FIELDS,
    AssigneeIn,
    CommentIn,
    CommentOut,
    IssueIn,
    IssueOut,
    IssueTypeOut,
    Periods,
    PriorityOut,
    StatusChangeIn,
    StatusOut,
)
from trubka.staff.models import Employee
from trubka.tickets.actions import (
    TicketStatusError,
    do_add_ticket_comment,
    do_assign_ticket,
    do_change_ticket_status,
    do_create_ticket,
)
from trubka.tickets.models import (
    OPEN_STATUSES,
    Priority,
    Source,
    Status,
    Ticket,
    TicketComment,
    TicketType,
)

router = Router(tags=["issues"])

FINAL_STATUSES = frozenset({Status.COMPLETED, Status.CLOSED})


# Helpers.


def _key_owner(request: HttpRequest) -> Employee:
    owner = getattr(request, "auth", None)
    if not isinstance(owner, Employee):
        raise ApiError(401, "неверный или отсутствующий api_token")
    return owner


def _tickets() -> QuerySet[Ticket]:
    return Ticket.objects.select_related("contact", "assignee", "author").prefetch_related(
        "comments"
    )


def _ticket(issue_id: int) -> Ticket:
    ticket = _tickets().filter(pk=issue_id).first()
    if ticket is None:
        raise not_found("issue")
    return ticket


def _active_employee(employee_id: int) -> Employee | None:
    return Employee.objects.filter(pk=employee_id, is_active=True).first()


def _may_act_as(owner: Employee, employee_id: int) -> None:
    """Okdesk lets only Administrator keys name another author; here that is a staff key."""
    if employee_id != owner.pk and not owner.is_staff:
        raise ApiError(403, "указать другого сотрудника автором может только ключ администратора")


def _by_ids(tickets: QuerySet[Ticket], field: str, ids: list[int]) -> QuerySet[Ticket]:
    """Okdesk's id filters: any of ``ids``, where 0 means «without» (no contact, …)."""
    if not ids:
        return tickets
    condition = Q(**{f"{field}__in": [i for i in ids if i != 0]})
    if 0 in ids:
        condition |= Q(**{f"{field}__isnull": True})
    return tickets.filter(condition)


def _by_period(
    tickets: QuerySet[Ticket], name: str, since: str | None, until: str | None
) -> QuerySet[Ticket]:
    field = f"{name}_at"
    try:
        start = parse_datetime(since)
    except ValueError as exc:
        raise ApiError(422, {f"{name}_since": [str(exc)]}) from None
    try:
        end = parse_datetime(until)
    except ValueError as exc:
        raise ApiError(422, {f"{name}_until": [str(exc)]}) from None
    if start is not None:
        tickets = tickets.filter(**{f"{field}__gte": start})
    if end is not None and until is not None:
        if ":" in until:
            tickets = tickets.filter(**{f"{field}__lte": end})
        else:
            # A date alone is the whole day: Okdesk's «created_until=22-06-2016» is «по».
            tickets = tickets.filter(**{f"{field}__lt": end + timedelta(days=1)})
    return tickets


def _filtered(request: HttpRequest, periods: Periods, opened: bool | None) -> QuerySet[Ticket]:
    """Both endpoints' filters. issues/list documents ``status_codes[]``, ``priority_codes[]``,
    ``type_codes[]``; issues/count documents ``status[]``, ``status_not[]``, ``priority[]``,
    ``type[]``, ``opened``. Each name works on both."""
    tickets: QuerySet[Ticket] = Ticket.objects.all()
    statuses = str_list(request, "status_codes") + str_list(request, "status")
    if statuses:
        tickets = tickets.filter(status__in=statuses)
    # status_codes_not[] is not in Okdesk's documentation for issues/list, but clients send
    # it (ast2okdesk asks for «status_codes_not[]=completed»), so it is honoured, as is the
    # documented status_not[] of issues/count.
    excluded = str_list(request, "status_codes_not") + str_list(request, "status_not")
    if excluded:
        tickets = tickets.exclude(status__in=excluded)
    if opened:
        tickets = tickets.filter(status__in=OPEN_STATUSES)
    priorities = str_list(request, "priority_codes") + str_list(request, "priority")
    if priorities:
        tickets = tickets.filter(priority__in=priorities)
    types = str_list(request, "type_codes") + str_list(request, "type")
    if types:
        tickets = tickets.filter(type__in=types)
    tickets = _by_ids(tickets, "contact", int_list(request, "contact_ids"))
    tickets = _by_ids(tickets, "company", int_list(request, "company_ids"))
    tickets = _by_ids(tickets, "assignee", int_list(request, "assignee_ids"))
    tickets = _by_ids(tickets, "author", int_list(request, "author_employee_ids"))
    for name in PERIODS:
        since, until = getattr(periods, f"{name}_since"), getattr(periods, f"{name}_until")
        tickets = _by_period(tickets, name, since, until)
    return tickets


def _sorting(request: HttpRequest) -> list[str]:
    field = request.GET.get("sorting[field]", "created_at")
    direction = request.GET.get("sorting[direction]", "reverse")
    errors: dict[str, list[str]] = {}
    if field not in SORT_FIELDS:
        errors["field"] = ["должно быть одним из: " + ", ".join(SORT_FIELDS)]
    if direction not in {"reverse", "forward"}:
        errors["direction"] = ["должен быть одним из: reverse, forward"]
    if errors:
        raise ApiError(422, {"sorting": errors})
    sign = "-" if direction == "reverse" else ""
    return [f"{sign}{field}", f"{sign}id"]


# Endpoints. The fixed paths come before /issues/{issue_id}, which would otherwise take them.


@router.get(
    "/issues/list",
    response={200: list[IssueOut], 422: ErrorOut, **ERRORS},
    openapi_extra=LIST_PARAMETERS,
    summary="Issues by filters, a page at a time (a bare array)",
)
def list_issues(request: HttpRequest, periods: Query[Periods]) -> list[dict[str, Any]]:
    page = page_params(request, default_size=MAX_PAGE_SIZE, max_size=MAX_PAGE_SIZE)
    order = _sorting(request)
    tickets = _filtered(request, periods, opened=None).order_by(*order)
    tickets = tickets.select_related("contact", "assignee", "author").prefetch_related("comments")
    offset = (page["number"] - 1) * page["size"]
    return [shapes.issue(t) for t in tickets[offset : offset + page["size"]]]


@router.get(
    "/issues/count",
    response={200: list[int], 422: ErrorOut, **ERRORS},
    openapi_extra=COUNT_PARAMETERS,
    summary="Ids of the issues matching the filters (despite the name, not a number)",
)
def count_issues(
    request: HttpRequest,
    periods: Query[Periods],
    opened: bool | None = None,
) -> list[int]:
    return list(_filtered(request, periods, opened).order_by("pk").values_list("pk", flat=True))


@router.get(
    "/issues/statuses",
    response={200: list[StatusOut], **ERRORS},
    summary="Issue statuses; final ones count as done",
)
def list_statuses(request: HttpRequest) -> list[dict[str, Any]]:
    return [
        {"code": s.value, "name": shapes.label(s), "final": s in FINAL_STATUSES} for s in Status
    ]


@router.get(
    "/issues/priorities",
    response={200: list[PriorityOut], **ERRORS},
    summary="Issue priorities",
)
def list_priorities(request: HttpRequest) -> list[dict[str, Any]]:
    return [{"code": p.value, "name": shapes.label(p)} for p in Priority]


@router.get(
    "/issues/types",
    response={200: list[IssueTypeOut], **ERRORS},
    summary="Issue types",
)
def list_types(request: HttpRequest) -> list[dict[str, Any]]:
    return [
        {
            "id": shapes.TYPE_IDS[t.value],
            "code": t.value,
            "name": shapes.label(t),
            "available_for_client": True,
        }
        for t in TicketType
    ]


@router.post(
    "/issues",
    response={200: IssueOut, 403: ErrorOut, 422: ErrorOut, **ERRORS},
    openapi_extra=body_doc(IssueIn, "issue"),
    summary="Create an issue (source api; the key's employee is the author)",
)
def create_issue(request: HttpRequest) -> dict[str, Any]:
    body = unwrap(request, "issue", IssueIn)
    owner = _key_owner(request)
    errors: dict[str, Any] = {}
    try:
        parse_datetime(body.deadline_at)
    except ValueError as exc:
        errors["deadline_at"] = [str(exc)]

    author: Employee | None = owner
    contact: Contact | None = None
    if body.contact_id is not None:
        contact = Contact.objects.filter(pk=body.contact_id).first()
        if contact is None:
            errors["contact_id"] = ["контакт не найден"]
    if body.author is not None and body.author.type == "employee":
        _may_act_as(owner, body.author.id)
        author = _active_employee(body.author.id)
        if author is None:
            errors["author"] = {"id": ["сотрудник не найден или неактивен"]}
    elif body.author is not None:
        author = None
        author_contact = Contact.objects.filter(pk=body.author.id).first()
        if author_contact is None:
            errors["author"] = {"id": ["контакт не найден"]}
        elif body.contact_id is None:
            contact = author_contact

    company: Company | None = None
    if body.company_id is not None:
        company = Company.objects.filter(pk=body.company_id).first()
        if company is None:
            errors["company_id"] = ["компания не найдена"]
        elif contact is not None and contact.company_id not in (None, company.pk):
            errors["contact_id"] = ["контакт относится к другой компании"]

    assignee: Employee | None = None
    if body.assignee_id is not None:
        assignee = _active_employee(body.assignee_id)
        if assignee is None:
            errors["assignee_id"] = ["сотрудник не найден или неактивен"]
    if errors:
        raise ApiError(422, errors)

    ticket = do_create_ticket(
        title=body.title,
        description=body.description or "",
        contact=contact,
        company=company,
        assignee=assignee,
        author=author,
        priority=body.priority or Priority.NORMAL,
        type=body.type or TicketType.QUESTION,
        source=Source.API,
    )
    return shapes.issue(_ticket(ticket.pk))


@router.get(
    "/issues/{issue_id}",
    response={200: IssueOut, **ONE_ISSUE},
    summary="One issue",
)
def get_issue(request: HttpRequest, issue_id: int) -> dict[str, Any]:
    return shapes.issue(_ticket(issue_id))


@router.post(
    "/issues/{issue_id}/statuses",
    response={200: IssueOut, **ONE_ISSUE},
    openapi_extra=body_doc(StatusChangeIn),
    summary="Change an issue's status, with an optional comment",
)
def change_status(request: HttpRequest, issue_id: int) -> dict[str, Any]:
    ticket = _ticket(issue_id)
    body = unwrap(request, "status", StatusChangeIn)
    owner = _key_owner(request)
    comment = (body.comment or "").strip()
    try:
        with translation.override("ru"):
            do_change_ticket_status(
                ticket,
                body.code.strip(),
                by=owner,
                comment=comment,
                comment_public=bool(body.comment_public),
            )
    except TicketStatusError as exc:
        raise ApiError(422, {"code": [str(exc)]}) from None
    return shapes.issue(_ticket(issue_id))


@router.patch(
    "/issues/{issue_id}/assignees",
    response={200: IssueOut, **ONE_ISSUE},
    openapi_extra=body_doc(AssigneeIn),
    summary="Assign an issue to an employee (or clear the assignee)",
)
def assign_issue(request: HttpRequest, issue_id: int) -> dict[str, Any]:
    ticket = _ticket(issue_id)
    body = unwrap(request, "assignee", AssigneeIn)
    assignee = None
    if body.assignee_id is not None:
        assignee = _active_employee(body.assignee_id)
        if assignee is None:
            raise ApiError(422, {"assignee_id": ["сотрудник не найден или неактивен"]})
    do_assign_ticket(ticket, assignee)
    return shapes.issue(_ticket(issue_id))


@router.get(
    "/issues/{issue_id}/comments",
    response={200: list[CommentOut], **ONE_ISSUE},
    summary="An issue's comments, oldest first",
)
def list_comments(request: HttpRequest, issue_id: int) -> list[dict[str, Any]]:
    ticket = _ticket(issue_id)
    comments = TicketComment.objects.filter(ticket=ticket).select_related(
        "author", "author_contact"
    )
    return [shapes.comment(c) for c in comments.order_by("created_at", "id")]


@router.post(
    "/issues/{issue_id}/comments",
    response={200: CommentOut, 403: ErrorOut, **ONE_ISSUE},
    openapi_extra=body_doc(CommentIn, "comment"),
    summary="Add a comment (public or internal) by an employee or a contact",
)
def add_comment(request: HttpRequest, issue_id: int) -> dict[str, Any]:
    ticket = _ticket(issue_id)
    body = unwrap(request, "comment", CommentIn)
    owner = _key_owner(request)
    if body.author_type == "contact":
        if body.author_id is None:
            raise ApiError(422, {"author_id": ["обязателен для автора-контакта"]})
        author_contact = Contact.objects.filter(pk=body.author_id).first()
        if author_contact is None:
            raise ApiError(422, {"author_id": ["контакт не найден"]})
        # A client's own words are visible to the client unless said otherwise.
        public = True if body.public is None else body.public
        saved = do_add_ticket_comment(
            ticket, content=body.content, author_contact=author_contact, public=public
        )
    else:
        author: Employee | None = owner
        if body.author_id is not None:
            _may_act_as(owner, body.author_id)
            author = _active_employee(body.author_id)
            if author is None:
                raise ApiError(422, {"author_id": ["сотрудник не найден или неактивен"]})
        saved = do_add_ticket_comment(
            ticket, content=body.content, author=author, public=bool(body.public)
        )
    return shapes.comment(saved)
