"""`trubka integration …`, `trubka worker --once`, and the UIS simulator against a live server."""

from __future__ import annotations

import re
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone, translation

from providers.uis import bodies as uis
from providers.uis.fake_uis import FakeUis
from trubka.calls.models import CallPopup, CallRecording, PhoneCall
from trubka.clients.models import Contact
from trubka.connector.gateways.base import new_client_name
from trubka.connector.models import CallEvent, EventStatus, Integration, Target
from trubka.connector.providers.uis import simulate
from trubka.connector.queue.worker import drain
from trubka.tickets.models import Source, Ticket

KEY = "uis-key-7f3a9c2e5b1d4f60"


@pytest.fixture(autouse=True)
def _english_and_no_public_url(settings):
    settings.TRUBKA_PUBLIC_URL = ""
    with translation.override("en"):
        yield


@pytest.fixture
def uis_server(db, settings):
    with FakeUis() as server:
        settings.TRUBKA_UIS_DATA_API_URL = server.url
        server.add_account(KEY, app_id=555, name="ООО Ромашка", timezone="Asia/Yekaterinburg")
        yield server


def integration(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("integration", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


# --- integration add ------------------------------------------------------------------


def test_adding_offline_prints_the_notification_url(db):
    out, _ = integration("add", "--app-id", "777", "--skip-key-check")
    token = Integration.objects.get().webhook_token
    assert f"Notification URL: http://127.0.0.1:8000/okdesk/webhook/{token}/" in out


def test_adding_offline_creates_an_enabled_account_for_this_desk(db):
    integration("add", "--app-id", "777", "--skip-key-check")
    account = Integration.objects.get()
    assert (account.account_id, account.target, account.enabled) == ("777", Target.LOCAL, True)


def test_adding_offline_does_not_mark_the_key_as_checked(db):
    integration("add", "--app-id", "777", "--skip-key-check")
    assert Integration.objects.get().key_checked_at is None


def test_the_printed_notification_url_accepts_notifications(db):
    out, _ = integration("add", "--app-id", str(uis.APP_ID), "--skip-key-check")
    path = re.search(r"http://127\.0\.0\.1:8000(/okdesk/webhook/\S+/)", out).group(1)
    from django.test import Client

    response = Client().post(path, uis.wait(), "application/json")
    assert (response.status_code, CallEvent.objects.get().status) == (200, EventStatus.PENDING)


def test_the_notification_url_uses_the_given_base_url(db):
    out, _ = integration(
        "add", "--app-id", "777", "--skip-key-check", "--base-url", "https://desk.example.ru/"
    )
    assert "Notification URL: https://desk.example.ru/okdesk/webhook/" in out


def test_the_notification_url_uses_the_public_url_setting(db, settings):
    settings.TRUBKA_PUBLIC_URL = "https://helpdesk.example.ru"
    out, _ = integration("add", "--app-id", "777", "--skip-key-check")
    assert "Notification URL: https://helpdesk.example.ru/okdesk/webhook/" in out


def test_adding_offline_needs_an_app_id(db):
    with pytest.raises(CommandError, match="--app-id"):
        integration("add", "--skip-key-check")


def test_adding_without_a_key_or_offline_flag_is_refused(db):
    with pytest.raises(CommandError, match="--uis-key"):
        integration("add", "--app-id", "777")


def test_adding_with_a_key_reads_the_account_from_uis(uis_server):
    integration("add", "--uis-key", KEY)
    account = Integration.objects.get()
    assert (account.account_id, account.name, account.timezone) == (
        "555",
        "ООО Ромашка",
        "Asia/Yekaterinburg",
    )


def test_adding_with_a_key_stores_it_and_marks_it_checked(uis_server):
    integration("add", "--uis-key", KEY)
    account = Integration.objects.get()
    assert (account.uis_api_key, account.key_checked_at is not None) == (KEY, True)


def test_adding_with_a_key_sends_it_only_in_the_request_body(uis_server):
    integration("add", "--uis-key", KEY)
    (request,) = uis_server.requests
    assert (request.body["params"]["access_token"], KEY in request.path) == (KEY, False)


def test_a_name_given_on_the_command_line_wins_over_uis(uis_server):
    integration("add", "--uis-key", KEY, "--name", "Ромашка, отдел продаж")
    assert Integration.objects.get().name == "Ромашка, отдел продаж"


def test_a_key_of_another_account_than_the_app_id_given_is_refused(uis_server):
    with pytest.raises(CommandError, match="belongs to UIS account 555, not 777"):
        integration("add", "--uis-key", KEY, "--app-id", "777")
    assert Integration.objects.count() == 0


def test_a_bad_key_is_refused_with_the_plain_language_message(uis_server):
    with pytest.raises(CommandError, match="UIS does not accept this key"):
        integration("add", "--uis-key", "not-a-key")
    assert Integration.objects.count() == 0


def test_a_key_from_a_blocked_address_names_the_address(uis_server):
    uis_server.fail("blocked-ip-key", "ip_not_whitelisted", ip="203.0.113.7")
    with pytest.raises(CommandError, match=r"Add 203\.0\.113\.7 in UIS"):
        integration("add", "--uis-key", "blocked-ip-key")


def test_adding_again_updates_the_same_account(uis_server):
    integration("add", "--app-id", "555", "--skip-key-check")
    integration("add", "--uis-key", KEY)
    assert (Integration.objects.count(), Integration.objects.get().name) == (1, "ООО Ромашка")


def test_adding_again_keeps_the_notification_url(db):
    integration("add", "--app-id", "777", "--skip-key-check")
    token = Integration.objects.get().webhook_token
    integration("add", "--app-id", "777", "--skip-key-check", "--name", "Другое имя")
    assert Integration.objects.get().webhook_token == token


def test_adding_disabled_saves_without_enabling(db):
    integration("add", "--app-id", "777", "--skip-key-check", "--disabled")
    assert Integration.objects.get().enabled is False


def test_an_okdesk_target_without_account_and_key_is_refused(db):
    with pytest.raises(CommandError, match="--okdesk-account and --okdesk-key"):
        integration("add", "--app-id", "777", "--skip-key-check", "--target", "okdesk")
    assert Integration.objects.count() == 0


def test_an_okdesk_target_with_account_and_key_is_saved_and_enabled(db):
    integration(
        "add",
        "--app-id",
        "777",
        "--skip-key-check",
        "--target",
        "okdesk",
        "--okdesk-account",
        "romashka",
        "--okdesk-key",
        "okdesk-secret",
    )
    account = Integration.objects.get()
    assert (account.target, account.okdesk_account, account.okdesk_api_key) == (
        Target.OKDESK,
        "romashka",
        "okdesk-secret",
    )
    assert account.enabled is True


# --- integration list / enable / disable -----------------------------------------------


def test_listing_with_no_account_says_so(db):
    out, _ = integration("list")
    assert out.strip() == "No UIS account is connected."


def test_listing_shows_each_account_with_its_state_and_url(db):
    integration("add", "--app-id", "777", "--skip-key-check", "--name", "Ромашка")
    integration("add", "--app-id", "778", "--skip-key-check", "--disabled")
    out, _ = integration("list")
    tokens = {int(a.account_id): a.webhook_token for a in Integration.objects.all()}
    assert out.splitlines() == [
        f"777\tРомашка\tlocal\tenabled\thttp://127.0.0.1:8000/okdesk/webhook/{tokens[777]}/",
        f"778\t-\tlocal\tdisabled\thttp://127.0.0.1:8000/okdesk/webhook/{tokens[778]}/",
    ]


def test_disabling_an_account(db):
    integration("add", "--app-id", "777", "--skip-key-check")
    out, _ = integration("disable", "--app-id", "777")
    assert (Integration.objects.get().enabled, "disabled" in out) == (False, True)


def test_enabling_an_account(db):
    integration("add", "--app-id", "777", "--skip-key-check", "--disabled")
    out, _ = integration("enable", "--app-id", "777")
    assert (Integration.objects.get().enabled, "enabled" in out) == (True, True)


def test_enabling_an_unknown_account_is_refused(db):
    with pytest.raises(CommandError, match="777 is not connected"):
        integration("enable", "--app-id", "777")


def test_enabling_an_okdesk_account_without_its_key_is_refused(db):
    Integration.objects.create(account_id=777, target=Target.OKDESK, okdesk_account="romashka")
    with pytest.raises(CommandError, match="Okdesk account and API key"):
        integration("enable", "--app-id", "777")
    assert Integration.objects.get().enabled is False


# --- worker --once ------------------------------------------------------------------


def test_the_worker_once_processes_the_pending_events(db, agent, caller):
    account = Integration.objects.create(account_id=uis.APP_ID, enabled_at=timezone.now())
    uis.send(account, uis.wait())
    uis.send(account, uis.history())
    out = StringIO()
    call_command("worker", "--once", stdout=out)
    assert out.getvalue().strip() == "Processed 2 events."
    assert set(CallEvent.objects.values_list("status", flat=True)) == {EventStatus.PROCESSED}


def test_the_worker_once_with_nothing_to_do_processes_nothing(db):
    out = StringIO()
    call_command("worker", "--once", stdout=out)
    assert out.getvalue().strip() == "Processed 0 events."


# --- The simulator against a running Trubka ------------------------------------------


@pytest.fixture
def live_account(transactional_db, live_server) -> tuple[Integration, str]:
    account = Integration.objects.create(account_id=uis.APP_ID, enabled_at=timezone.now())
    return account, live_server.url + uis.webhook_path(account)


def simulate_scenario(url: str, scenario: str, phone: str | None = "8 (916) 123-45-67"):
    said: list[str] = []
    failures = simulate.run(
        url,
        scenario,
        app_id=uis.APP_ID,
        phone=phone,
        extension="101",
        zone="Europe/Moscow",
        not_answered=["Иванов Иван", "Петрова Мария"],
        say=said.append,
    )
    return failures, said


def all_accepted(failures: int, said: list[str]) -> bool:
    return failures == 0 and bool(said) and all(" → 200 " in line for line in said)


@pytest.mark.django_db(transaction=True)
def test_a_simulated_answered_call_logs_the_call_with_its_recording(live_account, agent, caller):
    _, url = live_account
    failures, said = simulate_scenario(url, "answered")
    assert all_accepted(failures, said), said
    drain()
    call = PhoneCall.objects.get()
    assert (call.contact, call.employee, call.talk_duration) == (caller, agent, 95)
    assert CallRecording.objects.get(call=call).source_url.startswith(
        f"https://app.uiscom.ru/system/media/talk/{call.provider_call_id}/"
    )


@pytest.mark.django_db(transaction=True)
def test_a_simulated_call_from_an_unknown_caller_creates_a_new_client_card(
    live_account, agent, caller
):
    _, url = live_account
    failures, said = simulate_scenario(url, "unknown-caller")
    assert all_accepted(failures, said), said
    drain()
    card = Contact.objects.exclude(pk=caller.pk).get()
    call = PhoneCall.objects.get()
    assert (card.last_name, call.contact, CallPopup.objects.get().contact) == (
        new_client_name(call.client_number),
        card,
        card,
    )
    assert CallRecording.objects.filter(call=call).count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_simulated_missed_call_opens_a_missed_call_ticket(live_account, agent, caller):
    _, url = live_account
    failures, said = simulate_scenario(url, "missed")
    assert all_accepted(failures, said), said
    drain()
    ticket = Ticket.objects.get()
    call = PhoneCall.objects.get()
    assert (ticket.source, ticket.contact, call.ticket, call.is_missed) == (
        Source.MISSED_CALL,
        caller,
        ticket,
        True,
    )
    assert "Иванов Иван" in ticket.description


@pytest.mark.django_db(transaction=True)
def test_a_simulated_out_of_order_call_is_one_call_with_no_popup(live_account, agent, caller):
    _, url = live_account
    failures, said = simulate_scenario(url, "out-of-order")
    assert all_accepted(failures, said), said
    drain()
    call = PhoneCall.objects.get()
    assert (call.employee, call.talk_duration, CallPopup.objects.count()) == (agent, 95, 0)


@pytest.mark.django_db(transaction=True)
def test_simulated_duplicates_are_one_event_received_again(live_account, agent, caller):
    _, url = live_account
    failures, said = simulate_scenario(url, "duplicates")
    assert all_accepted(failures, said), said
    assert sum('"duplicate"' in line for line in said) == 4
    drain()
    wait = CallEvent.objects.get(action="wait")
    assert (wait.repeats, PhoneCall.objects.count(), CallPopup.objects.count()) == (4, 1, 1)


@pytest.mark.django_db(transaction=True)
def test_a_simulated_call_with_template_quirks_is_understood(live_account, agent, caller):
    _, url = live_account
    failures, said = simulate_scenario(url, "quirks")
    assert all_accepted(failures, said), said
    drain()
    call = PhoneCall.objects.get()
    assert (call.direction, call.contact, CallRecording.objects.count()) == ("in", caller, 1)
    assert set(CallEvent.objects.values_list("status", flat=True)) == {EventStatus.PROCESSED}
