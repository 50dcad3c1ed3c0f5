"""Jobs an app queues through ``trubka.core.jobs`` run in the worker's jobs lane."""

from __future__ import annotations

import pytest

from trubka.connector.models import CallEvent, EventStatus
from trubka.connector.queue.worker import drain
from trubka.core import jobs


@pytest.fixture
def echo(monkeypatch):
    ran: list[dict[str, object]] = []
    monkeypatch.setitem(jobs.REGISTRY, "echo", lambda payload: ran.append(dict(payload)))
    return ran


def test_a_queued_job_runs_once_with_its_payload(db, echo):
    assert jobs.enqueue("echo", {"n": 1}, key="one") is True
    assert jobs.enqueue("echo", {"n": 1}, key="one") is False

    assert drain() == 1
    assert echo == [{"n": 1}]
    assert CallEvent.objects.get().status == EventStatus.PROCESSED


def test_a_job_nobody_registered_cannot_be_queued(db):
    with pytest.raises(LookupError):
        jobs.enqueue("no-such-job", {}, key="x")


def test_a_queued_job_whose_registration_is_gone_fails_for_good(db, echo, monkeypatch):
    jobs.enqueue("echo", {}, key="gone")
    monkeypatch.delitem(jobs.REGISTRY, "echo")

    drain()

    assert CallEvent.objects.get().status == EventStatus.FAILED


def test_a_job_that_may_pass_is_retried_later(db, monkeypatch):
    def flaky(payload: object) -> None:
        raise jobs.TemporaryFailure("the provider answered 503")

    monkeypatch.setitem(jobs.REGISTRY, "flaky", flaky)
    jobs.enqueue("flaky", {}, key="f")

    drain()

    event = CallEvent.objects.get()
    assert event.status == EventStatus.PENDING
    assert event.next_attempt_at is not None
    assert "503" in event.last_error
