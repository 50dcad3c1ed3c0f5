"""connector/actions.py: when a connected UIS account may be enabled, the one rule that the
setup pages and `trubka integration` share."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from django.utils import timezone, translation

from trubka.connector.actions import (
    AccountNotReady,
    account_problem,
    do_connect_account,
    do_disable_account,
    do_enable_account,
    do_rotate_webhook_token,
)
from trubka.connector.models import Integration, Target
from trubka.core.crypto import token_digest


def account(**fields) -> Integration:
    return Integration.objects.create(account_id=777, **fields)


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


# --- The rule --------------------------------------------------------------------------


def test_a_local_account_with_a_checked_key_may_be_enabled(db):
    integration = account(key_checked_at=timezone.now())
    do_enable_account(integration)
    assert Integration.objects.get().enabled_at is not None


@pytest.mark.parametrize(
    "okdesk",
    [
        {},
        {"okdesk_account": "romashka"},
        {"okdesk_api_key": "okdesk-secret"},
    ],
)
def test_an_okdesk_account_needs_both_the_okdesk_address_and_key(db, okdesk):
    integration = account(target=Target.OKDESK, key_checked_at=timezone.now(), **okdesk)
    with pytest.raises(AccountNotReady) as refused:
        do_enable_account(integration, vouched=True)
    assert (refused.value.missing, str(refused.value)) == (
        "okdesk",
        "Enter the Okdesk account name and API key first.",
    )
    assert Integration.objects.get().enabled_at is None


def test_an_okdesk_account_with_its_address_and_key_may_be_enabled(db):
    integration = account(
        target=Target.OKDESK,
        okdesk_account="romashka",
        okdesk_api_key="okdesk-secret",
        key_checked_at=timezone.now(),
    )
    assert account_problem(integration) is None


def test_an_unchecked_uis_key_is_refused_unless_the_operator_vouches(db):
    integration = account()
    problem = account_problem(integration)
    assert problem is not None
    assert problem.missing == "uis_key"
    assert str(problem) == "Check the UIS key first."
    assert account_problem(integration, vouched=True) is None


def test_the_refusal_is_translated(db):
    integration = account(target=Target.OKDESK, key_checked_at=timezone.now())
    problem = account_problem(integration)
    with translation.override("ru"):
        assert str(problem) == "Сначала укажите название аккаунта Okdesk и ключ API."


# --- The same rule on the page and at the command line ---------------------------------


def test_the_command_refuses_an_okdesk_account_without_its_address(db):
    # The command used to look at the key only, and enabled an account it could not deliver to.
    account(target=Target.OKDESK, okdesk_api_key="okdesk-secret")
    with pytest.raises(CommandError, match=r"Enter the Okdesk account name and API key first"):
        call_command("integration", "enable", "--app-id", "777", stdout=StringIO())
    assert Integration.objects.get().enabled is False


def test_the_page_refuses_an_okdesk_account_without_its_address(admin):
    integration = account(
        target=Target.OKDESK, okdesk_api_key="okdesk-secret", key_checked_at=timezone.now()
    )
    client = Client(headers={"accept-language": "en"})
    client.force_login(admin)
    response = client.post(f"/okdesk/{integration.uuid}/enable/", follow=True)
    assert "Enter the Okdesk account name and API key first." in response.content.decode()
    assert Integration.objects.get().enabled is False


def test_the_command_may_enable_an_account_whose_key_was_not_checked(db):
    account()
    call_command("integration", "enable", "--app-id", "777", stdout=StringIO())
    assert Integration.objects.get().enabled is True


def test_the_page_may_not_enable_an_account_whose_key_was_not_checked(admin):
    integration = account()
    client = Client(headers={"accept-language": "en"})
    client.force_login(admin)
    response = client.post(f"/okdesk/{integration.uuid}/enable/", follow=True)
    assert "Check the UIS key first." in response.content.decode()
    assert Integration.objects.get().enabled is False


# --- Connecting, disabling, a new URL --------------------------------------------------


def test_connecting_makes_a_disabled_account_and_updating_keeps_what_is_not_given(db):
    checked = timezone.now()
    integration, created = do_connect_account(
        777, name="Ромашка", zone="Asia/Yekaterinburg", uis_api_key="k1", key_checked_at=checked
    )
    assert (created, integration.enabled, integration.target) == (True, False, Target.LOCAL)
    again, created = do_connect_account(777, target_if_new=Target.OKDESK)
    stored = Integration.objects.get()
    assert (again.pk, created) == (integration.pk, False)
    assert (stored.name, stored.timezone, stored.uis_api_key, stored.target) == (
        "Ромашка",
        "Asia/Yekaterinburg",
        "k1",
        Target.LOCAL,
    )
    assert stored.key_checked_at == checked


def test_disabling_clears_the_enabled_time(db):
    integration = account(enabled_at=timezone.now())
    do_disable_account(integration)
    assert Integration.objects.get().enabled_at is None


def test_a_new_webhook_token_replaces_the_old_one(db):
    integration = account()
    old = integration.webhook_token
    token = do_rotate_webhook_token(integration)
    stored = Integration.objects.get()
    assert token != old
    assert (stored.webhook_token, stored.webhook_token_digest) == (token, token_digest(token))
