"""Fan-out of live messages to the browsers connected to this process.

Every web process keeps its subscribers (one queue per open event stream) in a
``LocalFanout``. Publishing reaches them:

- ``InMemoryBroker`` (the embedded default): straight into this process's fan-out, from any
  thread (the worker thread included);
- ``RedisBroker`` (``REDIS_URL`` set): through Redis pub/sub, so a message published by a
  worker process or by another web process reaches the browsers connected to every web
  process. Each web process holds one Redis subscription and fans out locally.

Messages go to channels named after one employee (``employee:<id>``): a call for
extension 101 is published only to the employees with that extension, never broadcast and
filtered in the browser. On Redis the channel is ``<prefix>trubka:<db>:employee:<id>``
(``trubka.core.redis_channels``): Redis shares pub/sub channels across its database numbers,
so the number of ``REDIS_URL`` and ``TRUBKA_REDIS_CHANNEL_PREFIX`` keep installations that
share a Redis server from receiving each other's popups.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from collections import defaultdict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import cache
from typing import Any, Protocol

from django.conf import settings

from trubka.core.redis_channels import glob_escape, redis_channel

logger = logging.getLogger(__name__)

REDIS_PREFIX = "trubka:"


def employee_channel(employee_id: int) -> str:
    return f"employee:{employee_id}"


class LocalFanout:
    """The subscribers of this process, by channel. Thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._subscribers: dict[str, set[tuple[asyncio.AbstractEventLoop, asyncio.Queue[Any]]]]
        self._subscribers = defaultdict(set)

    def add(self, channel: str, loop: asyncio.AbstractEventLoop, queue: asyncio.Queue[Any]) -> None:
        with self._lock:
            self._subscribers[channel].add((loop, queue))

    def remove(
        self, channel: str, loop: asyncio.AbstractEventLoop, queue: asyncio.Queue[Any]
    ) -> None:
        with self._lock:
            self._subscribers[channel].discard((loop, queue))
            if not self._subscribers[channel]:
                del self._subscribers[channel]

    def dispatch(self, channel: str, message: dict[str, Any]) -> int:
        with self._lock:
            targets = list(self._subscribers.get(channel, ()))
        for loop, queue in targets:
            try:
                loop.call_soon_threadsafe(queue.put_nowait, message)
            except RuntimeError:  # the loop has closed: that stream is gone
                continue
        return len(targets)

    def count(self, channel: str | None = None) -> int:
        with self._lock:
            if channel is not None:
                return len(self._subscribers.get(channel, ()))
            return sum(len(s) for s in self._subscribers.values())


class Broker(Protocol):
    def publish(self, channel: str, message: dict[str, Any]) -> None: ...

    def subscribe(self, channel: str) -> Any:
        """An async context manager yielding an async iterator of messages."""
        ...


class InMemoryBroker:
    def __init__(self) -> None:
        self.fanout = LocalFanout()

    def publish(self, channel: str, message: dict[str, Any]) -> None:
        self.fanout.dispatch(channel, message)

    @asynccontextmanager
    async def subscribe(self, channel: str) -> AsyncIterator[asyncio.Queue[dict[str, Any]]]:
        """The channel's messages arrive in the yielded queue while the context is open.

        A queue, not an async generator: waiting on ``queue.get()`` with a timeout (for
        heartbeats) may be cancelled safely, where cancelling a generator's ``anext`` would
        close the generator.
        """
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.fanout.add(channel, loop, queue)
        try:
            yield queue
        finally:
            self.fanout.remove(channel, loop, queue)


class RedisBroker(InMemoryBroker):
    """Publishes through Redis; one listener task per process feeds the local fan-out.

    ``prefix`` defaults to ``TRUBKA_REDIS_CHANNEL_PREFIX``.
    """

    def __init__(self, url: str, prefix: str | None = None) -> None:
        super().__init__()
        import redis

        self.url = url
        #: Put before a channel's name on Redis: ``<prefix>trubka:<db>:``.
        self.channel_prefix = redis_channel(url, REDIS_PREFIX, prefix) + ":"
        self._client = redis.Redis.from_url(url)
        self._listener: asyncio.Task[None] | None = None
        self._listener_loop: asyncio.AbstractEventLoop | None = None
        self._ready: asyncio.Event | None = None

    def publish(self, channel: str, message: dict[str, Any]) -> None:
        self._client.publish(self.channel_prefix + channel, json.dumps(message))

    @asynccontextmanager
    async def subscribe(self, channel: str) -> AsyncIterator[asyncio.Queue[dict[str, Any]]]:
        await self._ensure_listener()
        async with super().subscribe(channel) as messages:
            yield messages

    async def _ensure_listener(self) -> None:
        loop = asyncio.get_running_loop()
        if self._listener is None or self._listener.done() or self._listener_loop is not loop:
            self._ready = asyncio.Event()
            self._listener_loop = loop
            self._listener = loop.create_task(self._listen(self._ready))
        assert self._ready is not None
        try:
            await asyncio.wait_for(self._ready.wait(), timeout=5)
        except TimeoutError:
            # Redis is down: the stream still opens; messages flow once the listener
            # reconnects, and what was missed meanwhile is replayed from the database.
            logger.warning("Redis is not answering; live messages wait for it to return")

    async def _listen(self, ready: asyncio.Event) -> None:
        import redis.asyncio as aioredis

        while True:
            client = aioredis.Redis.from_url(self.url)
            pubsub = client.pubsub()
            try:
                await pubsub.psubscribe(glob_escape(self.channel_prefix) + "*")
                ready.set()
                async for item in pubsub.listen():
                    if item.get("type") != "pmessage":
                        continue
                    channel = item["channel"].decode()[len(self.channel_prefix) :]
                    try:
                        message = json.loads(item["data"])
                    except ValueError:
                        continue
                    self.fanout.dispatch(channel, message)
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("lost the Redis subscription; reconnecting")
                await asyncio.sleep(1)
            finally:
                await pubsub.aclose()
                await client.aclose()


@cache
def get_broker() -> InMemoryBroker:
    if settings.REDIS_URL:
        return RedisBroker(settings.REDIS_URL)
    return InMemoryBroker()
