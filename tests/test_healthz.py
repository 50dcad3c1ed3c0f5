"""/healthz: the database, the workers' heartbeats and the queue, without a session."""

from __future__ import annotations

from datetime import timedelta
from unittest import mock

from django.db import OperationalError, connection
from django.test import Client
from django.utils import timezone

from trubka.connector.models import CallEvent, EventStatus, Integration
from trubka.ops.models import WorkerHeartbeat


def heartbeat(name: str = "host:1:1", *, seconds_ago: float = 1, processed: int = 0) -> None:
    now = timezone.now()
    WorkerHeartbeat.objects.create(
        name=name,
        started_at=now - timedelta(hours=1),
        seen_at=now - timedelta(seconds=seconds_ago),
        processed=processed,
    )


def event(account: Integration, *, received_seconds_ago: float = 0, **fields) -> CallEvent:
    return CallEvent.objects.create(
        integration=account,
        action="wait",
        kind="ring",
        received_at=timezone.now() - timedelta(seconds=received_seconds_ago),
        **fields,
    )


def get_health():
    return Client().get("/healthz")


# --- Healthy -------------------------------------------------------------------------------


def test_healthz_is_ok_with_a_fresh_heartbeat_and_an_empty_queue(db):
    heartbeat(processed=42)
    response = get_health()
    body = response.json()
    assert (response.status_code, body["status"], body["database"], body["worker_ok"]) == (
        200,
        "ok",
        {"ok": True},
        True,
    )


def test_healthz_lists_the_workers_with_what_they_processed(db):
    heartbeat("web-1:10:1", processed=42)
    (worker,) = get_health().json()["workers"]
    assert (worker["name"], worker["processed"]) == ("web-1:10:1", 42)


def test_healthz_reports_the_queue(account):
    heartbeat()
    event(account, received_seconds_ago=5)
    event(
        account,
        received_seconds_ago=90,
        attempts=2,
        next_attempt_at=timezone.now() + timedelta(minutes=5),
    )
    event(account, status=EventStatus.FAILED)
    queue = get_health().json()["queue"]
    assert (queue["pending"], queue["due"], queue["failed"]) == (2, 1, 1)
    assert queue["oldest_pending_seconds"] >= 90


def test_healthz_answers_without_a_session(db):
    heartbeat()
    response = Client().get("/healthz")
    assert (response.status_code, response["Content-Type"]) == (200, "application/json")


def test_healthz_is_not_cached(db):
    assert "no-cache" in get_health()["Cache-Control"]


# --- Degraded (still 200) ------------------------------------------------------------------


def test_healthz_is_degraded_but_up_when_events_failed_for_good(account):
    heartbeat()
    event(account, status=EventStatus.FAILED, attempts=15)
    response = get_health()
    assert (response.status_code, response.json()["status"]) == (200, "degraded")


def test_healthz_is_degraded_but_up_when_no_worker_is_alive_and_nothing_is_due(db):
    heartbeat(seconds_ago=3600)
    response = get_health()
    assert (response.status_code, response.json()["status"], response.json()["worker_ok"]) == (
        200,
        "degraded",
        False,
    )


def test_an_event_waiting_for_its_retry_is_not_due(account):
    event(account, attempts=1, next_attempt_at=timezone.now() + timedelta(minutes=1))
    response = get_health()
    assert (response.status_code, response.json()["queue"]["due"]) == (200, 0)


# --- Down (503) ----------------------------------------------------------------------------


def test_healthz_is_down_when_events_are_due_and_no_worker_is_alive(account):
    heartbeat(seconds_ago=600)
    event(account)
    response = get_health()
    assert (response.status_code, response.json()["status"], response.json()["worker_ok"]) == (
        503,
        "down",
        False,
    )


def test_healthz_is_down_when_events_are_due_and_no_worker_ever_beat(account):
    event(account)
    assert get_health().status_code == 503


def test_the_stale_worker_window_is_configurable(account, settings):
    settings.TRUBKA_HEALTH_WORKER_STALE_SECONDS = 3600
    heartbeat(seconds_ago=600)
    event(account)
    assert get_health().status_code == 200


def test_healthz_is_down_when_the_oldest_due_event_has_waited_too_long(account):
    heartbeat()
    event(account, received_seconds_ago=301 + 60)
    response = get_health()
    assert (response.status_code, response.json()["status"]) == (503, "down")
    assert response.json()["queue"]["oldest_due_seconds"] > 300


def test_a_retry_that_just_came_due_has_not_waited_long(account):
    heartbeat()
    event(
        account,
        received_seconds_ago=3600,
        attempts=4,
        next_attempt_at=timezone.now() - timedelta(seconds=2),
    )
    assert get_health().status_code == 200


def test_the_queue_age_limit_is_configurable(account, settings):
    settings.TRUBKA_HEALTH_QUEUE_AGE_SECONDS = 60
    heartbeat()
    event(account, received_seconds_ago=120)
    assert get_health().status_code == 503


def unreachable_database(message: str = "connection refused"):
    """Every query fails as it does when the server is gone."""
    return mock.patch.object(
        connection, "cursor", side_effect=OperationalError(message), create=False
    )


def test_healthz_is_down_when_the_database_is_unreachable(db):
    with unreachable_database():
        response = get_health()
    body = response.json()
    assert (response.status_code, body["status"], body["database"]) == (
        503,
        "down",
        {"ok": False, "error": "OperationalError"},
    )


def test_healthz_does_not_repeat_the_database_error_message(db):
    with unreachable_database('password authentication failed for user "trubka" hunter2'):
        response = get_health()
    assert b"hunter2" not in response.content
    assert b"trubka" not in response.content
