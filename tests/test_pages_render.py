"""Every page renders, in Russian by default and in English on request; the choice sticks."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.conf import settings as django_settings
from django.test import Client
from django.urls import reverse

from conftest import logged_in
from trubka.calls.actions import do_log_call
from trubka.tickets.actions import do_create_ticket

RUSSIAN_NAV = ["Заявки", "Клиенты", "Сотрудники", "Настройки"]
ENGLISH_NAV = ["Tickets", "Clients", "Employees", "Settings"]


@pytest.fixture
def world(db, agent, agent2, caller, company):
    ticket = do_create_ticket(title="Не печатает принтер", contact=caller, assignee=agent)
    do_log_call(
        provider="manual",
        provider_call_id="render-1",
        started_at=datetime(2025, 3, 10, 9, 0, tzinfo=UTC),
        client_number="+7 916 123 45 67",
        employee=agent,
    )
    do_log_call(
        provider="manual",
        provider_call_id="render-2",
        started_at=datetime(2025, 3, 10, 10, 0, tzinfo=UTC),
        client_number="+7 903 000 11 22",
        is_missed=True,
    )
    return {
        "ticket": ticket.pk,
        "contact": caller.pk,
        "company": company.pk,
        "employee": agent2.pk,
    }


# Pages an agent opens: (URL name, the world's key the URL takes or None, query string)
AGENT_PAGES = [
    ("tickets:list", None, ""),
    ("tickets:list", None, "?status=any&mine=on"),
    ("tickets:create", None, ""),
    ("tickets:detail", "ticket", ""),
    ("clients:list", None, ""),
    ("clients:list", None, "?kind=company"),
    ("clients:list", None, "?q=сидоров"),
    ("clients:contact", "contact", ""),
    ("clients:company", "company", ""),
    ("clients:contact_create", None, "?phone=%2B79030001122"),
    ("clients:company_create", None, ""),
    ("clients:contact_edit", "contact", ""),
    ("clients:company_edit", "company", ""),
    ("staff:list", None, ""),
    ("calls:settings", None, ""),
    ("calls:log", None, ""),
    ("calls:log", None, "?missed=yes"),
]
AGENT_PAGE_IDS = [f"{name}{query}" for name, _, query in AGENT_PAGES]

# Pages only an administrator opens.
ADMIN_PAGES = [("staff:create", None, ""), ("staff:edit", "employee", "")]
ADMIN_PAGE_IDS = [name for name, _, _ in ADMIN_PAGES]


def page_url(name: str, key: str | None, query: str, world: dict) -> str:
    return reverse(name, args=[world[key]] if key else []) + query


def english_by_cookie(employee) -> Client:
    """A browser that asks for Russian but whose user chose English before."""
    client = logged_in(employee, "ru")
    client.cookies[django_settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


# --- Russian ------------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "key", "query"), AGENT_PAGES, ids=AGENT_PAGE_IDS)
def test_each_page_renders_in_russian_for_an_agent(world, agent, name, key, query):
    response = logged_in(agent, "ru").get(page_url(name, key, query, world))

    assert response.status_code == 200
    html = response.content.decode()
    assert '<html lang="ru">' in html
    for word in RUSSIAN_NAV:
        assert word in html


@pytest.mark.parametrize(("name", "key", "query"), ADMIN_PAGES, ids=ADMIN_PAGE_IDS)
def test_each_administrator_page_renders_in_russian(world, admin, name, key, query):
    response = logged_in(admin, "ru").get(page_url(name, key, query, world))

    assert response.status_code == 200
    html = response.content.decode()
    assert '<html lang="ru">' in html
    for word in RUSSIAN_NAV:
        assert word in html


def test_the_call_log_title_is_russian(world, agent):
    response = logged_in(agent, "ru").get(reverse("calls:log"))

    assert "Список телефонных разговоров" in response.content.decode()


def test_the_employee_list_names_the_extension_column_in_russian(world, agent):
    response = logged_in(agent, "ru").get(reverse("staff:list"))

    assert "Добавочный номер" in response.content.decode()


def test_the_login_page_renders_in_russian(db):
    response = Client(headers={"accept-language": "ru"}).get(reverse("login"))

    assert response.status_code == 200
    html = response.content.decode()
    assert '<html lang="ru">' in html
    assert "Войти" in html


def test_a_browser_asking_for_an_unsupported_language_gets_russian(world, agent, settings):
    settings.LANGUAGE_CODE = "ru"

    response = logged_in(agent, "de").get(reverse("tickets:list"))

    assert '<html lang="ru">' in response.content.decode()


# --- English ------------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "key", "query"), AGENT_PAGES, ids=AGENT_PAGE_IDS)
def test_each_page_renders_in_english_when_the_browser_asks(world, agent, name, key, query):
    response = logged_in(agent, "en").get(page_url(name, key, query, world))

    assert response.status_code == 200
    html = response.content.decode()
    assert '<html lang="en">' in html
    for word in ENGLISH_NAV:
        assert word in html
    assert "Заявки" not in html


@pytest.mark.parametrize(("name", "key", "query"), AGENT_PAGES, ids=AGENT_PAGE_IDS)
def test_each_page_renders_in_english_when_the_language_cookie_says_so(
    world, agent, name, key, query
):
    response = english_by_cookie(agent).get(page_url(name, key, query, world))

    assert response.status_code == 200
    html = response.content.decode()
    assert '<html lang="en">' in html
    assert "Tickets" in html
    assert "Заявки" not in html


@pytest.mark.parametrize(("name", "key", "query"), ADMIN_PAGES, ids=ADMIN_PAGE_IDS)
def test_each_administrator_page_renders_in_english(world, admin, name, key, query):
    response = logged_in(admin, "en").get(page_url(name, key, query, world))

    assert response.status_code == 200
    html = response.content.decode()
    assert '<html lang="en">' in html
    assert "Tickets" in html


def test_the_login_page_renders_in_english(db):
    response = Client(headers={"accept-language": "en"}).get(reverse("login"))

    assert response.status_code == 200
    html = response.content.decode()
    assert '<html lang="en">' in html
    assert "Log in" in html


# --- Switching ----------------------------------------------------------------------------


def test_switching_to_english_sticks_for_the_next_page(world, agent):
    client = logged_in(agent, "ru")

    switched = client.post(
        reverse("set_language"), {"language": "en", "next": reverse("clients:list")}
    )
    next_page = client.get(switched["Location"])

    assert switched["Location"] == reverse("clients:list")
    html = next_page.content.decode()
    assert '<html lang="en">' in html
    assert "Clients" in html
    assert "Клиенты" not in html


def test_switching_back_to_russian_sticks_for_the_next_page(world, agent):
    client = english_by_cookie(agent)

    client.post(reverse("set_language"), {"language": "ru", "next": reverse("tickets:list")})
    html = client.get(reverse("tickets:list")).content.decode()

    assert '<html lang="ru">' in html
    assert "Заявки" in html


def test_switching_on_the_login_page_sticks_after_logging_in(world, agent):
    client = Client(headers={"accept-language": "ru"})
    client.post(reverse("set_language"), {"language": "en", "next": reverse("login")})

    client.force_login(agent)
    html = client.get(reverse("tickets:list")).content.decode()

    assert '<html lang="en">' in html
