"""The UIS webhook: /okdesk/webhook/<token>/ and the guide's shared /okdesk/webhook/."""

from __future__ import annotations

import json
import logging

import httpx
import pytest
from django.test import Client
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from providers.uis import bodies as uis
from trubka.connector.models import CallEvent, EventStatus, Integration
from trubka.connector.queue.worker import drain

OTHER_APP_ID = 777


@pytest.fixture
def other_account(db) -> Integration:
    return Integration.objects.create(account_id=OTHER_APP_ID, enabled_at=timezone.now())


def only_event() -> CallEvent:
    (event,) = CallEvent.objects.all()
    return event


# --- Accepting a notification --------------------------------------------------------------


def test_an_understood_notification_is_answered_200(account):
    response = uis.send(account, uis.wait())
    assert (response.status_code, response.json()["status"]) == (200, "pending")


def test_an_understood_notification_is_stored_pending_with_its_raw_body(account):
    body = uis.wait()
    uis.send(account, body)
    event = only_event()
    assert (event.status, event.raw_body, event.integration) == (
        EventStatus.PENDING,
        body,
        account,
    )


def test_the_stored_event_names_its_action_and_call(account):
    uis.send(account, uis.wait())
    event = only_event()
    assert (event.action, event.call_id) == ("wait", str(uis.CALL_ID))


def test_the_stored_event_keeps_what_was_understood(account):
    uis.send(account, uis.history())
    parsed = only_event().parsed
    assert (parsed["file_url"], parsed["phone_call"]["duration"], parsed["app_id"]) == (
        [uis.RECORDING],
        uis.DURATION,
        uis.APP_ID,
    )


def test_the_stored_event_keeps_fields_the_templates_do_not_have(account):
    uis.send(account, uis.body("wait_extra_fields.json"))
    assert only_event().parsed["leg_id"] == 771234567


def test_the_stored_event_records_the_senders_address_method_and_content_type(account):
    uis.send(account, uis.wait(), content_type="text/plain", REMOTE_ADDR="195.211.122.131")
    event = only_event()
    assert (event.remote_addr, event.method, event.content_type) == (
        "195.211.122.131",
        "POST",
        "text/plain",
    )


def test_the_answer_names_the_stored_event(account):
    response = uis.send(account, uis.wait())
    assert response.json()["event"] == str(only_event().uuid)


def test_accepting_a_notification_does_not_process_it(account, caller, agent):
    from trubka.calls.models import PhoneCall

    uis.send(account, uis.wait())
    assert PhoneCall.objects.count() == 0


# --- Unknown token -----------------------------------------------------------------------


def test_an_unknown_token_is_a_404(account):
    response = Client().post("/okdesk/webhook/not-a-token/", uis.wait(), "application/json")
    assert response.status_code == 404


def test_an_unknown_token_stores_nothing(account):
    Client().post("/okdesk/webhook/not-a-token/", uis.wait(), "application/json")
    assert CallEvent.objects.count() == 0


def test_an_unknown_tokens_404_says_the_same_whatever_was_sent(account):
    good = Client().post("/okdesk/webhook/not-a-token/", uis.wait(), "application/json")
    garbage = Client().post("/okdesk/webhook/another-guess/", b"{broken", "text/plain")
    assert good.content == garbage.content


def test_an_unknown_tokens_404_is_the_shared_urls_404(account):
    unknown = Client().post("/okdesk/webhook/not-a-token/", uis.wait(), "application/json")
    shared = Client().post("/okdesk/webhook/", uis.wait(), "application/json")
    assert (unknown.status_code, unknown.content) == (shared.status_code, shared.content)


def test_an_unknown_tokens_404_names_no_account(account):
    response = Client().post("/okdesk/webhook/not-a-token/", uis.wait(), "application/json")
    text = response.content.decode()
    assert str(uis.APP_ID) not in text
    assert "token" not in text.lower()


# --- Notifications that cannot be used -------------------------------------------------


def test_a_body_that_cannot_be_understood_is_a_400_naming_the_problem(account):
    response = uis.send(account, b'{"action": "wait", "call_id": ')
    assert response.status_code == 400
    assert "cannot be parsed" in response.json()["error"]


def test_a_body_that_cannot_be_understood_is_recorded_as_rejected_with_its_raw_body(account):
    uis.send(account, b'{"action": "wait", "call_id": ')
    event = only_event()
    assert (event.status, event.raw_body, event.integration) == (
        EventStatus.REJECTED,
        '{"action": "wait", "call_id": ',
        account,
    )


def test_a_rejected_event_keeps_the_reason(account):
    uis.send(account, b"[1, 2]")
    assert "not an object" in only_event().last_error


def test_an_empty_body_is_a_400_recorded(account):
    response = uis.send(account, b"")
    assert (response.status_code, only_event().status) == (400, EventStatus.REJECTED)


def test_a_notification_without_an_action_is_a_400(account):
    response = uis.send(account, uis.wait().replace('"action": "wait",', ""))
    assert response.status_code == 400
    assert "action" in response.json()["error"]


def test_a_notification_without_an_action_is_recorded_as_rejected(account):
    uis.send(account, uis.wait().replace('"action": "wait",', ""))
    event = only_event()
    assert (event.status, event.call_id) == (EventStatus.REJECTED, str(uis.CALL_ID))


def test_a_wait_without_a_call_id_is_a_400(account):
    response = uis.send(account, uis.wait(call_session_id=uis.ABSENT))
    assert response.status_code == 400
    assert "call_id" in response.json()["error"]


def test_a_wait_without_a_call_id_is_recorded_as_rejected(account):
    uis.send(account, uis.wait(call_session_id=uis.ABSENT))
    event = only_event()
    assert (event.status, event.action) == (EventStatus.REJECTED, "wait")


def test_a_notification_with_an_impossible_direction_is_a_400_naming_the_field(account):
    response = uis.send(account, uis.wait(direction="sideways"))
    assert response.status_code == 400
    assert "direction" in response.json()["error"]


def test_a_notification_with_an_impossible_direction_is_recorded_as_rejected(account):
    uis.send(account, uis.wait(direction="sideways"))
    assert only_event().status == EventStatus.REJECTED


def test_an_unknown_action_is_answered_200_so_uis_does_not_retry(account):
    body = uis.wait().replace('"action": "wait"', '"action": "talk_started"')
    assert uis.send(account, body).status_code == 200


def test_an_unknown_action_is_recorded_as_ignored(account):
    uis.send(account, uis.wait().replace('"action": "wait"', '"action": "talk_started"'))
    event = only_event()
    assert (event.status, event.action) == (EventStatus.IGNORED, "talk_started")
    assert "talk_started" in event.last_error


def test_a_disabled_accounts_notification_is_answered_200(account):
    account.enabled_at = None
    account.save()
    assert uis.send(account, uis.wait()).status_code == 200


def test_a_disabled_accounts_notification_is_recorded_as_ignored(account):
    account.enabled_at = None
    account.save()
    uis.send(account, uis.wait())
    event = only_event()
    assert (event.status, event.last_error) == (EventStatus.IGNORED, "the integration is disabled")


def test_a_body_in_neither_utf8_nor_windows_1251_is_a_400_recorded_not_a_server_error(account):
    response = uis.send(account, b"\x98", client=Client(raise_request_exception=False))
    assert (response.status_code, CallEvent.objects.filter(status="rejected").count()) == (400, 1)


def test_a_deeply_nested_body_is_a_400_recorded_not_a_server_error(account):
    body = b'{"action": "wait", "a": ' + b"[" * 50_000 + b"]" * 50_000 + b"}"
    response = uis.send(account, body, client=Client(raise_request_exception=False))
    assert (response.status_code, CallEvent.objects.filter(status="rejected").count()) == (400, 1)


def test_a_number_too_large_for_a_float_is_a_400_recorded_not_a_server_error(account):
    body = uis.wait().replace('"app_id":555', '"app_id":1e400')
    response = uis.send(account, body, client=Client(raise_request_exception=False))
    assert (response.status_code, CallEvent.objects.filter(status="rejected").count()) == (400, 1)


# --- Repeats -----------------------------------------------------------------------------


def test_the_same_notification_twice_is_answered_duplicate_the_second_time(account):
    uis.send(account, uis.wait())
    second = uis.send(account, uis.wait())
    assert (second.status_code, second.json()) == (200, {"status": "duplicate"})


def test_the_same_notification_twice_is_one_event_received_again_once(account):
    uis.send(account, uis.wait())
    uis.send(account, uis.wait())
    assert only_event().repeats == 1


def test_the_same_notification_in_another_format_is_still_a_duplicate(account):
    uis.send(account, uis.body("wait.json"))
    again = uis.send(account, uis.body("wait_form.txt"), content_type="text/plain")
    assert (again.json(), CallEvent.objects.count()) == ({"status": "duplicate"}, 1)


def test_two_ringing_legs_of_one_call_on_different_extensions_are_two_events(account):
    uis.send(account, uis.wait(extension_phone_number="101"))
    uis.send(account, uis.wait(extension_phone_number="102"))
    assert CallEvent.objects.filter(action="wait", call_id=str(uis.CALL_ID)).count() == 2


def test_the_wait_and_the_history_of_one_call_are_two_events(account):
    uis.send(account, uis.wait())
    uis.send(account, uis.history())
    assert CallEvent.objects.filter(call_id=str(uis.CALL_ID)).count() == 2


def test_two_recordings_of_one_call_are_two_events(account):
    uis.send(account, uis.history())
    uis.send(account, uis.history(file_link=uis.SECOND_RECORDING))
    assert CallEvent.objects.filter(action="history").count() == 2


def test_the_same_call_id_on_two_accounts_is_two_events(account, other_account):
    uis.send(account, uis.wait())
    uis.send(other_account, uis.wait(app_id=OTHER_APP_ID))
    assert CallEvent.objects.count() == 2


# --- Formats ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "content_type",
    ["text/plain", "application/x-www-form-urlencoded", "", "application/json; charset=utf-8"],
)
def test_a_json_body_is_read_whatever_the_content_type(account, content_type):
    response = uis.send(account, uis.wait(), content_type=content_type)
    assert (response.status_code, only_event().call_id) == (200, str(uis.CALL_ID))


def test_a_form_encoded_body_is_accepted(account):
    response = uis.send(
        account, uis.body("history_form.txt"), content_type="application/x-www-form-urlencoded"
    )
    event = only_event()
    assert (response.status_code, event.action, event.parsed["phone_call"]["duration"]) == (
        200,
        "history",
        uis.DURATION,
    )


def test_a_get_notification_with_query_parameters_is_accepted(account):
    response = Client().get(f"{uis.webhook_path(account)}?{uis.text('history_query.txt')}")
    event = only_event()
    assert (response.status_code, event.method, event.action, event.parsed["file_url"]) == (
        200,
        "GET",
        "history",
        [uis.RECORDING],
    )


def test_a_windows_1251_body_is_accepted(account):
    response = uis.send(account, uis.body("lost_cp1251.txt"), content_type="text/plain")
    event = only_event()
    assert (response.status_code, event.parsed["noanswered_employee_full_names"]) == (
        200,
        uis.NOT_ANSWERED,
    )


def test_a_windows_1251_body_is_stored_readable(account):
    uis.send(account, uis.body("lost_cp1251.txt"), content_type="text/plain")
    assert "Иванов Иван" in only_event().raw_body


def test_a_body_with_quoted_placeholders_is_accepted(account):
    response = uis.send(account, uis.body("wait_quoted_placeholders.txt"))
    assert (response.status_code, only_event().parsed["direction"]) == (200, "in")


def test_a_lost_call_with_bare_placeholders_is_accepted(account):
    response = uis.send(account, uis.body("lost_unsubstituted.txt"))
    assert (response.status_code, only_event().status) == (200, EventStatus.PENDING)


# --- Who may call it ------------------------------------------------------------------------


def test_no_csrf_token_is_needed(account):
    response = uis.send(account, uis.wait(), client=Client(enforce_csrf_checks=True))
    assert response.status_code == 200


def test_the_webhook_needs_no_session(account):
    response = uis.send(account, uis.wait())
    assert response.status_code == 200
    assert "sessionid" not in response.cookies


def test_one_accounts_token_never_stores_events_on_another_account(account, other_account):
    uis.send(account, uis.wait(app_id=OTHER_APP_ID))
    assert (other_account.events.count(), account.events.count()) == (0, 1)


def test_one_accounts_token_never_processes_calls_for_another_account(
    account, other_account, agent
):
    from trubka.calls.models import PhoneCall

    uis.send(account, uis.wait(app_id=OTHER_APP_ID))
    drain()
    assert list(PhoneCall.objects.values_list("provider", flat=True)) == [account.provider_key]


# --- The shared URL of the guide --------------------------------------------------------


def shared(body: str, address: str = "195.211.122.131", **extra):
    return Client().post("/okdesk/webhook/", body, "application/json", REMOTE_ADDR=address, **extra)


def allow_shared(account: Integration, networks: str = "195.211.122.0/24") -> None:
    account.shared_url_allowed = True
    account.allowed_ips = networks
    account.save()


def test_the_shared_url_is_a_404_when_the_account_does_not_allow_it(account):
    account.allowed_ips = "195.211.122.0/24"
    account.save()
    assert shared(uis.wait()).status_code == 404


def test_the_shared_url_stores_nothing_when_the_account_does_not_allow_it(account):
    shared(uis.wait())
    assert CallEvent.objects.count() == 0


def test_the_shared_url_is_a_404_from_an_address_outside_the_allowed_networks(account):
    allow_shared(account)
    response = shared(uis.wait(), address="203.0.113.7")
    assert (response.status_code, CallEvent.objects.count()) == (404, 0)


def test_the_shared_url_accepts_an_allowed_account_from_an_allowed_network(account):
    allow_shared(account)
    response = shared(uis.wait(), address="195.211.122.131")
    assert (response.status_code, only_event().integration) == (200, account)


def test_the_shared_url_accepts_a_single_allowed_address(account):
    allow_shared(account, "10.0.0.1\n195.211.122.131")
    assert shared(uis.wait(), address="195.211.122.131").status_code == 200


def test_the_shared_url_routes_by_app_id(account, other_account):
    allow_shared(account)
    allow_shared(other_account)
    shared(uis.wait(app_id=OTHER_APP_ID))
    assert only_event().integration == other_account


def test_the_shared_url_is_a_404_for_an_unknown_app_id(account):
    allow_shared(account)
    assert shared(uis.wait(app_id=999)).status_code == 404


def test_the_shared_url_is_a_404_without_an_app_id(account):
    allow_shared(account)
    assert shared(uis.wait(app_id=uis.ABSENT)).status_code == 404


def test_the_shared_url_is_a_404_for_an_app_id_too_large_for_the_database(account):
    allow_shared(account)
    client = Client(raise_request_exception=False)
    response = client.post(
        "/okdesk/webhook/",
        uis.wait(app_id=10**30),
        "application/json",
        REMOTE_ADDR="195.211.122.131",
    )
    assert response.status_code == 404


def test_the_shared_url_ignores_a_forwarded_address_unless_told_to_trust_it(account):
    allow_shared(account)
    response = shared(uis.wait(), address="203.0.113.7", HTTP_X_FORWARDED_FOR="195.211.122.131")
    assert response.status_code == 404


def test_the_shared_url_uses_the_proxys_forwarded_address_when_trusted(account, settings):
    settings.TRUBKA_TRUST_X_FORWARDED_FOR = True
    allow_shared(account)
    response = shared(uis.wait(), address="10.0.0.2", HTTP_X_FORWARDED_FOR="195.211.122.131")
    assert (response.status_code, only_event().remote_addr) == (200, "195.211.122.131")


# --- No outbound traffic, no secrets in logs -------------------------------------------


@pytest.fixture
def no_outbound_http(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("the webhook made an outbound HTTP request")

    monkeypatch.setattr(httpx.Client, "send", refuse)
    monkeypatch.setattr(httpx.AsyncClient, "send", refuse)


@pytest.mark.parametrize("fixture", ["wait.json", "history.json", "lost_unsubstituted.txt"])
def test_accepting_a_notification_makes_no_outbound_http_request(
    account, no_outbound_http, fixture
):
    assert uis.send(account, uis.body(fixture)).status_code == 200


def token_in_logs(caplog, token: str) -> list[str]:
    leaks = []
    for record in caplog.records:
        text = record.getMessage() + repr(record.args)
        if token in text:
            leaks.append(f"{record.name}: {record.getMessage()}")
    return leaks


def test_the_token_never_appears_in_logs_while_accepting_and_processing(
    account, caller, agent, caplog
):
    caplog.set_level(logging.DEBUG)
    for body in (uis.wait(), uis.history(), uis.lost(call_session_id=2)):
        uis.send(account, body)
    drain()
    assert token_in_logs(caplog, account.webhook_token) == []


def test_the_token_never_appears_in_logs_when_a_notification_is_rejected(account, caplog):
    caplog.set_level(logging.DEBUG)
    uis.send(account, b'{"action": "wait", "call_id": ')
    assert token_in_logs(caplog, account.webhook_token) == []


# --- Whatever arrives -------------------------------------------------------------------

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=15)
    | st.sampled_from(["wait", "history", "lost", "{{file_link}}", '""in""', "in", "out", "101"])
)
json_values = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=10,
)
notification_keys = st.sampled_from(
    [
        "action",
        "call_id",
        "app_id",
        "direction",
        "phone",
        "extension_phone_number",
        "started_at",
        "file_url",
        "noanswered_employee_full_names",
        "phone_call",
    ]
) | st.text(max_size=10)


@st.composite
def json_ish_bodies(draw) -> bytes:
    data = draw(st.dictionaries(notification_keys, json_values, max_size=8))
    if draw(st.booleans()):
        data["action"] = draw(st.sampled_from(["wait", "history", "lost", "other"]))
        data["call_id"] = draw(st.integers(min_value=1, max_value=50))
    text = json.dumps(data, ensure_ascii=draw(st.booleans()))
    if draw(st.booleans()):
        text = text[: draw(st.integers(min_value=0, max_value=len(text)))]
    return text.encode()


FUZZ = settings(
    max_examples=80,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def assert_one_row_per_request(raw: bytes, response, before: int, repeats_before: int) -> None:
    assert response.status_code != 500
    if response.status_code == 200 and response.json() == {"status": "duplicate"}:
        assert CallEvent.objects.count() == before
        assert sum(CallEvent.objects.values_list("repeats", flat=True)) == repeats_before + 1
        return
    assert CallEvent.objects.count() == before + 1
    newest = CallEvent.objects.order_by("-id").first()
    try:
        # A leading BOM is not part of the text; NUL is kept spelled out (PostgreSQL text
        # cannot hold it).
        expected = raw.decode("utf-8-sig").replace("\x00", "\\u0000")
    except UnicodeDecodeError:
        assert newest.raw_body or not raw
    else:
        assert newest.raw_body == expected


@pytest.mark.django_db
@FUZZ
@given(raw=st.binary(max_size=300))
def test_arbitrary_bytes_never_give_a_server_error_and_are_always_recorded(account, raw):
    before = CallEvent.objects.count()
    repeats = sum(CallEvent.objects.values_list("repeats", flat=True))
    response = uis.send(
        account, raw, content_type="text/plain", client=Client(raise_request_exception=False)
    )
    assert_one_row_per_request(raw, response, before, repeats)


@pytest.mark.django_db
@FUZZ
@given(raw=json_ish_bodies())
def test_arbitrary_json_ish_bodies_never_give_a_server_error_and_are_always_recorded(account, raw):
    before = CallEvent.objects.count()
    repeats = sum(CallEvent.objects.values_list("repeats", flat=True))
    response = uis.send(account, raw, client=Client(raise_request_exception=False))
    assert_one_row_per_request(raw, response, before, repeats)


@pytest.fixture
def log_output(monkeypatch) -> list[str]:
    """Every line the configured handlers of «django.request» and its parents would write."""
    written: list[str] = []
    logger: logging.Logger | None = logging.getLogger("django.request")
    while logger is not None:
        for handler in logger.handlers:

            def emit(record, handler=handler):
                written.append(handler.format(record))

            monkeypatch.setattr(handler, "emit", emit)
        logger = logger.parent if logger.propagate else None
    return written


def test_the_token_never_reaches_the_log_output_of_a_rejected_notification_in_debug_mode(
    account, settings, log_output
):
    # Django's own «django» logger handlers (its console in DEBUG) see the record before the
    # redaction filter on the root handler does.
    settings.DEBUG = True
    uis.send(account, b'{"action": "wait", "call_id": ')
    assert any("Bad Request" in line for line in log_output)
    assert [line for line in log_output if account.webhook_token in line] == []


def test_the_token_never_reaches_the_log_output_of_a_rejected_notification(account, log_output):
    uis.send(account, b'{"action": "wait", "call_id": ')
    assert any("Bad Request" in line for line in log_output)
    assert [line for line in log_output if account.webhook_token in line] == []
