"""Playing a recording kept at the provider: streamed through Trubka, behind the link guard.

The provider is ``FakeMedia``, a real HTTP server on 127.0.0.1; the tests allow that host
and private addresses (``media`` fixture), the way an operator would for a lab.
"""

from __future__ import annotations

import warnings
from datetime import UTC, datetime
from urllib.parse import urlsplit

import httpx
import pytest
from asgiref.sync import async_to_sync
from django.core.files.base import ContentFile
from django.test import AsyncClient, Client
from django.urls import reverse

import trubka.settings as trubka_settings
from fake_media import WAV, FakeMedia
from trubka.calls import recordings
from trubka.calls.actions import do_log_call
from trubka.calls.audio import make_tone_wav
from trubka.calls.models import CallRecording, PhoneCall
from trubka.calls.recordings import (
    RecordingRefused,
    address_allowed,
    check_link,
    host_allowed,
)

SIZE = len(WAV)
UNSPECIFIED = "0.0.0.0"  # noqa: S104 - an address to refuse, nothing binds to it
DEFAULT_HOSTS = [
    "*.uiscom.ru",
    "*.comagic.ru",
    "*.callgear.com",
    "*.callgear.ru",
    "*.novofon.ru",
    "*.novofon.com",
]


@pytest.fixture
def media(settings):
    settings.TRUBKA_RECORDING_HOSTS = "127.0.0.1,localhost"
    settings.TRUBKA_RECORDING_ALLOW_PRIVATE = True
    with FakeMedia() as fake:
        yield fake


@pytest.fixture
def call(db) -> PhoneCall:
    return do_log_call(
        provider="manual",
        provider_call_id="proxy-1",
        started_at=datetime(2025, 3, 10, 9, 0, tzinfo=UTC),
        client_number="+7 916 123 45 67",
    )


def linked(call: PhoneCall, url: str) -> CallRecording:
    return CallRecording.objects.create(call=call, source_url=url)


@pytest.fixture
def recording(media, call) -> CallRecording:
    return linked(call, media.add("/system/media/talk/1/2e675888ded8/"))


def body(response) -> bytes:
    if response.streaming:
        return b"".join(response.streaming_content)
    return response.content


def play(client: Client, recording: CallRecording, byte_range: str | None = None):
    headers = {"range": byte_range} if byte_range is not None else {}
    return client.get(reverse("calls:recording", args=[recording.uuid]), headers=headers)


def text(response) -> str:
    return body(response).decode()


# --- Playing through Trubka ----------------------------------------------------------------


def test_a_recording_kept_at_the_provider_plays_through_trubka(agent_client, recording):
    response = play(agent_client, recording)

    assert response.status_code == 200
    assert body(response) == WAV


def test_the_providers_length_and_type_are_passed_on(agent_client, recording):
    response = play(agent_client, recording)

    assert response["Content-Length"] == str(SIZE)
    assert response["Content-Type"] == "audio/wav"


def test_playback_through_trubka_announces_byte_ranges(agent_client, recording):
    response = play(agent_client, recording)

    assert response["Accept-Ranges"] == "bytes"


def test_the_first_hundred_bytes_come_as_a_partial_response(agent_client, recording):
    response = play(agent_client, recording, "bytes=0-99")

    assert response.status_code == 206
    assert response["Content-Range"] == f"bytes 0-99/{SIZE}"
    assert response["Content-Length"] == "100"
    assert body(response) == WAV[:100]


def test_seeking_to_the_middle_of_a_recording_gives_exactly_those_bytes(agent_client, recording):
    response = play(agent_client, recording, "bytes=8000-8999")

    assert response.status_code == 206
    assert response["Content-Range"] == f"bytes 8000-8999/{SIZE}"
    assert body(response) == WAV[8000:9000]


def test_seeking_to_the_end_runs_to_the_last_byte(agent_client, recording):
    response = play(agent_client, recording, "bytes=16000-")

    assert response.status_code == 206
    assert body(response) == WAV[16000:]


def test_the_browsers_range_is_passed_on_to_the_provider(agent_client, recording, media):
    play(agent_client, recording, "bytes=8000-8999")

    assert media.requests[-1].headers["Range"] == "bytes=8000-8999"


def test_a_range_past_the_end_is_unsatisfiable_as_the_provider_says(agent_client, recording):
    response = play(agent_client, recording, f"bytes={SIZE + 10}-")

    assert response.status_code == 416
    assert response["Content-Range"] == f"bytes */{SIZE}"


def test_the_provider_is_asked_under_its_own_host_name(agent_client, recording, media):
    play(agent_client, recording)

    assert media.requests[-1].headers["Host"] == f"127.0.0.1:{media.port}"


def test_playback_is_not_kept_in_shared_caches(agent_client, recording):
    response = play(agent_client, recording)

    assert "private" in response["Cache-Control"]


# --- Who may listen, and what the page shows -------------------------------------------


def test_an_anonymous_visitor_is_sent_to_the_login_page(recording):
    response = play(Client(), recording)

    assert response.status_code == 302
    assert urlsplit(response["Location"]).path == reverse("login")


@pytest.mark.parametrize("byte_range", [None, "bytes=0-99", "bytes=8000-8999"])
def test_an_anonymous_visitor_never_gets_audio_and_the_provider_is_never_asked(
    recording, media, byte_range
):
    response = play(Client(), recording, byte_range)

    assert response.status_code not in (200, 206)
    assert b"RIFF" not in body(response)
    assert media.requests == []


def test_the_call_log_never_shows_the_provider_link(agent_client, recording):
    page = agent_client.get(reverse("calls:log")).content.decode()

    assert recording.source_url not in page
    assert "/system/media/talk/" not in page


def test_the_call_log_plays_a_recording_kept_at_the_provider_through_trubka(
    agent_client, recording
):
    page = agent_client.get(reverse("calls:log")).content.decode()

    assert f'src="{reverse("calls:recording", args=[recording.uuid])}"' in page
    assert "<audio" in page


def test_the_call_log_does_not_make_the_browser_fetch_provider_recordings_unasked(
    agent_client, recording, media
):
    page = agent_client.get(reverse("calls:log")).content.decode()

    assert 'preload="none"' in page
    assert media.requests == []


def test_the_call_log_plays_a_stored_recording_through_trubka_too(agent_client, call):
    stored = CallRecording.objects.create(call=call)
    stored.file.save("call.wav", ContentFile(WAV))

    page = agent_client.get(reverse("calls:log")).content.decode()

    assert f'src="{reverse("calls:recording", args=[stored.uuid])}"' in page


def test_a_stored_file_is_never_served_as_a_web_page(agent_client, call):
    stored = CallRecording.objects.create(call=call, content_type="text/html")
    stored.file.save("call.html", ContentFile(b"<script>alert(1)</script>"))

    response = play(agent_client, stored)

    assert response["Content-Type"] == "application/octet-stream"


def test_a_provider_that_only_says_octet_stream_is_played_as_the_type_trubka_knew(
    agent_client, call, media
):
    typed = CallRecording.objects.create(
        call=call,
        source_url=media.add("/r", content_type="application/octet-stream"),
        content_type="audio/mpeg",
    )

    assert play(agent_client, typed)["Content-Type"] == "audio/mpeg"


# --- A stored copy comes first -------------------------------------------------------------


def test_the_stored_copy_is_played_and_the_provider_is_not_asked(agent_client, recording, media):
    copy = make_tone_wav(0.5)
    recording.file.save("call.wav", ContentFile(copy))

    response = play(agent_client, recording, "bytes=0-99")

    assert body(response) == copy[:100]
    assert media.requests == []


def test_a_copy_gone_from_storage_falls_back_to_the_provider(agent_client, recording, media):
    recording.file.save("call.wav", ContentFile(b"RIFF-gone"))
    recording.file.storage.delete(recording.file.name)

    response = play(agent_client, recording)

    assert response.status_code == 200
    assert body(response) == WAV


def test_an_unknown_recording_is_404(agent_client, db):
    response = agent_client.get(
        reverse("calls:recording", args=["00000000-0000-0000-0000-000000000000"])
    )

    assert response.status_code == 404


def test_a_recording_with_neither_a_copy_nor_a_link_is_404(agent_client, call):
    empty = CallRecording.objects.create(call=call)

    assert play(agent_client, empty).status_code == 404


# --- The guard -------------------------------------------------------------------------------


def test_a_link_to_a_host_outside_the_allow_list_is_refused_and_never_fetched(
    agent_client, recording, media, settings
):
    settings.TRUBKA_RECORDING_HOSTS = "*.uiscom.ru"

    response = play(agent_client, recording)

    assert response.status_code == 502
    assert "TRUBKA_RECORDING_HOSTS" in text(response)
    assert media.requests == []


def test_a_refusal_never_reveals_the_link(agent_client, recording, settings, caplog):
    settings.TRUBKA_RECORDING_HOSTS = "*.uiscom.ru"

    response = play(agent_client, recording)

    assert recording.source_url not in text(response)
    assert "/system/media/talk/" not in caplog.text


def test_a_host_resolving_to_a_private_address_is_refused_unless_allowed(
    agent_client, call, media, settings
):
    settings.TRUBKA_RECORDING_ALLOW_PRIVATE = False
    local = linked(call, media.url("/system/media/talk/1/x/", host="localhost"))
    media.add("/system/media/talk/1/x/")

    response = play(agent_client, local)

    assert response.status_code == 502
    assert "private" in text(response) or "внутренней сети" in text(response)
    assert media.requests == []


def test_a_private_address_written_in_the_link_is_refused_unless_allowed(
    agent_client, recording, media, settings
):
    settings.TRUBKA_RECORDING_ALLOW_PRIVATE = False

    assert play(agent_client, recording).status_code == 502
    assert media.requests == []


@pytest.mark.parametrize(
    "answer", [["10.0.0.7"], ["169.254.169.254"], ["93.184.216.34", "127.0.0.1"], ["::1"]]
)
def test_a_provider_name_resolving_into_a_private_network_is_refused(
    agent_client, call, settings, monkeypatch, answer
):
    settings.TRUBKA_RECORDING_HOSTS = DEFAULT_HOSTS
    settings.TRUBKA_RECORDING_ALLOW_PRIVATE = False
    monkeypatch.setattr(recordings, "resolve", lambda host, port: answer)
    link = linked(call, "https://app.uiscom.ru/system/media/talk/1/abc/")

    response = play(agent_client, link)

    assert response.status_code == 502


def test_the_provider_is_reached_at_the_address_that_was_checked(
    agent_client, call, media, settings, monkeypatch
):
    """The name is resolved once, by the guard; the connection goes to that address."""
    settings.TRUBKA_RECORDING_HOSTS = DEFAULT_HOSTS
    lookups: list[str] = []

    def resolve(host: str, port: int) -> list[str]:
        lookups.append(host)
        return ["127.0.0.1"]

    monkeypatch.setattr(recordings, "resolve", resolve)
    path = media.add("/talk/1/abc/").removeprefix(media.url(""))
    link = linked(call, f"http://media.uiscom.ru:{media.port}{path}")

    response = play(agent_client, link)

    assert body(response) == WAV
    assert lookups == ["media.uiscom.ru"]
    assert media.requests[-1].headers["Host"] == f"media.uiscom.ru:{media.port}"


def test_a_redirect_within_the_allow_list_is_followed_with_the_range(agent_client, call, media):
    media.add("/real.wav")
    moved = linked(call, media.redirect("/moved", "/real.wav"))

    response = play(agent_client, moved, "bytes=0-99")

    assert body(response) == WAV[:100]
    assert media.paths_requested() == ["/moved", "/real.wav"]
    assert media.requests[-1].headers["Range"] == "bytes=0-99"


def test_a_redirect_to_a_host_outside_the_allow_list_is_refused(agent_client, call, media):
    away = linked(call, media.redirect("/away", "http://evil.example/steal"))

    response = play(agent_client, away)

    assert response.status_code == 502
    assert media.paths_requested() == ["/away"]


def test_a_redirect_to_another_scheme_is_refused(agent_client, call, media):
    away = linked(call, media.redirect("/away", "file:///etc/passwd"))

    assert play(agent_client, away).status_code == 502


def test_three_redirects_are_followed(agent_client, call, media):
    media.add("/end.wav")
    media.redirect("/c", "/end.wav")
    media.redirect("/b", "/c")
    start = linked(call, media.redirect("/a", "/b"))

    assert body(play(agent_client, start)) == WAV


def test_a_fourth_redirect_is_refused(agent_client, call, media):
    media.add("/end.wav")
    media.redirect("/d", "/end.wav")
    media.redirect("/c", "/d")
    media.redirect("/b", "/c")
    start = linked(call, media.redirect("/a", "/b"))

    assert play(agent_client, start).status_code == 502
    assert "/end.wav" not in media.paths_requested()


def test_a_recording_over_the_size_cap_is_refused(agent_client, recording, settings):
    settings.TRUBKA_RECORDING_MAX_BYTES = SIZE - 1

    response = play(agent_client, recording)

    assert response.status_code == 502
    assert "TRUBKA_RECORDING_MAX_BYTES" in text(response)


def test_a_part_of_a_recording_over_the_size_cap_is_refused_too(agent_client, recording, settings):
    settings.TRUBKA_RECORDING_MAX_BYTES = SIZE - 1

    assert play(agent_client, recording, "bytes=0-99").status_code == 502


def test_a_recording_without_a_length_is_cut_at_the_size_cap(agent_client, call, media, settings):
    settings.TRUBKA_RECORDING_MAX_BYTES = 1000
    endless = linked(call, media.add("/endless.wav", hide_length=True))

    response = play(agent_client, endless)

    assert len(body(response)) <= 1000


# --- When the provider fails -----------------------------------------------------------------


def test_a_provider_error_is_a_bad_gateway(agent_client, call, media):
    broken = linked(call, media.fail("/broken", 500))

    response = play(agent_client, broken)

    assert response.status_code == 502
    assert "<html>" not in text(response)


def test_an_expired_link_is_a_bad_gateway_saying_so(agent_client, call, media):
    gone = linked(call, media.fail("/gone", 404))

    response = play(agent_client, gone)

    assert response.status_code == 502
    assert "expired" in text(response) or "устарела" in text(response)


def test_a_provider_too_slow_to_answer_is_a_gateway_timeout(agent_client, call, media, monkeypatch):
    monkeypatch.setattr(recordings, "TIMEOUT", httpx.Timeout(0.2))
    slow = linked(call, media.add("/slow.wav", delay=10))

    assert play(agent_client, slow).status_code == 504


def test_a_provider_that_cannot_be_reached_is_a_bad_gateway(agent_client, call, media):
    with FakeMedia() as gone:
        url = gone.add("/r.wav")
    unreachable = linked(call, url)

    assert play(agent_client, unreachable).status_code == 502


def test_a_provider_page_instead_of_audio_is_never_served_by_trubka(agent_client, call, media):
    page = linked(call, media.add("/login", b"<script>alert(1)</script>", "text/html"))

    response = play(agent_client, page)

    assert response.status_code == 502
    assert b"<script>" not in body(response)


# --- HTTPS: the pinned address still speaks for the host name --------------------------------


@pytest.fixture
def tls_media(settings, monkeypatch):
    settings.TRUBKA_RECORDING_HOSTS = "localhost,*.uiscom.ru"
    settings.TRUBKA_RECORDING_ALLOW_PRIVATE = True
    with FakeMedia(tls=True) as fake:
        monkeypatch.setattr(recordings, "ssl_context", fake.client_context)
        monkeypatch.setattr(recordings, "resolve", lambda host, port: ["127.0.0.1"])
        yield fake


def test_an_https_recording_plays_with_the_host_name_sent_in_the_handshake(
    agent_client, call, tls_media
):
    tls_media.add("/r.wav")
    secure = linked(call, tls_media.url("/r.wav", host="localhost"))

    response = play(agent_client, secure)

    assert body(response) == WAV
    assert tls_media.sni_names == ["localhost"]


def test_an_https_certificate_is_checked_against_the_host_name_not_the_address(
    agent_client, call, tls_media
):
    """The certificate is valid for 127.0.0.1 but not for media.uiscom.ru."""
    tls_media.add("/r.wav")
    impostor = linked(call, tls_media.url("/r.wav", host="media.uiscom.ru"))

    response = play(agent_client, impostor)

    assert response.status_code == 502
    assert tls_media.requests == []


# --- Under ASGI (how `trubka serve` runs) ------------------------------------------------------


def play_asgi(employee, recording: CallRecording, byte_range: str | None = None):
    client = AsyncClient()
    client.force_login(employee)
    headers = {"range": byte_range} if byte_range is not None else {}

    async def fetch():
        response = await client.get(
            reverse("calls:recording", args=[recording.uuid]), headers=headers
        )
        chunks = [chunk async for chunk in response.streaming_content]
        return response, b"".join(chunks)

    with warnings.catch_warnings():
        # Django warns when it must gather a synchronous stream whole to serve it.
        warnings.filterwarnings(
            "error", message="StreamingHttpResponse must consume synchronous iterators"
        )
        return async_to_sync(fetch)()


def test_under_asgi_the_provider_audio_streams_without_being_gathered_first(agent, recording):
    response, data = play_asgi(agent, recording, "bytes=100-8099")

    assert response.is_async
    assert (response.status_code, data) == (206, WAV[100:8100])


def test_under_asgi_a_stored_copy_streams_without_being_gathered_first(agent, call):
    stored = CallRecording.objects.create(call=call)
    stored.file.save("call.wav", ContentFile(WAV))

    response, data = play_asgi(agent, stored)

    assert response.is_async
    assert data == WAV


# --- The guard's rules, one by one -------------------------------------------------------------


@pytest.mark.parametrize(
    "link",
    [
        "ftp://app.uiscom.ru/system/media/talk/1/abc/",
        "file:///etc/passwd",
        "gopher://app.uiscom.ru/",
        "javascript:alert(1)",
        "https://user:secret@app.uiscom.ru/system/media/talk/1/abc/",
        "https://app.uiscom.ru.evil.example/x",
        "https://evil.example/app.uiscom.ru/",
        "http://169.254.169.254/latest/meta-data/",
        "not a link",
        "",
    ],
)
def test_links_that_are_not_provider_recordings_are_refused(settings, link):
    settings.TRUBKA_RECORDING_HOSTS = DEFAULT_HOSTS

    with pytest.raises(RecordingRefused):
        check_link(link)


@pytest.mark.parametrize(
    ("host", "allowed"),
    [
        ("app.uiscom.ru", True),
        ("media.uiscom.ru", True),
        ("APP.UISCOM.RU.", True),
        ("app.comagic.ru", True),
        ("media.comagic.ru", True),
        ("app.callgear.com", True),
        ("app.novofon.ru", True),
        ("uiscom.ru", False),
        ("eviluiscom.ru", False),
        ("app.uiscom.ru.evil.example", False),
        ("localhost", False),
        ("127.0.0.1", False),
    ],
)
def test_the_default_allow_list_names_the_providers_media_hosts(host, allowed):
    assert host_allowed(host, DEFAULT_HOSTS) is allowed


def test_a_lone_star_does_not_allow_every_host():
    assert not host_allowed("evil.example", ["*"])


def test_the_default_settings_allow_the_provider_hosts_and_no_private_address():
    assert trubka_settings.TRUBKA_RECORDING_HOSTS == DEFAULT_HOSTS
    assert trubka_settings.TRUBKA_RECORDING_ALLOW_PRIVATE is False
    assert trubka_settings.TRUBKA_RECORDING_MAX_BYTES == 200 * 1024 * 1024


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.1",
        "169.254.169.254",
        "100.64.0.1",
        UNSPECIFIED,
        "224.0.0.1",
        "240.0.0.1",
        "::1",
        "fe80::1",
        "fc00::1",
        "::ffff:127.0.0.1",
        "2002:7f00:1::1",
        "::",
    ],
)
def test_private_and_special_addresses_are_refused(address):
    assert not address_allowed(address, allow_private=False)


@pytest.mark.parametrize("address", ["93.184.216.34", "2a00:1450:4010:c05::8a"])
def test_public_addresses_are_allowed(address):
    assert address_allowed(address, allow_private=False)


@pytest.mark.parametrize("address", [UNSPECIFIED, "::", "224.0.0.1", "ff02::1"])
def test_unspecified_and_multicast_addresses_are_refused_even_when_private_is_allowed(address):
    assert not address_allowed(address, allow_private=True)


def test_private_addresses_pass_when_allowed():
    assert address_allowed("127.0.0.1", allow_private=True)
