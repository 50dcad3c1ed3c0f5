"""Issues, statuses and comments over the Okdesk-compatible API (``/api/v1/issues``)."""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import pytest
from django.test import Client

from trubka.clients.actions import do_create_company, do_create_contact
from trubka.clients.models import Company, Contact
from trubka.okdesk_api.models import ApiKey
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
def token(agent) -> str:
    return ApiKey.issue(agent)[1]


@pytest.fixture
def admin_token(admin) -> str:
    return ApiKey.issue(admin)[1]


@pytest.fixture
def other_company(db) -> Company:
    return do_create_company(name="ООО Лютик")


@pytest.fixture
def stranger(other_company) -> Contact:
    return do_create_contact(first_name="Олег", last_name="Чужой", company=other_company)


def url(path: str, token: str, params: list[tuple[str, Any]] | None = None) -> str:
    query = [("api_token", token), *(params or [])]
    return f"/api/v1{path}?{urlencode(query)}"


def get(token: str, path: str, params: list[tuple[str, Any]] | None = None) -> Any:
    return Client().get(url(path, token, params))


def send(method: str, token: str, path: str, body: Any) -> Any:
    client = Client()
    return getattr(client, method)(
        url(path, token), data=json.dumps(body), content_type="application/json"
    )


def ids(response: Any) -> list[int]:
    assert response.status_code == 200, response.content
    return [item["id"] for item in response.json()]


def ticket(title: str = "Не работает принтер", **kwargs: Any) -> Ticket:
    return do_create_ticket(title=title, **kwargs)


def set_times(t: Ticket, **times: datetime) -> None:
    Ticket.objects.filter(pk=t.pk).update(**times)


# Creating


def test_creating_an_issue_accepts_the_documented_issue_wrapper(token):
    response = send("post", token, "/issues", {"issue": {"title": "Пропущенный звонок"}})

    assert response.status_code == 200
    assert response.json()["title"] == "Пропущенный звонок"
    assert Ticket.objects.get().title == "Пропущенный звонок"


def test_creating_an_issue_accepts_a_bare_object(token):
    response = send("post", token, "/issues", {"title": "Без обёртки"})

    assert response.status_code == 200
    assert response.json()["title"] == "Без обёртки"


def test_a_trailing_slash_on_the_path_is_accepted(token):
    client = Client()
    response = client.post(
        f"/api/v1/issues/?api_token={token}",
        data=json.dumps({"issue": {"title": "Со слешем"}}),
        content_type="application/json",
    )

    assert response.status_code == 200


def test_a_new_issue_is_an_opened_normal_question_from_the_api_by_the_keys_employee(token, agent):
    issue = send("post", token, "/issues", {"issue": {"title": "Вопрос"}}).json()

    assert issue["status"] == {"code": "opened", "name": "Открыта"}
    assert issue["priority"] == {"code": "normal", "name": "Обычный"}
    assert issue["type"]["code"] == "question"
    assert issue["source"] == "api"
    assert issue["author"] == {"id": agent.pk, "name": agent.full_name, "type": "employee"}
    assert Ticket.objects.get().source == Source.API


def test_a_new_issue_takes_the_given_fields(token, caller, company, agent2):
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

    issue = send("post", token, "/issues", body).json()

    assert issue["description"] == "<p>Совсем</p>"
    assert issue["company_id"] == company.pk
    assert issue["contact"] == {"id": caller.pk, "name": caller.name}
    assert issue["assignee"] == {"id": agent2.pk, "name": agent2.full_name}
    assert issue["type"]["code"] == "incident"
    assert issue["priority"]["code"] == "high"


def test_ids_sent_as_strings_are_read_as_numbers(token, caller):
    issue = send("post", token, "/issues", {"issue": {"title": "Т", "contact_id": str(caller.pk)}})

    assert issue.json()["contact"]["id"] == caller.pk


@pytest.mark.parametrize("code", TicketType.values)
def test_every_ticket_type_can_be_given(token, code):
    issue = send("post", token, "/issues", {"issue": {"title": "Т", "type": code}}).json()

    assert issue["type"]["code"] == code


@pytest.mark.parametrize("code", Priority.values)
def test_every_priority_can_be_given(token, code):
    issue = send("post", token, "/issues", {"issue": {"title": "Т", "priority": code}}).json()

    assert issue["priority"]["code"] == code


def test_empty_type_and_priority_fall_back_to_the_defaults(token):
    body = {"issue": {"title": "Т", "type": "", "priority": ""}}

    issue = send("post", token, "/issues", body).json()

    assert (issue["type"]["code"], issue["priority"]["code"]) == ("question", "normal")


def test_a_new_issue_takes_its_contacts_company_when_none_is_given(token, caller, company):
    issue = send("post", token, "/issues", {"issue": {"title": "Т", "contact_id": caller.pk}})

    assert issue.json()["company_id"] == company.pk


def test_a_contact_of_another_company_is_rejected(token, caller, other_company):
    body = {"issue": {"title": "Т", "contact_id": caller.pk, "company_id": other_company.pk}}

    response = send("post", token, "/issues", body)

    assert response.status_code == 422
    assert list(response.json()["errors"]) == ["contact_id"]
    assert not Ticket.objects.exists()


def test_an_issue_without_a_title_is_rejected_in_okdesks_error_shape(token):
    response = send("post", token, "/issues", {"issue": {"description": "нет заголовка"}})

    assert response.status_code == 422
    assert isinstance(response.json()["errors"]["title"], list)


def test_a_blank_title_is_rejected(token):
    response = send("post", token, "/issues", {"issue": {"title": "   "}})

    assert response.status_code == 422
    assert "title" in response.json()["errors"]


def test_unknown_contact_company_and_assignee_are_reported_per_field(token):
    body = {"issue": {"title": "Т", "contact_id": 9001, "company_id": 9002, "assignee_id": 9003}}

    response = send("post", token, "/issues", body)

    assert response.status_code == 422
    assert set(response.json()["errors"]) == {"contact_id", "company_id", "assignee_id"}


def test_an_inactive_assignee_is_rejected(token, agent2):
    agent2.is_active = False
    agent2.save()

    response = send("post", token, "/issues", {"issue": {"title": "Т", "assignee_id": agent2.pk}})

    assert response.status_code == 422
    assert "assignee_id" in response.json()["errors"]


def test_an_unknown_type_or_priority_code_is_rejected(token):
    body = {"issue": {"title": "Т", "type": "meeting", "priority": "urgent"}}

    response = send("post", token, "/issues", body)

    assert response.status_code == 422
    assert set(response.json()["errors"]) == {"type", "priority"}


def test_a_deadline_in_a_wrong_format_is_rejected(token):
    body = {"issue": {"title": "Т", "deadline_at": "завтра"}}

    response = send("post", token, "/issues", body)

    assert response.status_code == 422
    assert "deadline_at" in response.json()["errors"]


def test_a_deadline_and_custom_parameters_are_accepted(token):
    body = {
        "issue": {
            "title": "Т",
            "deadline_at": "2026-09-30 18:00",
            "custom_parameters": {"depart": "1"},
        }
    }

    response = send("post", token, "/issues", body)

    assert response.status_code == 200


def test_a_contact_author_leaves_no_employee_author_and_becomes_the_contact(token, caller):
    body = {"issue": {"title": "Т", "author": {"id": str(caller.pk), "type": "contact"}}}

    issue = send("post", token, "/issues", body).json()

    assert issue["author"] is None
    assert issue["contact"]["id"] == caller.pk


def test_an_unknown_author_is_reported_under_the_nested_author_key(token):
    body = {"issue": {"title": "Т", "author": {"id": 9001, "type": "contact"}}}

    response = send("post", token, "/issues", body)

    assert response.status_code == 422
    assert list(response.json()["errors"]["author"]) == ["id"]


def test_naming_another_employee_as_author_needs_a_staff_key(token, agent2):
    body = {"issue": {"title": "Т", "author": {"id": agent2.pk, "type": "employee"}}}

    response = send("post", token, "/issues", body)

    assert response.status_code == 403
    assert "errors" in response.json()
    assert not Ticket.objects.exists()


def test_a_staff_key_may_name_another_employee_as_author(admin_token, agent2):
    body = {"issue": {"title": "Т", "author": {"id": agent2.pk, "type": "employee"}}}

    issue = send("post", admin_token, "/issues", body).json()

    assert issue["author"]["id"] == agent2.pk


def test_a_request_without_a_valid_token_is_refused(db):
    response = Client().get("/api/v1/issues/list?api_token=wrong")

    assert response.status_code == 401
    assert "errors" in response.json()


# Reading one


def test_an_issue_is_read_by_id(token, caller):
    t = ticket(contact=caller)

    issue = get(token, f"/issues/{t.pk}").json()

    assert issue["id"] == t.pk
    assert issue["contact"]["id"] == caller.pk
    assert issue["comments"] == {"count": 0, "last_at": None}


def test_an_unknown_issue_is_404_with_errors(token):
    response = get(token, "/issues/9001")

    assert response.status_code == 404
    assert "errors" in response.json()


def test_issue_dates_are_iso_with_milliseconds_and_the_account_offset(token):
    t = ticket()
    set_times(t, created_at=datetime(2026, 3, 10, 6, 30, 5, 123456, tzinfo=ZoneInfo("UTC")))

    issue = get(token, f"/issues/{t.pk}").json()

    assert issue["created_at"] == "2026-03-10T09:30:05.123+03:00"
    assert OKDESK_TIME.match(issue["updated_at"])


# The detailed list


def test_the_issue_list_is_a_bare_array_newest_first(token):
    first, second = ticket("Первая"), ticket("Вторая")
    set_times(first, created_at=datetime(2026, 3, 1, 10, tzinfo=MOSCOW))
    set_times(second, created_at=datetime(2026, 3, 2, 10, tzinfo=MOSCOW))

    assert ids(get(token, "/issues/list")) == [second.pk, first.pk]


def test_the_issue_list_filters_by_status_codes(token):
    opened, done = ticket(), ticket()
    do_change_ticket_status(done, Status.COMPLETED)

    assert ids(get(token, "/issues/list", [("status_codes[]", "completed")])) == [done.pk]
    assert ids(get(token, "/issues/list", [("status_codes[]", "opened")])) == [opened.pk]


def test_status_is_accepted_as_another_name_for_status_codes(token):
    ticket()
    done = ticket()
    do_change_ticket_status(done, Status.COMPLETED)

    assert ids(get(token, "/issues/list", [("status[]", "completed")])) == [done.pk]


def test_status_codes_not_leaves_those_statuses_out(token):
    opened, done = ticket(), ticket()
    do_change_ticket_status(done, Status.COMPLETED)

    assert ids(get(token, "/issues/list", [("status_codes_not[]", "completed")])) == [opened.pk]


def test_an_unknown_status_code_matches_nothing(token):
    ticket()

    assert ids(get(token, "/issues/list", [("status_codes[]", "delayed")])) == []


def test_the_issue_list_filters_by_priority_codes(token):
    ticket(priority="low")
    high = ticket(priority="high")

    assert ids(get(token, "/issues/list", [("priority_codes[]", "high")])) == [high.pk]


def test_the_issue_list_filters_by_type_codes(token):
    ticket(type="question")
    incident = ticket(type="incident")

    assert ids(get(token, "/issues/list", [("type_codes[]", "incident")])) == [incident.pk]


def test_the_issue_list_filters_by_contact_ids(token, caller, stranger):
    mine = ticket(contact=caller)
    ticket(contact=stranger)

    assert ids(get(token, "/issues/list", [("contact_ids[]", caller.pk)])) == [mine.pk]


def test_contact_id_zero_means_issues_without_a_contact(token, caller):
    ticket(contact=caller)
    nobodys = ticket()

    assert ids(get(token, "/issues/list", [("contact_ids[]", 0)])) == [nobodys.pk]


def test_the_issue_list_filters_by_company_ids(token, company, other_company):
    ticket(company=company)
    theirs = ticket(company=other_company)

    assert ids(get(token, "/issues/list", [("company_ids[]", other_company.pk)])) == [theirs.pk]


def test_several_ids_match_any_of_them(token, company, other_company):
    a, b = ticket(company=company), ticket(company=other_company)
    ticket()
    params = [("company_ids[]", company.pk), ("company_ids[]", other_company.pk)]

    assert sorted(ids(get(token, "/issues/list", params))) == [a.pk, b.pk]


def test_the_issue_list_filters_by_assignee_ids_with_zero_for_unassigned(token, agent, agent2):
    assigned = ticket(assignee=agent2)
    unassigned = ticket()

    assert ids(get(token, "/issues/list", [("assignee_ids[]", agent2.pk)])) == [assigned.pk]
    assert ids(get(token, "/issues/list", [("assignee_ids[]", 0)])) == [unassigned.pk]


def test_a_non_numeric_id_filter_is_rejected(token):
    response = get(token, "/issues/list", [("contact_ids[]", "abc")])

    assert response.status_code == 422
    assert "contact_ids" in response.json()["errors"]


def test_created_since_is_read_in_the_account_time_zone(token):
    morning, later = ticket(), ticket()
    set_times(morning, created_at=datetime(2026, 3, 10, 9, 30, tzinfo=MOSCOW))
    set_times(later, created_at=datetime(2026, 3, 10, 10, 30, tzinfo=MOSCOW))

    response = get(token, "/issues/list", [("created_since", "10-03-2026 10:00")])

    assert ids(response) == [later.pk]


def test_created_until_takes_the_iso_date_form_with_a_time(token):
    morning, later = ticket(), ticket()
    set_times(morning, created_at=datetime(2026, 3, 10, 9, 30, tzinfo=MOSCOW))
    set_times(later, created_at=datetime(2026, 3, 10, 10, 30, tzinfo=MOSCOW))

    response = get(token, "/issues/list", [("created_until", "2026-03-10 10:00")])

    assert ids(response) == [morning.pk]


def test_a_date_alone_as_created_until_includes_that_whole_day(token):
    evening, next_day = ticket(), ticket()
    set_times(evening, created_at=datetime(2026, 3, 10, 23, 50, tzinfo=MOSCOW))
    set_times(next_day, created_at=datetime(2026, 3, 11, 0, 10, tzinfo=MOSCOW))

    assert ids(get(token, "/issues/list", [("created_until", "10-03-2026")])) == [evening.pk]
    assert ids(get(token, "/issues/list", [("created_since", "2026-03-11")])) == [next_day.pk]


def test_the_issue_list_filters_by_completion_date(token):
    early, late = ticket(), ticket()
    for t in (early, late):
        do_change_ticket_status(t, Status.COMPLETED)
    set_times(early, completed_at=datetime(2026, 3, 1, 12, tzinfo=MOSCOW))
    set_times(late, completed_at=datetime(2026, 3, 5, 12, tzinfo=MOSCOW))
    ticket()  # never completed

    params = [("completed_since", "02-03-2026"), ("completed_until", "05-03-2026")]

    assert ids(get(token, "/issues/list", params)) == [late.pk]


def test_the_issue_list_filters_by_update_date(token):
    stale, fresh = ticket(), ticket()
    set_times(stale, updated_at=datetime(2026, 3, 1, 12, tzinfo=MOSCOW))
    set_times(fresh, updated_at=datetime(2026, 3, 5, 12, tzinfo=MOSCOW))

    params = [("updated_since", "2026-03-04 00:00"), ("updated_until", "2026-03-06 00:00")]

    assert ids(get(token, "/issues/list", params)) == [fresh.pk]


def test_a_date_filter_in_a_wrong_format_is_rejected_under_its_name(token):
    response = get(token, "/issues/list", [("created_since", "вчера")])

    assert response.status_code == 422
    assert list(response.json()["errors"]) == ["created_since"]


def test_the_issue_list_is_paged_by_number_and_size(token):
    made = [ticket(f"Заявка {n}") for n in range(5)]
    for n, t in enumerate(made):
        set_times(t, created_at=datetime(2026, 3, 1 + n, 10, tzinfo=MOSCOW))

    second_page = get(token, "/issues/list", [("page[number]", 2), ("page[size]", 2)])

    assert ids(second_page) == [made[2].pk, made[1].pk]


def test_a_page_past_the_end_is_empty(token):
    ticket()

    assert ids(get(token, "/issues/list", [("page[number]", 2)])) == []


def test_a_page_size_above_50_is_rejected(token):
    response = get(token, "/issues/list", [("page[size]", 51)])

    assert response.status_code == 422
    assert list(response.json()["errors"]["page"]) == ["size"]


def test_the_issue_list_sorts_forward_by_update_time(token):
    a, b = ticket(), ticket()
    set_times(a, updated_at=datetime(2026, 3, 5, 12, tzinfo=MOSCOW))
    set_times(b, updated_at=datetime(2026, 3, 1, 12, tzinfo=MOSCOW))
    params = [("sorting[field]", "updated_at"), ("sorting[direction]", "forward")]

    assert ids(get(token, "/issues/list", params)) == [b.pk, a.pk]


def test_an_unknown_sorting_field_is_rejected(token):
    response = get(token, "/issues/list", [("sorting[field]", "title")])

    assert response.status_code == 422
    assert list(response.json()["errors"]["sorting"]) == ["field"]


# The id list («count»)


def test_count_returns_the_matching_ids_not_a_number(token):
    a, b = ticket(), ticket()

    response = get(token, "/issues/count")

    assert response.json() == [a.pk, b.pk]


def test_count_with_opened_true_leaves_out_completed_and_closed_issues(token, caller):
    opened, working, done, closed = (ticket(contact=caller) for _ in range(4))
    do_change_ticket_status(working, Status.IN_PROGRESS)
    do_change_ticket_status(done, Status.COMPLETED)
    do_change_ticket_status(closed, Status.CLOSED)

    params = [("contact_ids[]", caller.pk), ("opened", "true")]

    assert get(token, "/issues/count", params).json() == [opened.pk, working.pk]


def test_count_with_status_not_leaves_those_statuses_out(token):
    opened, done = ticket(), ticket()
    do_change_ticket_status(done, Status.COMPLETED)

    assert get(token, "/issues/count", [("status_not[]", "completed")]).json() == [opened.pk]


def test_count_filters_by_status_priority_and_type(token):
    ticket(priority="high", type="incident")
    wanted = ticket(priority="high", type="incident")
    do_change_ticket_status(wanted, Status.IN_PROGRESS)
    ticket(priority="low", type="incident")
    params = [("status[]", "inprogress"), ("priority[]", "high"), ("type[]", "incident")]

    assert get(token, "/issues/count", params).json() == [wanted.pk]


def test_count_filters_by_assignee_and_creation_date(token, agent2):
    old, new = ticket(assignee=agent2), ticket(assignee=agent2)
    ticket()
    set_times(old, created_at=datetime(2026, 3, 1, 12, tzinfo=MOSCOW))
    set_times(new, created_at=datetime(2026, 3, 5, 12, tzinfo=MOSCOW))
    params = [("assignee_ids[]", agent2.pk), ("created_since", "03-03-2026")]

    assert get(token, "/issues/count", params).json() == [new.pk]


# Statuses


def test_changing_to_an_allowed_status_returns_the_issue(token):
    t = ticket()

    response = send("post", token, f"/issues/{t.pk}/statuses", {"code": "inprogress"})

    assert response.status_code == 200
    assert response.json()["status"] == {"code": "inprogress", "name": "В работе"}
    assert response.json()["old_status"]["code"] == "opened"


def test_completing_an_issue_sets_its_completion_time(token):
    t = ticket()

    issue = send("post", token, f"/issues/{t.pk}/statuses", {"code": "completed"}).json()

    assert OKDESK_TIME.match(issue["completed_at"])


def test_a_forbidden_transition_is_422_under_code(token):
    t = ticket()
    do_change_ticket_status(t, Status.CLOSED)

    response = send("post", token, f"/issues/{t.pk}/statuses", {"code": "completed"})

    assert response.status_code == 422
    assert response.json() == {
        "errors": {"code": ["Заявку в статусе «Закрыта» нельзя перевести в статус «Решена»."]}
    }
    assert Ticket.objects.get().status == Status.CLOSED


def test_an_unknown_status_code_is_422_under_code(token):
    t = ticket()

    response = send("post", token, f"/issues/{t.pk}/statuses", {"code": "delayed"})

    assert response.status_code == 422
    assert response.json() == {"errors": {"code": ["Неизвестный статус «delayed»."]}}


def test_a_status_change_without_a_code_is_rejected(token):
    t = ticket()

    response = send("post", token, f"/issues/{t.pk}/statuses", {"comment": "почему"})

    assert response.status_code == 422
    assert "code" in response.json()["errors"]


def test_a_status_comment_is_internal_by_default(token, agent):
    t = ticket()

    send("post", token, f"/issues/{t.pk}/statuses", {"code": "completed", "comment": "Готово"})

    comment = t.comments.get()
    assert (comment.content, comment.public, comment.author) == ("Готово", False, agent)


def test_a_status_comment_is_public_when_asked(token):
    t = ticket()
    body = {"code": "completed", "comment": "Готово", "comment_public": True}

    send("post", token, f"/issues/{t.pk}/statuses", body)

    assert t.comments.get().public is True


def test_changing_the_status_of_an_unknown_issue_is_404(token):
    response = send("post", token, "/issues/9001/statuses", {"code": "completed"})

    assert response.status_code == 404


def test_statuses_are_listed_with_russian_names_and_final_flags(token):
    response = get(token, "/issues/statuses")

    assert response.json() == [
        {"code": "opened", "name": "Открыта", "final": False},
        {"code": "inprogress", "name": "В работе", "final": False},
        {"code": "completed", "name": "Решена", "final": True},
        {"code": "closed", "name": "Закрыта", "final": True},
    ]


def test_priorities_are_listed_with_russian_names(token):
    response = get(token, "/issues/priorities")

    assert response.json() == [
        {"code": "low", "name": "Низкий"},
        {"code": "normal", "name": "Обычный"},
        {"code": "high", "name": "Высокий"},
    ]


def test_types_are_listed_with_ids_matching_the_issue_objects(token):
    t = ticket(type="incident")

    types = get(token, "/issues/types").json()

    assert [x["code"] for x in types] == ["question", "incident", "service"]
    assert types[1]["name"] == "Инцидент"
    assert types[1]["id"] == get(token, f"/issues/{t.pk}").json()["type"]["id"]


# Assignees


def test_an_issue_is_assigned_by_patch(token, agent2):
    t = ticket()

    issue = send("patch", token, f"/issues/{t.pk}/assignees", {"assignee_id": agent2.pk}).json()

    assert issue["assignee"]["id"] == agent2.pk


def test_a_null_assignee_clears_the_assignment(token, agent2):
    t = ticket(assignee=agent2)

    issue = send("patch", token, f"/issues/{t.pk}/assignees", {"assignee_id": None}).json()

    assert issue["assignee"] is None


def test_assigning_an_unknown_employee_is_rejected(token):
    t = ticket()

    response = send("patch", token, f"/issues/{t.pk}/assignees", {"assignee_id": 9001})

    assert response.status_code == 422
    assert "assignee_id" in response.json()["errors"]


# Comments


def test_comments_are_listed_oldest_first_with_their_authors(token, agent, caller):
    t = ticket()
    do_add_ticket_comment(t, content="Перезвоню", author=agent, public=True)
    do_add_ticket_comment(t, content="Жду", author_contact=caller, public=True)

    comments = get(token, f"/issues/{t.pk}/comments").json()

    assert [c["content"] for c in comments] == ["Перезвоню", "Жду"]
    assert [c["author"]["type"] for c in comments] == ["employee", "contact"]
    assert OKDESK_TIME.match(comments[0]["published_at"])


def test_comments_of_an_unknown_issue_are_404(token):
    assert get(token, "/issues/9001/comments").status_code == 404


def test_a_public_comment_is_posted_by_the_named_employee(token, agent):
    t = ticket()
    body = {"comment": {"content": "Выехал<br>инженер", "author_id": agent.pk, "public": True}}

    comment = send("post", token, f"/issues/{t.pk}/comments", body).json()

    assert comment["content"] == "Выехал<br>инженер"
    assert comment["public"] is True
    assert comment["author"] == {"id": agent.pk, "name": agent.full_name, "type": "employee"}


def test_an_employee_comment_is_internal_by_default(token, agent):
    t = ticket()

    body = {"comment": {"content": "Для своих", "author_id": agent.pk}}
    comment = send("post", token, f"/issues/{t.pk}/comments", body).json()

    assert comment["public"] is False


def test_a_comment_without_author_id_is_by_the_keys_employee(token, agent):
    t = ticket()

    comment = send("post", token, f"/issues/{t.pk}/comments", {"content": "Без автора"}).json()

    assert comment["author"]["id"] == agent.pk


def test_a_contact_comment_is_public_unless_said_otherwise(token, caller):
    t = ticket()
    body = {"comment": {"content": "Спасибо", "author_id": caller.pk, "author_type": "contact"}}

    comment = send("post", token, f"/issues/{t.pk}/comments", body).json()

    assert comment["author"] == {"id": caller.pk, "name": caller.name, "type": "contact"}
    assert comment["public"] is True


def test_commenting_as_another_employee_needs_a_staff_key(token, agent2):
    t = ticket()
    body = {"comment": {"content": "Не я", "author_id": agent2.pk}}

    response = send("post", token, f"/issues/{t.pk}/comments", body)

    assert response.status_code == 403
    assert not t.comments.exists()


def test_a_staff_key_may_comment_as_another_employee(admin_token, agent2):
    t = ticket()
    body = {"comment": {"content": "За коллегу", "author_id": agent2.pk}}

    comment = send("post", admin_token, f"/issues/{t.pk}/comments", body).json()

    assert comment["author"]["id"] == agent2.pk


def test_an_empty_comment_is_rejected(token):
    t = ticket()

    response = send("post", token, f"/issues/{t.pk}/comments", {"comment": {"content": " "}})

    assert response.status_code == 422
    assert "content" in response.json()["errors"]


def test_a_comment_by_an_unknown_contact_is_rejected(token):
    t = ticket()
    body = {"comment": {"content": "Кто я", "author_id": 9001, "author_type": "contact"}}

    response = send("post", token, f"/issues/{t.pk}/comments", body)

    assert response.status_code == 422
    assert "author_id" in response.json()["errors"]


def test_a_new_comment_is_counted_on_the_issue(token):
    t = ticket()
    send("post", token, f"/issues/{t.pk}/comments", {"comment": {"content": "Раз"}})

    issue = get(token, f"/issues/{t.pk}").json()

    assert issue["comments"]["count"] == 1
    assert OKDESK_TIME.match(issue["comments"]["last_at"])
