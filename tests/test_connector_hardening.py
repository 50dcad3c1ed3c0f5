"""Notifications that could never be processed are refused at the door, and self-service
setup cannot take over an account its desk administrator connected."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from conftest import logged_in
from providers.uis import bodies as uis
from providers.uis.fake_uis import FakeUis
from trubka.connector.models import CallEvent, EventStatus, Integration, Target
from trubka.connector.providers.uis.parse import UisNotification, read_body

KEY = "uis-key-hardening-1"


def body(**fields) -> str:
    base = {"app_id": uis.APP_ID, "action": "history", "call_id": 123456}
    return json.dumps({**base, **fields})


def test_an_unreadable_start_time_is_refused_when_received_not_retried_for_hours(account):
    response = uis.send(account, body(started_at="yesterday"))
    assert response.status_code == 400
    assert "started_at" in response.json()["error"]
    assert CallEvent.objects.get().status == EventStatus.REJECTED


def test_a_call_id_longer_than_the_column_is_refused(account):
    response = uis.send(account, body(call_id="9" * 101))
    assert response.status_code == 400
    event = CallEvent.objects.get()
    assert event.status == EventStatus.REJECTED
    assert len(event.call_id) <= 100


def test_a_negative_duration_is_read_as_unknown():
    note = UisNotification.model_validate(read_body(body(phone_call={"duration": -5}).encode()))
    assert note.phone_call.duration is None


@pytest.mark.parametrize(
    ("field", "variable"), [("call_id", "call_session_id"), ("phone", "contact_phone_number")]
)
def test_a_variable_name_in_place_of_its_value_means_missing(field, variable):
    data = read_body(body(**{field: variable}).encode())
    assert data[field] is None


def test_an_app_id_of_another_account_is_processed_for_the_token_but_noted(account):
    response = uis.send(account, body(app_id=uis.APP_ID + 1))
    assert response.status_code == 200
    event = CallEvent.objects.get()
    assert event.integration == account
    assert event.status == EventStatus.PENDING
    assert f"app_id {uis.APP_ID + 1}" in event.last_error


def test_a_nul_byte_in_a_body_is_stored_without_breaking_the_database(account):
    response = uis.send(account, body(phone="7916\u00001234567"))
    assert response.status_code == 200
    event = CallEvent.objects.get()
    assert "\x00" not in event.raw_body
    assert "\x00" not in json.dumps(event.parsed)


def test_a_retry_button_never_redirects_off_site(admin, account):
    event = CallEvent.objects.create(integration=account, status=EventStatus.FAILED)
    response = logged_in(admin).post(
        f"/settings/telephony/events/{event.uuid}/retry/", {"next": "https://evil.example/"}
    )
    assert response.status_code == 302
    assert response["Location"] == "/settings/telephony/events/"


def test_self_service_cannot_take_over_an_account_connected_to_this_desk(db, settings):
    settings.TRUBKA_CONNECTOR_PUBLIC_SETUP = True
    existing = Integration.objects.create(
        account_id=uis.APP_ID, target=Target.LOCAL, uis_api_key="old"
    )
    with FakeUis() as server:
        settings.TRUBKA_UIS_DATA_API_URL = server.url
        server.add_account(KEY, app_id=uis.APP_ID, name="ООО Ромашка", timezone="Europe/Moscow")
        response = Client().post("/okdesk/", {"uis_api_key": KEY})
    assert response.status_code == 200
    assert "administrator" in response.content.decode() or "администратор" in (
        response.content.decode()
    )
    existing.refresh_from_db()
    assert existing.uis_api_key == "old"


def test_a_nul_byte_in_a_field_name_is_stored_without_breaking_the_database(account):
    response = uis.send(account, '{"app_id": 1, "action": "wait", "call_id": 5, "x\\u0000y": 1}')
    assert response.status_code == 200
    event = CallEvent.objects.get()
    assert "xy" in event.parsed
