"""Who may see what: the login wall, the employee pages, logging in and out, the Django admin."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

import pytest
from django.conf import settings as django_settings
from django.test import Client
from django.urls import reverse

from conftest import PASSWORD, logged_in
from trubka.calls.actions import do_log_call
from trubka.calls.models import CallRecording
from trubka.staff.models import Employee
from trubka.tickets.actions import do_create_ticket


@pytest.fixture
def world(db, agent, caller, company):
    """One object of each kind, so that detail pages have something to show."""
    ticket = do_create_ticket(title="Не печатает принтер", contact=caller)
    call = do_log_call(
        provider="manual",
        provider_call_id="perm-1",
        started_at=datetime(2025, 3, 10, 9, 0, tzinfo=UTC),
        client_number="+7 916 123 45 67",
    )
    recording = CallRecording.objects.create(call=call)
    return {
        "ticket": ticket.pk,
        "contact": caller.pk,
        "company": company.pk,
        "employee": agent.pk,
        "recording": recording.uuid,
    }


# (URL name, the world's object whose key the URL takes, or None)
STAFF_PAGES = [
    ("tickets:list", None),
    ("tickets:create", None),
    ("tickets:detail", "ticket"),
    ("clients:list", None),
    ("clients:contact", "contact"),
    ("clients:company", "company"),
    ("clients:contact_create", None),
    ("clients:company_create", None),
    ("clients:contact_edit", "contact"),
    ("clients:company_edit", "company"),
    ("staff:list", None),
    ("staff:create", None),
    ("staff:edit", "employee"),
    ("calls:settings", None),
    ("calls:log", None),
    ("calls:recording", "recording"),
    ("admin:index", None),
]


def page_url(name: str, key: str | None, world: dict) -> str:
    return reverse(name, args=[world[key]] if key else [])


def login_redirect(response) -> tuple[str, list[str]]:
    """The path a redirect points to and its ``next`` parameter."""
    location = urlsplit(response["Location"])
    return location.path, parse_qs(location.query).get("next", [])


# --- The login wall ----------------------------------------------------------------------


@pytest.mark.parametrize(("name", "key"), STAFF_PAGES, ids=[name for name, _ in STAFF_PAGES])
def test_an_anonymous_visitor_is_sent_to_the_login_page_with_next(world, name, key):
    url = page_url(name, key, world)

    response = Client().get(url)

    assert response.status_code == 302
    path, next_ = login_redirect(response)
    # The Django admin has its own login page; every other page uses the desk's.
    expected_login = reverse("admin:login") if name.startswith("admin:") else reverse("login")
    assert path == expected_login
    assert next_ == [url]


def test_the_login_page_opens_without_a_session(db):
    response = Client().get(reverse("login"))

    assert response.status_code == 200
    assert 'name="password"' in response.content.decode()


def test_the_language_can_be_switched_without_a_session(db):
    client = Client()

    response = client.post(reverse("set_language"), {"language": "en", "next": reverse("login")})

    assert response.status_code == 302
    assert response["Location"] == reverse("login")
    assert client.cookies[django_settings.LANGUAGE_COOKIE_NAME].value == "en"


# --- Employee pages: anyone may look, only administrators may change -----------------------


def test_an_agent_can_view_the_employee_list(agent):
    response = logged_in(agent).get(reverse("staff:list"))

    assert response.status_code == 200
    assert agent.username in response.content.decode()


def test_an_agent_is_not_offered_the_new_employee_button(agent):
    response = logged_in(agent).get(reverse("staff:list"))

    assert reverse("staff:create") not in response.content.decode()


def test_an_agent_gets_403_on_the_new_employee_form(agent):
    response = logged_in(agent).get(reverse("staff:create"))

    assert response.status_code == 403


def test_an_agent_cannot_create_an_employee_by_posting(agent):
    response = logged_in(agent).post(
        reverse("staff:create"), new_employee_data(username="intruder")
    )

    assert response.status_code == 403
    assert not Employee.objects.filter(username="intruder").exists()


def test_an_agent_gets_403_on_the_employee_edit_form(agent, agent2):
    response = logged_in(agent).get(reverse("staff:edit", args=[agent2.pk]))

    assert response.status_code == 403


def test_an_agent_cannot_edit_an_employee_by_posting(agent, agent2):
    response = logged_in(agent).post(
        reverse("staff:edit", args=[agent2.pk]), employee_data(agent2, extension="999")
    )

    assert response.status_code == 403
    agent2.refresh_from_db()
    assert agent2.extension == "102"


def new_employee_data(**overrides: str) -> dict[str, str]:
    data = {
        "username": "smirnov",
        "last_name": "Смирнов",
        "first_name": "Олег",
        "patronymic": "",
        "position": "Инженер",
        "email": "",
        "phone": "",
        "extension": "103",
        "is_active": "on",
        "password1": PASSWORD,
        "password2": PASSWORD,
    }
    return {**data, **overrides}


def employee_data(employee: Employee, **overrides: str) -> dict[str, str]:
    data = {
        "last_name": employee.last_name,
        "first_name": employee.first_name,
        "patronymic": employee.patronymic,
        "position": employee.position,
        "email": employee.email,
        "phone": employee.phone,
        "extension": employee.extension or "",
        "is_active": "on" if employee.is_active else "",
    }
    return {**data, **overrides}


def test_an_admin_opens_the_new_employee_form(admin):
    response = logged_in(admin).get(reverse("staff:create"))

    assert response.status_code == 200


def test_an_admin_creates_an_employee_who_can_then_log_in(admin):
    response = logged_in(admin).post(reverse("staff:create"), new_employee_data())

    assert response.status_code == 302
    assert response["Location"] == reverse("staff:list")
    created = Employee.objects.get(username="smirnov")
    assert created.extension == "103"
    assert created.check_password(PASSWORD)


def test_an_admin_edits_an_employee(admin, agent2):
    response = logged_in(admin).post(
        reverse("staff:edit", args=[agent2.pk]), employee_data(agent2, extension="202")
    )

    assert response.status_code == 302
    agent2.refresh_from_db()
    assert agent2.extension == "202"


# --- Logging in and out ------------------------------------------------------------------


def log_in(client: Client, username: str, password: str = PASSWORD):
    return client.post(reverse("login"), {"username": username, "password": password})


def test_an_active_employee_logs_in_through_the_form(agent):
    client = Client()

    response = log_in(client, agent.username)

    assert response.status_code == 302
    assert client.session.get("_auth_user_id") == str(agent.pk)


def test_logging_in_returns_the_visitor_to_the_page_they_asked_for(world, agent):
    client = Client()
    wanted = reverse("tickets:detail", args=[world["ticket"]])
    login_page = client.get(wanted, follow=True)
    assert f'name="next" value="{wanted}"' in login_page.content.decode()

    response = client.post(
        reverse("login"), {"username": agent.username, "password": PASSWORD, "next": wanted}
    )

    assert response.status_code == 302
    assert response["Location"] == wanted


def test_logging_in_never_redirects_to_another_site(agent):
    response = Client().post(
        reverse("login"),
        {"username": agent.username, "password": PASSWORD, "next": "https://evil.example/"},
    )

    assert response.status_code == 302
    assert response["Location"] == reverse("home")


def test_an_inactive_employee_cannot_log_in_through_the_form(agent):
    agent.is_active = False
    agent.save()
    client = Client()

    response = log_in(client, agent.username)

    assert response.status_code == 200
    assert response.context["form"].errors
    assert "_auth_user_id" not in client.session
    assert client.get(reverse("tickets:list")).status_code == 302


def test_a_wrong_password_does_not_log_in(agent):
    client = Client()

    response = log_in(client, agent.username, "wrong password")

    assert response.status_code == 200
    assert "_auth_user_id" not in client.session


def test_logging_out_by_get_is_refused_and_keeps_the_session(agent):
    client = logged_in(agent)

    response = client.get(reverse("logout"))

    assert response.status_code == 405
    assert client.get(reverse("tickets:list")).status_code == 200


def test_logging_out_by_post_ends_the_session(agent):
    client = logged_in(agent)

    response = client.post(reverse("logout"))

    assert response.status_code == 302
    assert urlsplit(response["Location"]).path == reverse("login")
    after = client.get(reverse("tickets:list"))
    assert after.status_code == 302
    assert login_redirect(after)[0] == reverse("login")


# --- The Django admin --------------------------------------------------------------------


def test_the_django_admin_rejects_an_agent_who_is_not_staff(agent):
    response = logged_in(agent).get(reverse("admin:index"))

    assert response.status_code == 302
    assert login_redirect(response)[0] == reverse("admin:login")


def test_the_django_admin_opens_for_an_administrator(admin):
    response = logged_in(admin).get(reverse("admin:index"))

    assert response.status_code == 200
