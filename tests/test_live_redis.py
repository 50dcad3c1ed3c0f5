"""Live popups across processes through Redis (``REDIS_URL``).

Two real web processes (uvicorn, separate Python processes) share the SQLite test database
file and one Redis; this test process plays the worker that publishes. Skipped when no Redis
answers at ``REDIS_URL`` (environment or settings) or at redis://127.0.0.1:6379/15.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from django.conf import settings
from django.db import connection, transaction

from live_server import DEFAULT_WAIT, SseStream, open_stream, session_cookie
from trubka.calls.actions import do_request_popup
from trubka.realtime.broker import RedisBroker, employee_channel, get_broker

DEDICATED_URL = "redis://127.0.0.1:6379/15"
CALLER_NUMBER = "+79161234567"


def redis_url() -> str:
    return os.environ.get("REDIS_URL") or settings.REDIS_URL or DEDICATED_URL


def redis_problem(url: str) -> str | None:
    """Why Redis at ``url`` cannot be used, or None when it answers."""
    try:
        import redis
    except ImportError:  # pragma: no cover - redis is a dependency
        return "the redis package is not installed"
    client = redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1)
    try:
        client.ping()
    except redis.RedisError as exc:
        return f"no Redis answers at {url} ({exc})"
    finally:
        client.close()
    return None


_problem = redis_problem(redis_url())
pytestmark = pytest.mark.skipif(_problem is not None, reason=_problem or "")


@pytest.fixture
def url() -> str:
    import redis

    address = redis_url()
    if address == DEDICATED_URL:  # never flush a database someone configured for real use
        client = redis.Redis.from_url(address)
        try:
            client.flushdb()
        finally:
            client.close()
    return address


@pytest.fixture
def redis_broker(settings, url) -> Iterator[RedisBroker]:
    """This process publishes through Redis, as a separate worker process does."""
    settings.REDIS_URL = url
    get_broker.cache_clear()
    broker = get_broker()
    assert isinstance(broker, RedisBroker)
    try:
        yield broker
    finally:
        broker._client.close()
        get_broker.cache_clear()


# --- RedisBroker on its own -----------------------------------------------------------------


def test_a_message_published_through_redis_reaches_a_subscriber_of_its_channel(url):
    broker = RedisBroker(url)
    mine, other = f"test:{uuid.uuid4()}", f"test:{uuid.uuid4()}"

    async def scenario() -> list[dict]:
        received = []
        async with broker.subscribe(mine) as messages:
            assert broker.fanout.count(mine) == 1
            await asyncio.to_thread(broker.publish, other, {"id": 1, "n": "not mine"})
            await asyncio.to_thread(broker.publish, mine, {"id": 2, "n": "mine"})
            received.append(await asyncio.wait_for(messages.get(), DEFAULT_WAIT))
        assert broker.fanout.count(mine) == 0
        listener = broker._listener
        assert listener is not None
        listener.cancel()
        await asyncio.gather(listener, return_exceptions=True)
        return received

    try:
        received = asyncio.run(scenario())
    finally:
        broker._client.close()

    assert received == [{"id": 2, "n": "mine"}]


# --- Two web processes ----------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class WebProcess:
    """``python -m uvicorn trubka.asgi:application`` on a free port, its output in a file."""

    def __init__(self, name: str, env: dict[str, str], log_dir: Path) -> None:
        self.name = name
        self.port = free_port()
        self.log = log_dir / f"{name}.log"
        with self.log.open("wb") as out:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "uvicorn",
                    "trubka.asgi:application",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(self.port),
                    "--lifespan",
                    "off",
                    "--no-access-log",
                ],
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-4000:]

    def wait_until_answering(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                raise AssertionError(f"{self.name} exited:\n{self.output()}")
            try:
                httpx.get(self.url + "/live/stream/", timeout=1)
                return
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    raise AssertionError(
                        f"{self.name} did not answer within {timeout} s:\n{self.output()}"
                    ) from None
                time.sleep(0.05)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)


@pytest.fixture
def web_processes(url, tmp_path) -> Iterator[tuple[WebProcess, WebProcess]]:
    if connection.vendor != "sqlite":
        pytest.skip("the web processes share the test database as a SQLite file")
    database = connection.settings_dict["NAME"]
    assert Path(database).is_file(), database
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "trubka.settings",
        "DATABASE_URL": f"sqlite:///{Path(database).resolve()}",
        "REDIS_URL": url,
        "TRUBKA_DATA_DIR": str(tmp_path / "data"),
        # The session's auth hash is signed with the key: the same key in every process.
        "TRUBKA_SECRET_KEY": settings.SECRET_KEY,
        "TRUBKA_EMBEDDED_WORKER": "false",
        "TRUBKA_LOG_LEVEL": "WARNING",
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("TRUBKA_TEST_SQLITE_PATH", None)
    started: list[WebProcess] = []
    try:
        started.append(WebProcess("web-a", env, tmp_path))
        started.append(WebProcess("web-b", env, tmp_path))
        for process in started:
            process.wait_until_answering()
        yield started[0], started[1]
    finally:
        for process in started:
            process.stop()


@pytest.mark.django_db(transaction=True)
def test_a_ring_published_through_redis_reaches_the_agent_on_every_web_process(
    web_processes, redis_broker, agent, agent2, caller
):
    web_a, web_b = web_processes
    streams: list[SseStream] = []
    try:
        agent_cookie = session_cookie(agent)
        on_a = open_stream(web_a.url + "/live/stream/", cookie=agent_cookie)
        streams.append(on_a)
        on_b = open_stream(web_b.url + "/live/stream/", cookie=agent_cookie)
        streams.append(on_b)
        agent2_on_b = open_stream(web_b.url + "/live/stream/", agent2)
        streams.append(agent2_on_b)

        with transaction.atomic():
            do_request_popup(phone=CALLER_NUMBER, extensions=["101"])
        # Published after the ring: on the same Redis subscription it arrives after it.
        with transaction.atomic():
            do_request_popup(phone="+79990001122", extensions=["102"])

        ring_a, ring_b = on_a.next(), on_b.next()
        first_for_agent2 = agent2_on_b.next()
    finally:
        for stream in streams:
            stream.close()

    assert ring_a.event == ring_b.event == "ring"
    assert ring_a.id == ring_b.id
    assert ring_a.data == ring_b.data
    assert ring_a.data["phone"] == "+7 916 123-45-67"
    assert ring_a.data["client"]["name"] == caller.name
    assert first_for_agent2.event == "ring"
    assert first_for_agent2.data["extension"] == "102"


@pytest.mark.django_db(transaction=True)
def test_the_test_process_publishes_on_the_employees_channel_through_redis(
    redis_broker, url, agent
):
    """What a worker process sends: the JSON message on ``trubka:<db>:employee:<id>``."""
    import redis

    from trubka.core.redis_channels import database_number

    assert redis_broker.channel_prefix == f"trubka:{database_number(url)}:"
    listener = redis.Redis.from_url(url).pubsub()
    try:
        listener.subscribe(redis_broker.channel_prefix + employee_channel(agent.pk))
        assert listener.get_message(timeout=DEFAULT_WAIT)["type"] == "subscribe"

        with transaction.atomic():
            do_request_popup(phone=CALLER_NUMBER, extensions=["101"])

        deadline = time.monotonic() + DEFAULT_WAIT
        message = None
        while message is None and time.monotonic() < deadline:
            message = listener.get_message(timeout=1, ignore_subscribe_messages=True)
    finally:
        listener.close()

    assert message is not None, "nothing published on the agent's channel"
    body = json.loads(message["data"])
    assert body["kind"] == "ring"
    assert body["payload"]["extension"] == "101"
