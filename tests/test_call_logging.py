"""Logging calls from PBX notifications and attaching their recordings."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from trubka.calls.actions import do_add_recording, do_log_call
from trubka.calls.models import CallRecording, Direction, PhoneCall
from trubka.clients.actions import do_create_company, do_create_contact

START = datetime(2025, 3, 14, 9, 30, tzinfo=UTC)


def log(call_id: str = "call-1", *, provider: str = "uis", **fields) -> PhoneCall:
    """One notification of the call ``call_id``; the client number defaults to the caller's."""
    fields.setdefault("started_at", START)
    fields.setdefault("client_number", "+79161234567")
    return do_log_call(provider=provider, provider_call_id=call_id, **fields)


def reloaded(call: PhoneCall) -> PhoneCall:
    return PhoneCall.objects.get(pk=call.pk)


# --- Finding the client ------------------------------------------------------------------


def test_a_logged_call_is_linked_to_the_contact_saved_in_another_format(caller, company):
    call = reloaded(log(client_number="+7 916 123 45 67"))
    assert (call.contact, call.company) == (caller, company)


def test_a_logged_call_stores_the_normalised_client_number(db):
    call = reloaded(log(client_number="8 (916) 123-45-67"))
    assert (call.client_number, call.client_e164, call.client_match_key) == (
        "8 (916) 123-45-67",
        "+79161234567",
        "9161234567",
    )


def test_a_call_from_an_unknown_number_has_no_client_but_keeps_the_match_key(caller):
    call = reloaded(log(client_number="+7 999 000-00-00"))
    assert (call.contact, call.company, call.client_match_key) == (None, None, "9990000000")


def test_a_call_from_a_number_two_contacts_share_is_linked_to_nobody(db):
    for last_name, company in (("Сидоров", "Альфа"), ("Петров", "Бета")):
        do_create_contact(
            first_name="Тест",
            last_name=last_name,
            company=do_create_company(name=company),
            phones=[("mobile", "8 916 123 45 67")],
        )
    call = reloaded(log(client_number="+79161234567"))
    assert (call.contact, call.company) == (None, None)


def test_a_client_number_given_only_in_a_later_notification_links_the_client(caller):
    log(client_number="")
    call = reloaded(log(client_number="89161234567"))
    assert call.contact == caller


# --- One row per call session ------------------------------------------------------------


def test_a_second_notification_of_a_call_updates_the_same_row(db):
    first = log()
    second = log(talk_duration=30)
    assert second.pk == first.pk
    assert PhoneCall.objects.count() == 1


def test_the_same_call_id_from_another_provider_is_another_call(db):
    log(provider="uis")
    log(provider="manual")
    assert PhoneCall.objects.count() == 2


def test_values_left_out_of_a_later_notification_are_kept(db, agent):
    answered = START + timedelta(seconds=12)
    log(our_number="101", employee=agent, answered_at=answered, wait_duration=12)
    call = reloaded(log(client_number="", finished_at=START + timedelta(minutes=2)))
    assert (
        call.client_e164,
        call.our_number,
        call.employee,
        call.answered_at,
        call.wait_duration,
    ) == ("+79161234567", "101", agent, answered, 12)


def test_the_direction_left_out_of_a_later_notification_is_kept(db):
    log(direction=Direction.OUTGOING)
    call = reloaded(log(talk_duration=30))
    assert call.direction == Direction.OUTGOING


def test_values_given_in_a_later_notification_overwrite_earlier_ones(db, agent, agent2):
    log(employee=agent, talk_duration=10, our_number="101")
    call = reloaded(log(employee=agent2, talk_duration=30, our_number="102"))
    assert (call.employee, call.talk_duration, call.our_number) == (agent2, 30, "102")


def test_an_earlier_start_from_a_later_notification_replaces_the_start(db):
    log(started_at=START)
    call = reloaded(log(started_at=START - timedelta(seconds=5)))
    assert call.started_at == START - timedelta(seconds=5)


def test_a_later_start_from_a_later_notification_keeps_the_earliest_start(db):
    log(started_at=START)
    call = reloaded(log(started_at=START + timedelta(seconds=5)))
    assert call.started_at == START


def test_a_missed_call_stays_missed_when_a_later_notification_says_otherwise(db):
    log(is_missed=True, missed_by="Иванов Иван")
    call = reloaded(log(is_missed=False))
    assert call.is_missed is True


def test_provider_data_of_notifications_is_merged(db):
    log(raw={"event": "start", "virtual_phone": "74950000000"})
    call = reloaded(log(raw={"event": "finish", "talk_time": 30}))
    assert call.raw == {"event": "finish", "virtual_phone": "74950000000", "talk_time": 30}


# --- Recordings --------------------------------------------------------------------------


def test_the_same_recording_link_twice_is_one_recording(db):
    call = log()
    url = "https://records.example.ru/call-1.mp3"
    first = do_add_recording(call, source_url=url, duration=95)
    second = do_add_recording(call, source_url=url, duration=95)
    assert first.pk == second.pk
    assert call.recordings.count() == 1


def test_one_link_on_two_calls_is_two_recordings(db):
    url = "https://records.example.ru/shared.mp3"
    do_add_recording(log("call-1"), source_url=url)
    do_add_recording(log("call-2"), source_url=url)
    assert CallRecording.objects.count() == 2


def test_a_recording_without_a_link_is_allowed(db):
    call = log()
    recording = do_add_recording(call, duration=40, content_type="audio/mpeg")
    recording.refresh_from_db()
    assert (recording.call, recording.source_url, recording.duration) == (call, "", 40)


def test_recordings_without_a_link_are_not_merged(db):
    call = log()
    do_add_recording(call)
    do_add_recording(call)
    assert call.recordings.count() == 2
