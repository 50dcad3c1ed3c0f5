"""The in-process fan-out, the embedded broker and ``notify_employee`` (no server, no Redis)."""

from __future__ import annotations

import asyncio
import threading

import pytest
from django.db import transaction

from trubka.realtime import broker as broker_module
from trubka.realtime import notify
from trubka.realtime.broker import (
    InMemoryBroker,
    LocalFanout,
    RedisBroker,
    employee_channel,
    get_broker,
)
from trubka.realtime.models import AgentNotice
from trubka.realtime.notify import notify_employee

WAIT = 10.0  # a bound, not an expectation


def run(coroutine_function):
    return asyncio.run(asyncio.wait_for(coroutine_function(), WAIT * 2))


# --- Channels -------------------------------------------------------------------------------


def test_an_employees_channel_is_named_after_the_employee():
    assert employee_channel(7) == "employee:7"
    assert employee_channel(7) != employee_channel(17)


# --- LocalFanout ----------------------------------------------------------------------------


def test_a_message_dispatched_from_another_thread_reaches_the_subscribers_queue():
    fanout = LocalFanout()
    message = {"id": 1, "kind": "ring", "payload": {}}

    async def scenario():
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue = asyncio.Queue()
        fanout.add("employee:1", loop, queue)
        delivered_to: list[int] = []
        thread = threading.Thread(
            target=lambda: delivered_to.append(fanout.dispatch("employee:1", message))
        )
        thread.start()
        received = await asyncio.wait_for(queue.get(), WAIT)
        await asyncio.to_thread(thread.join, WAIT)
        return received, delivered_to

    received, delivered_to = run(scenario)

    assert received == message
    assert delivered_to == [1]


def test_a_message_reaches_only_the_subscribers_of_its_channel():
    fanout = LocalFanout()

    async def scenario():
        loop = asyncio.get_running_loop()
        mine: asyncio.Queue = asyncio.Queue()
        other: asyncio.Queue = asyncio.Queue()
        fanout.add("employee:1", loop, mine)
        fanout.add("employee:2", loop, other)
        await asyncio.to_thread(fanout.dispatch, "employee:1", {"id": 1})
        await asyncio.to_thread(fanout.dispatch, "employee:2", {"id": 2})
        return await mine.get(), await other.get(), mine.qsize(), other.qsize()

    assert run(scenario) == ({"id": 1}, {"id": 2}, 0, 0)


def test_every_subscriber_of_a_channel_gets_the_message():
    fanout = LocalFanout()

    async def scenario():
        loop = asyncio.get_running_loop()
        tabs: list[asyncio.Queue] = [asyncio.Queue(), asyncio.Queue()]
        for tab in tabs:
            fanout.add("employee:1", loop, tab)
        count = await asyncio.to_thread(fanout.dispatch, "employee:1", {"id": 5})
        return count, [await asyncio.wait_for(tab.get(), WAIT) for tab in tabs]

    assert run(scenario) == (2, [{"id": 5}, {"id": 5}])


def test_the_fanout_counts_subscribers_per_channel_and_in_all():
    fanout = LocalFanout()
    loop = asyncio.new_event_loop()
    try:
        first, second, third = asyncio.Queue(), asyncio.Queue(), asyncio.Queue()
        fanout.add("employee:1", loop, first)
        fanout.add("employee:1", loop, second)
        fanout.add("employee:2", loop, third)

        assert fanout.count("employee:1") == 2
        assert fanout.count("employee:2") == 1
        assert fanout.count("employee:3") == 0
        assert fanout.count() == 3
    finally:
        loop.close()


def test_a_removed_subscriber_gets_nothing_more_and_its_empty_channel_is_dropped():
    fanout = LocalFanout()
    loop = asyncio.new_event_loop()
    try:
        queue: asyncio.Queue = asyncio.Queue()
        fanout.add("employee:1", loop, queue)
        fanout.remove("employee:1", loop, queue)

        assert fanout.dispatch("employee:1", {"id": 1}) == 0
        assert fanout.count("employee:1") == 0
        assert fanout.count() == 0
        assert "employee:1" not in fanout._subscribers
    finally:
        loop.close()


def test_removing_a_subscriber_that_is_not_there_changes_nothing():
    fanout = LocalFanout()
    loop = asyncio.new_event_loop()
    try:
        kept: asyncio.Queue = asyncio.Queue()
        fanout.add("employee:1", loop, kept)
        fanout.remove("employee:1", loop, asyncio.Queue())
        fanout.remove("employee:9", loop, asyncio.Queue())

        assert fanout.count("employee:1") == 1
        assert fanout.count() == 1
    finally:
        loop.close()


def test_dispatching_to_a_subscriber_whose_loop_has_closed_does_not_raise():
    fanout = LocalFanout()
    loop = asyncio.new_event_loop()
    fanout.add("employee:1", loop, asyncio.Queue())
    loop.close()

    fanout.dispatch("employee:1", {"id": 1})  # no RuntimeError


# --- InMemoryBroker -------------------------------------------------------------------------


def test_a_subscriber_of_the_embedded_broker_gets_what_is_published_from_another_thread():
    broker = InMemoryBroker()

    async def scenario():
        async with broker.subscribe("employee:1") as messages:
            subscribed = broker.fanout.count("employee:1")
            await asyncio.to_thread(broker.publish, "employee:2", {"id": 1, "n": "not mine"})
            await asyncio.to_thread(broker.publish, "employee:1", {"id": 2, "n": "mine"})
            first = await asyncio.wait_for(messages.get(), WAIT)
            await asyncio.to_thread(broker.publish, "employee:1", {"id": 3, "n": "again"})
            second = await asyncio.wait_for(messages.get(), WAIT)
        return subscribed, first, second, broker.fanout.count()

    subscribed, first, second, left = run(scenario)

    assert subscribed == 1
    assert first == {"id": 2, "n": "mine"}
    assert second == {"id": 3, "n": "again"}
    assert left == 0  # leaving the block unsubscribes


def test_leaving_a_subscription_by_an_error_unsubscribes_too():
    broker = InMemoryBroker()

    async def scenario():
        with pytest.raises(ZeroDivisionError):
            async with broker.subscribe("employee:1"):
                _ = 1 / 0
        return broker.fanout.count()

    assert run(scenario) == 0


def test_publishing_with_nobody_subscribed_is_a_no_op():
    InMemoryBroker().publish("employee:1", {"id": 1})


# --- Which broker ---------------------------------------------------------------------------


@pytest.fixture
def fresh_broker():
    get_broker.cache_clear()
    yield
    chosen = get_broker()
    if isinstance(chosen, RedisBroker):
        chosen._client.close()
    get_broker.cache_clear()


def test_without_redis_url_the_broker_is_the_embedded_one(settings, fresh_broker):
    settings.REDIS_URL = ""

    assert type(get_broker()) is InMemoryBroker
    assert get_broker() is get_broker()  # one per process


def test_with_redis_url_the_broker_publishes_through_redis(settings, fresh_broker):
    settings.REDIS_URL = "redis://127.0.0.1:6379/15"  # not contacted: publishing connects

    chosen = get_broker()

    assert isinstance(chosen, RedisBroker)
    assert chosen.url == "redis://127.0.0.1:6379/15"


# --- notify_employee ------------------------------------------------------------------------


class RecordingBroker:
    def __init__(self, fail: bool = False) -> None:
        self.published: list[tuple[str, dict]] = []
        self.fail = fail

    def publish(self, channel: str, message: dict) -> None:
        if self.fail:
            raise ConnectionError("Redis is down")
        self.published.append((channel, message))


@pytest.fixture
def recording(monkeypatch) -> RecordingBroker:
    fake = RecordingBroker()
    monkeypatch.setattr(notify, "get_broker", lambda: fake)
    return fake


class Boom(Exception):
    pass


def notify_then_fail(employee_id: int, payload: dict) -> None:
    with transaction.atomic():
        notify_employee(employee_id, "update", payload)
        raise Boom


@pytest.mark.django_db(transaction=True)
def test_a_notice_is_stored_and_published_only_once_the_transaction_commits(recording, agent):
    with transaction.atomic():
        notice = notify_employee(agent.pk, "ring", {"phone": "+7 916 123-45-67"})
        published_inside = list(recording.published)

    assert published_inside == []
    assert recording.published == [
        (
            employee_channel(agent.pk),
            {"id": notice.pk, "kind": "ring", "payload": {"phone": "+7 916 123-45-67"}},
        )
    ]
    stored = AgentNotice.objects.get()
    assert (stored.employee_id, stored.kind, stored.payload) == (
        agent.pk,
        "ring",
        {"phone": "+7 916 123-45-67"},
    )


@pytest.mark.django_db(transaction=True)
def test_nothing_is_published_or_stored_when_the_transaction_rolls_back(recording, agent):
    with pytest.raises(Boom):
        notify_then_fail(agent.pk, {"phone": "+7 916 123-45-67"})

    assert recording.published == []
    assert not AgentNotice.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_a_rolled_back_savepoint_publishes_nothing_but_the_outer_commit_publishes_the_rest(
    recording, agent
):
    with transaction.atomic():
        kept = notify_employee(agent.pk, "update", {"state": "answered"})
        with pytest.raises(Boom):
            notify_then_fail(agent.pk, {"state": "ended"})

    assert [message["id"] for _channel, message in recording.published] == [kept.pk]
    assert list(AgentNotice.objects.values_list("pk", flat=True)) == [kept.pk]


@pytest.mark.django_db(transaction=True)
def test_outside_a_transaction_the_notice_is_published_at_once(recording, agent):
    notice = notify_employee(agent.pk, "ring", {})

    assert recording.published == [
        (employee_channel(agent.pk), {"id": notice.pk, "kind": "ring", "payload": {}})
    ]


@pytest.mark.django_db(transaction=True)
def test_a_failing_push_keeps_the_notice_and_the_transaction(monkeypatch, agent):
    monkeypatch.setattr(notify, "get_broker", lambda: RecordingBroker(fail=True))

    with transaction.atomic():
        notice = notify_employee(agent.pk, "ring", {})

    assert AgentNotice.objects.filter(pk=notice.pk).exists()


@pytest.mark.django_db(transaction=True)
def test_a_committed_notice_reaches_a_subscriber_of_the_embedded_broker(
    settings, fresh_broker, agent
):
    settings.REDIS_URL = ""
    channel = employee_channel(agent.pk)

    async def scenario():
        async with broker_module.get_broker().subscribe(channel) as messages:
            notice = await asyncio.to_thread(_notify_in_transaction, agent.pk)
            received = await asyncio.wait_for(messages.get(), WAIT)
        return notice, received

    notice, received = run(scenario)

    assert received == {"id": notice.pk, "kind": "ring", "payload": {"phone": "x"}}


def _notify_in_transaction(employee_id: int) -> AgentNotice:
    from django.db import connection

    try:
        with transaction.atomic():
            return notify_employee(employee_id, "ring", {"phone": "x"})
    finally:
        connection.close()  # this thread's own connection
