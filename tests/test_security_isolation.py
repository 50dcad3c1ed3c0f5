"""Per-account isolation: account A's webhook token never touches account B's calls or events,
and a session that proved A's UIS key cannot open or change B's setup pages.

(test_uis_webhook already shows A's token stores its events, and processes its calls, under A
even when the body names B's app_id.)
"""

from __future__ import annotations

import pytest
from django.test import Client
from django.utils import timezone

from providers.uis import bodies as uis
from providers.uis.fake_uis import FakeUis
from trubka.calls.models import PhoneCall
from trubka.connector.models import CallEvent, Integration
from trubka.connector.queue.worker import drain

B_APP_ID = 777
KEY_A = "uis-key-account-a-7f3a9c2e5b1d"
KEY_B = "uis-key-account-b-0c4d8e1f2a3b"


# --- The webhook: A's token and B's data --------------------------------------------------


@pytest.fixture
def account_a(db) -> Integration:
    return Integration.objects.create(account_id=uis.APP_ID, enabled_at=timezone.now())


@pytest.fixture
def account_b(db) -> Integration:
    return Integration.objects.create(account_id=B_APP_ID, enabled_at=timezone.now())


@pytest.fixture
def b_call(account_b, agent, caller) -> PhoneCall:
    """A call ringing on account B, as B's own webhook reported it."""
    assert uis.send(account_b, uis.wait(app_id=B_APP_ID)).status_code == 200
    drain()
    return PhoneCall.objects.get(provider=account_b.provider_key)


def test_as_token_cannot_complete_bs_call_with_a_recording(account_a, b_call):
    uis.send(account_a, uis.history(app_id=B_APP_ID))
    drain()

    b_call.refresh_from_db()
    assert (b_call.answered_at, b_call.finished_at, b_call.talk_duration) == (None, None, None)
    assert b_call.recordings.count() == 0


def test_as_token_cannot_mark_bs_call_missed_or_open_a_ticket_on_it(account_a, b_call):
    uis.send(account_a, uis.lost(app_id=B_APP_ID))
    drain()

    b_call.refresh_from_db()
    assert (b_call.is_missed, b_call.missed_by, b_call.ticket) == (False, "", None)


def test_what_as_token_sends_about_bs_call_id_lands_on_a_call_of_as_own(account_a, b_call):
    uis.send(account_a, uis.history(app_id=B_APP_ID))
    drain()

    providers = sorted(PhoneCall.objects.values_list("provider", flat=True))
    assert providers == sorted([account_a.provider_key, b_call.provider])
    a_call = PhoneCall.objects.get(provider=account_a.provider_key)
    assert a_call.provider_call_id == b_call.provider_call_id
    assert a_call.recordings.count() == 1


def test_as_token_cannot_make_bs_event_a_repeat(account_a, account_b):
    body = uis.wait(app_id=B_APP_ID)
    uis.send(account_b, body)

    response = uis.send(account_a, body)

    assert response.json()["status"] != "duplicate"
    b_event = account_b.events.get()
    assert b_event.repeats == 0
    assert account_a.events.count() == 1


def test_as_token_never_changes_bs_stored_events(account_a, account_b):
    uis.send(account_b, uis.wait(app_id=B_APP_ID))
    before = list(CallEvent.objects.filter(integration=account_b).values())

    for body in (uis.wait(app_id=B_APP_ID), uis.history(app_id=B_APP_ID), b"{broken"):
        uis.send(account_a, body)
    drain()

    after = list(CallEvent.objects.filter(integration=account_b).values())
    assert [(e["uuid"], e["raw_body"], e["repeats"]) for e in after] == [
        (e["uuid"], e["raw_body"], e["repeats"]) for e in before
    ]


def test_a_new_url_for_a_leaves_bs_url_working(account_a, account_b):
    b_token = account_b.webhook_token
    account_a.rotate_token()
    account_a.save()

    account_b.refresh_from_db()
    assert account_b.webhook_token == b_token
    assert uis.send(account_b, uis.wait(app_id=B_APP_ID)).status_code == 200


# --- The setup pages: a session that proved A's key and B's pages -------------------------


@pytest.fixture
def two_accounts(db, settings):
    """Public setup on; UIS knows two accounts, each connected by its own visitor."""
    settings.TRUBKA_CONNECTOR_PUBLIC_SETUP = True
    with FakeUis() as server:
        settings.TRUBKA_UIS_DATA_API_URL = server.url
        server.add_account(KEY_A, app_id=uis.APP_ID, name="ООО Ромашка")
        server.add_account(KEY_B, app_id=B_APP_ID, name="ООО Лютик")
        visitor_a = Client(headers={"accept-language": "en"})
        visitor_b = Client(headers={"accept-language": "en"})
        assert visitor_a.post("/okdesk/", {"uis_api_key": KEY_A}).status_code == 302
        assert visitor_b.post("/okdesk/", {"uis_api_key": KEY_B}).status_code == 302
        yield (
            visitor_a,
            Integration.objects.get(account_id=uis.APP_ID),
            Integration.objects.get(account_id=B_APP_ID),
        )


def test_a_session_that_proved_as_key_opens_as_page(two_accounts):
    visitor_a, account_a, _ = two_accounts

    assert visitor_a.get(f"/okdesk/{account_a.uuid}/").status_code == 200


def test_a_session_that_proved_as_key_cannot_open_bs_page(two_accounts):
    visitor_a, _, account_b = two_accounts

    response = visitor_a.get(f"/okdesk/{account_b.uuid}/")

    assert (response.status_code, response["Location"]) == (302, "/okdesk/")
    assert account_b.webhook_token not in response.content.decode()


def test_a_session_that_proved_as_key_cannot_save_bs_settings(two_accounts):
    visitor_a, _, account_b = two_accounts

    visitor_a.post(
        f"/okdesk/{account_b.uuid}/",
        {"target": "okdesk", "okdesk_account": "evil", "okdesk_api_key": "stolen"},
    )

    account_b.refresh_from_db()
    assert (account_b.okdesk_account, account_b.okdesk_api_key) == ("", "")


@pytest.mark.parametrize("action", ["enable", "disable", "new-url"])
def test_a_session_that_proved_as_key_cannot_switch_or_rotate_b(two_accounts, action):
    visitor_a, _, account_b = two_accounts
    before = (account_b.webhook_token, account_b.enabled_at)

    response = visitor_a.post(f"/okdesk/{account_b.uuid}/{action}/")

    assert response.status_code == 403
    account_b.refresh_from_db()
    assert (account_b.webhook_token, account_b.enabled_at) == before
