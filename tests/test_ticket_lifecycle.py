"""Creating tickets and moving them through their statuses."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from trubka.clients.actions import do_create_company
from trubka.tickets.actions import (
    TicketStatusError,
    do_add_ticket_comment,
    do_change_ticket_status,
    do_create_ticket,
)
from trubka.tickets.models import TRANSITIONS, Priority, Source, Status, Ticket, TicketType

ALLOWED = [(old, new) for old, targets in TRANSITIONS.items() for new in sorted(targets)]
FORBIDDEN = [(old, new) for old in Status for new in Status if new not in TRANSITIONS[old]]


def ticket_in(status: str, **fields) -> Ticket:
    """A new ticket moved to ``status`` (every status is reachable from «opened» directly)."""
    ticket = do_create_ticket(title="Не работает телефон", **fields)
    if status != Status.OPENED:
        ticket = do_change_ticket_status(ticket, status)
    return ticket


def snapshot(ticket: Ticket) -> tuple:
    ticket.refresh_from_db()
    return (
        ticket.status,
        ticket.old_status,
        ticket.completed_at,
        ticket.closed_at,
        ticket.updated_at,
        ticket.comments.count(),
    )


# --- Creating ----------------------------------------------------------------------------


def test_a_new_ticket_is_opened_normal_question_entered_manually(db):
    ticket = do_create_ticket(title="Не работает телефон")
    ticket.refresh_from_db()
    assert (ticket.status, ticket.old_status, ticket.priority, ticket.type, ticket.source) == (
        Status.OPENED,
        "",
        Priority.NORMAL,
        TicketType.QUESTION,
        Source.MANUAL,
    )


def test_a_new_ticket_has_neither_completion_nor_closing_time(db):
    ticket = do_create_ticket(title="Не работает телефон")
    ticket.refresh_from_db()
    assert (ticket.completed_at, ticket.closed_at) == (None, None)


def test_a_new_tickets_title_is_stripped(db):
    assert do_create_ticket(title="  Не работает телефон \n").title == "Не работает телефон"


def test_a_ticket_for_a_contact_inherits_the_contacts_company(caller, company):
    ticket = do_create_ticket(title="Не работает телефон", contact=caller)
    ticket.refresh_from_db()
    assert ticket.company == company


def test_an_explicit_company_is_kept_over_the_contacts_company(caller):
    other = do_create_company(name="ООО Лютик")
    ticket = do_create_ticket(title="Не работает телефон", contact=caller, company=other)
    ticket.refresh_from_db()
    assert ticket.company == other


def test_a_tickets_search_text_is_lower_cased(db):
    ticket = do_create_ticket(title="Не работает IP-Телефон", description="Офис на Тверской")
    ticket.refresh_from_db()
    assert ticket.search_text == "не работает ip-телефон офис на тверской"


def test_a_lower_case_search_finds_a_ticket_by_a_capitalised_cyrillic_word(db):
    wanted = do_create_ticket(title="Не работает Телефон")
    do_create_ticket(title="Нужен доступ")
    assert list(Ticket.objects.filter(search_text__contains="телефон")) == [wanted]


# --- Allowed and forbidden moves ---------------------------------------------------------


@pytest.mark.parametrize(("old", "new"), ALLOWED)
def test_every_allowed_transition_moves_the_ticket_and_remembers_the_old_status(db, old, new):
    ticket = ticket_in(old)
    do_change_ticket_status(ticket, new)
    ticket.refresh_from_db()
    assert (ticket.status, ticket.old_status) == (new, old)


@pytest.mark.parametrize(("old", "new"), FORBIDDEN)
def test_a_forbidden_transition_raises(db, old, new):
    ticket = ticket_in(old)
    with pytest.raises(TicketStatusError):
        do_change_ticket_status(ticket, new)


@pytest.mark.parametrize(("old", "new"), FORBIDDEN)
def test_a_forbidden_transition_changes_nothing(db, agent, old, new):
    ticket = ticket_in(old)
    before = snapshot(ticket)
    with pytest.raises(TicketStatusError):
        do_change_ticket_status(ticket, new, by=agent, comment="Пробую")
    assert snapshot(ticket) == before


def test_a_closed_ticket_cannot_be_completed_without_reopening(db):
    ticket = ticket_in(Status.CLOSED)
    with pytest.raises(TicketStatusError):
        do_change_ticket_status(ticket, Status.COMPLETED)


@pytest.mark.parametrize("code", ["archived", "", "OPENED", "done"])
def test_an_unknown_status_code_raises(db, code):
    ticket = ticket_in(Status.OPENED)
    with pytest.raises(TicketStatusError):
        do_change_ticket_status(ticket, code)


def test_an_unknown_status_code_changes_nothing(db):
    ticket = ticket_in(Status.IN_PROGRESS)
    before = snapshot(ticket)
    with pytest.raises(TicketStatusError):
        do_change_ticket_status(ticket, "archived")
    assert snapshot(ticket) == before


# --- Timestamps --------------------------------------------------------------------------


@pytest.mark.parametrize("old", [Status.OPENED, Status.IN_PROGRESS])
def test_completing_a_ticket_records_when(db, old):
    ticket = ticket_in(old)
    start = timezone.now()
    do_change_ticket_status(ticket, Status.COMPLETED)
    ticket.refresh_from_db()
    assert ticket.completed_at is not None
    assert start <= ticket.completed_at <= timezone.now()


@pytest.mark.parametrize("old", [Status.OPENED, Status.IN_PROGRESS, Status.COMPLETED])
def test_closing_a_ticket_records_when(db, old):
    ticket = ticket_in(old)
    start = timezone.now()
    do_change_ticket_status(ticket, Status.CLOSED)
    ticket.refresh_from_db()
    assert ticket.closed_at is not None
    assert start <= ticket.closed_at <= timezone.now()


def test_closing_a_completed_ticket_keeps_its_completion_time(db):
    ticket = ticket_in(Status.COMPLETED)
    ticket.refresh_from_db()
    completed_at = ticket.completed_at
    do_change_ticket_status(ticket, Status.CLOSED)
    ticket.refresh_from_db()
    assert ticket.completed_at == completed_at


def test_reopening_a_completed_ticket_clears_its_completion_time(db):
    ticket = ticket_in(Status.COMPLETED)
    do_change_ticket_status(ticket, Status.OPENED)
    ticket.refresh_from_db()
    assert ticket.completed_at is None


def test_reopening_a_closed_ticket_clears_its_completion_and_closing_times(db):
    ticket = ticket_in(Status.COMPLETED)
    ticket = do_change_ticket_status(ticket, Status.CLOSED)
    do_change_ticket_status(ticket, Status.OPENED)
    ticket.refresh_from_db()
    assert (ticket.completed_at, ticket.closed_at) == (None, None)


# --- Comments ----------------------------------------------------------------------------


def test_a_status_change_with_a_comment_adds_an_internal_comment_by_the_employee(db, agent):
    ticket = ticket_in(Status.OPENED)
    do_change_ticket_status(ticket, Status.IN_PROGRESS, by=agent, comment="  Взял в работу ")
    comment = ticket.comments.get()
    assert (comment.content, comment.author, comment.public) == ("Взял в работу", agent, False)


@pytest.mark.parametrize("comment", ["", "   \n"])
def test_a_status_change_without_a_comment_adds_none(db, agent, comment):
    ticket = ticket_in(Status.OPENED)
    do_change_ticket_status(ticket, Status.IN_PROGRESS, by=agent, comment=comment)
    assert not ticket.comments.exists()


def test_adding_a_comment_bumps_the_tickets_updated_at(db, agent):
    ticket = ticket_in(Status.OPENED)
    long_ago = timezone.now() - timedelta(days=3)
    Ticket.objects.filter(pk=ticket.pk).update(updated_at=long_ago)
    comment = do_add_ticket_comment(ticket, content="Перезвонил клиенту", author=agent)
    ticket.refresh_from_db()
    assert ticket.updated_at == comment.created_at


# --- Open tickets ------------------------------------------------------------------------


def test_open_tickets_are_the_opened_and_in_progress_ones(db):
    tickets = {status: ticket_in(status) for status in Status}
    assert set(Ticket.objects.open()) == {tickets[Status.OPENED], tickets[Status.IN_PROGRESS]}
