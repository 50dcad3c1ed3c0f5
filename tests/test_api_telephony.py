"""Okdesk's telephony API on Trubka: ``POST /telephony/messages`` (the incoming-call popup),
``POST /phone_calls`` (call records merged by ``call_id``) and ``GET /phone_calls``; and a
script written for Okdesk run against a live server with only a base URL and a key."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest
from django.test import Client
from django.urls import reverse

from api_helpers import Api
from trubka.calls.actions import do_log_call
from trubka.calls.models import CallPopup, CallRecording, Direction, PhoneCall
from trubka.calls.popups import ring_payload
from trubka.clients.models import Contact
from trubka.okdesk_api.models import ApiKey
from trubka.realtime.models import AgentNotice
from trubka.tickets.actions import do_create_ticket
from trubka.tickets.models import Ticket

# Relative to /api/v1, as the ``api`` fixture (tests/api_helpers.py) takes them.
MESSAGES = "/telephony/messages"
CALLS = "/phone_calls"


@pytest.fixture
def api(admin_api: Api) -> Api:
    """The PBX's key is an administrator's: it keeps working while tests deactivate agents."""
    return admin_api


def errors_of(response) -> dict:
    assert response.status_code == 422, response.content
    body = response.json()
    assert set(body) == {"errors"}
    assert isinstance(body["errors"], dict)
    return body["errors"]


# --- POST /telephony/messages ---------------------------------------------------------------


@pytest.mark.parametrize("numbers", [[101], ["101"]], ids=["ints", "strings"])
def test_a_message_pops_the_call_up_for_the_employee_with_the_extension(
    api, agent, agent2, numbers
):
    response = api.post(MESSAGES, {"phone": "+79991234567", "telephony_numbers": numbers})

    assert response.status_code == 200
    assert response.json()["employees"] == [agent.pk]
    popup = CallPopup.objects.get()
    assert popup.employee == agent
    assert popup.extension == "101"
    assert popup.phone == "+79991234567"
    assert not CallPopup.objects.filter(employee=agent2).exists()


def test_the_message_pushes_a_ring_notice_like_the_connectors_wait(api, agent, agent2, caller):
    api.post(MESSAGES, {"phone": "+79161234567", "telephony_numbers": [101]})

    notice = AgentNotice.objects.get()
    assert notice.employee == agent
    assert notice.kind == "ring"
    popup = CallPopup.objects.get()
    # The payload is the one a UIS «wait» produces: the same function builds it.
    assert notice.payload == ring_payload(popup)
    assert notice.payload["client"]["kind"] == "contact"
    assert notice.payload["client"]["id"] == caller.pk
    assert notice.payload["extension"] == "101"
    assert not AgentNotice.objects.filter(employee=agent2).exists()


def test_several_extensions_ring_several_employees(api, agent, agent2):
    response = api.post(MESSAGES, {"phone": "+79991234567", "telephony_numbers": [101, "102"]})

    assert response.status_code == 200
    assert response.json()["employees"] == sorted([agent.pk, agent2.pk])
    assert set(AgentNotice.objects.values_list("employee_id", flat=True)) == {
        agent.pk,
        agent2.pk,
    }


def test_an_unknown_extension_is_200_with_no_employees(api, agent):
    response = api.post(MESSAGES, {"phone": "+79991234567", "telephony_numbers": [555]})

    assert response.status_code == 200
    assert response.json()["employees"] == []
    assert not AgentNotice.objects.exists()
    # Kept with no employee, so an administrator can see which extension is missing.
    assert CallPopup.objects.get().employee is None


def test_search_numbers_count_is_accepted(api, agent):
    response = api.post(
        MESSAGES,
        {"phone": "+79991234567", "telephony_numbers": [101], "search_numbers_count": 10},
    )

    assert response.status_code == 200


def test_an_inactive_employee_gets_no_popup(api, agent):
    agent.is_active = False
    agent.save()

    response = api.post(MESSAGES, {"phone": "+79991234567", "telephony_numbers": [101]})

    assert response.json()["employees"] == []
    assert not AgentNotice.objects.exists()


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({}, {"phone", "telephony_numbers"}),
        ({"phone": "+79991234567"}, {"telephony_numbers"}),
        ({"telephony_numbers": [101]}, {"phone"}),
        ({"phone": "+79991234567", "telephony_numbers": []}, {"telephony_numbers"}),
        ({"phone": "", "telephony_numbers": [101]}, {"phone"}),
        ({"phone": "+79991234567", "telephony_numbers": [{"x": 1}]}, {"telephony_numbers"}),
        (
            {"phone": "+79991234567", "telephony_numbers": [101], "search_numbers_count": 0},
            {"search_numbers_count"},
        ),
    ],
)
def test_a_bad_message_is_422_keyed_by_field(api, agent, body, fields):
    response = api.post(MESSAGES, body)

    errors = errors_of(response)
    assert fields <= set(errors)
    for field in fields:
        assert errors[field]
        assert isinstance(errors[field], (list, dict))
    assert not CallPopup.objects.exists()


@pytest.mark.parametrize("raw", ["not json", "[1, 2]", '"text"'])
def test_a_body_that_is_not_a_json_object_is_422(api, raw):
    response = api.post(MESSAGES, raw=raw)

    assert "base" in errors_of(response)


def test_an_overlong_extension_or_phone_is_rejected_or_fits_the_column(api, agent):
    """CallPopup.extension is 10 characters and .phone 64: PostgreSQL refuses longer values
    with a 500, SQLite stores them silently. Either a 422, or stored values that fit."""
    response = api.post(MESSAGES, {"phone": "1" * 100, "telephony_numbers": ["1" * 20]})

    assert response.status_code in (200, 422)
    for popup in CallPopup.objects.all():
        assert len(popup.extension) <= CallPopup._meta.get_field("extension").max_length
        assert len(popup.phone) <= CallPopup._meta.get_field("phone").max_length


# --- POST /phone_calls ----------------------------------------------------------------------


def call_body(**fields: object) -> dict:
    body = {
        "call_id": "1700000000.42",
        "started_at": "2026-09-30 07:16",
        "finished_at": "2026-09-30 07:17",
        "duration": 90,
        "direction": 0,
        "source_phone": "+79161234567",
        "receiver_phone": "101",
        "search_numbers_count": 10,
    }
    body.update(fields)
    return {"phone_call": {k: v for k, v in body.items() if v is not None}}


def test_a_call_is_recorded_and_matched_to_the_contact_and_the_employee(api, agent, caller):
    response = api.post(CALLS, call_body())

    assert response.status_code == 200
    call = PhoneCall.objects.get()
    assert call.provider_call_id == "1700000000.42"
    assert call.direction == Direction.INCOMING
    assert call.contact == caller  # stored as «8 (916) 123-45-67», sent as «+79161234567»
    assert call.company == caller.company
    assert call.employee == agent
    assert call.talk_duration == 90
    body = response.json()
    assert body["id"] == call.pk
    assert body["call_id"] == "1700000000.42"
    assert body["contact_id"] == caller.pk
    assert body["employee_id"] == agent.pk
    assert body["direction"] == 0
    assert body["duration"] == 90


def test_times_are_read_and_returned_in_the_account_zone(api, settings, agent):
    assert settings.TIME_ZONE == "Europe/Moscow"

    body = api.post(CALLS, call_body()).json()

    call = PhoneCall.objects.get()
    assert call.started_at == datetime(2026, 9, 30, 4, 16, tzinfo=UTC)
    assert call.finished_at == datetime(2026, 9, 30, 4, 17, tzinfo=UTC)
    assert body["started_at"] == "2026-09-30T07:16:00.000+03:00"
    assert body["finished_at"] == "2026-09-30T07:17:00.000+03:00"


def test_another_account_zone_moves_the_times(api, settings, agent):
    settings.TIME_ZONE = "Asia/Yekaterinburg"

    body = api.post(CALLS, call_body()).json()

    assert PhoneCall.objects.get().started_at == datetime(2026, 9, 30, 2, 16, tzinfo=UTC)
    assert body["started_at"] == "2026-09-30T07:16:00.000+05:00"


def test_an_explicit_offset_is_respected(api, agent):
    api.post(CALLS, call_body(started_at="2026-09-30T07:16:00+05:00", finished_at=None))

    assert PhoneCall.objects.get().started_at == datetime(2026, 9, 30, 2, 16, tzinfo=UTC)


def test_the_bare_object_without_the_wrapper_is_accepted_too(api, agent):
    response = api.post(CALLS, call_body()["phone_call"])

    assert response.status_code == 200
    assert PhoneCall.objects.get().provider_call_id == "1700000000.42"


def test_posting_the_same_call_id_twice_updates_one_row(api, agent, caller):
    first = api.post(CALLS, call_body(finished_at=None, duration=None)).json()
    second = api.post(CALLS, call_body(finished_at="2026-09-30 07:20", duration=240)).json()

    assert PhoneCall.objects.count() == 1
    assert first["id"] == second["id"]
    call = PhoneCall.objects.get()
    assert call.talk_duration == 240
    assert second["finished_at"] == "2026-09-30T07:20:00.000+03:00"
    assert second["contact_id"] == caller.pk


def test_other_call_ids_are_other_rows(api, agent):
    api.post(CALLS, call_body(call_id="a"))
    api.post(CALLS, call_body(call_id="b"))

    assert PhoneCall.objects.count() == 2


def test_an_outgoing_call_swaps_the_roles_of_the_numbers(api, agent, caller):
    body = api.post(
        CALLS,
        call_body(direction=1, source_phone="101", receiver_phone="8 916 123-45-67"),
    ).json()

    call = PhoneCall.objects.get()
    assert call.direction == Direction.OUTGOING
    assert call.employee == agent
    assert call.contact == caller
    assert body["direction"] == 1
    assert body["source_phone"] == "101"
    assert body["receiver_phone"] == "+7 916 123-45-67"


def test_a_later_post_without_direction_keeps_the_outgoing_direction(api, agent, caller):
    """Values left out keep the earlier ones (do_log_call's rule); the API's default
    ``direction: 0`` must not turn an outgoing call into an incoming one."""
    api.post(CALLS, call_body(direction=1, source_phone="101", receiver_phone="+79161234567"))

    api.post(CALLS, {"phone_call": {"call_id": "1700000000.42", "duration": 30}})

    call = PhoneCall.objects.get()
    assert call.direction == Direction.OUTGOING
    assert call.talk_duration == 30


@pytest.mark.parametrize("direction", [0, "0", 1, "1"])
def test_direction_as_int_or_string(api, agent, direction):
    body = api.post(CALLS, call_body(direction=direction)).json()

    assert body["direction"] == int(direction)


def test_an_unknown_direction_is_422(api, agent):
    assert "direction" in errors_of(api.post(CALLS, call_body(direction=7)))
    assert not PhoneCall.objects.exists()


def test_issue_id_links_the_ticket(api, agent, caller):
    ticket = do_create_ticket(title="Не работает интернет", contact=caller)

    body = api.post(CALLS, call_body(issue_id=ticket.pk)).json()

    assert PhoneCall.objects.get().ticket == ticket
    assert body["issue_id"] == ticket.pk


def test_an_unknown_issue_id_is_422_and_nothing_is_recorded(api, agent):
    errors = errors_of(api.post(CALLS, call_body(issue_id=999999)))

    assert "issue_id" in errors
    assert not PhoneCall.objects.exists()


def test_file_url_is_stored_as_the_calls_recording(api, agent):
    url = "https://calls.example.ru:8443/records/a.mp3"

    body = api.post(CALLS, call_body(file_url=url)).json()
    api.post(CALLS, call_body(file_url=url))

    recording = CallRecording.objects.get()
    assert recording.source_url == url
    assert recording.call == PhoneCall.objects.get()
    assert recording.duration == 90
    assert body["recordings"] == [reverse("calls:recording", args=[recording.uuid])]


def test_an_unknown_caller_is_recorded_without_a_contact(api, agent):
    body = api.post(CALLS, call_body(source_phone="+79990000000")).json()

    assert body["contact_id"] is None
    assert PhoneCall.objects.get().client_e164 == "+79990000000"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"phone_call": {}}, "call_id"),
        ({"phone_call": {"call_id": ""}}, "call_id"),
        (call_body(started_at="вчера"), "started_at"),
        (call_body(finished_at="30.13.2026 99:99"), "finished_at"),
        (call_body(duration=-1), "duration"),
        (call_body(duration="долго"), "duration"),
        (call_body(issue_id="seven"), "issue_id"),
    ],
    ids=[
        "no-call-id",
        "empty-call-id",
        "bad-started",
        "bad-finished",
        "negative-duration",
        "text-duration",
        "text-issue",
    ],
)
def test_a_bad_call_is_422_keyed_by_the_bad_field(api, agent, body, field):
    errors = errors_of(api.post(CALLS, body))

    assert field in errors
    assert not PhoneCall.objects.exists()


def test_overlong_numbers_are_rejected_or_fit_the_columns(api, agent):
    """PhoneCall.client_number/our_number are 64 characters and a recording's link 1000:
    PostgreSQL refuses longer values with a 500. Either a 422, or stored values that fit."""
    response = api.post(
        CALLS,
        call_body(
            source_phone="7" * 100,
            receiver_phone="1" * 100,
            file_url="https://example.ru/" + "a" * 1000,
        ),
    )

    assert response.status_code in (200, 422)
    for call in PhoneCall.objects.all():
        assert len(call.client_number) <= 64
        assert len(call.our_number) <= 64
    for recording in CallRecording.objects.all():
        assert len(recording.source_url) <= 1000


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"duration": 2**70}, "duration"),
        ({"started_at": "0001-01-01 00:00", "finished_at": None}, "started_at"),
        ({"finished_at": "0001-01-01 00:00"}, "finished_at"),
    ],
    ids=["duration-beyond-64-bits", "started-year-1", "finished-year-1"],
)
def test_values_no_database_can_hold_are_422_not_500(api, agent, fields, field):
    api.client.raise_request_exception = False

    response = api.post(CALLS, call_body(**fields))

    assert field in errors_of(response)


def test_a_duration_beyond_the_columns_range_is_rejected_or_fits(api, agent):
    """talk_duration is a PositiveIntegerField: 32 bits on PostgreSQL, which refuses 2**40
    with a 500 (SQLite stores it). Either a 422, or a stored value that fits."""
    response = api.post(CALLS, call_body(duration=2**40))

    assert response.status_code in (200, 422)
    for call in PhoneCall.objects.all():
        assert call.talk_duration is None or call.talk_duration <= 2**31 - 1


# --- GET /phone_calls -----------------------------------------------------------------------


@pytest.fixture
def history(agent, caller):
    """Four calls: three from the caller (one missed, one outgoing), one from a stranger."""
    base = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)

    def log(call_id: str, minutes: int, number: str, **kw: object) -> PhoneCall:
        return do_log_call(
            provider="api",
            provider_call_id=call_id,
            started_at=base + timedelta(minutes=minutes),
            client_number=number,
            **kw,  # type: ignore[arg-type]
        )

    return {
        "answered": log("h1", 0, "+79161234567", employee=agent, talk_duration=60),
        "missed": log("h2", 60, "8 916 123 45 67", is_missed=True),
        "outgoing": log("h3", 24 * 60, "9161234567", direction=Direction.OUTGOING),
        "stranger": log("h4", 2 * 24 * 60, "+74950000000"),
    }


def ids(response) -> list[int]:
    assert response.status_code == 200, response.content
    body = response.json()
    assert isinstance(body, list)
    return [c["id"] for c in body]


def test_the_list_is_newest_first(api, history):
    assert ids(api.get(CALLS)) == [
        history[k].pk for k in ("stranger", "outgoing", "missed", "answered")
    ]


@pytest.mark.parametrize("phone", ["+79161234567", "8 (916) 123-45-67", "9161234567"])
def test_filter_by_phone_in_any_format(api, history, phone):
    assert set(ids(api.get(CALLS, {"phone": phone}))) == {
        history[k].pk for k in ("answered", "missed", "outgoing")
    }


def test_filter_by_contact(api, history, caller):
    assert set(ids(api.get(CALLS, {"contact_id": caller.pk}))) == {
        history[k].pk for k in ("answered", "missed", "outgoing")
    }
    assert ids(api.get(CALLS, {"contact_id": 999999})) == []


def test_filter_by_company_and_employee(api, history, caller, agent):
    assert len(ids(api.get(CALLS, {"company_id": caller.company_id}))) == 3
    assert ids(api.get(CALLS, {"employee_id": agent.pk})) == [history["answered"].pk]


def test_filter_missed(api, history):
    assert ids(api.get(CALLS, {"missed": "true"})) == [history["missed"].pk]
    assert history["missed"].pk not in ids(api.get(CALLS, {"missed": "false"}))
    body = api.get(CALLS, {"missed": "true"}).json()
    assert body[0]["missed"] is True


def test_filter_direction(api, history):
    assert ids(api.get(CALLS, {"direction": 1})) == [history["outgoing"].pk]
    assert history["outgoing"].pk not in ids(api.get(CALLS, {"direction": 0}))
    assert "direction" in errors_of(api.get(CALLS, {"direction": 5}))


def test_filter_by_dates_in_the_account_zone(api, history):
    # 2026-03-10 09:00 UTC is 12:00 in Moscow; the next calls are a day and two days later.
    assert set(ids(api.get(CALLS, {"started_since": "2026-03-10 12:30"}))) == {
        history[k].pk for k in ("missed", "outgoing", "stranger")
    }
    until = {"started_until": "2026-03-10 12:30"}
    assert set(ids(api.get(CALLS, until))) == {history["answered"].pk}
    one_day = {"started_since": "11-03-2026 00:00", "started_until": "11-03-2026 23:59"}
    assert set(ids(api.get(CALLS, one_day))) == {history["outgoing"].pk}


def test_a_bad_date_filter_is_422(api, history):
    assert errors_of(api.get(CALLS, {"started_since": "someday"}))


def test_paging(api, history):
    newest_first = ids(api.get(CALLS))

    pages = [ids(api.get(CALLS, {"page[size]": 3, "page[number]": n})) for n in (1, 2, 3)]

    assert pages == [newest_first[:3], newest_first[3:], []]
    assert errors_of(api.get(CALLS, {"page[size]": 101}))["page"]


def test_the_list_needs_a_key(db, history):
    assert Client().get(f"/api/v1{CALLS}").status_code == 401


# --- A script written for Okdesk, against a live server ------------------------------------


def _registered(method: str, path: str) -> bool:
    """Whether ``/api/v1`` serves ``method path`` (other routers are still being written)."""
    from trubka.okdesk_api.api import api as ninja_api

    schema = ninja_api.get_openapi_schema(path_prefix="/api/v1")
    return method.lower() in schema["paths"].get(path, {})


class OkdeskScript:
    """What an Okdesk integration does, knowing only the base URL and the key."""

    def __init__(self, base_url: str, api_token: str) -> None:
        self.http = httpx.Client(
            base_url=base_url.rstrip("/") + "/", params={"api_token": api_token}, timeout=10
        )

    def post(self, path: str, body: dict) -> dict:
        response = self.http.post(path, json=body)
        assert response.status_code in (200, 201), (path, response.status_code, response.text)
        result = response.json()
        assert isinstance(result, dict)
        return result

    def close(self) -> None:
        self.http.close()


@pytest.mark.django_db(transaction=True)
def test_a_telephony_script_against_the_live_server(live_server, agent, caller):
    """Log a call and pop it up, with httpx over a real socket: the desk shows both."""
    _key, api_token = ApiKey.issue(agent)
    script = OkdeskScript(f"{live_server.url}/api/v1", api_token)
    try:
        logged = script.post(
            "phone_calls",
            {
                "phone_call": {
                    "call_id": "live-1",
                    "started_at": "2026-09-30 07:16",
                    "finished_at": "2026-09-30 07:17",
                    "duration": 60,
                    "direction": 0,
                    "source_phone": "+79161234567",
                    "receiver_phone": "101",
                    "search_numbers_count": 10,
                }
            },
        )
        script.post(
            "telephony/messages/",  # Okdesk clients write a trailing slash as often as not
            {"phone": "+79161234567", "telephony_numbers": [101], "search_numbers_count": 10},
        )
        unauthorized = httpx.post(
            f"{live_server.url}/api/v1/telephony/messages",
            json={"phone": "+79161234567", "telephony_numbers": [101]},
        )
    finally:
        script.close()

    assert unauthorized.status_code == 401
    call = PhoneCall.objects.get(provider_call_id="live-1")
    assert logged["id"] == call.pk
    assert call.contact == caller
    assert call.employee == agent
    popup = CallPopup.objects.get()
    assert popup.employee == agent
    assert popup.contact == caller
    ring = AgentNotice.objects.get(kind="ring")
    assert ring.employee == agent
    assert ring.payload["client"]["id"] == caller.pk


@pytest.mark.django_db(transaction=True)
def test_an_okdesk_script_creates_a_contact_logs_a_call_opens_an_issue_and_pops_up(
    live_server, agent
):
    missing = [
        f"{method} /api/v1{path}"
        for method, path in (("POST", "/contacts"), ("POST", "/issues"))
        if not _registered(method, f"/api/v1{path}")
    ]
    if missing:
        pytest.skip(f"not registered in /api/v1 yet: {', '.join(missing)}")
    _key, api_token = ApiKey.issue(agent)
    script = OkdeskScript(f"{live_server.url}/api/v1", api_token)
    phone = "+79035551234"
    try:
        contact = script.post(
            "contacts/",
            {"contact": {"first_name": "Иван", "last_name": "Петров", "mobile_phone": phone}},
        )
        call_fields = {
            "call_id": "live-2",
            "started_at": "2026-09-30 07:16",
            "finished_at": "2026-09-30 07:17",
            "duration": 0,
            "direction": 0,
            "source_phone": phone,
            "receiver_phone": "101",
            "search_numbers_count": 10,
        }
        logged = script.post("phone_calls", {"phone_call": call_fields})
        issue = script.post(
            "issues/",
            {"issue": {"title": f"Пропущенный звонок {phone}", "contact_id": contact["id"]}},
        )
        linked = script.post(
            "phone_calls", {"phone_call": {**call_fields, "issue_id": issue["id"]}}
        )
        script.post("telephony/messages", {"phone": phone, "telephony_numbers": [101]})
    finally:
        script.close()

    desk_contact = Contact.objects.get(pk=contact["id"])
    assert (desk_contact.last_name, desk_contact.first_name) == ("Петров", "Иван")
    assert logged["contact_id"] == desk_contact.pk
    assert linked["id"] == logged["id"]
    assert linked["issue_id"] == issue["id"]
    ticket = Ticket.objects.get(pk=issue["id"])
    assert ticket.contact == desk_contact
    call = PhoneCall.objects.get(provider_call_id="live-2")
    assert call.contact == desk_contact
    assert call.ticket == ticket
    assert call.employee == agent
    popup = CallPopup.objects.get()
    assert (popup.employee, popup.contact) == (agent, desk_contact)
    ring = AgentNotice.objects.get(kind="ring")
    assert ring.employee == agent
    assert ring.payload["client"]["id"] == desk_contact.pk
    assert [t["id"] for t in ring.payload["tickets"]] == [ticket.pk]
