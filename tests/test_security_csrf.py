"""CSRF on every form: a POST without the token is refused everywhere except the two
token-authenticated entry points (the UIS webhook and /api/v1), which no session can use."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.http import HttpRequest, HttpResponseForbidden
from django.middleware.csrf import _get_new_csrf_string
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from providers.uis import bodies as uis
from trubka.clients.models import Contact
from trubka.okdesk_api.models import ApiKey

SRC = Path(__file__).resolve().parent.parent / "src" / "trubka"
REFUSED = "X-Test-Csrf-Refused"
SOME_ID = 4242
SOME_UUID = uuid.UUID("00000000-0000-4000-8000-000000000042")

# Every page with a POST form (the form's own page, or the address its form posts to).
FORMS = {
    "login": "/accounts/login/",
    "set_language": "/i18n/setlang/",
    "logout": "/accounts/logout/",
    "new ticket": "/tickets/new/",
    "ticket status": f"/tickets/{SOME_ID}/status/",
    "ticket assignee": f"/tickets/{SOME_ID}/assign/",
    "ticket comment": f"/tickets/{SOME_ID}/comments/",
    "new contact": "/clients/contacts/new/",
    "contact edit": f"/clients/contacts/{SOME_ID}/edit/",
    "new company": "/clients/companies/new/",
    "company edit": f"/clients/companies/{SOME_ID}/edit/",
    "fill-in": "/clients/fill-in/",
    "new employee": "/employees/new/",
    "employee edit": f"/employees/{SOME_ID}/edit/",
    "my settings": "/employees/me/",
    "okdesk setup: the UIS key": "/okdesk/",
    "okdesk setup: the account": f"/okdesk/{SOME_UUID}/",
    "okdesk setup: enable": f"/okdesk/{SOME_UUID}/enable/",
    "okdesk setup: disable": f"/okdesk/{SOME_UUID}/disable/",
    "okdesk setup: new URL": f"/okdesk/{SOME_UUID}/new-url/",
    "telephony: employee check": f"/settings/telephony/{SOME_UUID}/employees/",
    "event retry": f"/settings/telephony/events/{SOME_UUID}/retry/",
    "API keys": "/settings/api/",
    "API key revoke": f"/settings/api/{SOME_UUID}/revoke/",
    "Django admin login": "/admin/login/",
    "Django admin change form": f"/admin/staff/employee/{SOME_ID}/change/",
}
ANONYMOUS_FORMS = ["login", "set_language", "Django admin login"]


def csrf_refused(request: HttpRequest, reason: str = "") -> HttpResponseForbidden:
    """Stands in for Django's CSRF failure page, so a refusal cannot be mistaken for a 403
    from a permission check."""
    response = HttpResponseForbidden("CSRF refused")
    response[REFUSED] = reason or "yes"
    return response


@pytest.fixture(autouse=True)
def _marked_csrf_failures(settings):
    settings.CSRF_FAILURE_VIEW = f"{__name__}.csrf_refused"


@pytest.fixture
def browser(admin) -> Client:
    """A logged-in administrator's browser that checks CSRF like a real one is checked."""
    client = Client(enforce_csrf_checks=True)
    client.force_login(admin)
    return client


def with_token(client: Client) -> dict[str, str]:
    secret = _get_new_csrf_string()
    client.cookies["csrftoken"] = secret
    return {"csrfmiddlewaretoken": secret}


# --- Forms refuse a POST without the token --------------------------------------------------


@pytest.mark.parametrize("form", FORMS)
def test_a_post_without_the_csrf_token_is_refused(browser, form):
    response = browser.post(FORMS[form], {"anything": "x"})

    assert response.status_code == 403
    assert REFUSED in response


@pytest.mark.parametrize("form", ANONYMOUS_FORMS)
def test_a_post_without_the_csrf_token_is_refused_without_a_session_too(db, form):
    response = Client(enforce_csrf_checks=True).post(FORMS[form], {"username": "x"})

    assert response.status_code == 403
    assert REFUSED in response


@pytest.mark.parametrize("form", FORMS)
def test_the_same_post_with_the_token_gets_past_the_csrf_check(browser, form):
    response = browser.post(FORMS[form], {"anything": "x", **with_token(browser)})

    assert REFUSED not in response


def test_a_token_from_another_browser_is_refused(browser, admin):
    other = Client(enforce_csrf_checks=True)
    other.force_login(admin)
    stolen = with_token(other)
    with_token(browser)

    response = browser.post(FORMS["new contact"], {"last_name": "Петров", **stolen})

    assert REFUSED in response
    assert not Contact.objects.filter(last_name="Петров").exists()


# --- Every view but the two token-authenticated entry points --------------------------------


def every_route() -> Iterator[tuple[str, Any]]:
    def walk(patterns: list[Any], prefix: str) -> Iterator[tuple[str, Any]]:
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                yield from walk(pattern.url_patterns, prefix + str(pattern.pattern))
            elif isinstance(pattern, URLPattern):
                yield prefix + str(pattern.pattern), pattern.callback

    return walk(get_resolver().url_patterns, "/")


def exempt_routes() -> set[str]:
    return {route for route, view in every_route() if getattr(view, "csrf_exempt", False)}


def test_only_the_webhook_and_the_api_are_exempt_from_csrf():
    unexpected = {
        route for route in exempt_routes() if not route.startswith(("/okdesk/webhook/", "/api/v1/"))
    }

    assert not unexpected, f"views that skip the CSRF check: {sorted(unexpected)}"


def test_the_walk_sees_the_forms_and_the_exempt_views():
    routes = {route for route, _ in every_route()}

    assert {"/accounts/login/", "/okdesk/<uuid:uuid>/", "/admin/"} <= routes
    assert {"/okdesk/webhook/", "/okdesk/webhook/<str:token>/"} <= exempt_routes()
    assert any(route.startswith("/api/v1/") for route in exempt_routes())


def test_every_post_form_in_the_templates_carries_the_csrf_token():
    missing = []
    checked = 0
    for template in SRC.rglob("templates/**/*.html"):
        text = template.read_text()
        for form in re.finditer(r"<form\b[^>]*>", text, flags=re.I):
            if not re.search(r"method=[\"']?post", form.group(0), flags=re.I):
                continue
            checked += 1
            body = text[form.end() : text.find("</form>", form.end())]
            if "{% csrf_token %}" not in body:
                missing.append(f"{template.relative_to(SRC)}: {form.group(0)}")

    assert checked >= 20, "the templates' POST forms were not found"
    assert not missing, f"POST forms without {{% csrf_token %}}: {missing}"


# --- The token-authenticated entry points need no CSRF token --------------------------------


def test_the_webhook_needs_no_csrf_token(account):
    response = uis.send(account, uis.wait(), client=Client(enforce_csrf_checks=True))

    assert response.status_code == 200


def test_the_shared_webhook_url_needs_no_csrf_token(account):
    response = Client(enforce_csrf_checks=True).post(
        "/okdesk/webhook/", uis.wait(), "application/json"
    )

    assert REFUSED not in response
    assert response.status_code == 404  # not allowed for this account: still no CSRF refusal


def test_the_api_needs_no_csrf_token(agent):
    _, token = ApiKey.issue(agent, name="csrf")
    response = Client(enforce_csrf_checks=True).post(
        f"/api/v1/contacts?api_token={token}",
        json.dumps({"contact": {"last_name": "Петров"}}),
        "application/json",
    )

    assert response.status_code == 200, response.content
    assert Contact.objects.filter(last_name="Петров").exists()


def test_a_logged_in_browser_cannot_use_the_api_without_a_key(browser):
    """The API skips CSRF only because a session never authenticates it: a forged request
    from a logged-in browser carries no api_token and gets nowhere."""
    response = browser.post(
        "/api/v1/contacts",
        json.dumps({"contact": {"last_name": "Петров"}}),
        "application/json",
    )

    assert response.status_code == 401
    assert not Contact.objects.filter(last_name="Петров").exists()
