"""Playing a stored recording: staff only, with HTTP Range so the <audio> element can seek."""

from __future__ import annotations

import io
import math
import struct
import wave
from datetime import UTC, datetime
from urllib.parse import urlsplit

import pytest
from django.core.files.base import ContentFile
from django.test import Client
from django.urls import reverse

from trubka.calls.actions import do_log_call
from trubka.calls.models import CallRecording


def make_wav(seconds: float = 0.1, rate: int = 8000) -> bytes:
    """A real mono 16-bit WAV of a 440 Hz tone, so every byte position is distinct enough."""
    frames = b"".join(
        struct.pack("<h", round(8000 * math.sin(2 * math.pi * 440 * n / rate)))
        for n in range(round(seconds * rate))
    )
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(frames)
    return buffer.getvalue()


WAV = make_wav()
SIZE = len(WAV)


@pytest.fixture
def call(db):
    return do_log_call(
        provider="manual",
        provider_call_id="rec-1",
        started_at=datetime(2025, 3, 10, 9, 0, tzinfo=UTC),
        client_number="+7 916 123 45 67",
    )


@pytest.fixture
def recording(call) -> CallRecording:
    recording = CallRecording.objects.create(call=call)
    recording.file.save("call.wav", ContentFile(WAV))
    return recording


def audio_url(recording: CallRecording) -> str:
    return reverse("calls:recording", args=[recording.uuid])


def body(response) -> bytes:
    if response.streaming:
        return b"".join(response.streaming_content)
    return response.content


def fetch(client: Client, recording: CallRecording, byte_range: str | None = None):
    headers = {"range": byte_range} if byte_range is not None else {}
    return client.get(audio_url(recording), headers=headers)


def test_the_wav_made_here_is_a_real_wav():
    assert WAV[:4] == b"RIFF"
    assert WAV[8:12] == b"WAVE"
    assert SIZE > 200


# --- The whole file ----------------------------------------------------------------------


def test_a_stored_recording_is_served_whole_without_a_range(agent_client, recording):
    response = fetch(agent_client, recording)

    assert response.status_code == 200
    assert body(response) == WAV
    assert response["Content-Length"] == str(SIZE)


def test_a_stored_recording_announces_byte_ranges(agent_client, recording):
    response = fetch(agent_client, recording)

    assert response["Accept-Ranges"] == "bytes"


def test_a_stored_recording_is_served_as_audio(agent_client, recording):
    response = fetch(agent_client, recording)

    assert response["Content-Type"].startswith("audio/")


def test_the_recordings_own_content_type_is_used(agent_client, recording):
    CallRecording.objects.filter(pk=recording.pk).update(content_type="audio/mpeg")

    response = fetch(agent_client, recording)

    assert response["Content-Type"] == "audio/mpeg"


# --- Ranges ------------------------------------------------------------------------------


def test_the_first_hundred_bytes_are_a_partial_response(agent_client, recording):
    response = fetch(agent_client, recording, "bytes=0-99")

    assert response.status_code == 206
    assert response["Content-Range"] == f"bytes 0-99/{SIZE}"
    assert response["Content-Length"] == "100"
    assert body(response) == WAV[:100]


def test_a_partial_response_still_announces_byte_ranges(agent_client, recording):
    response = fetch(agent_client, recording, "bytes=0-99")

    assert response["Accept-Ranges"] == "bytes"


def test_a_suffix_range_gives_the_last_bytes(agent_client, recording):
    response = fetch(agent_client, recording, "bytes=-10")

    assert response.status_code == 206
    assert response["Content-Range"] == f"bytes {SIZE - 10}-{SIZE - 1}/{SIZE}"
    assert body(response) == WAV[-10:]


def test_a_suffix_longer_than_the_file_gives_the_whole_file(agent_client, recording):
    response = fetch(agent_client, recording, f"bytes=-{SIZE + 500}")

    assert response.status_code == 206
    assert response["Content-Range"] == f"bytes 0-{SIZE - 1}/{SIZE}"
    assert body(response) == WAV


def test_an_open_ended_range_runs_to_the_end(agent_client, recording):
    response = fetch(agent_client, recording, "bytes=100-")

    assert response.status_code == 206
    assert response["Content-Range"] == f"bytes 100-{SIZE - 1}/{SIZE}"
    assert response["Content-Length"] == str(SIZE - 100)
    assert body(response) == WAV[100:]


def test_a_range_in_the_middle_gives_exactly_those_bytes(agent_client, recording):
    response = fetch(agent_client, recording, "bytes=44-143")

    assert response.status_code == 206
    assert body(response) == WAV[44:144]


def test_a_range_past_the_end_is_cut_at_the_end(agent_client, recording):
    response = fetch(agent_client, recording, f"bytes=100-{SIZE * 2}")

    assert response.status_code == 206
    assert response["Content-Range"] == f"bytes 100-{SIZE - 1}/{SIZE}"
    assert body(response) == WAV[100:]


def test_the_last_byte_alone_can_be_asked_for(agent_client, recording):
    response = fetch(agent_client, recording, f"bytes={SIZE - 1}-{SIZE - 1}")

    assert response.status_code == 206
    assert body(response) == WAV[-1:]


@pytest.mark.parametrize("byte_range", [f"bytes={SIZE}-", f"bytes={SIZE + 10}-{SIZE + 20}"])
def test_a_range_starting_past_the_end_is_unsatisfiable(agent_client, recording, byte_range):
    response = fetch(agent_client, recording, byte_range)

    assert response.status_code == 416
    assert response["Content-Range"] == f"bytes */{SIZE}"


def test_a_backwards_range_is_unsatisfiable(agent_client, recording):
    response = fetch(agent_client, recording, "bytes=200-100")

    assert response.status_code == 416


@pytest.mark.parametrize("byte_range", ["bytes=0-9,20-29", "pages=1-2", "bytes=abc"])
def test_a_range_it_does_not_serve_gets_the_whole_file(agent_client, recording, byte_range):
    response = fetch(agent_client, recording, byte_range)

    assert response.status_code == 200
    assert body(response) == WAV


# --- What is not served ------------------------------------------------------------------


def test_a_recording_with_neither_a_stored_file_nor_a_link_is_404(agent_client, call):
    nothing = CallRecording.objects.create(call=call)

    response = fetch(agent_client, nothing)

    assert response.status_code == 404


def test_a_recording_whose_file_is_gone_from_storage_is_404(agent_client, recording):
    recording.file.storage.delete(recording.file.name)

    response = fetch(agent_client, recording)

    assert response.status_code == 404


def test_an_unknown_recording_is_404(agent_client, db):
    response = agent_client.get(
        reverse("calls:recording", args=["00000000-0000-0000-0000-000000000000"])
    )

    assert response.status_code == 404


def test_an_anonymous_visitor_is_sent_to_the_login_page(recording):
    response = fetch(Client(), recording)

    assert response.status_code == 302
    assert urlsplit(response["Location"]).path == reverse("login")


@pytest.mark.parametrize("byte_range", [None, "bytes=0-99", "bytes=-10"])
def test_an_anonymous_visitor_never_gets_the_audio(recording, byte_range):
    response = fetch(Client(), recording, byte_range)

    assert response.status_code not in (200, 206)
    assert b"RIFF" not in body(response)
    assert WAV[-10:] not in body(response)


def test_a_partial_response_closes_the_file_even_if_never_read(db):
    import io

    from django.test import RequestFactory

    from trubka.core.ranged import ranged_file_response

    handle = io.BytesIO(b"x" * 1000)
    request = RequestFactory().get("/", headers={"Range": "bytes=10-19"})
    response = ranged_file_response(request, handle, 1000, "audio/wav")
    assert response.status_code == 206
    response.close()
    assert handle.closed
