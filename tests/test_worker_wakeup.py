"""Workers in other processes are woken at once, through Redis or PostgreSQL, not left to
their idle poll (``connector/queue/wakeup.py``), and a broken wake-up channel breaks nothing.

The cross-process tests start a real worker in this process with a 30-second idle poll,
queue an event without waking it, then call ``wake_worker()`` in a separate Python process;
the event must be processed long before the poll would have found it. The Redis test uses
its own database number, 13 (its wake-up channel is ``trubka-wake:13``), and is skipped
when no Redis answers at redis://127.0.0.1:6379/13; the PostgreSQL test runs in the
PostgreSQL lane only.
"""

from __future__ import annotations

import logging
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

import pytest
from django.conf import settings
from django.db import OperationalError, connection
from django.utils import timezone

from providers.uis import bodies as uis
from test_call_processing import wait_for
from test_live_redis import redis_problem
from trubka.connector.models import CallEvent, EventKind, EventStatus, Integration
from trubka.connector.providers.uis.parse import UisNotification, read_body
from trubka.connector.queue import wakeup
from trubka.connector.queue.wakeup import wake_worker
from trubka.connector.queue.worker import Worker

REDIS_URL = "redis://127.0.0.1:6379/13"
IDLE_SECONDS = 30.0


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(autouse=True)
def _fresh_wakeup_state(monkeypatch):
    """Each test starts with publishing allowed and no wake-up pending."""
    monkeypatch.setattr(wakeup, "_quiet_until", 0.0)
    monkeypatch.setattr(wakeup, "_redis_clients", {})
    wakeup.events_wakeup.clear()
    wakeup.jobs_wakeup.clear()


def queue_quietly(account: Integration) -> CallEvent:
    """Store a ring as the webhook does, but without waking anybody."""
    note = UisNotification.model_validate(
        read_body(uis.wait(extension_phone_number="109").encode())
    )
    return CallEvent.objects.create(
        integration=account,
        action=note.action,
        kind=EventKind.RING,
        call_id=note.call_id,
        parsed=note.model_dump(mode="json"),
    )


def processed(event: CallEvent) -> bool:
    try:
        return CallEvent.objects.get(pk=event.pk).status == EventStatus.PROCESSED
    except OperationalError:  # SQLite: the worker is writing right now
        return False


def wake_from_another_process(env: dict[str, str], tmp_path: Path) -> None:
    """``wake_worker()`` in a separate Python process with Django set up from ``env``."""
    child_env = {
        key: value for key, value in os.environ.items() if key not in ("DATABASE_URL", "REDIS_URL")
    }
    child_env.update(
        {
            "DJANGO_SETTINGS_MODULE": "trubka.settings",
            "TRUBKA_DATA_DIR": str(tmp_path / "other-process"),
            "TRUBKA_SECRET_KEY": settings.SECRET_KEY,
            "TRUBKA_LOG_LEVEL": "WARNING",
            **env,
        }
    )
    code = (
        "import django; django.setup()\n"
        "from trubka.connector.queue.wakeup import wake_worker\n"
        "wake_worker()\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        env=child_env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "could not wake" not in done.stderr, done.stderr


def run_worker_until_woken_from_elsewhere(env: dict[str, str], tmp_path: Path) -> float:
    """Start a worker, queue a ring quietly once it idles, wake it from another process;
    returns how many seconds the ring took from the wake-up call to processed."""
    account = Integration.objects.create(account_id=uis.APP_ID, enabled_at=timezone.now())
    worker = Worker(idle_seconds=IDLE_SECONDS)
    thread = worker.start_thread()
    try:
        assert wait_for(
            lambda: worker.listener is not None and worker.listener.listening.is_set(), 20
        )
        # Idle, with no wake-up pending: from here only a wake-up (or 30 s) starts a drain.
        assert wait_for(lambda: worker.idle.is_set() and not wakeup.events_wakeup.is_set(), 20)
        event = queue_quietly(account)
        started = time.monotonic()
        wake_from_another_process(env, tmp_path)
        assert wait_for(lambda: processed(event), 20), "the ring waited for the idle poll"
        return time.monotonic() - started
    finally:
        worker.stop()
        thread.join(timeout=20)


@pytest.mark.django_db(transaction=True)
def test_a_worker_is_woken_through_redis_by_another_process(settings, tmp_path):
    problem = redis_problem(REDIS_URL)
    if problem:
        pytest.skip(problem)
    settings.REDIS_URL = REDIS_URL
    took = run_worker_until_woken_from_elsewhere({"REDIS_URL": REDIS_URL}, tmp_path)
    assert took < IDLE_SECONDS


@pytest.mark.django_db(transaction=True)
def test_a_worker_is_woken_through_postgresql_notify_by_another_process(settings, tmp_path):
    if connection.vendor != "postgresql":
        pytest.skip("LISTEN/NOTIFY needs PostgreSQL (the PostgreSQL lane runs this)")
    settings.REDIS_URL = ""
    db = connection.settings_dict
    credentials = quote(db["USER"] or "", safe="")
    if db["PASSWORD"]:
        credentials += ":" + quote(db["PASSWORD"], safe="")
    url = f"postgres://{credentials}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    took = run_worker_until_woken_from_elsewhere({"DATABASE_URL": url}, tmp_path)
    assert took < IDLE_SECONDS


def test_the_redis_channel_is_named_after_the_database_number():
    assert wakeup.redis_channel("redis://127.0.0.1:6379/13") == "trubka-wake:13"
    assert wakeup.redis_channel("redis://:secret@redis.example:6380") == "trubka-wake:0"


def test_without_redis_or_postgresql_nothing_crosses_processes(settings):
    settings.REDIS_URL = ""
    if connection.vendor != "sqlite":
        pytest.skip("SQLite only")
    assert wakeup.kind() is None
    wake_worker()
    assert wakeup.events_wakeup.is_set()


def test_an_unreachable_redis_never_fails_a_wake_up_and_is_logged_once(settings, caplog):
    settings.REDIS_URL = f"redis://127.0.0.1:{closed_port()}/13"
    with caplog.at_level(logging.WARNING, logger="trubka.connector.queue.wakeup"):
        wake_worker()
        wake_worker()
        wakeup.flush()  # messages go out from a thread of their own: wait for them
    # This process's workers are woken all the same; the others poll.
    assert (wakeup.events_wakeup.is_set(), wakeup.jobs_wakeup.is_set()) == (True, True)
    warnings = [r for r in caplog.records if "could not wake" in r.getMessage()]
    assert len(warnings) == 1
    assert str(settings.REDIS_URL) not in caplog.text


def test_the_webhook_answers_while_redis_is_unreachable(db, settings):
    settings.REDIS_URL = f"redis://:hunter2@127.0.0.1:{closed_port()}/13"
    account = Integration.objects.create(account_id=uis.APP_ID, enabled_at=timezone.now())
    assert uis.send(account, uis.wait()).status_code == 200
    assert CallEvent.objects.get().status == EventStatus.PENDING


@pytest.mark.django_db(transaction=True)
def test_a_worker_whose_wake_up_channel_is_down_still_polls_and_stops(settings, caplog):
    settings.REDIS_URL = f"redis://:hunter2@127.0.0.1:{closed_port()}/13"
    account = Integration.objects.create(account_id=uis.APP_ID, enabled_at=timezone.now())
    worker = Worker(idle_seconds=0.2)
    with caplog.at_level(logging.WARNING, logger="trubka.connector.queue.wakeup"):
        thread = worker.start_thread()
        try:
            event = queue_quietly(account)
            assert wait_for(lambda: processed(event), 20)
            assert wait_for(lambda: "lost the wake-up channel" in caplog.text, 20)
        finally:
            worker.stop()
            thread.join(timeout=20)
    assert not thread.is_alive()
    assert "hunter2" not in caplog.text


def test_a_burst_of_wake_ups_is_announced_by_few_messages_and_the_last_is_never_lost(settings):
    problem = redis_problem(REDIS_URL)
    if problem:
        pytest.skip(problem)
    import redis

    settings.REDIS_URL = REDIS_URL
    listener = redis.Redis.from_url(REDIS_URL).pubsub(ignore_subscribe_messages=True)
    listener.subscribe(wakeup.redis_channel(REDIS_URL))
    try:

        def received(wait: float) -> int:
            count, deadline = 0, time.monotonic() + wait
            while time.monotonic() < deadline:
                if listener.get_message(timeout=0.05) is not None:
                    count += 1
            return count

        for _ in range(500):  # a webhook taking a burst of notifications
            wake_worker()
        wakeup.flush()
        burst = received(1.0)
        assert 1 <= burst < 500
        # Quiet, then one more: it gets a message of its own.
        wake_worker()
        assert received(2.0) == 1
    finally:
        listener.close()
