"""Shared personas and helpers for Trubka's tests.

Personas: ``admin`` (superuser), ``agent`` (employee with extension 101), ``agent2`` (extension
102), ``outsider`` (no session). Clients: ``caller`` (a contact with a mobile number in one
format) and ``company``. The Okdesk-compatible API: ``api`` and ``admin_api`` (an ``Api``
signed with the agent's or the administrator's key).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from django.test import Client
from django.utils import timezone
from hypothesis import settings as hypothesis_settings

from api_helpers import Api
from providers.uis import bodies as uis
from trubka.clients.actions import do_create_company, do_create_contact
from trubka.clients.models import Company, Contact
from trubka.connector.models import Integration
from trubka.okdesk_api.models import ApiKey
from trubka.staff.models import Employee

PASSWORD = "correct-horse-battery-staple"


# CI explores the same examples every run, so a landing never hangs on a lucky draw; local
# runs keep exploring new ones (a failure prints its seed to replay it).
hypothesis_settings.register_profile("ci", derandomize=True, deadline=None)
if os.environ.get("CI"):
    hypothesis_settings.load_profile("ci")


def pytest_configure(config):
    """WhiteNoise warns on every new handler while collectstatic has not run (a fresh clone):
    give it the folder it looks for."""
    from django.conf import settings

    Path(settings.STATIC_ROOT).mkdir(parents=True, exist_ok=True)


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    """No test is about hashing; hashing the personas' passwords properly would dominate
    the suite's run time."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Throttling counters live in the cache, webhook accounts in their own: each test
    starts with none."""
    from django.core.cache import cache

    from trubka.connector.providers.uis import accounts

    cache.clear()
    accounts.forget_all()
    yield
    cache.clear()
    accounts.forget_all()


@pytest.fixture(autouse=True)
def _fixed_encryption_key(settings):
    """Stored third-party keys are encrypted with a known key: no key file is written, and
    tests can decrypt what was stored."""
    with uis.fixed_encryption_key(settings):
        yield


@pytest.fixture
def account(db) -> Integration:
    """A connected UIS account (``app_id`` 900 of tests/providers/uis/bodies.py), enabled."""
    return Integration.objects.create(account_id=uis.APP_ID, enabled_at=timezone.now())


@pytest.fixture(autouse=True)
def _no_recording_downloads(settings):
    """Processing a recorded call queues a download of its audio; tests never reach out.
    Tests of archiving turn it back on against their own fake media server."""
    settings.TRUBKA_RECORDING_ARCHIVE = False


@pytest.fixture(autouse=True)
def _isolated_media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


@pytest.fixture
def admin(db) -> Employee:
    return Employee.objects.create_superuser(
        username="boss", password=PASSWORD, first_name="Анна", last_name="Начальникова"
    )


@pytest.fixture
def agent(db) -> Employee:
    return Employee.objects.create_user(
        username="ivanov",
        password=PASSWORD,
        first_name="Иван",
        last_name="Иванов",
        extension="101",
    )


@pytest.fixture
def agent2(db) -> Employee:
    return Employee.objects.create_user(
        username="petrova",
        password=PASSWORD,
        first_name="Мария",
        last_name="Петрова",
        extension="102",
    )


@pytest.fixture
def company(db) -> Company:
    return do_create_company(name="ООО Ромашка", phones=[("work", "+7 (495) 123-45-67")])


@pytest.fixture
def caller(db, company) -> Contact:
    return do_create_contact(
        first_name="Пётр",
        last_name="Сидоров",
        company=company,
        phones=[("mobile", "8 (916) 123-45-67")],
    )


def logged_in(employee: Employee, language: str = "ru") -> Client:
    client = Client(headers={"accept-language": language})
    client.force_login(employee)
    return client


@pytest.fixture
def agent_client(agent) -> Client:
    return logged_in(agent)


@pytest.fixture
def admin_client_ru(admin) -> Client:
    return logged_in(admin)


@pytest.fixture
def api(agent) -> Api:
    """``/api/v1`` with a key of the agent's (tests/api_helpers.py)."""
    return Api(ApiKey.issue(agent)[1])


@pytest.fixture
def admin_api(admin) -> Api:
    """``/api/v1`` with a key of the administrator's: every operation is allowed."""
    return Api(ApiKey.issue(admin)[1])
