"""Ticket pages: creating a ticket, the list's filters, status, assignee and comments."""

from __future__ import annotations

import pytest
from django.urls import reverse

from conftest import logged_in
from trubka.clients.actions import do_create_company
from trubka.tickets.actions import do_change_ticket_status, do_create_ticket
from trubka.tickets.models import Source, Status, Ticket, TicketComment


def listed(response) -> set[str]:
    """The titles of the tickets the list shows."""
    return {ticket.title for ticket in response.context["page"].object_list}


def shown_messages(response) -> list[tuple[str, str]]:
    return [(m.level_tag, str(m)) for m in response.context["messages"]]


@pytest.fixture
def tickets(agent, agent2, caller):
    """One ticket of each kind the filters tell apart, titled by what sets it apart."""
    mine = do_create_ticket(title="Моя открытая", assignee=agent)
    theirs = do_create_ticket(title="Чужая в работе", assignee=agent2)
    do_change_ticket_status(theirs, Status.IN_PROGRESS)
    closed = do_create_ticket(title="Закрытая", assignee=agent)
    do_change_ticket_status(closed, Status.CLOSED)
    missed = do_create_ticket(title="Пропущенный звонок", contact=caller, source=Source.MISSED_CALL)
    printer = do_create_ticket(title="Сломался ПРИНТЕР в бухгалтерии")
    return {t.title: Ticket.objects.get(pk=t.pk) for t in (mine, theirs, closed, missed, printer)}


@pytest.fixture
def ticket(agent, caller) -> Ticket:
    return do_create_ticket(title="Не печатает принтер", contact=caller, author=agent)


def detail(ticket: Ticket) -> str:
    return reverse("tickets:detail", args=[ticket.pk])


# --- Creating ----------------------------------------------------------------------------


def test_creating_a_ticket_through_the_form_opens_it(agent_client, agent, caller):
    response = agent_client.post(
        reverse("tickets:create"),
        {
            "title": "Не печатает принтер",
            "description": "Бумага замята",
            "contact": caller.pk,
            "company": "",
            "assignee": agent.pk,
            "priority": "high",
            "type": "incident",
        },
    )

    ticket = Ticket.objects.get()
    assert response.status_code == 302
    assert response["Location"] == detail(ticket)
    assert (ticket.title, ticket.status, ticket.priority, ticket.type) == (
        "Не печатает принтер",
        Status.OPENED,
        "high",
        "incident",
    )
    assert (ticket.contact, ticket.company, ticket.author, ticket.assignee) == (
        caller,
        caller.company,
        agent,
        agent,
    )


def test_a_contact_of_another_company_than_the_chosen_one_is_refused(agent_client, caller):
    other = do_create_company(name="ООО Лютик")

    response = agent_client.post(
        reverse("tickets:create"),
        {
            "title": "Не печатает принтер",
            "contact": caller.pk,
            "company": other.pk,
            "priority": "normal",
            "type": "question",
        },
    )

    assert response.status_code == 200
    assert response.context["form"].errors["company"]
    assert not Ticket.objects.exists()


def test_a_ticket_without_a_title_is_not_created(agent_client):
    response = agent_client.post(
        reverse("tickets:create"), {"title": "", "priority": "normal", "type": "question"}
    )

    assert response.status_code == 200
    assert response.context["form"].errors["title"]
    assert not Ticket.objects.exists()


def test_the_new_ticket_form_is_prefilled_with_the_contact_from_the_query(agent_client, caller):
    response = agent_client.get(reverse("tickets:create"), {"contact": caller.pk})

    assert str(response.context["form"]["contact"].value()) == str(caller.pk)


# --- The list's filters ------------------------------------------------------------------


def test_the_list_shows_only_open_tickets_by_default(agent_client, tickets):
    response = agent_client.get(reverse("tickets:list"))

    assert listed(response) == {
        "Моя открытая",
        "Чужая в работе",
        "Пропущенный звонок",
        "Сломался ПРИНТЕР в бухгалтерии",
    }


def test_the_list_with_any_status_shows_every_ticket(agent_client, tickets):
    response = agent_client.get(reverse("tickets:list"), {"status": "any"})

    assert listed(response) == set(tickets)


def test_the_list_filters_by_one_status(agent_client, tickets):
    response = agent_client.get(reverse("tickets:list"), {"status": Status.CLOSED})

    assert listed(response) == {"Закрытая"}


def test_mine_shows_only_the_agents_open_tickets(agent_client, tickets):
    response = agent_client.get(reverse("tickets:list"), {"mine": "on"})

    assert listed(response) == {"Моя открытая"}


def test_mine_with_any_status_shows_all_the_agents_tickets(agent_client, tickets):
    response = agent_client.get(reverse("tickets:list"), {"mine": "on", "status": "any"})

    assert listed(response) == {"Моя открытая", "Закрытая"}


def test_the_list_filters_by_assignee(agent_client, tickets, agent2):
    response = agent_client.get(reverse("tickets:list"), {"assignee": agent2.pk})

    assert listed(response) == {"Чужая в работе"}


def test_the_missed_call_source_shows_only_missed_call_tickets(agent_client, tickets):
    response = agent_client.get(reverse("tickets:list"), {"source": Source.MISSED_CALL})

    assert listed(response) == {"Пропущенный звонок"}


def test_the_search_finds_a_cyrillic_title_whatever_the_case(agent_client, tickets):
    response = agent_client.get(reverse("tickets:list"), {"q": "принтер"})

    assert listed(response) == {"Сломался ПРИНТЕР в бухгалтерии"}


def test_the_search_finds_a_ticket_by_its_hash_number(agent_client, tickets):
    wanted = tickets["Чужая в работе"]

    response = agent_client.get(reverse("tickets:list"), {"q": f"#{wanted.pk}"})

    assert listed(response) == {"Чужая в работе"}


def test_the_list_links_each_ticket_to_its_page(agent_client, tickets):
    response = agent_client.get(reverse("tickets:list"))

    assert f'href="{detail(tickets["Моя открытая"])}"' in response.content.decode()


# --- Status ------------------------------------------------------------------------------


def test_the_detail_page_moves_a_ticket_to_an_allowed_status(agent_client, ticket):
    response = agent_client.post(
        reverse("tickets:status", args=[ticket.pk]), {"status": Status.IN_PROGRESS}
    )

    assert response.status_code == 302
    assert response["Location"] == detail(ticket)
    ticket.refresh_from_db()
    assert (ticket.status, ticket.old_status) == (Status.IN_PROGRESS, Status.OPENED)


def test_a_status_change_confirms_itself(agent, ticket):
    response = logged_in(agent, "en").post(
        reverse("tickets:status", args=[ticket.pk]), {"status": Status.IN_PROGRESS}, follow=True
    )

    assert shown_messages(response) == [("success", "Status changed.")]


def test_a_status_change_with_a_comment_adds_an_internal_comment(agent_client, agent, ticket):
    agent_client.post(
        reverse("tickets:status", args=[ticket.pk]),
        {"status": Status.COMPLETED, "comment": "Заменили картридж"},
    )

    comment = ticket.comments.get()
    assert (comment.content, comment.public, comment.author) == ("Заменили картридж", False, agent)


def test_the_detail_page_offers_only_allowed_statuses(agent_client, ticket):
    do_change_ticket_status(ticket, Status.CLOSED)

    response = agent_client.get(detail(ticket))

    offered = [value for value, _label in response.context["status_form"].fields["status"].choices]
    assert offered == [Status.OPENED]


def test_a_forbidden_status_change_shows_an_error(agent, ticket):
    do_change_ticket_status(ticket, Status.CLOSED)

    response = logged_in(agent, "en").post(
        reverse("tickets:status", args=[ticket.pk]), {"status": Status.COMPLETED}, follow=True
    )

    assert response.status_code == 200
    assert shown_messages(response) == [
        ("error", "A ticket in status «Closed» cannot be moved to «Completed».")
    ]
    assert 'class="msg-error"' in response.content.decode()


def test_a_forbidden_status_change_leaves_the_status_alone(agent_client, ticket):
    do_change_ticket_status(ticket, Status.CLOSED)

    agent_client.post(reverse("tickets:status", args=[ticket.pk]), {"status": Status.COMPLETED})

    ticket.refresh_from_db()
    assert ticket.status == Status.CLOSED


def test_the_status_cannot_be_changed_by_get(agent_client, ticket):
    response = agent_client.get(
        reverse("tickets:status", args=[ticket.pk]), {"status": Status.CLOSED}
    )

    assert response.status_code == 405
    ticket.refresh_from_db()
    assert ticket.status == Status.OPENED


# --- Assignee ----------------------------------------------------------------------------


def test_the_detail_page_assigns_the_ticket(agent_client, ticket, agent2):
    response = agent_client.post(
        reverse("tickets:assign", args=[ticket.pk]), {"assignee": agent2.pk}
    )

    assert response.status_code == 302
    ticket.refresh_from_db()
    assert ticket.assignee == agent2


def test_the_detail_page_unassigns_the_ticket(agent_client, ticket, agent2):
    Ticket.objects.filter(pk=ticket.pk).update(assignee=agent2)

    agent_client.post(reverse("tickets:assign", args=[ticket.pk]), {"assignee": ""})

    ticket.refresh_from_db()
    assert ticket.assignee is None


def test_an_inactive_employee_cannot_be_assigned(agent_client, ticket, agent2):
    agent2.is_active = False
    agent2.save()

    agent_client.post(reverse("tickets:assign", args=[ticket.pk]), {"assignee": agent2.pk})

    ticket.refresh_from_db()
    assert ticket.assignee is None


# --- Comments ----------------------------------------------------------------------------


def test_a_public_comment_is_added(agent_client, agent, ticket):
    agent_client.post(
        reverse("tickets:comment", args=[ticket.pk]),
        {"content": "Перезвоним завтра", "public": "on"},
    )

    comment = TicketComment.objects.get(ticket=ticket)
    assert (comment.content, comment.public, comment.author) == ("Перезвоним завтра", True, agent)


def test_an_internal_comment_is_added(agent_client, agent, ticket):
    agent_client.post(reverse("tickets:comment", args=[ticket.pk]), {"content": "Клиент груб"})

    comment = TicketComment.objects.get(ticket=ticket)
    assert (comment.content, comment.public, comment.author) == ("Клиент груб", False, agent)


def test_the_detail_page_shows_comments_marked_public_or_internal(agent, ticket):
    client = logged_in(agent, "en")
    client.post(
        reverse("tickets:comment", args=[ticket.pk]), {"content": "Видно клиенту", "public": "on"}
    )
    client.post(reverse("tickets:comment", args=[ticket.pk]), {"content": "Только нам"})

    html = client.get(detail(ticket)).content.decode()

    assert "Видно клиенту" in html
    assert "Только нам" in html
    assert '<article class="comment internal">' in html
    assert '<article class="comment">' in html


@pytest.mark.parametrize("content", ["", "   \n  "])
def test_an_empty_comment_is_refused(agent, ticket, content):
    response = logged_in(agent, "en").post(
        reverse("tickets:comment", args=[ticket.pk]), {"content": content}, follow=True
    )

    assert not TicketComment.objects.exists()
    assert shown_messages(response) == [("error", "A comment cannot be empty.")]


# --- Tolerant filters ----------------------------------------------------------------------


def test_a_bad_filter_value_is_dropped_alone_and_the_default_open_filter_stays(
    agent_client, tickets
):
    response = agent_client.get(reverse("tickets:list"), {"assignee": "999999"})
    assert response.status_code == 200
    assert "Закрытая" not in listed(response)
    assert "Моя открытая" in listed(response)


def test_a_bad_status_value_falls_back_to_open_tickets_and_keeps_the_source_filter(
    agent_client, tickets
):
    response = agent_client.get(
        reverse("tickets:list"), {"status": "bogus", "source": Source.MISSED_CALL}
    )
    assert listed(response) == {"Пропущенный звонок"}


def test_searching_a_ticket_number_finds_a_closed_ticket_too(agent_client, tickets):
    closed = tickets["Закрытая"]
    response = agent_client.get(reverse("tickets:list"), {"q": f"#{closed.pk}"})
    assert listed(response) == {"Закрытая"}
