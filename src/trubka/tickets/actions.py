"""State changes of tickets. Views, the API and the connector all go through these."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from trubka.clients.models import Company, Contact
from trubka.staff.models import Employee
from trubka.tickets.models import (
    TRANSITIONS,
    Priority,
    Source,
    Status,
    Ticket,
    TicketComment,
    TicketType,
)


class TicketStatusError(Exception):
    """The requested status change is not allowed from the ticket's current status."""


@transaction.atomic
def do_create_ticket(
    *,
    title: str,
    description: str = "",
    contact: Contact | None = None,
    company: Company | None = None,
    assignee: Employee | None = None,
    author: Employee | None = None,
    priority: str = Priority.NORMAL,
    type: str = TicketType.QUESTION,
    source: str = Source.MANUAL,
) -> Ticket:
    if company is None and contact is not None:
        company = contact.company
    return Ticket.objects.create(
        title=title.strip(),
        description=description,
        contact=contact,
        company=company,
        assignee=assignee,
        author=author,
        priority=priority,
        type=type,
        source=source,
    )


@transaction.atomic
def do_change_ticket_status(
    ticket: Ticket,
    new_status: str,
    *,
    by: Employee | None = None,
    comment: str = "",
    comment_public: bool = False,
) -> Ticket:
    """Move a ticket to ``new_status``; re-opening is moving back to ``opened``.

    Raises TicketStatusError for a move TRANSITIONS does not allow.
    """
    ticket = Ticket.objects.select_for_update().get(pk=ticket.pk)
    if new_status not in TRANSITIONS.get(ticket.status, frozenset()):
        raise TicketStatusError(
            _("A ticket in status «%(old)s» cannot be moved to «%(new)s».")
            % {"old": ticket.get_status_display(), "new": Status(new_status).label}
            if new_status in Status.values
            else _("Unknown status «%(new)s».") % {"new": new_status}
        )
    now = timezone.now()
    ticket.old_status = ticket.status
    ticket.status = new_status
    if new_status == Status.COMPLETED:
        ticket.completed_at = now
    elif new_status == Status.CLOSED:
        ticket.closed_at = now
        ticket.completed_at = ticket.completed_at or now
    elif new_status == Status.OPENED:
        ticket.completed_at = None
        ticket.closed_at = None
    ticket.save()
    if comment.strip():
        do_add_ticket_comment(ticket, content=comment, author=by, public=comment_public)
    return ticket


@transaction.atomic
def do_assign_ticket(ticket: Ticket, assignee: Employee | None) -> Ticket:
    ticket.assignee = assignee
    ticket.save(update_fields=["assignee", "updated_at"])
    return ticket


@transaction.atomic
def do_add_ticket_comment(
    ticket: Ticket,
    *,
    content: str,
    author: Employee | None = None,
    author_contact: Contact | None = None,
    public: bool = False,
) -> TicketComment:
    comment = TicketComment.objects.create(
        ticket=ticket,
        content=content.strip(),
        author=author,
        author_contact=author_contact,
        public=public,
    )
    Ticket.objects.filter(pk=ticket.pk).update(updated_at=comment.created_at)
    return comment
