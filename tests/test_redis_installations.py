"""Two Trubka installations on one Redis server never receive each other's popups.

Redis pub/sub ignores database numbers, so the popup channels carry the number of
``REDIS_URL`` and ``TRUBKA_REDIS_CHANNEL_PREFIX``. Each installation here is what its own
processes would build from their settings: a web process's broker (``get_broker()``) with
an employee's stream open, and a worker process that stores a popup with
``notify_employee`` and publishes it through its own ``get_broker()`` when the transaction
commits. Both installations use the same employee id, as two separate desks would.

Messages from one publisher reach every subscriber in the order Redis took them, so once an
installation has received its own popup, anything of the other's published before it would
already have arrived: no waiting for something not to happen. Skipped when no Redis answers
at redis://127.0.0.1:6379/11.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pytest
from django.db import connection, transaction

from test_live_redis import redis_problem
from trubka.realtime.broker import RedisBroker, employee_channel, get_broker
from trubka.realtime.notify import notify_employee

URL_11 = "redis://127.0.0.1:6379/11"
URL_12 = "redis://127.0.0.1:6379/12"
WAIT = 10.0  # a bound, not an expectation
PROBE = "probe"

_problem = redis_problem(URL_11)
pytestmark = pytest.mark.skipif(_problem is not None, reason=_problem or "")


@dataclass
class Installation:
    name: str
    url: str
    prefix: str

    @contextmanager
    def process(self, settings) -> Iterator[None]:
        """Inside: settings and ``get_broker()`` as in a process of this installation."""
        settings.REDIS_URL = self.url
        settings.TRUBKA_REDIS_CHANNEL_PREFIX = self.prefix
        get_broker.cache_clear()
        try:
            yield
        finally:
            get_broker.cache_clear()

    def web_broker(self, settings) -> RedisBroker:
        with self.process(settings):
            broker = get_broker()
        assert isinstance(broker, RedisBroker)
        return broker

    def notify_from_worker(self, settings, employee_id: int) -> dict[str, Any]:
        """What a worker process of this installation does for a ring (runs in a thread)."""
        try:
            with self.process(settings):
                with transaction.atomic():
                    notice = notify_employee(employee_id, "ring", {"installation": self.name})
                published_by = get_broker()
                assert isinstance(published_by, RedisBroker)
                published_by._client.close()
            return {"id": notice.pk, "kind": "ring", "payload": {"installation": self.name}}
        finally:
            connection.close()  # this thread's own connection


async def subscribed(
    installation: Installation, broker: RedisBroker, channel: str, messages: asyncio.Queue
) -> None:
    """Wait until ``broker``'s Redis subscription is live: its own probe comes back."""
    probe = {"id": 0, "kind": PROBE, "payload": {"installation": installation.name}}
    while True:
        await asyncio.to_thread(broker.publish, channel, probe)
        try:
            await asyncio.wait_for(messages.get(), 0.2)
            return
        except TimeoutError:
            continue


async def next_message(installation: Installation, messages: asyncio.Queue) -> dict[str, Any]:
    """The next message but this installation's own probes (a probe may come back twice)."""
    while True:
        message = await asyncio.wait_for(messages.get(), WAIT)
        own_probe = message["kind"] == PROBE and message["payload"] == {
            "installation": installation.name
        }
        if not own_probe:
            return message


def exchange(settings, first: Installation, second: Installation, employee_id: int):
    """Each installation's web process streams the employee; their workers ring in turn
    (first, second, first). What each stream received, in order."""
    first_web = first.web_broker(settings)
    second_web = second.web_broker(settings)
    channel = employee_channel(employee_id)

    async def scenario() -> tuple[list[dict], list[dict], list[dict]]:
        async with (
            first_web.subscribe(channel) as first_stream,
            second_web.subscribe(channel) as second_stream,
        ):
            await subscribed(first, first_web, channel, first_stream)
            await subscribed(second, second_web, channel, second_stream)
            sent: list[dict] = []
            got_first: list[dict] = []
            got_second: list[dict] = []
            for sender, stream, got in (
                (first, first_stream, got_first),
                (second, second_stream, got_second),
                (first, first_stream, got_first),
            ):
                sent.append(
                    await asyncio.to_thread(sender.notify_from_worker, settings, employee_id)
                )
                got.append(await next_message(sender, stream))
        for broker in (first_web, second_web):
            listener = broker._listener
            if listener is not None:
                listener.cancel()
                await asyncio.gather(listener, return_exceptions=True)
        return sent, got_first, got_second

    try:
        return asyncio.run(asyncio.wait_for(scenario(), WAIT * 4))
    finally:
        for broker in (first_web, second_web):
            broker._client.close()


def unique() -> str:
    return uuid.uuid4().hex[:12]


@pytest.mark.django_db(transaction=True)
def test_installations_on_different_database_numbers_receive_only_their_own_popups(settings, agent):
    first = Installation("desk-a", URL_11, "")
    second = Installation("desk-b", URL_12, "")

    sent, got_first, got_second = exchange(settings, first, second, agent.pk)

    assert got_first == [sent[0], sent[2]]
    assert got_second == [sent[1]]


@pytest.mark.django_db(transaction=True)
def test_installations_on_one_database_number_with_different_prefixes_stay_apart(settings, agent):
    run = unique()
    first = Installation("desk-a", URL_11, f"desk-a-{run}:")
    second = Installation("desk-b", URL_11, f"desk-b-{run}:")

    sent, got_first, got_second = exchange(settings, first, second, agent.pk)

    assert got_first == [sent[0], sent[2]]
    assert got_second == [sent[1]]


@pytest.mark.django_db(transaction=True)
def test_a_prefix_with_pattern_characters_matches_only_itself(settings, agent):
    """``x*`` as a pattern would also match the channels of the prefix ``xy``."""
    run = unique()
    first = Installation("desk-a", URL_11, f"{run}*")
    second = Installation("desk-b", URL_11, f"{run}y")

    sent, got_first, got_second = exchange(settings, first, second, agent.pk)

    assert got_first == [sent[0], sent[2]]
    assert got_second == [sent[1]]
