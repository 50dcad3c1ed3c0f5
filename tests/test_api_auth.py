"""``api_token`` on ``/api/v1``: who gets in, throttling of wrong keys, keys out of logs, and
no sessions or CSRF tokens involved."""

from __future__ import annotations

import io
import json
import logging
import time
from datetime import timedelta

import pytest
from django.contrib.sessions.models import Session
from django.core.cache.backends import locmem
from django.test import Client
from django.utils import timezone

from conftest import logged_in
from trubka.core.logging import RedactSecrets
from trubka.okdesk_api.auth import FAILURE_WINDOW_SECONDS, FAILURES_ALLOWED
from trubka.okdesk_api.models import ApiKey
from trubka.tickets.models import Ticket

URL = "/api/v1/employees/list"
POPUP_URL = "/api/v1/telephony/messages"


@pytest.fixture
def issued(agent) -> tuple[ApiKey, str]:
    return ApiKey.issue(agent, name="тест")


@pytest.fixture
def token(issued) -> str:
    return issued[1]


def assert_401(response) -> None:
    assert response.status_code == 401
    body = response.json()
    assert set(body) == {"errors"}
    assert body["errors"]


# --- Who gets in --------------------------------------------------------------------------


def test_no_api_token_is_401_in_okdesk_shape(db):
    assert_401(Client().get(URL))


def test_an_empty_api_token_is_401(db):
    assert_401(Client().get(URL, {"api_token": ""}))


def test_a_wrong_key_is_401(token):
    assert_401(Client().get(URL, {"api_token": token[:-1] + ("0" if token[-1] != "0" else "1")}))


def test_a_revoked_key_is_401(issued):
    key, token = issued
    assert Client().get(URL, {"api_token": token}).status_code == 200

    key.revoked_at = timezone.now()
    key.save()

    assert_401(Client().get(URL, {"api_token": token}))


def test_a_key_of_an_inactive_employee_is_401(issued, agent):
    _key, token = issued
    agent.is_active = False
    agent.save()

    assert_401(Client().get(URL, {"api_token": token}))


def test_a_valid_key_works_and_records_last_use(issued):
    key, token = issued
    assert key.last_used_at is None

    response = Client().get(URL, {"api_token": token})

    assert response.status_code == 200
    key.refresh_from_db()
    assert key.last_used_at is not None
    assert timezone.now() - key.last_used_at < timedelta(seconds=30)


def test_last_use_is_not_rewritten_on_every_call_within_a_minute(issued):
    key, token = issued
    recent = timezone.now() - timedelta(seconds=30)
    ApiKey.objects.filter(pk=key.pk).update(last_used_at=recent)

    for _ in range(3):
        assert Client().get(URL, {"api_token": token}).status_code == 200

    key.refresh_from_db()
    assert key.last_used_at == recent


def test_last_use_is_updated_after_a_minute(issued):
    key, token = issued
    old = timezone.now() - timedelta(minutes=2)
    ApiKey.objects.filter(pk=key.pk).update(last_used_at=old)

    assert Client().get(URL, {"api_token": token}).status_code == 200

    key.refresh_from_db()
    assert key.last_used_at > old + timedelta(minutes=1)


def test_the_request_acts_as_the_keys_employee(token, agent):
    """An issue created with an agent's key has the agent as its author."""
    from trubka.okdesk_api.api import api

    if "post" not in api.get_openapi_schema(path_prefix="/api/v1")["paths"].get(
        "/api/v1/issues", {}
    ):
        pytest.skip("POST /api/v1/issues is not registered yet")
    response = Client().post(
        f"/api/v1/issues?api_token={token}",
        {"issue": {"title": "Проверка ключа"}},
        content_type="application/json",
    )

    assert response.status_code in (200, 201), response.content
    assert Ticket.objects.get(pk=response.json()["id"]).author == agent


# --- Throttling wrong keys ----------------------------------------------------------------


def _wrong(client: Client, n: int) -> list[int]:
    return [client.get(URL, {"api_token": f"wrong-{i}"}).status_code for i in range(n)]


def test_twenty_wrong_keys_from_one_address_lock_it_out_even_for_a_right_key(token):
    client = Client()

    assert _wrong(client, FAILURES_ALLOWED) == [401] * FAILURES_ALLOWED
    assert FAILURES_ALLOWED == 20

    response = client.get(URL, {"api_token": token})
    assert response.status_code == 429
    assert set(response.json()) == {"errors"}
    # Wrong keys keep getting 429, not 401: no more guesses are checked.
    assert _wrong(client, 1) == [429]


def test_the_lockout_is_per_address(token):
    _wrong(Client(), FAILURES_ALLOWED)

    other = Client(REMOTE_ADDR="10.1.2.3")
    assert other.get(URL, {"api_token": token}).status_code == 200


def test_the_lockout_ends_when_the_window_passes(token, monkeypatch):
    client = Client()
    _wrong(client, FAILURES_ALLOWED)
    assert client.get(URL, {"api_token": token}).status_code == 429

    # Django's local-memory cache expires entries by the clock; move its clock past the window.
    real_time = time.time
    monkeypatch.setattr(locmem.time, "time", lambda: real_time() + FAILURE_WINDOW_SECONDS + 1)

    assert client.get(URL, {"api_token": token}).status_code == 200


def test_fewer_than_twenty_wrong_keys_do_not_lock_out(token):
    client = Client()
    _wrong(client, FAILURES_ALLOWED - 1)

    assert client.get(URL, {"api_token": token}).status_code == 200


# --- Keys stay out of logs -----------------------------------------------------------------


def test_the_key_never_appears_in_log_records(token, caplog):
    wrong = "f" * 64
    stream = io.StringIO()
    # The same pipeline as the configured console handler: a formatter and the redaction filter.
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactSecrets())
    handler.setFormatter(logging.Formatter("%(name)s: %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    caplog.set_level(logging.DEBUG)
    try:
        unauthorized = Client().get(URL, {"api_token": wrong})
        ok = Client().get(URL, {"api_token": token})
        posted = Client().post(
            f"{POPUP_URL}?api_token={token}",
            {"phone": "+79991234567", "telephony_numbers": [101]},
            content_type="application/json",
        )
    finally:
        root.removeHandler(handler)

    assert unauthorized.status_code == 401
    assert ok.status_code == 200
    assert posted.status_code == 200
    # The 401 is logged (Django's «Unauthorized: …»), without the query string.
    assert any(r.levelno >= logging.WARNING for r in caplog.records)
    for record in caplog.records:
        # (Django attaches the request object to «Unauthorized» records; its repr carries the
        # query string, but no configured handler formats it.)
        text = record.getMessage() + repr(record.args) + str(record.exc_text or "")
        assert token not in text
        assert wrong not in text
    assert token not in caplog.text
    assert wrong not in caplog.text
    assert token not in stream.getvalue()
    assert wrong not in stream.getvalue()


def test_the_key_is_not_echoed_in_the_401_body(db):
    wrong = "e" * 64
    response = Client().get(URL, {"api_token": wrong})

    assert wrong not in response.content.decode()


# --- No sessions, no CSRF --------------------------------------------------------------------


def test_api_requests_need_no_csrf_token_and_make_no_session(token, agent):
    client = Client(enforce_csrf_checks=True)

    response = client.post(
        f"{POPUP_URL}?api_token={token}",
        data=json.dumps({"phone": "+79991234567", "telephony_numbers": [101]}),
        content_type="application/json",
    )

    assert response.status_code == 200
    assert "sessionid" not in response.cookies
    assert "csrftoken" not in response.cookies
    assert not Session.objects.exists()


def test_a_logged_in_browser_without_api_token_still_gets_401(agent):
    browser = logged_in(agent)
    # The session is real: a desk page opens.
    assert browser.get("/tickets/").status_code == 200

    assert_401(browser.get(URL))
    assert_401(
        browser.post(
            POPUP_URL,
            {"phone": "+79991234567", "telephony_numbers": [101]},
            content_type="application/json",
        )
    )


def test_a_logged_in_browser_with_a_wrong_key_gets_401(agent):
    assert_401(logged_in(agent).get(URL, {"api_token": "nope"}))


def test_the_api_does_not_redirect_to_the_login_page(db):
    response = Client().get(URL)

    assert response.status_code == 401
    assert "Location" not in response
