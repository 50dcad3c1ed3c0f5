"""Issues, statuses and comments over the Okdesk-compatible API (``/api/v1/issues``)."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.test import Client

from trubka.clients.actions import do_create_company, do_create_contact
from trubka.clients.models import Company, Contact
from trubka.tickets.actions import (
    do_add_ticket_comment,
    do_change_ticket_status,
    do_create_ticket,
)
from trubka.tickets.models import Priority, Source, Status, Ticket, TicketType

MOSCOW = ZoneInfo("Europe/Moscow")
OKDESK_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+03:00$")


@pytest.fixture(autouse=True)
def _moscow_account(settings):
    settings.TIME_ZONE = "Europe/Moscow"


@pytest.fixture
def other_company(db) -> Company:
    return do_create_company(name="ООО Лютик")


@pytest.fixture
def stranger(other_company) -> Contact:
    return do_create_contact(first_name="Олег", last_name="Чужой", company=other_company)


def ids(response: Any) -> list[int]:
    assert response.status_code == 200, response.content
    return [item["id"] for item in response.json()]


def ticket(title: str = "Не работает принтер", **kwargs: Any) -> Ticket:
    return do_create_ticket(title=title, **kwargs)


def set_times(t: Ticket, **times: datetime) -> None:
    Ticket.objects.filter(pk=t.pk).update(**times)


# Creating


def test_creating_an_issue_accepts_the_documented_issue_wrapper(api):
    response = api.post("/issues", {"issue": {"title": "Пропущенный звонок"}})

    assert response.status_code == 200
    assert response.json()["title"] == "Пропущенный звонок"
    assert Ticket.objects.get().title == "Пропущенный звонок"


def test_creating_an_issue_accepts_a_bare_object(api):
    response = api.post("/issues", {"title": "Без обёртки"})

    assert response.status_code == 200
    assert response.json()["title"] == "Без обёртки"


def test_a_trailing_slash_on_the_path_is_accepted(api):
    response = api.post("/issues/", {"issue": {"title": "Со слешем"}})

    assert response.status_code == 200


def test_a_new_issue_is_an_opened_normal_question_from_the_api_by_the_keys_employee(api, agent):
    issue = api.post("/issues", {"issue": {"title": "Вопрос"}}).json()

    assert issue["status"] == {"code": "opened", "name": "Открыта"}
    assert issue["priority"] == {"code": "normal", "name": "Обычный"}
    assert issue["type"]["code"] == "question"
    assert issue["source"] == "api"
    assert issue["author"] == {"id": agent.pk, "name": agent.full_name, "type": "employee"}
    assert Ticket.objects.get().source == Source.API


def test_a_new_issue_takes_the_given_fields(api, caller, company, agent2):
    body = {
        "issue": {
            "title": "Сломался сервер",
            "description": "<p>Совсем</p>",
            "company_id": company.pk,
            "contact_id": caller.pk,
            "assignee_id": agent2.pk,
            "type": "incident",
            "priority": "high",
        }
    }

    issue = api.post("/issues", body).json()

    assert issue["description"] == "<p>Совсем</p>"
    assert issue["company_id"] == company.pk
    assert issue["contact"] == {"id": caller.pk, "name": caller.name}
    assert issue["assignee"] == {"id": agent2.pk, "name": agent2.full_name}
    assert issue["type"]["code"] == "incident"
    assert issue["priority"]["code"] == "high"


def test_ids_sent_as_strings_are_read_as_numbers(api, caller):
    issue = api.post("/issues", {"issue": {"title": "Т", "contact_id": str(caller.pk)}})

    assert issue.json()["contact"]["id"] == caller.pk


@pytest.mark.parametrize("code", TicketType.values)
def test_every_ticket_type_can_be_given(api, code):
    issue = api.post("/issues", {"issue": {"title": "Т", "type": code}}).json()

    assert issue["type"]["code"] == code


@pytest.mark.parametrize("code", Priority.values)
def test_every_priority_can_be_given(api, code):
    issue = api.post("/issues", {"issue": {"title": "Т", "priority": code}}).json()

    assert issue["priority"]["code"] == code


def test_empty_type_and_priority_fall_back_to_the_defaults(api):
    body = {"issue": {"title": "Т", "type": "", "priority": ""}}

    issue = api.post("/issues", body).json()

    assert (issue["type"]["code"], issue["priority"]["code"]) == ("question", "normal")


def test_a_new_issue_takes_its_contacts_company_when_none_is_given(api, caller, company):
    issue = api.post("/issues", {"issue": {"title": "Т", "contact_id": caller.pk}})

    assert issue.json()["company_id"] == company.pk


def test_a_contact_of_another_company_is_rejected(api, caller, other_company):
    body = {"issue": {"title": "Т", "contact_id": caller.pk, "company_id": other_company.pk}}

    response = api.post("/issues", body)

    assert response.status_code == 422
    assert list(response.json()["errors"]) == ["contact_id"]
    assert not Ticket.objects.exists()


def test_an_issue_without_a_title_is_rejected_in_okdesks_error_shape(api):
    response = api.post("/issues", {"issue": {"description": "нет заголовка"}})

    assert response.status_code == 422
    assert isinstance(response.json()["errors"]["title"], list)


def test_a_blank_title_is_rejected(api):
    response = api.post("/issues", {"issue": {"title": "   "}})

    assert response.status_code == 422
    assert "title" in response.json()["errors"]


def test_unknown_contact_company_and_assignee_are_reported_per_field(api):
    body = {"issue": {"title": "Т", "contact_id": 9001, "company_id": 9002, "assignee_id": 9003}}

    response = api.post("/issues", body)

    assert response.status_code == 422
    assert set(response.json()["errors"]) == {"contact_id", "company_id", "assignee_id"}


def test_an_inactive_assignee_is_rejected(api, agent2):
    agent2.is_active = False
    agent2.save()

    response = api.post("/issues", {"issue": {"title": "Т", "assignee_id": agent2.pk}})

    assert response.status_code == 422
    assert "assignee_id" in response.json()["errors"]


def test_an_unknown_type_or_priority_code_is_rejected(api):
    body = {"issue": {"title": "Т", "type": "meeting", "priority": "urgent"}}

    response = api.post("/issues", body)

    assert response.status_code == 422
    assert set(response.json()["errors"]) == {"type", "priority"}


def test_a_deadline_in_a_wrong_format_is_rejected(api):
    body = {"issue": {"title": "Т", "deadline_at": "завтра"}}

    response = api.post("/issues", body)

    assert response.status_code == 422
    assert "deadline_at" in response.json()["errors"]


def test_a_deadline_and_custom_parameters_are_accepted(api):
    body = {
        "issue": {
            "title": "Т",
            "deadline_at": "2026-09-30 18:00",
            "custom_parameters": {"depart": "1"},
        }
    }

    response = api.post("/issues", body)

    assert response.status_code == 200


def test_a_contact_author_leaves_no_employee_author_and_becomes_the_contact(api, caller):
    body = {"issue": {"title": "Т", "author": {"id": str(caller.pk), "type": "contact"}}}

    issue = api.post("/issues", body).json()

    assert issue["author"] is None
    assert issue["contact"]["id"] == caller.pk


def test_an_unknown_author_is_reported_under_the_nested_author_key(api):
    body = {"issue": {"title": "Т", "author": {"id": 9001, "type": "contact"}}}

    response = api.post("/issues", body)

    assert response.status_code == 422
    assert list(response.json()["errors"]["author"]) == ["id"]


def test_naming_another_employee_as_author_needs_a_staff_key(api, agent2):
    body = {"issue": {"title": "Т", "author": {"id": agent2.pk, "type": "employee"}}}

    response = api.post("/issues", body)

    assert response.status_code == 403
    assert "errors" in response.json()
    assert not Ticket.objects.exists()


def test_a_staff_key_may_name_another_employee_as_author(admin_api, agent2):
    body = {"issue": {"title": "Т", "author": {"id": agent2.pk, "type": "employee"}}}

    issue = admin_api.post("/issues", body).json()

    assert issue["author"]["id"] == agent2.pk


def test_a_request_without_a_valid_token_is_refused(db):
    response = Client().get("/api/v1/issues/list?api_token=wrong")

    assert response.status_code == 401
    assert "errors" in response.json()


# Reading one


def test_an_issue_is_read_by_id(api, caller):
    t = ticket(contact=caller)

    issue = api.get(f"/issues/{t.pk}").json()

    assert issue["id"] == t.pk
    assert issue["contact"]["id"] == caller.pk
    assert issue["comments"] == {"count": 0, "last_at": None}


def test_an_unknown_issue_is_404_with_errors(api):
    response = api.get("/issues/9001")

    assert response.status_code == 404
    assert "errors" in response.json()


def test_issue_dates_are_iso_with_milliseconds_and_the_account_offset(api):
    t = ticket()
    set_times(t, created_at=datetime(2026, 3, 10, 6, 30, 5, 123456, tzinfo=ZoneInfo("UTC")))

    issue = api.get(f"/issues/{t.pk}").json()

    assert issue["created_at"] == "2026-03-10T09:30:05.123+03:00"
    assert OKDESK_TIME.match(issue["updated_at"])


# The detailed list


def test_the_issue_list_is_a_bare_array_newest_first(api):
    first, second = ticket("Первая"), ticket("Вторая")
    set_times(first, created_at=datetime(2026, 3, 1, 10, tzinfo=MOSCOW))
    set_times(second, created_at=datetime(2026, 3, 2, 10, tzinfo=MOSCOW))

    assert ids(api.get("/issues/list")) == [second.pk, first.pk]


def test_the_issue_list_filters_by_status_codes(api):
    opened, done = ticket(), ticket()
    do_change_ticket_status(done, Status.COMPLETED)

    assert ids(api.get("/issues/list", [("status_codes[]", "completed")])) == [done.pk]
    assert ids(api.get("/issues/list", [("status_codes[]", "opened")])) == [opened.pk]


def test_status_is_accepted_as_another_name_for_status_codes(api):
    ticket()
    done = ticket()
    do_change_ticket_status(done, Status.COMPLETED)

    assert ids(api.get("/issues/list", [("status[]", "completed")])) == [done.pk]


def test_status_codes_not_leaves_those_statuses_out(api):
    opened, done = ticket(), ticket()
    do_change_ticket_status(done, Status.COMPLETED)

    assert ids(api.get("/issues/list", [("status_codes_not[]", "completed")])) == [opened.pk]


def test_an_unknown_status_code_matches_nothing(api):
    ticket()

    assert ids(api.get("/issues/list", [("status_codes[]", "delayed")])) == []


def test_the_issue_list_filters_by_priority_codes(api):
    ticket(priority="low")
    high = ticket(priority="high")

    assert ids(api.get("/issues/list", [("priority_codes[]", "high")])) == [high.pk]


def test_the_issue_list_filters_by_type_codes(api):
    ticket(type="question")
    incident = ticket(type="incident")

    assert ids(api.get("/issues/list", [("type_codes[]", "incident")])) == [incident.pk]


def test_the_issue_list_filters_by_contact_ids(api, caller, stranger):
    mine = ticket(contact=caller)
    ticket(contact=stranger)

    assert ids(api.get("/issues/list", [("contact_ids[]", caller.pk)])) == [mine.pk]


def test_contact_id_zero_means_issues_without_a_contact(api, caller):
    ticket(contact=caller)
    nobodys = ticket()

    assert ids(api.get("/issues/list", [("contact_ids[]", 0)])) == [nobodys.pk]


def test_the_issue_list_filters_by_company_ids(api, company, other_company):
    ticket(company=company)
    theirs = ticket(company=other_company)

    assert ids(api.get("/issues/list", [("company_ids[]", other_company.pk)])) == [theirs.pk]


def test_several_ids_match_any_of_them(api, company, other_company):
    a, b = ticket(company=company), ticket(company=other_company)
    ticket()
    params = [("company_ids[]", company.pk), ("company_ids[]", other_company.pk)]

    assert sorted(ids(api.get("/issues/list", params))) == [a.pk, b.pk]


def test_the_issue_list_filters_by_assignee_ids_with_zero_for_unassigned(api, agent, agent2):
    assigned = ticket(assignee=agent2)
    unassigned = ticket()

    assert ids(api.get("/issues/list", [("assignee_ids[]", agent2.pk)])) == [assigned.pk]
    assert ids(api.get("/issues/list", [("assignee_ids[]", 0)])) == [unassigned.pk]


def test_a_non_numeric_id_filter_is_rejected(api):
    response = api.get("/issues/list", [("contact_ids[]", "abc")])

    assert response.status_code == 422
    assert "contact_ids" in response.json()["errors"]


def test_created_since_is_read_in_the_account_time_zone(api):
    morning, later = ticket(), ticket()
    set_times(morning, created_at=datetime(2026, 3, 10, 9, 30, tzinfo=MOSCOW))
    set_times(later, created_at=datetime(2026, 3, 10, 10, 30, tzinfo=MOSCOW))

    response = api.get("/issues/list", [("created_since", "10-03-2026 10:00")])

    assert ids(response) == [later.pk]


def test_created_until_takes_the_iso_date_form_with_a_time(api):
    morning, later = ticket(), ticket()
    set_times(morning, created_at=datetime(2026, 3, 10, 9, 30, tzinfo=MOSCOW))
    set_times(later, created_at=datetime(2026, 3, 10, 10, 30, tzinfo=MOSCOW))

    response = api.get("/issues/list", [("created_until", "2026-03-10 10:00")])

    assert ids(response) == [morning.pk]


def test_a_date_alone_as_created_until_includes_that_whole_day(api):
    evening, next_day = ticket(), ticket()
    set_times(evening, created_at=datetime(2026, 3, 10, 23, 50, tzinfo=MOSCOW))
    set_times(next_day, created_at=datetime(2026, 3, 11, 0, 10, tzinfo=MOSCOW))

    assert ids(api.get("/issues/list", [("created_until", "10-03-2026")])) == [evening.pk]
    assert ids(api.get("/issues/list", [("created_since", "2026-03-11")])) == [next_day.pk]


def test_the_issue_list_filters_by_completion_date(api):
    early, late = ticket(), ticket()
    for t in (early, late):
        do_change_ticket_status(t, Status.COMPLETED)
    set_times(early, completed_at=datetime(2026, 3, 1, 12, tzinfo=MOSCOW))
    set_times(late, completed_at=datetime(2026, 3, 5, 12, tzinfo=MOSCOW))
    ticket()  # never completed

    params = [("completed_since", "02-03-2026"), ("completed_until", "05-03-2026")]

    assert ids(api.get("/issues/list", params)) == [late.pk]


def test_the_issue_list_filters_by_update_date(api):
    stale, fresh = ticket(), ticket()
    set_times(stale, updated_at=datetime(2026, 3, 1, 12, tzinfo=MOSCOW))
    set_times(fresh, updated_at=datetime(2026, 3, 5, 12, tzinfo=MOSCOW))

    params = [("updated_since", "2026-03-04 00:00"), ("updated_until", "2026-03-06 00:00")]

    assert ids(api.get("/issues/list", params)) == [fresh.pk]


def test_a_date_filter_in_a_wrong_format_is_rejected_under_its_name(api):
    response = api.get("/issues/list", [("created_since", "вчера")])

    assert response.status_code == 422
    assert list(response.json()["errors"]) == ["created_since"]


def test_the_issue_list_is_paged_by_number_and_size(api):
    made = [ticket(f"Заявка {n}") for n in range(5)]
    for n, t in enumerate(made):
        set_times(t, created_at=datetime(2026, 3, 1 + n, 10, tzinfo=MOSCOW))

    second_page = api.get("/issues/list", [("page[number]", 2), ("page[size]", 2)])

    assert ids(second_page) == [made[2].pk, made[1].pk]


def test_a_page_past_the_end_is_empty(api):
    ticket()

    assert ids(api.get("/issues/list", [("page[number]", 2)])) == []


def test_a_page_size_above_50_is_rejected(api):
    response = api.get("/issues/list", [("page[size]", 51)])

    assert response.status_code == 422
    assert list(response.json()["errors"]["page"]) == ["size"]


def test_the_issue_list_sorts_forward_by_update_time(api):
    a, b = ticket(), ticket()
    set_times(a, updated_at=datetime(2026, 3, 5, 12, tzinfo=MOSCOW))
    set_times(b, updated_at=datetime(2026, 3, 1, 12, tzinfo=MOSCOW))
    params = [("sorting[field]", "updated_at"), ("sorting[direction]", "forward")]

    assert ids(api.get("/issues/list", params)) == [b.pk, a.pk]


def test_an_unknown_sorting_field_is_rejected(api):
    response = api.get("/issues/list", [("sorting[field]", "title")])

    assert response.status_code == 422
    assert list(response.json()["errors"]["sorting"]) == ["field"]


# The id list («count»)


def test_count_returns_the_matching_ids_not_a_number(api):
    a, b = ticket(), ticket()

    response = api.get("/issues/count")

    assert response.json() == [a.pk, b.pk]


def test_count_with_opened_true_leaves_out_completed_and_closed_issues(api, caller):
    opened, working, done, closed = (ticket(contact=caller) for _ in range(4))
    do_change_ticket_status(working, Status.IN_PROGRESS)
    do_change_ticket_status(done, Status.COMPLETED)
    do_change_ticket_status(closed, Status.CLOSED)

    params = [("contact_ids[]", caller.pk), ("opened", "true")]

    assert api.get("/issues/count", params).json() == [opened.pk, working.pk]


def test_count_with_status_not_leaves_those_statuses_out(api):
    opened, done = ticket(), ticket()
    do_change_ticket_status(done, Status.COMPLETED)

    assert api.get("/issues/count", [("status_not[]", "completed")]).json() == [opened.pk]


def test_count_filters_by_status_priority_and_type(api):
    ticket(priority="high", type="incident")
    wanted = ticket(priority="high", type="incident")
    do_change_ticket_status(wanted, Status.IN_PROGRESS)
    ticket(priority="low", type="incident")
    params = [("status[]", "inprogress"), ("priority[]", "high"), ("type[]", "incident")]

    assert api.get("/issues/count", params).json() == [wanted.pk]


def test_count_filters_by_assignee_and_creation_date(api, agent2):
    old, new = ticket(assignee=agent2), ticket(assignee=agent2)
    ticket()
    set_times(old, created_at=datetime(2026, 3, 1, 12, tzinfo=MOSCOW))
    set_times(new, created_at=datetime(2026, 3, 5, 12, tzinfo=MOSCOW))
    params = [("assignee_ids[]", agent2.pk), ("created_since", "03-03-2026")]

    assert api.get("/issues/count", params).json() == [new.pk]


# Statuses


def test_changing_to_an_allowed_status_returns_the_issue(api):
    t = ticket()

    response = api.post(f"/issues/{t.pk}/statuses", {"code": "inprogress"})

    assert response.status_code == 200
    assert response.json()["status"] == {"code": "inprogress", "name": "В работе"}
    assert response.json()["old_status"]["code"] == "opened"


def test_completing_an_issue_sets_its_completion_time(api):
    t = ticket()

    issue = api.post(f"/issues/{t.pk}/statuses", {"code": "completed"}).json()

    assert OKDESK_TIME.match(issue["completed_at"])


def test_a_forbidden_transition_is_422_under_code(api):
    t = ticket()
    do_change_ticket_status(t, Status.CLOSED)

    response = api.post(f"/issues/{t.pk}/statuses", {"code": "completed"})

    assert response.status_code == 422
    assert response.json() == {
        "errors": {"code": ["Заявку в статусе «Закрыта» нельзя перевести в статус «Решена»."]}
    }
    assert Ticket.objects.get().status == Status.CLOSED


def test_an_unknown_status_code_is_422_under_code(api):
    t = ticket()

    response = api.post(f"/issues/{t.pk}/statuses", {"code": "delayed"})

    assert response.status_code == 422
    assert response.json() == {"errors": {"code": ["Неизвестный статус «delayed»."]}}


def test_a_status_change_without_a_code_is_rejected(api):
    t = ticket()

    response = api.post(f"/issues/{t.pk}/statuses", {"comment": "почему"})

    assert response.status_code == 422
    assert "code" in response.json()["errors"]


def test_a_status_comment_is_internal_by_default(api, agent):
    t = ticket()

    api.post(f"/issues/{t.pk}/statuses", {"code": "completed", "comment": "Готово"})

    comment = t.comments.get()
    assert (comment.content, comment.public, comment.author) == ("Готово", False, agent)


def test_a_status_comment_is_public_when_asked(api):
    t = ticket()
    body = {"code": "completed", "comment": "Готово", "comment_public": True}

    api.post(f"/issues/{t.pk}/statuses", body)

    assert t.comments.get().public is True


def test_changing_the_status_of_an_unknown_issue_is_404(api):
    response = api.post("/issues/9001/statuses", {"code": "completed"})

    assert response.status_code == 404


def test_statuses_are_listed_with_russian_names_and_final_flags(api):
    response = api.get("/issues/statuses")

    assert response.json() == [
        {"code": "opened", "name": "Открыта", "final": False},
        {"code": "inprogress", "name": "В работе", "final": False},
        {"code": "completed", "name": "Решена", "final": True},
        {"code": "closed", "name": "Закрыта", "final": True},
    ]


def test_priorities_are_listed_with_russian_names(api):
    response = api.get("/issues/priorities")

    assert response.json() == [
        {"code": "low", "name": "Низкий"},
        {"code": "normal", "name": "Обычный"},
        {"code": "high", "name": "Высокий"},
    ]


def test_types_are_listed_with_ids_matching_the_issue_objects(api):
    t = ticket(type="incident")

    types = api.get("/issues/types").json()

    assert [x["code"] for x in types] == ["question", "incident", "service"]
    assert types[1]["name"] == "Инцидент"
    assert types[1]["id"] == api.get(f"/issues/{t.pk}").json()["type"]["id"]


# Assignees


def test_an_issue_is_assigned_by_patch(api, agent2):
    t = ticket()

    issue = api.patch(f"/issues/{t.pk}/assignees", {"assignee_id": agent2.pk}).json()

    assert issue["assignee"]["id"] == agent2.pk


def test_a_null_assignee_clears_the_assignment(api, agent2):
    t = ticket(assignee=agent2)

    issue = api.patch(f"/issues/{t.pk}/assignees", {"assignee_id": None}).json()

    assert issue["assignee"] is None


def test_assigning_an_unknown_employee_is_rejected(api):
    t = ticket()

    response = api.patch(f"/issues/{t.pk}/assignees", {"assignee_id": 9001})

    assert response.status_code == 422
    assert "assignee_id" in response.json()["errors"]


# Comments


def test_comments_are_listed_oldest_first_with_their_authors(api, agent, caller):
    t = ticket()
    do_add_ticket_comment(t, content="Перезвоню", author=agent, public=True)
    do_add_ticket_comment(t, content="Жду", author_contact=caller, public=True)

    comments = api.get(f"/issues/{t.pk}/comments").json()

    assert [c["content"] for c in comments] == ["Перезвоню", "Жду"]
    assert [c["author"]["type"] for c in comments] == ["employee", "contact"]
    assert OKDESK_TIME.match(comments[0]["published_at"])


def test_comments_of_an_unknown_issue_are_404(api):
    assert api.get("/issues/9001/comments").status_code == 404


def test_a_public_comment_is_posted_by_the_named_employee(api, agent):
    t = ticket()
    body = {"comment": {"content": "Выехал<br>инженер", "author_id": agent.pk, "public": True}}

    comment = api.post(f"/issues/{t.pk}/comments", body).json()

    assert comment["content"] == "Выехал<br>инженер"
    assert comment["public"] is True
    assert comment["author"] == {"id": agent.pk, "name": agent.full_name, "type": "employee"}


def test_an_employee_comment_is_internal_by_default(api, agent):
    t = ticket()

    body = {"comment": {"content": "Для своих", "author_id": agent.pk}}
    comment = api.post(f"/issues/{t.pk}/comments", body).json()

    assert comment["public"] is False


def test_a_comment_without_author_id_is_by_the_keys_employee(api, agent):
    t = ticket()

    comment = api.post(f"/issues/{t.pk}/comments", {"content": "Без автора"}).json()

    assert comment["author"]["id"] == agent.pk


def test_a_contact_comment_is_public_unless_said_otherwise(api, caller):
    t = ticket()
    body = {"comment": {"content": "Спасибо", "author_id": caller.pk, "author_type": "contact"}}

    comment = api.post(f"/issues/{t.pk}/comments", body).json()

    assert comment["author"] == {"id": caller.pk, "name": caller.name, "type": "contact"}
    assert comment["public"] is True


def test_commenting_as_another_employee_needs_a_staff_key(api, agent2):
    t = ticket()
    body = {"comment": {"content": "Не я", "author_id": agent2.pk}}

    response = api.post(f"/issues/{t.pk}/comments", body)

    assert response.status_code == 403
    assert not t.comments.exists()


def test_a_staff_key_may_comment_as_another_employee(admin_api, agent2):
    t = ticket()
    body = {"comment": {"content": "За коллегу", "author_id": agent2.pk}}

    comment = admin_api.post(f"/issues/{t.pk}/comments", body).json()

    assert comment["author"]["id"] == agent2.pk


def test_an_empty_comment_is_rejected(api):
    t = ticket()

    response = api.post(f"/issues/{t.pk}/comments", {"comment": {"content": " "}})

    assert response.status_code == 422
    assert "content" in response.json()["errors"]


def test_a_comment_by_an_unknown_contact_is_rejected(api):
    t = ticket()
    body = {"comment": {"content": "Кто я", "author_id": 9001, "author_type": "contact"}}

    response = api.post(f"/issues/{t.pk}/comments", body)

    assert response.status_code == 422
    assert "author_id" in response.json()["errors"]


def test_a_new_comment_is_counted_on_the_issue(api):
    t = ticket()
    api.post(f"/issues/{t.pk}/comments", {"comment": {"content": "Раз"}})

    issue = api.get(f"/issues/{t.pk}").json()

    assert issue["comments"]["count"] == 1
    assert OKDESK_TIME.match(issue["comments"]["last_at"])
