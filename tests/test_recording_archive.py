"""Archiving a recording: the provider's audio copied into Trubka's storage, behind the guard.

``archive_recording`` is what the worker runs for a queued archive job; its failures say
whether a retry may help (``TemporaryFailure``) or not (``PermanentFailure``).
"""

from __future__ import annotations

import io
import wave
from datetime import UTC, datetime

import httpx
import pytest
from django.core.files.base import ContentFile
from django.urls import reverse

import trubka.settings as trubka_settings
from fake_media import WAV, FakeMedia
from trubka.calls import archive, recordings
from trubka.calls.actions import do_log_call
from trubka.calls.archive import (
    ARCHIVE_ACTION,
    archive_queued,
    archive_recording,
    queue_archive,
)
from trubka.calls.models import CallRecording, PhoneCall
from trubka.connector.models import CallEvent, EventStatus
from trubka.core.jobs import PermanentFailure, TemporaryFailure


@pytest.fixture
def media(settings):
    settings.TRUBKA_RECORDING_HOSTS = "127.0.0.1,localhost"
    settings.TRUBKA_RECORDING_ALLOW_PRIVATE = True
    settings.TRUBKA_RECORDING_ARCHIVE = True
    with FakeMedia() as fake:
        yield fake


@pytest.fixture
def call(db) -> PhoneCall:
    return do_log_call(
        provider="manual",
        provider_call_id="archive-1",
        started_at=datetime(2025, 3, 10, 9, 0, tzinfo=UTC),
        client_number="+7 916 123 45 67",
    )


def linked(call: PhoneCall, url: str) -> CallRecording:
    return CallRecording.objects.create(call=call, source_url=url)


@pytest.fixture
def recording(media, call) -> CallRecording:
    return linked(call, media.add("/system/media/talk/1/2e675888ded8/"))


def stored_bytes(recording: CallRecording) -> bytes:
    recording.refresh_from_db()
    with recording.file.open("rb") as handle:
        return handle.read()


# --- A copy that plays ---------------------------------------------------------------------


def test_an_archived_recording_is_the_providers_audio(recording):
    archive_recording(recording)

    assert stored_bytes(recording) == WAV


def test_an_archived_recording_is_a_valid_wav(recording):
    archive_recording(recording)

    with wave.open(io.BytesIO(stored_bytes(recording)), "rb") as audio:
        assert (audio.getnchannels(), audio.getframerate(), audio.getnframes()) == (1, 8000, 8000)


def test_an_archived_recording_keeps_its_type_and_time_of_archiving(recording):
    archive_recording(recording)

    recording.refresh_from_db()
    assert recording.content_type == "audio/wav"
    assert recording.archived_at is not None


def test_an_archived_recording_is_saved_under_recordings_with_its_extension(recording, settings):
    archive_recording(recording)

    recording.refresh_from_db()
    assert recording.file.name.startswith("recordings/2025/03/")
    assert recording.file.name.endswith(".wav")
    assert recording.file.path.startswith(str(settings.MEDIA_ROOT))


def test_an_mp3_recording_is_stored_as_mp3(call, media):
    mp3 = linked(call, media.add("/talk/mp3", b"ID3\x03\x00" + b"\xff\xfb" * 500, "audio/mpeg"))

    archive_recording(mp3)

    mp3.refresh_from_db()
    assert (mp3.file.name.endswith(".mp3"), mp3.content_type) == (True, "audio/mpeg")


def test_a_recording_without_a_declared_type_takes_it_from_the_link(call, media):
    typeless = linked(call, media.add("/talk/1/call.wav", content_type=""))

    archive_recording(typeless)

    typeless.refresh_from_db()
    assert typeless.file.name.endswith(".wav")


def test_after_archiving_playback_comes_from_the_copy_without_asking_the_provider(
    recording, media, agent_client
):
    archive_recording(recording)
    media.requests.clear()

    response = agent_client.get(
        reverse("calls:recording", args=[recording.uuid]), headers={"range": "bytes=0-99"}
    )

    assert b"".join(response.streaming_content) == WAV[:100]
    assert media.requests == []


def test_archiving_twice_fetches_once(recording, media):
    archive_recording(recording)
    archive_recording(recording)

    assert len(media.requests) == 1


def test_a_recording_already_stored_is_not_fetched(recording, media):
    recording.file.save("call.wav", ContentFile(WAV))

    archive_recording(recording)

    assert media.requests == []


def test_archiving_asks_for_the_whole_file_without_a_range(recording, media):
    archive_recording(recording)

    assert "Range" not in media.requests[0].headers


def test_archiving_follows_an_allowed_redirect(call, media):
    media.add("/real.wav")
    moved = linked(call, media.redirect("/moved", "/real.wav", status=308))

    archive_recording(moved)

    assert stored_bytes(moved) == WAV


# --- Failures worth retrying -------------------------------------------------------------------


@pytest.mark.parametrize("status", [500, 502, 503, 408, 429])
def test_a_provider_error_that_may_pass_is_temporary(call, media, status):
    broken = linked(call, media.fail("/broken", status))

    with pytest.raises(TemporaryFailure, match=f"HTTP {status}"):
        archive_recording(broken)


def test_a_provider_too_slow_to_answer_is_temporary(call, media, monkeypatch):
    monkeypatch.setattr(recordings, "TIMEOUT", httpx.Timeout(0.2))
    slow = linked(call, media.add("/slow.wav", delay=10))

    with pytest.raises(TemporaryFailure):
        archive_recording(slow)


def test_a_provider_stalling_in_the_middle_of_the_file_is_temporary(call, media, monkeypatch):
    monkeypatch.setattr(recordings, "TIMEOUT", httpx.Timeout(0.2))
    stalled = linked(call, media.add("/stalled.wav", stall_after=1000))

    with pytest.raises(TemporaryFailure):
        archive_recording(stalled)


def test_a_download_past_its_deadline_is_temporary(call, media, monkeypatch):
    monkeypatch.setattr(archive, "ARCHIVE_DEADLINE_SECONDS", -1.0)

    with pytest.raises(TemporaryFailure):
        archive_recording(linked(call, media.add("/r.wav")))


def test_a_provider_that_cannot_be_reached_is_temporary(call, media):
    with FakeMedia() as gone:
        url = gone.add("/r.wav")

    with pytest.raises(TemporaryFailure):
        archive_recording(linked(call, url))


def test_a_host_that_does_not_resolve_is_temporary(call, settings, monkeypatch):
    settings.TRUBKA_RECORDING_HOSTS = "*.uiscom.ru"

    def no_answer(host: str, port: int) -> list[str]:
        raise recordings.RecordingUnavailable(f"the host {host} does not resolve")

    monkeypatch.setattr(recordings, "resolve", no_answer)

    with pytest.raises(TemporaryFailure):
        archive_recording(linked(call, "https://app.uiscom.ru/system/media/talk/1/abc/"))


def test_an_empty_answer_is_temporary(call, media):
    with pytest.raises(TemporaryFailure):
        archive_recording(linked(call, media.add("/empty.wav", b"")))


# --- Failures no retry helps -------------------------------------------------------------------


@pytest.mark.parametrize("status", [404, 403, 410, 400])
def test_a_link_the_provider_refuses_or_no_longer_has_is_permanent(call, media, status):
    gone = linked(call, media.fail("/gone", status))

    with pytest.raises(PermanentFailure, match=f"HTTP {status}"):
        archive_recording(gone)


def test_a_link_to_a_host_outside_the_allow_list_is_permanent_and_never_fetched(
    recording, media, settings
):
    settings.TRUBKA_RECORDING_HOSTS = "*.uiscom.ru"

    with pytest.raises(PermanentFailure, match="TRUBKA_RECORDING_HOSTS"):
        archive_recording(recording)
    assert media.requests == []


def test_a_link_to_a_private_address_is_permanent_when_private_is_not_allowed(
    recording, media, settings
):
    settings.TRUBKA_RECORDING_ALLOW_PRIVATE = False

    with pytest.raises(PermanentFailure):
        archive_recording(recording)
    assert media.requests == []


def test_a_redirect_to_a_host_outside_the_allow_list_is_permanent(call, media):
    away = linked(call, media.redirect("/away", "https://evil.example/steal"))

    with pytest.raises(PermanentFailure):
        archive_recording(away)


def test_a_recording_over_the_size_cap_is_permanent(recording, settings):
    settings.TRUBKA_RECORDING_MAX_BYTES = len(WAV) - 1

    with pytest.raises(PermanentFailure):
        archive_recording(recording)


def test_a_recording_growing_past_the_size_cap_without_a_length_is_permanent(call, media, settings):
    settings.TRUBKA_RECORDING_MAX_BYTES = 1000

    with pytest.raises(PermanentFailure):
        archive_recording(linked(call, media.add("/endless.wav", hide_length=True)))


def test_a_page_instead_of_audio_is_permanent(call, media):
    page = linked(call, media.add("/login", b"<html>please log in</html>", "text/html"))

    with pytest.raises(PermanentFailure):
        archive_recording(page)


def test_a_recording_without_a_link_is_permanent(call):
    with pytest.raises(PermanentFailure):
        archive_recording(CallRecording.objects.create(call=call))


def test_a_failed_archive_stores_nothing(call, media):
    broken = linked(call, media.fail("/broken", 500))

    with pytest.raises(TemporaryFailure):
        archive_recording(broken)

    broken.refresh_from_db()
    assert (bool(broken.file), broken.archived_at) == (False, None)


def test_a_failure_never_names_the_link(call, media):
    gone = linked(call, media.fail("/system/media/talk/1/secret-hash/", 404))

    with pytest.raises(PermanentFailure) as failure:
        archive_recording(gone)

    assert "secret-hash" not in str(failure.value)
    assert gone.source_url not in str(failure.value)


# --- The archive job ---------------------------------------------------------------------------


def test_a_new_link_queues_one_archive_job(recording):
    assert queue_archive(recording) is True

    job = CallEvent.objects.get()
    assert (job.action, job.parsed, job.status) == (
        ARCHIVE_ACTION,
        {"recording": str(recording.uuid)},
        EventStatus.PENDING,
    )


def test_the_same_recording_is_queued_once(recording):
    assert queue_archive(recording) is True
    assert queue_archive(recording) is False

    assert CallEvent.objects.filter(action=ARCHIVE_ACTION).count() == 1


def test_nothing_is_queued_when_archiving_is_off(recording, settings):
    settings.TRUBKA_RECORDING_ARCHIVE = False

    assert queue_archive(recording) is False
    assert not CallEvent.objects.exists()


def test_archiving_is_on_by_default():
    assert trubka_settings.TRUBKA_RECORDING_ARCHIVE is True


def test_nothing_is_queued_for_a_recording_already_stored(recording):
    recording.file.save("call.wav", ContentFile(WAV))

    assert queue_archive(recording) is False


def test_nothing_is_queued_for_a_recording_without_a_link(call):
    assert queue_archive(CallRecording.objects.create(call=call)) is False


def test_a_queued_job_archives_its_recording(recording):
    assert queue_archive(recording)

    archive_queued(CallEvent.objects.get().parsed)

    assert stored_bytes(recording) == WAV


@pytest.mark.parametrize(
    "parsed",
    [{}, {"recording": "not-a-uuid"}, {"recording": "00000000-0000-0000-0000-000000000000"}],
)
def test_a_job_for_a_recording_that_is_gone_is_permanent(db, parsed):
    with pytest.raises(PermanentFailure):
        archive_queued(parsed)
