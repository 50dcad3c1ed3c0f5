"""The guide's setup flow at /okdesk/ and the telephony settings pages, against a fake UIS."""

from __future__ import annotations

import html
import re

import pytest
from cryptography.fernet import Fernet
from django.db import connection
from django.test import Client
from django.utils import timezone

from conftest import logged_in
from providers.uis import bodies as uis
from providers.uis.fake_uis import UIS_EMPLOYEES, FakeUis
from trubka.connector.forms import IntegrationForm
from trubka.connector.models import CallEvent, EventStatus, Integration, Target
from trubka.connector.providers.uis.notification_bodies import TEMPLATES
from trubka.staff.models import Employee

KEY = "uis-key-7f3a9c2e5b1d4f60"
OKDESK_KEY = "okdesk-key-0a1b2c3d4e5f"
ACCOUNT = {"app_id": uis.APP_ID, "name": "ООО Ромашка", "timezone": "Asia/Yekaterinburg"}


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def uis_server(db, settings):
    with FakeUis() as server:
        settings.TRUBKA_UIS_DATA_API_URL = server.url
        server.add_account(KEY, **ACCOUNT, employees=UIS_EMPLOYEES)
        server.fail("expired-key", "access_token_expired")
        server.fail("blocked-ip-key", "ip_not_whitelisted", ip="203.0.113.7")
        yield server


@pytest.fixture
def admin_client(admin) -> Client:
    return logged_in(admin, "en")


@pytest.fixture
def public_setup(settings):
    settings.TRUBKA_CONNECTOR_PUBLIC_SETUP = True


def anonymous() -> Client:
    return Client(headers={"accept-language": "en"})


def page(response) -> str:
    return html.unescape(response.content.decode())


def connect(client: Client, key: str = KEY):
    return client.post("/okdesk/", {"uis_api_key": key})


@pytest.fixture
def connected(uis_server, admin_client) -> Integration:
    """The admin has pasted a valid key: the account exists, not yet enabled."""
    assert connect(admin_client).status_code == 302
    return Integration.objects.get()


def raw_column(integration: Integration, column: str) -> str:
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {column} FROM connector_integration WHERE id = %s",  # noqa: S608
            [integration.pk],
        )
        return cursor.fetchone()[0]


def settings_form(integration: Integration, **fields) -> dict:
    """The account form as the page shows it (every current field), with ``fields`` changed."""
    form = IntegrationForm(instance=integration)
    data = {}
    for name in form.fields:
        value = form[name].value()
        if value is None or value is False:
            continue  # an empty field or an unticked box is not sent
        data[name] = value
    data.update(fields)
    return data


# --- Step 1: the UIS key -----------------------------------------------------------------


def test_an_anonymous_visitor_is_sent_to_log_in_when_public_setup_is_off(db, settings):
    settings.TRUBKA_CONNECTOR_PUBLIC_SETUP = False
    response = anonymous().get("/okdesk/")
    assert (response.status_code, response["Location"]) == (302, "/accounts/login/?next=/okdesk/")


def test_an_anonymous_visitor_cannot_post_a_key_when_public_setup_is_off(uis_server, settings):
    settings.TRUBKA_CONNECTOR_PUBLIC_SETUP = False
    response = connect(anonymous())
    assert (response.status_code, Integration.objects.count()) == (302, 0)


def test_an_admin_sees_the_key_form(admin_client):
    response = admin_client.get("/okdesk/")
    assert response.status_code == 200
    assert 'name="uis_api_key"' in page(response)


def test_the_key_form_names_the_address_to_whitelist(admin_client, settings):
    settings.TRUBKA_OUTGOING_IP = "198.51.100.20"
    assert "198.51.100.20" in page(admin_client.get("/okdesk/"))


def test_a_valid_key_leads_to_the_accounts_page(uis_server, admin_client):
    response = connect(admin_client)
    integration = Integration.objects.get()
    assert response["Location"] == f"/okdesk/{integration.uuid}/"


def test_a_valid_key_creates_the_account_from_get_account(uis_server, admin_client):
    connect(admin_client)
    integration = Integration.objects.get()
    assert (integration.account_id, integration.name, integration.timezone) == (
        str(uis.APP_ID),
        "ООО Ромашка",
        "Asia/Yekaterinburg",
    )


def test_an_admins_account_goes_to_this_desk_and_is_not_enabled_yet(connected):
    assert (connected.target, connected.enabled, connected.key_checked_at is not None) == (
        Target.LOCAL,
        False,
        True,
    )


def test_the_uis_key_is_stored_encrypted(connected):
    raw = raw_column(connected, "uis_api_key")
    assert KEY not in raw
    assert Fernet(uis.ENCRYPTION_KEY.encode()).decrypt(raw.encode()).decode() == KEY


def test_the_uis_key_reads_back_in_python(connected):
    assert Integration.objects.get().uis_api_key == KEY


def test_the_webhook_token_is_not_stored_in_plain_text(connected):
    assert connected.webhook_token not in raw_column(connected, "webhook_token")


def test_an_invalid_key_shows_the_plain_language_error(uis_server, admin_client):
    response = connect(admin_client, "not-a-key")
    assert response.status_code == 200
    assert "UIS does not accept this key" in page(response)


def test_an_invalid_key_creates_nothing(uis_server, admin_client):
    connect(admin_client, "not-a-key")
    assert Integration.objects.count() == 0


def test_an_invalid_key_is_explained_in_russian_to_a_russian_admin(uis_server, admin):
    response = connect(logged_in(admin, "ru"), "not-a-key")
    assert "UIS не принимает этот ключ" in page(response)


def test_an_expired_key_says_to_create_a_new_one(uis_server, admin_client):
    assert "Create a new permanent key in UIS" in page(connect(admin_client, "expired-key"))


def test_an_address_missing_from_the_whitelist_is_shown(uis_server, admin_client):
    assert "Add 203.0.113.7 in UIS" in page(connect(admin_client, "blocked-ip-key"))


def test_an_unreachable_uis_says_to_try_again_later(admin_client, settings):
    from providers.uis.fake_uis import closed_port_url

    settings.TRUBKA_UIS_DATA_API_URL = closed_port_url()
    response = connect(admin_client)
    assert "UIS cannot be reached right now" in page(response)
    assert Integration.objects.count() == 0


def test_pasting_the_key_again_updates_the_same_account(connected, admin_client):
    connect(admin_client)
    assert Integration.objects.count() == 1


# --- Step 2 and 3: the account page ------------------------------------------------------


def account_page(client: Client, integration: Integration) -> str:
    response = client.get(f"/okdesk/{integration.uuid}/")
    assert response.status_code == 200
    return page(response)


def test_the_account_page_shows_the_notification_url_with_the_token(connected, admin_client):
    text = account_page(admin_client, connected)
    assert f"http://testserver/okdesk/webhook/{connected.webhook_token}/" in text


def test_the_account_page_builds_the_url_on_the_public_address(connected, admin_client, settings):
    settings.TRUBKA_PUBLIC_URL = "https://desk.example.ru"
    text = account_page(admin_client, connected)
    assert f'value="https://desk.example.ru/okdesk/webhook/{connected.webhook_token}/"' in text


def test_the_account_page_names_the_three_notifications(connected, admin_client):
    text = account_page(admin_client, connected)
    for name in (
        "Ожидание ответа (okdesk)",
        "Записанный разговор (okdesk)",
        "Потерянный звонок (okdesk)",
    ):
        assert name in text


def test_the_account_page_names_the_event_types_of_the_guide(connected, admin_client):
    text = account_page(admin_client, connected)
    for guide in uis.guide_notifications():
        assert f"<dd>{guide.event_type} " in text


def test_the_account_page_says_every_notification_is_sent_by_post(connected, admin_client):
    text = account_page(admin_client, connected)
    assert [g.method for g in uis.guide_notifications()] == ["POST"] * 3
    assert text.count("HTTP, POST") == 3


def test_the_account_page_shows_each_body_exactly_as_the_guide_lists_it(connected, admin_client):
    text = account_page(admin_client, connected)
    shown = re.findall(r'<pre id="body-\d" class="code">(.*?)</pre>', text, flags=re.DOTALL)
    assert shown == [g.body for g in uis.guide_notifications()]


def test_the_account_page_has_copy_buttons_for_the_url_and_each_body(connected, admin_client):
    text = account_page(admin_client, connected)
    for target in ("webhook-url", "body-1", "body-2", "body-3"):
        assert f'data-copy="{target}"' in text


def test_the_account_page_has_the_extension_number_checklist(connected, admin_client):
    assert "«Добавочный номер»" in account_page(admin_client, connected)


def test_the_account_page_lists_the_templates_in_the_guides_order(connected, admin_client):
    text = account_page(admin_client, connected)
    positions = [text.index(t.name) for t in TEMPLATES]
    assert positions == sorted(positions)


# --- Where the calls go; enabling --------------------------------------------------------


def save_okdesk(client: Client, integration: Integration, **fields):
    okdesk = {"target": "okdesk", "okdesk_account": "romashka", "okdesk_api_key": OKDESK_KEY}
    return client.post(
        f"/okdesk/{integration.uuid}/", settings_form(integration, **{**okdesk, **fields})
    )


def test_saving_an_okdesk_target_stores_the_account(connected, admin_client):
    response = save_okdesk(admin_client, connected)
    integration = Integration.objects.get()
    assert (response.status_code, integration.target, integration.okdesk_account) == (
        302,
        Target.OKDESK,
        "romashka",
    )


def test_the_okdesk_key_is_stored_encrypted(connected, admin_client):
    save_okdesk(admin_client, connected)
    raw = raw_column(connected, "okdesk_api_key")
    assert OKDESK_KEY not in raw
    assert Fernet(uis.ENCRYPTION_KEY.encode()).decrypt(raw.encode()).decode() == OKDESK_KEY


def test_the_okdesk_key_is_never_shown_back(connected, admin_client):
    save_okdesk(admin_client, connected)
    assert OKDESK_KEY not in account_page(admin_client, connected)


def test_an_empty_okdesk_key_keeps_the_saved_one(connected, admin_client):
    save_okdesk(admin_client, connected)
    save_okdesk(admin_client, connected, okdesk_api_key="")
    assert Integration.objects.get().okdesk_api_key == OKDESK_KEY


def test_an_okdesk_target_needs_the_account_name(connected, admin_client):
    response = save_okdesk(admin_client, connected, okdesk_account="")
    assert "Enter the Okdesk account name." in page(response)
    assert Integration.objects.get().target == Target.LOCAL


def test_enabling_an_okdesk_target_with_account_and_key_sets_the_enabled_time(
    connected, admin_client
):
    save_okdesk(admin_client, connected)
    response = admin_client.post(f"/okdesk/{connected.uuid}/enable/", follow=True)
    assert "The integration is enabled." in page(response)
    assert Integration.objects.get().enabled_at is not None


def test_enabling_an_okdesk_target_without_its_key_is_refused(uis_server, public_setup):
    visitor = anonymous()
    connect(visitor)  # a visitor's account goes to Okdesk, with no Okdesk key yet
    integration = Integration.objects.get()
    response = visitor.post(f"/okdesk/{integration.uuid}/enable/", follow=True)
    assert "Enter the Okdesk account name and API key first." in page(response)
    assert Integration.objects.get().enabled_at is None


def test_enabling_a_local_target_sets_the_enabled_time(connected, admin_client):
    response = admin_client.post(f"/okdesk/{connected.uuid}/enable/", follow=True)
    assert "The integration is enabled." in page(response)
    assert Integration.objects.get().enabled_at is not None


def test_disabling_clears_the_enabled_time(connected, admin_client):
    admin_client.post(f"/okdesk/{connected.uuid}/enable/")
    response = admin_client.post(f"/okdesk/{connected.uuid}/disable/", follow=True)
    assert "The integration is disabled." in page(response)
    assert Integration.objects.get().enabled_at is None


def test_enabling_needs_a_checked_key(db, admin_client):
    integration = Integration.objects.create(account_id=uis.APP_ID)
    response = admin_client.post(f"/okdesk/{integration.uuid}/enable/", follow=True)
    assert "Check the UIS key first." in page(response)
    assert Integration.objects.get().enabled_at is None


def test_enabling_is_only_by_post(connected, admin_client):
    assert admin_client.get(f"/okdesk/{connected.uuid}/enable/").status_code == 405


def test_the_shared_url_needs_the_sender_addresses(connected, admin_client):
    response = admin_client.post(
        f"/okdesk/{connected.uuid}/",
        settings_form(connected, shared_url_allowed="on", allowed_ips=""),
    )
    assert "list the addresses UIS sends from" in page(response)
    assert Integration.objects.get().shared_url_allowed is False


def test_the_sender_addresses_must_be_addresses_or_networks(connected, admin_client):
    response = admin_client.post(
        f"/okdesk/{connected.uuid}/",
        settings_form(connected, shared_url_allowed="on", allowed_ips="195.211.122.0/24\nuis.ru"),
    )
    assert "uis.ru is not an IP address or network." in page(response)


def test_the_shared_url_is_saved_with_its_networks(connected, admin_client):
    admin_client.post(
        f"/okdesk/{connected.uuid}/",
        settings_form(
            connected, shared_url_allowed="on", allowed_ips=" 195.211.122.0/24 \n10.0.0.1 "
        ),
    )
    integration = Integration.objects.get()
    assert (integration.shared_url_allowed, integration.allowed_ips) == (
        True,
        "195.211.122.0/24\n10.0.0.1",
    )


# --- A new notification URL ----------------------------------------------------------


def test_a_new_url_makes_the_old_one_a_404(connected, admin_client):
    admin_client.post(f"/okdesk/{connected.uuid}/enable/")
    old = connected.webhook_token
    admin_client.post(f"/okdesk/{connected.uuid}/new-url/")
    response = Client().post(f"/okdesk/webhook/{old}/", uis.wait(), "application/json")
    assert response.status_code == 404


def test_the_new_url_works(connected, admin_client):
    admin_client.post(f"/okdesk/{connected.uuid}/enable/")
    admin_client.post(f"/okdesk/{connected.uuid}/new-url/")
    integration = Integration.objects.get()
    assert integration.webhook_token != connected.webhook_token
    response = uis.send(integration, uis.wait())
    assert (response.status_code, CallEvent.objects.get().status) == (200, EventStatus.PENDING)


def test_the_account_page_shows_the_new_url(connected, admin_client):
    admin_client.post(f"/okdesk/{connected.uuid}/new-url/")
    text = account_page(admin_client, connected)
    new = Integration.objects.get().webhook_token
    assert f"/okdesk/webhook/{new}/" in text
    assert f"/okdesk/webhook/{connected.webhook_token}/" not in text


# --- Public setup (an integrator hosting the connector) --------------------------------


def test_with_public_setup_an_anonymous_visitor_with_a_valid_key_connects(uis_server, public_setup):
    visitor = anonymous()
    response = connect(visitor)
    integration = Integration.objects.get()
    assert response["Location"] == f"/okdesk/{integration.uuid}/"
    assert visitor.get(response["Location"]).status_code == 200


def test_with_public_setup_an_anonymous_visitors_account_goes_to_okdesk(uis_server, public_setup):
    connect(anonymous())
    assert Integration.objects.get().target == Target.OKDESK


def test_with_public_setup_an_anonymous_visitor_can_set_an_okdesk_target(uis_server, public_setup):
    visitor = anonymous()
    connect(visitor)
    integration = Integration.objects.get()
    response = save_okdesk(visitor, integration)
    integration.refresh_from_db()
    assert (response.status_code, integration.okdesk_account, integration.okdesk_api_key) == (
        302,
        "romashka",
        OKDESK_KEY,
    )


def test_with_public_setup_an_anonymous_visitor_cannot_choose_this_desk(uis_server, public_setup):
    visitor = anonymous()
    connect(visitor)
    integration = Integration.objects.get()
    response = visitor.post(
        f"/okdesk/{integration.uuid}/", settings_form(integration, target="local")
    )
    assert "Connecting UIS to this help desk needs a desk administrator." in page(response)
    assert Integration.objects.get().target == Target.OKDESK


def test_with_public_setup_an_anonymous_visitor_with_an_invalid_key_gets_nothing(
    uis_server, public_setup
):
    response = connect(anonymous(), "not-a-key")
    assert "UIS does not accept this key" in page(response)
    assert Integration.objects.count() == 0


def test_another_anonymous_session_cannot_open_someone_elses_account(uis_server, public_setup):
    connect(anonymous())
    integration = Integration.objects.get()
    response = anonymous().get(f"/okdesk/{integration.uuid}/")
    assert (response.status_code, response["Location"]) == (302, "/okdesk/")
    assert integration.webhook_token not in response.content.decode()


@pytest.mark.parametrize("action", ["enable", "disable", "new-url"])
def test_another_anonymous_session_cannot_change_someone_elses_account(
    uis_server, public_setup, action
):
    connect(anonymous())
    integration = Integration.objects.get()
    response = anonymous().post(f"/okdesk/{integration.uuid}/{action}/")
    assert response.status_code == 403
    assert Integration.objects.get().webhook_token == integration.webhook_token


def test_another_anonymous_session_cannot_save_someone_elses_settings(uis_server, public_setup):
    connect(anonymous())
    integration = Integration.objects.get()
    anonymous().post(
        f"/okdesk/{integration.uuid}/",
        settings_form(integration, target="okdesk", okdesk_account="evil", okdesk_api_key="x"),
    )
    assert Integration.objects.get().okdesk_account == ""


def test_an_agent_cannot_open_an_account_page(connected, agent):
    response = logged_in(agent, "en").get(f"/okdesk/{connected.uuid}/")
    assert response.status_code == 403


# --- The notification log ------------------------------------------------------------


@pytest.fixture
def events(connected) -> dict[str, CallEvent]:
    def event(call_id: str, status: str, **fields) -> CallEvent:
        return CallEvent.objects.create(
            integration=connected,
            action="wait",
            kind="ring",
            call_id=call_id,
            status=status,
            raw_body=uis.wait(call_session_id=int(call_id)),
            **fields,
        )

    return {
        "processed": event("1001", EventStatus.PROCESSED, attempts=1),
        "failed": event(
            "1002",
            EventStatus.FAILED,
            attempts=15,
            failed_at=timezone.now(),
            last_error="TemporaryDeliveryError: the desk answered 503",
        ),
        "rejected": event("1003", EventStatus.REJECTED, last_error="the field action is missing"),
    }


def listed_call_ids(response) -> set[str]:
    return set(re.findall(r'<a href="\?call_id=(\d+)">', page(response)))


def test_the_event_log_lists_every_event(events, admin_client):
    response = admin_client.get("/settings/telephony/events/")
    assert listed_call_ids(response) == {"1001", "1002", "1003"}


@pytest.mark.parametrize("status", ["processed", "failed", "rejected"])
def test_the_event_log_filters_by_status(events, admin_client, status):
    response = admin_client.get(f"/settings/telephony/events/?status={status}")
    assert listed_call_ids(response) == {events[status].call_id}


def test_the_event_log_filters_by_call_id(events, admin_client):
    response = admin_client.get("/settings/telephony/events/?call_id=1003")
    assert listed_call_ids(response) == {"1003"}


def test_the_event_log_shows_the_last_error(events, admin_client):
    text = page(admin_client.get("/settings/telephony/events/"))
    assert "TemporaryDeliveryError: the desk answered 503" in text


def test_the_event_log_offers_a_retry_button_only_for_failed_events(events, admin_client):
    text = page(admin_client.get("/settings/telephony/events/"))
    retry_forms = re.findall(r'action="/settings/telephony/events/([0-9a-f-]+)/retry/"', text)
    assert retry_forms == [str(events["failed"].uuid)]


def test_the_retry_button_queues_a_failed_event_again(events, admin_client):
    failed = events["failed"]
    response = admin_client.post(
        f"/settings/telephony/events/{failed.uuid}/retry/", {"next": "/settings/telephony/events/"}
    )
    failed.refresh_from_db()
    assert (response.status_code, failed.status, failed.attempts) == (
        302,
        EventStatus.PENDING,
        0,
    )


def test_the_retry_button_says_the_event_is_queued(events, admin_client):
    response = admin_client.post(
        f"/settings/telephony/events/{events['failed'].uuid}/retry/", follow=True
    )
    assert "The event is queued again." in page(response)


def test_an_event_that_did_not_fail_cannot_be_retried(events, admin_client):
    rejected = events["rejected"]
    response = admin_client.post(f"/settings/telephony/events/{rejected.uuid}/retry/", follow=True)
    rejected.refresh_from_db()
    assert "Only a failed event can be retried." in page(response)
    assert rejected.status == EventStatus.REJECTED


def test_retrying_is_only_by_post(events, admin_client):
    response = admin_client.get(f"/settings/telephony/events/{events['failed'].uuid}/retry/")
    assert response.status_code == 405


def test_the_retry_button_does_not_redirect_off_site(events, admin_client):
    response = admin_client.post(
        f"/settings/telephony/events/{events['failed'].uuid}/retry/",
        {"next": "https://evil.example.com/"},
    )
    assert not response["Location"].startswith("https://evil.example.com")


# --- Employees in UIS and in the desk ------------------------------------------------


def employees_page(client: Client, integration: Integration) -> str:
    response = client.get(f"/settings/telephony/{integration.uuid}/employees/")
    assert response.status_code == 200
    return page(response)


def test_the_employee_check_matches_uis_employees_to_desk_employees_by_extension(
    connected, admin_client, agent
):
    text = employees_page(admin_client, connected)
    row = re.search(r"<td>Иванов Иван</td>.*?</tr>", text, flags=re.DOTALL)
    assert row is not None
    assert f'<a href="/employees/{agent.pk}/edit/">{agent}</a>' in row.group(0)


def test_the_employee_check_offers_to_create_uis_employees_missing_in_the_desk(
    connected, admin_client, agent
):
    text = employees_page(admin_client, connected)
    offered = re.findall(r'name="extension" value="(\d+)"', text)
    assert offered == ["103", "104"]


def test_the_employee_check_lists_desk_employees_uis_does_not_have(
    connected, admin_client, agent, agent2
):
    text = employees_page(admin_client, connected)
    section = text.split("Desk employees whose extension number UIS does not have", 1)[1]
    assert str(agent2) in section
    assert "102" in section
    assert str(agent) not in section


def test_the_employee_check_marks_uis_employees_without_an_extension(connected, admin_client):
    text = employees_page(admin_client, connected)
    row = re.search(r"<td>Без Номера</td>.*?</tr>", text, flags=re.DOTALL)
    assert row is not None
    assert "no internal number in UIS" in row.group(0)


def test_creating_the_chosen_employees_gives_them_the_uis_extension(connected, admin_client, agent):
    admin_client.post(f"/settings/telephony/{connected.uuid}/employees/", {"extension": ["103"]})
    created = Employee.objects.get(extension="103")
    assert (created.username, created.first_name, created.last_name, created.email) == (
        "novikova",
        "Ольга",
        "Новикова",
        "novikova@example.ru",
    )


def test_created_employees_have_no_usable_password(connected, admin_client, agent):
    admin_client.post(f"/settings/telephony/{connected.uuid}/employees/", {"extension": ["103"]})
    assert Employee.objects.get(extension="103").has_usable_password() is False


def test_only_the_chosen_employees_are_created(connected, admin_client, agent):
    admin_client.post(f"/settings/telephony/{connected.uuid}/employees/", {"extension": ["103"]})
    assert not Employee.objects.filter(extension="104").exists()


def test_an_extension_the_desk_already_has_is_never_created_twice(connected, admin_client, agent):
    admin_client.post(
        f"/settings/telephony/{connected.uuid}/employees/", {"extension": ["101", "103"]}
    )
    assert Employee.objects.filter(extension="101").count() == 1


def test_the_employee_check_explains_a_key_uis_no_longer_accepts(connected, admin_client):
    connected.uis_api_key = "expired-key"
    connected.save()
    assert "Create a new permanent key in UIS" in employees_page(admin_client, connected)


# --- Who may see the settings pages --------------------------------------------------


@pytest.mark.parametrize(
    "path", ["/settings/telephony/events/", "/settings/telephony/{uuid}/employees/"]
)
def test_an_agent_may_not_see_the_settings_pages(connected, agent, path):
    response = logged_in(agent, "en").get(path.format(uuid=connected.uuid))
    assert response.status_code == 403


def test_an_agent_may_not_retry_an_event(events, agent):
    failed = events["failed"]
    response = logged_in(agent, "en").post(f"/settings/telephony/events/{failed.uuid}/retry/")
    failed.refresh_from_db()
    assert (response.status_code, failed.status) == (403, EventStatus.FAILED)


def test_an_agent_may_not_create_employees_from_uis(connected, agent):
    response = logged_in(agent, "en").post(
        f"/settings/telephony/{connected.uuid}/employees/", {"extension": ["103"]}
    )
    assert (response.status_code, Employee.objects.filter(extension="103").exists()) == (
        403,
        False,
    )
