"""The UIS Data API client (JSON-RPC 2.0) against a fake UIS server on a real socket."""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

import pytest
from django.utils import translation

from providers.uis.fake_uis import UIS_EMPLOYEES, FakeUis, closed_port_url
from trubka.connector.providers.uis.client import UisAccount, UisApiError, UisClient

KEY = "uis-key-7f3a9c2e5b1d4f60"
ACCOUNT = {"app_id": 555, "name": "ООО Ромашка", "timezone": "Asia/Yekaterinburg"}


@pytest.fixture
def uis_server(settings):
    with FakeUis() as server:
        settings.TRUBKA_UIS_DATA_API_URL = server.url
        server.add_account(KEY, **ACCOUNT, employees=UIS_EMPLOYEES)
        yield server


@pytest.fixture
def english():
    with translation.override("en"):
        yield


def error_of(server: FakeUis, mnemonic: str, **params) -> UisApiError:
    server.fail("bad-key", mnemonic, **params)
    with pytest.raises(UisApiError) as raised:
        UisClient("bad-key").get_account()
    return raised.value


# --- get.account ------------------------------------------------------------------------


def test_get_account_reads_the_account_id_name_and_time_zone(uis_server):
    assert UisClient(KEY).get_account() == UisAccount(
        app_id=555, name="ООО Ромашка", timezone="Asia/Yekaterinburg"
    )


def test_get_account_sends_a_json_rpc_2_request_for_get_account(uis_server):
    UisClient(KEY).get_account()
    (request,) = uis_server.requests
    assert (request.body["jsonrpc"], request.body["method"]) == ("2.0", "get.account")
    assert request.body["id"] is not None


def test_the_key_is_sent_in_params_access_token(uis_server):
    UisClient(KEY).get_account()
    assert uis_server.requests[0].body["params"]["access_token"] == KEY


def test_the_key_is_never_in_the_url(uis_server):
    UisClient(KEY).get_account()
    UisClient(KEY).get_employees()
    for request in uis_server.requests:
        assert KEY not in request.path


def test_the_key_is_never_in_a_header(uis_server):
    UisClient(KEY).get_account()
    assert all(KEY not in value for value in uis_server.requests[0].headers.values())


def test_requests_are_posted_as_json_to_the_configured_address(uis_server):
    UisClient(KEY).get_account()
    request = uis_server.requests[0]
    assert request.headers["Content-Type"].startswith("application/json")
    assert request.path == urlsplit(uis_server.url).path


def test_a_missing_time_zone_is_moscow(uis_server):
    uis_server.add_account("no-zone", app_id=556, name="Без зоны", timezone=None)
    assert UisClient("no-zone").get_account().timezone == "Europe/Moscow"


# --- get.employees ------------------------------------------------------------------------


def test_get_employees_reads_every_employee(uis_server):
    assert [e.full_name for e in UisClient(KEY).get_employees()] == [
        e["full_name"] for e in UIS_EMPLOYEES
    ]


def test_get_employees_reads_the_extension_number(uis_server):
    employees = {e.login: e for e in UisClient(KEY).get_employees()}
    assert (employees["novikova"].extension, employees["ivanov.uis"].extension) == ("103", "101")


def test_an_employee_without_an_extension_has_none(uis_server):
    employees = {e.login: e for e in UisClient(KEY).get_employees()}
    assert employees["nonumber"].extension is None


def test_get_employees_reads_the_names_and_email(uis_server):
    novikova = next(e for e in UisClient(KEY).get_employees() if e.login == "novikova")
    assert (
        novikova.id,
        novikova.first_name,
        novikova.last_name,
        novikova.patronymic,
        novikova.email,
    ) == (1003, "Ольга", "Новикова", "Петровна", "novikova@example.ru")


def test_get_employees_asks_for_the_extension_field(uis_server):
    UisClient(KEY).get_employees()
    request = uis_server.requests[0].body
    assert request["method"] == "get.employees"
    assert "extension" in request["params"]["fields"]


def test_get_employees_reads_every_page(uis_server):
    many = [
        {"id": n, "full_name": f"Сотрудник {n}", "extension": {"extension_phone_number": str(n)}}
        for n in range(1, 1501)
    ]
    uis_server.add_account("big", app_id=557, name="Большой", employees=many)
    employees = UisClient("big").get_employees()
    offsets = [r.body["params"]["offset"] for r in uis_server.requests]
    assert (len(employees), offsets) == (1500, [0, 1000])


# --- Errors -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "mnemonic",
    [
        "access_token_invalid",
        "access_token_expired",
        "ip_not_whitelisted",
        "account_inactive",
        "limit_exceeded",
    ],
)
def test_an_error_in_the_envelope_is_a_uis_api_error_with_its_mnemonic(uis_server, mnemonic):
    assert error_of(uis_server, mnemonic).mnemonic == mnemonic


@pytest.mark.parametrize("status", [400, 401, 403, 429])
def test_an_error_with_a_non_200_status_still_gives_its_mnemonic(uis_server, status):
    uis_server.fail("bad-key", "access_token_expired", http_status=status)
    with pytest.raises(UisApiError) as raised:
        UisClient("bad-key").get_account()
    assert raised.value.mnemonic == "access_token_expired"


def test_a_key_uis_does_not_know_is_an_invalid_key(uis_server):
    with pytest.raises(UisApiError) as raised:
        UisClient("never-issued").get_employees()
    assert raised.value.mnemonic == "access_token_invalid"


def test_an_invalid_key_tells_the_user_to_check_or_create_the_key(uis_server, english):
    message = error_of(uis_server, "access_token_invalid").user_message
    assert "does not accept this key" in message
    assert "create a new one" in message


def test_an_invalid_key_is_explained_in_russian(uis_server):
    with translation.override("ru"):
        message = error_of(uis_server, "access_token_invalid").user_message
    assert message.startswith("UIS не принимает этот ключ")


def test_an_expired_key_tells_the_user_to_create_a_new_one(uis_server, english):
    message = error_of(uis_server, "access_token_expired").user_message
    assert "expired" in message
    assert "Create a new permanent key" in message


def test_an_address_missing_from_the_whitelist_is_shown_from_the_error(
    uis_server, english, settings
):
    settings.TRUBKA_OUTGOING_IP = "198.51.100.20"
    error = error_of(uis_server, "ip_not_whitelisted", ip="203.0.113.7")
    assert error.ip == "203.0.113.7"
    assert "Add 203.0.113.7 in UIS" in error.user_message
    assert "API tab" in error.user_message


def test_the_configured_outgoing_address_is_shown_when_the_error_names_none(
    uis_server, english, settings
):
    settings.TRUBKA_OUTGOING_IP = "198.51.100.20"
    message = error_of(uis_server, "ip_not_whitelisted").user_message
    assert "Add 198.51.100.20 in UIS" in message


def test_without_any_address_the_whitelist_message_says_which_address_to_add(
    uis_server, english, settings
):
    settings.TRUBKA_OUTGOING_IP = ""
    message = error_of(uis_server, "ip_not_whitelisted").user_message
    assert "this server's outgoing address" in message
    assert "whitelist" in message


def test_the_whitelist_message_in_russian_shows_the_address(uis_server):
    with translation.override("ru"):
        message = error_of(uis_server, "ip_not_whitelisted", ip="203.0.113.7").user_message
    assert "Добавьте 203.0.113.7 в UIS" in message


def test_an_inactive_account_tells_the_user_to_activate_it(uis_server, english):
    message = error_of(uis_server, "account_inactive").user_message
    assert "inactive" in message
    assert "Activate it in UIS" in message


def test_a_used_up_limit_tells_the_user_to_try_again_later(uis_server, english):
    message = error_of(uis_server, "limit_exceeded").user_message
    assert "limit" in message
    assert "Try again in a few minutes" in message


def test_a_server_error_page_without_json_is_unreachable(uis_server):
    uis_server.crash("crash-key")
    with pytest.raises(UisApiError) as raised:
        UisClient("crash-key").get_account()
    assert (raised.value.mnemonic, raised.value.message) == (
        "unreachable",
        "HTTP 500 without a JSON body",
    )


def test_a_server_error_tells_the_user_to_try_again_later(uis_server, english):
    uis_server.crash("crash-key")
    with pytest.raises(UisApiError) as raised:
        UisClient("crash-key").get_account()
    assert "cannot be reached" in raised.value.user_message
    assert "Try again later" in raised.value.user_message


def test_a_server_that_is_down_is_unreachable(settings):
    settings.TRUBKA_UIS_DATA_API_URL = closed_port_url()
    with pytest.raises(UisApiError) as raised:
        UisClient(KEY).get_account()
    assert raised.value.mnemonic == "unreachable"


def test_a_server_that_is_down_is_explained_without_the_key(settings, english, caplog):
    settings.TRUBKA_UIS_DATA_API_URL = closed_port_url()
    caplog.set_level(logging.DEBUG)
    with pytest.raises(UisApiError) as raised:
        UisClient(KEY).get_account()
    assert "cannot be reached" in raised.value.user_message
    assert KEY not in raised.value.user_message
    assert KEY not in str(raised.value)
    assert all(KEY not in record.getMessage() for record in caplog.records)


def test_an_unknown_mnemonic_shows_uis_own_message(uis_server, english):
    message = error_of(uis_server, "method_component_disabled").user_message
    assert "API Базовый" in message
