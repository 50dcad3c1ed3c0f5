"""Reading UIS notifications as UIS really sends them (parse.read_body, UisNotification)."""

from __future__ import annotations

import contextlib
import json
from datetime import UTC, datetime, timedelta, timezone

import pydantic
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from providers.uis import bodies as uis
from trubka.connector.providers.uis.notification_bodies import (
    HISTORY_BODY,
    LOST_BODY,
    TEMPLATES,
    WAIT_BODY,
)
from trubka.connector.providers.uis.parse import (
    MAX_BODY_BYTES,
    NotificationError,
    UisNotification,
    parse_time,
    read_body,
)


def note_of(raw: bytes | str, query: list[tuple[str, str]] | None = None) -> UisNotification:
    data = read_body(raw.encode() if isinstance(raw, str) else raw, query)
    return UisNotification.model_validate(data)


# --- The fixtures are what UIS sends for the guide's templates ---------------------------


def test_the_three_notification_bodies_are_the_guides_text_exactly():
    guide = uis.guide_notifications()
    assert [g.body for g in guide] == [WAIT_BODY, HISTORY_BODY, LOST_BODY]


def test_the_notification_names_and_event_types_are_the_guides():
    guide = uis.guide_notifications()
    assert [(t.name, t.event_type) for t in TEMPLATES] == [(g.name, g.event_type) for g in guide]


@pytest.mark.parametrize("name", sorted(uis.build()))
def test_every_stored_fixture_is_what_the_templates_render(name):
    assert uis.body(name) == uis.build()[name]


# --- The three notifications of a known caller --------------------------------------------


def test_a_wait_notification_is_read_with_every_field_of_the_template():
    note = note_of(uis.body("wait.json"))
    assert (note.action, note.app_id, note.call_id, note.extension, note.client_phone) == (
        "wait",
        uis.APP_ID,
        str(uis.CALL_ID),
        uis.EXTENSION,
        uis.CALLER,
    )


def test_a_wait_notification_keeps_its_direction():
    assert note_of(uis.body("wait.json")).direction == "in"


def test_a_history_notification_gives_the_recording_duration_and_numbers():
    note = note_of(uis.body("history.json"))
    assert (
        note.action,
        note.recording_urls,
        note.phone_call.duration,
        note.extension,
        note.client_phone,
        note.started_at,
    ) == ("history", [uis.RECORDING], uis.DURATION, uis.EXTENSION, uis.CALLER, uis.START_TIME)


def test_a_lost_notification_names_the_employees_who_did_not_answer():
    note = note_of(uis.body("lost.json"))
    assert (note.action, note.noanswered_employee_full_names) == ("lost", uis.NOT_ANSWERED)


def test_a_lost_notification_with_null_values_has_no_recording_and_no_extension():
    note = note_of(uis.body("lost.json"))
    assert (note.recording_urls, note.extension, note.phone_call.duration) == ([], None, None)


# --- Placeholders UIS leaves unsubstituted --------------------------------------------------


def test_a_body_with_bare_placeholders_is_not_valid_json_as_sent():
    with pytest.raises(json.JSONDecodeError, match="Expecting property name"):
        json.loads(uis.text("lost_unsubstituted.txt"))


def test_bare_placeholders_left_by_uis_are_read_as_missing_values():
    data = read_body(uis.body("lost_unsubstituted.txt"))
    assert (data["file_url"], data["phone_call"]["receiver_phone"]) == (None, None)


def test_a_lost_call_with_bare_placeholders_is_still_understood():
    note = note_of(uis.body("lost_unsubstituted.txt"))
    assert (note.action, note.call_id, note.client_phone, note.extension, note.file_url) == (
        "lost",
        str(uis.CALL_ID),
        uis.CALLER,
        None,
        [],
    )


def test_a_placeholder_inside_a_string_is_a_missing_value():
    data = read_body(b'{"action": "wait", "call_id": 1, "phone": "{{contact_phone_number}}"}')
    assert data["phone"] is None


def test_a_placeholder_with_spaces_inside_the_braces_is_a_missing_value():
    data = read_body(b'{"action": "wait", "call_id": 1, "phone": {{ contact_phone_number }}}')
    assert data["phone"] is None


def test_a_placeholder_left_inside_a_list_is_dropped_from_it():
    data = read_body(b'{"action": "lost", "call_id": 1, "file_url": [{{file_link}}]}')
    assert data["file_url"] == []


def test_a_value_that_is_its_own_field_name_is_missing():
    body = uis.wait(extension_phone_number="extension_phone_number")
    assert note_of(body).extension_phone_number is None


def test_the_uis_variable_name_in_place_of_the_call_id_is_missing():
    # The brief's template puts {{call_session_id}} under "call_id": a misconfigured rule
    # that sends the variable's name must not make every call the call "call_session_id".
    body = uis.wait(call_session_id="call_session_id")
    assert note_of(body).call_id is None


def test_the_uis_variable_name_in_place_of_the_callers_number_is_missing():
    body = uis.wait(contact_phone_number="contact_phone_number")
    assert note_of(body).client_phone is None


@pytest.mark.parametrize("empty", ["null", "None", "undefined", "", "   "])
def test_empty_looking_strings_are_missing_values(empty):
    data = read_body(json.dumps({"action": "wait", "call_id": 1, "phone": empty}).encode())
    assert data["phone"] is None


# --- Placeholders quoted in the template ---------------------------------------------------


def test_quoted_placeholders_produce_doubled_quotes_as_sent():
    assert '"direction": ""in""' in uis.text("wait_quoted_placeholders.txt")


def test_doubled_quotes_from_quoted_placeholders_are_repaired():
    note = note_of(uis.body("wait_quoted_placeholders.txt"))
    assert (note.direction, note.client_phone, note.extension, note.app_id, note.call_id) == (
        "in",
        uis.CALLER,
        uis.EXTENSION,
        uis.APP_ID,
        str(uis.CALL_ID),
    )


def test_doubled_quotes_around_an_empty_value_are_a_missing_value():
    data = read_body(b'{"action": "wait", "call_id": 1, "phone": """"}')
    assert data["phone"] is None


def test_a_string_that_keeps_literal_quotes_loses_them():
    data = read_body(
        json.dumps({"action": "wait", "call_id": 1, "phone": '"79161234567"'}).encode()
    )
    assert data["phone"] == "79161234567"


# --- Numbers and strings ---------------------------------------------------------------------


def test_numbers_sent_as_strings_become_numbers():
    note = note_of(uis.body("history_numbers_as_strings.json"))
    assert (note.app_id, note.phone_call.duration) == (uis.APP_ID, uis.DURATION)


def test_a_call_id_sent_as_a_string_is_the_same_call_id_as_a_number():
    as_text = note_of(uis.body("history_numbers_as_strings.json")).call_id
    assert as_text == note_of(uis.body("history.json")).call_id == str(uis.CALL_ID)


def test_a_phone_number_sent_as_a_json_number_becomes_text():
    note = note_of(uis.wait(contact_phone_number=79161234567, extension_phone_number=101))
    assert (note.client_phone, note.extension) == (uis.CALLER, uis.EXTENSION)


def test_a_duration_sent_as_a_fraction_is_whole_seconds():
    note = note_of(uis.history(file_duration="95.0"))
    assert note.phone_call.duration == 95


def test_a_duration_that_is_not_a_number_is_a_validation_error():
    with pytest.raises(pydantic.ValidationError):
        note_of(uis.history(file_duration="ninety-five"))


def test_a_number_too_large_for_a_float_is_a_validation_error_not_a_crash():
    # 1e400 is valid JSON; json.loads reads it as infinity.
    with pytest.raises(pydantic.ValidationError):
        UisNotification.model_validate(read_body(b'{"action": "wait", "app_id": 1e400}'))


def test_an_infinite_duration_in_text_is_a_validation_error_not_a_crash():
    with pytest.raises(pydantic.ValidationError):
        note_of(uis.history(file_duration="inf"))


# --- Lists: the recording link and the employees -----------------------------------------


def test_a_single_recording_link_is_a_list_of_one():
    assert note_of(uis.body("history.json")).file_url == [uis.RECORDING]


def test_recording_links_sent_as_a_list_are_all_kept():
    note = note_of(uis.body("history_file_link_list.json"))
    assert note.recording_urls == [uis.RECORDING, uis.SECOND_RECORDING]


def test_recording_links_sent_as_json_text_are_a_list():
    note = note_of(uis.body("history_file_link_json_text.json"))
    assert note.recording_urls == [uis.RECORDING, uis.SECOND_RECORDING]


def test_a_recording_link_that_is_not_a_web_address_is_not_a_recording():
    note = note_of(uis.history(file_link="file_link.mp3"))
    assert (note.file_url, note.recording_urls) == (["file_link.mp3"], [])


def test_a_single_name_of_an_employee_who_did_not_answer_is_a_list_of_one():
    note = note_of(uis.lost(noanswered_employee_full_names="Иванов Иван"))
    assert note.noanswered_employee_full_names == ["Иванов Иван"]


def test_names_of_employees_who_did_not_answer_sent_as_json_text_are_a_list():
    note = note_of(uis.lost(noanswered_employee_full_names=json.dumps(uis.NOT_ANSWERED)))
    assert note.noanswered_employee_full_names == uis.NOT_ANSWERED


def test_no_employees_who_did_not_answer_is_an_empty_list():
    note = note_of(uis.lost(noanswered_employee_full_names=None))
    assert note.noanswered_employee_full_names == []


# --- Form bodies and GET query strings -------------------------------------------------------


def test_a_form_encoded_wait_is_read_like_the_json_one():
    form = note_of(uis.body("wait_form.txt"))
    json_ = note_of(uis.body("wait.json"))
    assert (form.action, form.call_id, form.client_phone, form.extension, form.direction) == (
        json_.action,
        json_.call_id,
        json_.client_phone,
        json_.extension,
        json_.direction,
    )


def test_a_form_field_keeps_no_literal_quotes():
    data = read_body(uis.body("wait_form.txt"))
    assert (data["phone"], data["direction"]) == (uis.CALLER, "in")


def test_a_form_field_named_with_brackets_is_nested():
    data = read_body(uis.body("history_form.txt"))
    assert data["phone_call"] == {
        "duration": str(uis.DURATION),
        "receiver_phone": uis.EXTENSION,
        "source_phone": uis.CALLER,
    }


def test_a_form_encoded_history_gives_the_duration_and_recording():
    note = note_of(uis.body("history_form.txt"))
    assert (note.phone_call.duration, note.recording_urls, note.started_at) == (
        uis.DURATION,
        [uis.RECORDING],
        uis.START_TIME,
    )


def test_a_list_in_a_form_field_arrives_as_json_text_and_is_a_list():
    note = note_of(uis.body("lost_form.txt"))
    assert note.noanswered_employee_full_names == uis.NOT_ANSWERED


def query_pairs(query: str) -> list[tuple[str, str]]:
    from urllib.parse import parse_qsl

    return parse_qsl(query, keep_blank_values=True)


def test_a_get_notification_is_read_from_the_query_string_when_the_body_is_empty():
    note = note_of(b"", query_pairs(uis.text("history_query.txt")))
    assert (note.action, note.call_id, note.phone_call.duration, note.recording_urls) == (
        "history",
        str(uis.CALL_ID),
        uis.DURATION,
        [uis.RECORDING],
    )


def test_a_get_notification_keeps_no_literal_quotes_and_nests_brackets():
    data = read_body(b"", query_pairs(uis.text("history_query.txt")))
    assert (data["started_at"], data["phone_call"]["receiver_phone"]) == (
        uis.START_TIME,
        uis.EXTENSION,
    )


def test_a_body_wins_over_the_query_string():
    note = note_of(uis.body("wait.json"), [("action", "lost"), ("call_id", "1")])
    assert (note.action, note.call_id) == ("wait", str(uis.CALL_ID))


# --- Extra fields and encodings ------------------------------------------------------------


def test_fields_the_templates_do_not_have_are_kept():
    data = read_body(uis.body("wait_extra_fields.json"))
    assert (data["leg_id"], data["employee_full_name"], data["is_transfer"]) == (
        771234567,
        "Иванов Иван",
        False,
    )


def test_extra_fields_survive_validation():
    note = note_of(uis.body("wait_extra_fields.json"))
    assert note.model_extra is not None
    assert note.model_extra["notification_name"] == "Ожидание ответа (okdesk)"


def test_a_null_extra_field_is_kept_as_null():
    assert read_body(uis.body("wait_extra_fields.json"))["tag_names"] is None


def test_a_windows_1251_body_is_decoded():
    note = note_of(uis.body("lost_cp1251.txt"))
    assert note.noanswered_employee_full_names == uis.NOT_ANSWERED


@pytest.mark.parametrize("raw", [b"\x98", b'{"action": "wait", "phone": "\x98"}'])
def test_a_body_that_is_neither_utf8_nor_windows_1251_is_refused_with_a_message(raw):
    # 0x98 is the one byte Windows-1251 leaves undefined.
    with pytest.raises(NotificationError):
        read_body(raw)


def test_a_utf8_body_with_a_byte_order_mark_is_read():
    note = note_of("\ufeff".encode() + uis.body("wait.json"))
    assert note.call_id == str(uis.CALL_ID)


# --- Bodies that cannot be understood ------------------------------------------------------


@pytest.mark.parametrize("body", [b"[1, 2, 3]", b'"wait"', b"42", b"null", b"true"])
def test_json_that_is_not_an_object_is_refused_with_a_message(body):
    with pytest.raises(NotificationError, match="not an object"):
        read_body(body)


@pytest.mark.parametrize(
    "body",
    [b'{"action": "wait", "call_id": ', b'{"action" "wait"}', b"{'action': 'wait'}"],
)
def test_broken_json_is_refused_with_a_message_about_the_template(body):
    with pytest.raises(NotificationError, match="template"):
        read_body(body)


@pytest.mark.parametrize("body", [b"", b"   \n\t  "])
def test_an_empty_body_without_a_query_string_is_refused(body):
    with pytest.raises(NotificationError, match="empty"):
        read_body(body)


def test_an_empty_body_with_an_empty_query_string_is_refused():
    with pytest.raises(NotificationError, match="empty"):
        read_body(b"", [])


def test_an_oversized_body_is_refused_with_the_limit_named():
    body = b'{"action": "wait", "pad": "' + b"x" * MAX_BODY_BYTES + b'"}'
    with pytest.raises(NotificationError, match="KiB"):
        read_body(body)


def test_a_body_just_under_the_limit_is_read():
    pad = MAX_BODY_BYTES - 64
    body = b'{"action": "wait", "pad": "' + b"x" * pad + b'"}'
    assert read_body(body)["action"] == "wait"


@pytest.mark.parametrize("depth", [2_000, 50_000])
def test_a_deeply_nested_body_is_refused_not_a_crash(depth):
    with pytest.raises(NotificationError):
        read_body(b'{"a": ' + b"[" * depth + b"]" * depth + b"}")


# --- Times -----------------------------------------------------------------------------------


def test_a_local_time_with_microseconds_is_in_the_accounts_zone():
    parsed = parse_time("2026-03-01 10:00:00.123456", "Asia/Yekaterinburg")
    assert parsed == datetime(2026, 3, 1, 5, 0, 0, 123456, tzinfo=UTC)


def test_a_local_time_with_milliseconds_is_in_the_accounts_zone():
    parsed = parse_time("2019-12-16 14:40:47.234", "Europe/Moscow")
    assert parsed == datetime(2019, 12, 16, 11, 40, 47, 234000, tzinfo=UTC)


def test_a_local_time_without_fractions_is_in_the_accounts_zone():
    parsed = parse_time("2026-03-01 10:00:00", "Europe/Moscow")
    assert parsed == datetime(2026, 3, 1, 7, 0, tzinfo=UTC)


def test_an_explicit_offset_is_respected_over_the_accounts_zone():
    parsed = parse_time("2026-03-01T10:00:00+03:00", "Asia/Yekaterinburg")
    assert parsed == datetime(2026, 3, 1, 10, 0, tzinfo=timezone(timedelta(hours=3)))


def test_an_explicit_utc_time_is_respected():
    parsed = parse_time("2026-03-01T10:00:00Z", "Asia/Yekaterinburg")
    assert parsed == datetime(2026, 3, 1, 10, 0, tzinfo=UTC)


UNIX_TIME = datetime(2026, 3, 1, 7, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    "value",
    [int(UNIX_TIME.timestamp()), str(int(UNIX_TIME.timestamp())), float(UNIX_TIME.timestamp())],
)
def test_unix_seconds_are_an_instant(value):
    assert parse_time(value, "Asia/Yekaterinburg") == UNIX_TIME


@pytest.mark.parametrize(
    "value", [int(UNIX_TIME.timestamp() * 1000), str(int(UNIX_TIME.timestamp() * 1000))]
)
def test_unix_milliseconds_are_an_instant(value):
    assert parse_time(value, "Europe/Moscow") == UNIX_TIME


def test_a_missing_time_is_none():
    assert parse_time(None, "Europe/Moscow") is None


def test_a_time_that_is_not_a_time_is_a_value_error():
    with pytest.raises(ValueError, match="not a date and time"):
        parse_time("yesterday", "Europe/Moscow")


def test_a_notification_gives_its_start_time_in_the_accounts_zone():
    note = note_of(uis.body("history.json"))
    assert note.start_time("Asia/Yekaterinburg") == datetime(
        2026, 3, 1, 5, 0, 0, 123456, tzinfo=UTC
    )


# --- Direction ----------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["in", "IN", "incoming", "Inbound", " in "])
def test_incoming_synonyms_are_in(value):
    assert note_of(uis.wait(direction=value)).direction == "in"


@pytest.mark.parametrize("value", ["out", "OUT", "outgoing", "outbound"])
def test_outgoing_synonyms_are_out(value):
    assert note_of(uis.wait(direction=value)).direction == "out"


def test_a_missing_direction_is_incoming():
    assert note_of(uis.wait(direction=uis.ABSENT)).direction == "in"


@pytest.mark.parametrize("value", ["sideways", "internal", "2"])
def test_a_direction_that_is_neither_in_nor_out_is_rejected(value):
    with pytest.raises(pydantic.ValidationError, match="direction"):
        note_of(uis.wait(direction=value))


# --- Properties ------------------------------------------------------------------------------

KNOWN_KEYS = [
    "action",
    "app_id",
    "call_id",
    "direction",
    "phone",
    "extension_phone_number",
    "started_at",
    "file_url",
    "noanswered_employee_full_names",
    "phone_call",
    "duration",
    "receiver_phone",
    "source_phone",
]
keys = st.one_of(st.sampled_from(KNOWN_KEYS), st.text(max_size=12))
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20)
    | st.sampled_from(["{{file_link}}", '""in""', "in", "out", "123", '["a"]', "1.5"]),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(keys, children, max_size=4),
    max_leaves=12,
)
json_objects = st.dictionaries(keys, json_values, min_size=1, max_size=8)

FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(st.binary(max_size=400))
def test_read_body_raises_only_notification_errors_on_arbitrary_bytes(raw):
    with contextlib.suppress(NotificationError):
        read_body(raw)


@FUZZ
@given(json_objects)
def test_read_body_reads_every_json_object(data):
    assert isinstance(read_body(json.dumps(data).encode()), dict)


@FUZZ
@given(json_objects)
def test_validation_of_any_json_object_raises_only_validation_errors(data):
    with contextlib.suppress(pydantic.ValidationError):
        UisNotification.model_validate(read_body(json.dumps(data).encode()))


@FUZZ
@given(st.text(max_size=400))
def test_validation_of_any_readable_text_body_raises_only_validation_errors(body):
    try:
        data = read_body(body.encode())
    except NotificationError:
        return
    with contextlib.suppress(pydantic.ValidationError):
        UisNotification.model_validate(data)
