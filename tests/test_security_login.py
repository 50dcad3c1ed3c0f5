"""Login throttling: failed logins per username and per address, refusal without checking the
password, the message, reset on success, the end of the window."""

from __future__ import annotations

import time

import pytest
from django.contrib.admin.forms import AdminAuthenticationForm
from django.core.cache import cache
from django.core.cache.backends import locmem
from django.test import Client, RequestFactory
from django.urls import reverse

from conftest import PASSWORD
from trubka.core.security import LOGIN_WINDOW_SECONDS, THROTTLED_MESSAGE, throttled

LIMIT = 3
ENGLISH_MESSAGE = "Too many failed login attempts. Wait up to 15 minutes, then try again."


@pytest.fixture(autouse=True)
def _fresh_throttle():
    """The failure counters live in Django's cache, which outlives a test's database."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def low_limit(settings):
    settings.TRUBKA_LOGIN_MAX_FAILURES = LIMIT


def visitor(address: str = "198.51.100.1", language: str = "en") -> Client:
    return Client(REMOTE_ADDR=address, headers={"accept-language": language})


def log_in(client: Client, username: str, password: str = PASSWORD):
    return client.post(reverse("login"), {"username": username, "password": password})


def fail(client: Client, username: str, times: int) -> None:
    for _ in range(times):
        response = log_in(client, username, "wrong password")
        assert response.status_code == 200, "refused before the limit"


def logged_in_as(client: Client, employee) -> bool:
    return client.session.get("_auth_user_id") == str(employee.pk)


# --- Per username ---------------------------------------------------------------------------


def test_ten_failed_logins_for_a_username_pause_its_logins_by_default(agent, settings):
    assert settings.TRUBKA_LOGIN_MAX_FAILURES == 10
    client = visitor()
    fail(client, agent.username, 10)

    response = log_in(client, agent.username)

    assert response.status_code == 429
    assert not logged_in_as(client, agent)


def test_fewer_failures_than_the_limit_still_let_the_right_password_in(agent, low_limit):
    client = visitor()
    fail(client, agent.username, LIMIT - 1)

    response = log_in(client, agent.username)

    assert response.status_code == 302
    assert logged_in_as(client, agent)


def test_a_paused_username_is_refused_from_any_address(agent, low_limit):
    for number in range(LIMIT):
        fail(visitor(f"198.51.100.{number + 10}"), agent.username, 1)

    fresh = visitor("203.0.113.99")
    response = log_in(fresh, agent.username)

    assert response.status_code == 429
    assert not logged_in_as(fresh, agent)


def test_another_case_of_the_username_counts_as_the_same_username(agent, low_limit):
    fail(visitor("198.51.100.10"), agent.username.upper(), 1)
    fail(visitor("198.51.100.11"), agent.username.capitalize(), LIMIT - 1)

    assert log_in(visitor("203.0.113.99"), agent.username).status_code == 429


def test_a_paused_username_does_not_pause_other_usernames(agent, agent2, low_limit):
    for number in range(LIMIT):
        fail(visitor(f"198.51.100.{number + 10}"), agent.username, 1)

    client = visitor("203.0.113.99")
    assert log_in(client, agent2.username).status_code == 302
    assert logged_in_as(client, agent2)


# --- Per address ----------------------------------------------------------------------------


def test_failures_from_one_address_pause_every_username_from_it(agent, low_limit):
    client = visitor("198.51.100.7")
    for number in range(LIMIT):
        fail(client, f"guess{number}", 1)

    response = log_in(client, agent.username)

    assert response.status_code == 429
    assert not logged_in_as(client, agent)


def test_a_paused_address_does_not_pause_another_address(agent, low_limit):
    client = visitor("198.51.100.7")
    for number in range(LIMIT):
        fail(client, f"guess{number}", 1)

    other = visitor("198.51.100.8")
    assert log_in(other, agent.username).status_code == 302


def test_behind_a_trusted_proxy_the_forwarded_address_is_counted(agent, low_limit, settings):
    settings.TRUBKA_TRUST_X_FORWARDED_FOR = True
    proxy = "10.0.0.1"
    attacker = Client(REMOTE_ADDR=proxy, headers={"x-forwarded-for": "198.51.100.7"})
    for number in range(LIMIT):
        fail(attacker, f"guess{number}", 1)

    colleague = Client(REMOTE_ADDR=proxy, headers={"x-forwarded-for": "192.0.2.15"})
    assert log_in(colleague, agent.username).status_code == 302
    assert log_in(attacker, agent.username).status_code == 429


# --- A refused attempt ----------------------------------------------------------------------


def test_a_refused_attempt_does_not_even_check_the_password(agent, low_limit, monkeypatch):
    client = visitor()
    fail(client, agent.username, LIMIT)

    def no_checking(*args, **kwargs):
        raise AssertionError("the password was checked during a pause")

    monkeypatch.setattr("django.contrib.auth.forms.authenticate", no_checking)
    assert log_in(client, agent.username).status_code == 429


def test_the_refusal_says_why_in_english(agent, low_limit):
    client = visitor(language="en")
    fail(client, agent.username, LIMIT)

    page = log_in(client, agent.username).content.decode()

    assert ENGLISH_MESSAGE in page
    assert "Wrong username or password" not in page


def test_the_refusal_says_why_in_russian(agent, low_limit):
    client = visitor(language="ru")
    fail(client, agent.username, LIMIT)

    page = log_in(client, agent.username).content.decode()

    assert "Слишком много неудачных попыток входа" in page


def test_the_refusal_is_the_login_form_again_keeping_the_username(agent, low_limit):
    client = visitor()
    fail(client, agent.username, LIMIT)

    response = log_in(client, agent.username)

    assert response.status_code == 429
    assert response.templates[0].name == "registration/login.html"
    page = response.content.decode()
    assert 'name="password"' in page
    assert f'value="{agent.username}"' in page


def test_refused_attempts_do_not_extend_the_pause(agent, low_limit, monkeypatch):
    client = visitor()
    fail(client, agent.username, LIMIT)
    real_time = time.time
    halfway = LOGIN_WINDOW_SECONDS // 2
    monkeypatch.setattr(locmem.time, "time", lambda: real_time() + halfway)
    assert log_in(client, agent.username).status_code == 429

    monkeypatch.setattr(locmem.time, "time", lambda: real_time() + LOGIN_WINDOW_SECONDS + 1)

    assert log_in(client, agent.username).status_code == 302


# --- Reset and the end of the window --------------------------------------------------------


def test_a_successful_login_resets_the_usernames_count(agent, low_limit):
    first = visitor("198.51.100.10")
    fail(first, agent.username, LIMIT - 1)
    assert log_in(first, agent.username).status_code == 302

    second = visitor("198.51.100.11")
    fail(second, agent.username, LIMIT - 1)

    assert log_in(second, agent.username).status_code == 302


def test_a_successful_login_does_not_reset_the_addresss_count(agent, agent2, low_limit):
    client = visitor()
    fail(client, "guess", LIMIT - 1)
    assert log_in(client, agent.username).status_code == 302

    fail(visitor(), "another-guess", 1)

    assert log_in(visitor(), agent2.username).status_code == 429


def test_the_pause_ends_when_the_window_passes(agent, low_limit, monkeypatch):
    client = visitor()
    fail(client, agent.username, LIMIT)
    assert log_in(client, agent.username).status_code == 429

    # Django's local-memory cache expires entries by the clock; move its clock past the window.
    real_time = time.time
    monkeypatch.setattr(locmem.time, "time", lambda: real_time() + LOGIN_WINDOW_SECONDS + 1)

    assert log_in(client, agent.username).status_code == 302
    assert logged_in_as(client, agent)


# --- The Django admin's login form ----------------------------------------------------------


def test_the_throttled_admin_login_form_refuses_a_paused_username(admin, low_limit):
    for _ in range(LIMIT):
        fail(visitor(), admin.username, 1)
    request = RequestFactory().post("/admin/login/", REMOTE_ADDR="203.0.113.99")
    form_class = throttled(AdminAuthenticationForm)

    form = form_class(request, data={"username": admin.username, "password": PASSWORD})

    assert not form.is_valid()
    assert form.non_field_errors() == [str(THROTTLED_MESSAGE)]


def test_the_throttled_admin_login_form_counts_failures(admin, low_limit):
    form_class = throttled(AdminAuthenticationForm)
    for _ in range(LIMIT):
        request = RequestFactory().post("/admin/login/", REMOTE_ADDR="203.0.113.99")
        form = form_class(request, data={"username": admin.username, "password": "wrong"})
        assert not form.is_valid()

    assert log_in(visitor("198.51.100.50"), admin.username).status_code == 429
