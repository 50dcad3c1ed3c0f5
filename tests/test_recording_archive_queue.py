"""Recording links that arrive with a notification, or through the Okdesk API, are archived
by the worker, through the queue."""

from __future__ import annotations

import pytest

from api_helpers import Api
from fake_media import WAV, FakeMedia
from providers.uis import bodies as uis
from trubka.calls.archive import ARCHIVE_ACTION
from trubka.calls.models import CallRecording
from trubka.connector.models import CallEvent, EventStatus, Integration
from trubka.connector.queue.worker import drain


@pytest.fixture
def media(settings):
    settings.TRUBKA_RECORDING_HOSTS = "127.0.0.1,localhost"
    settings.TRUBKA_RECORDING_ALLOW_PRIVATE = True
    settings.TRUBKA_RECORDING_ARCHIVE = True
    with FakeMedia() as fake:
        yield fake


def deliver(account: Integration, *bodies: str) -> None:
    for body in bodies:
        response = uis.send(account, body)
        assert response.status_code == 200, response.content
    drain()


def archive_job() -> CallEvent:
    return CallEvent.objects.get(action=ARCHIVE_ACTION)


def test_the_recording_of_a_recorded_conversation_is_archived_by_the_worker(account, agent, media):
    deliver(account, uis.wait(), uis.history(file_link=media.add("/talk/1/abc/")))

    recording = CallRecording.objects.get()
    assert recording.archived_at is not None
    with recording.file.open("rb") as handle:
        assert handle.read() == WAV


def test_the_archive_job_is_marked_processed(account, agent, media):
    deliver(account, uis.history(file_link=media.add("/talk/1/abc/")))

    assert archive_job().status == EventStatus.PROCESSED


def test_a_notification_delivered_twice_archives_once(account, agent, media):
    body = uis.history(file_link=media.add("/talk/1/abc/"))
    deliver(account, body, body)

    assert CallEvent.objects.filter(action=ARCHIVE_ACTION).count() == 1
    assert len(media.requests) == 1


def test_nothing_is_queued_or_fetched_when_archiving_is_off(account, agent, media, settings):
    settings.TRUBKA_RECORDING_ARCHIVE = False

    deliver(account, uis.history(file_link=media.add("/talk/1/abc/")))

    assert not CallEvent.objects.filter(action=ARCHIVE_ACTION).exists()
    assert media.requests == []


def test_a_provider_error_leaves_the_archive_job_waiting_for_a_retry(account, agent, media):
    deliver(account, uis.history(file_link=media.fail("/talk/1/abc/", 503)))

    job = archive_job()
    assert (job.status, job.attempts) == (EventStatus.PENDING, 1)
    assert job.next_attempt_at is not None
    assert "HTTP 503" in job.last_error


def test_an_expired_link_fails_the_archive_job_for_good(account, agent, media):
    deliver(account, uis.history(file_link=media.fail("/talk/1/abc/", 404)))

    assert archive_job().status == EventStatus.FAILED


def test_the_archive_jobs_error_never_names_the_link(account, agent, media):
    link = media.fail("/talk/1/secret-hash/", 404)
    deliver(account, uis.history(file_link=link))

    assert "secret-hash" not in archive_job().last_error


def test_a_failing_archive_does_not_undo_the_call_it_belongs_to(account, agent, media):
    deliver(account, uis.history(file_link=media.fail("/talk/1/abc/", 500)))

    history = CallEvent.objects.get(action="history")
    assert history.status == EventStatus.PROCESSED
    assert CallRecording.objects.get().call.talk_duration == uis.DURATION


def test_a_recording_posted_through_the_api_is_archived_by_the_worker(admin_api: Api, media):
    link = media.add("/records/api-call.wav")
    call = {"call_id": "api-1", "started_at": "2026-09-30 07:16", "duration": 90}

    response = admin_api.post("/phone_calls", {"phone_call": {**call, "file_url": link}})
    assert response.status_code == 200, response.content
    drain()

    recording = CallRecording.objects.get()
    assert recording.archived_at is not None
    assert archive_job().status == EventStatus.PROCESSED
    with recording.file.open("rb") as handle:
        assert handle.read() == WAV
