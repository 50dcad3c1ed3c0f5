"""Waking the workers of other processes when something is queued.

Inside one process ``wake_worker()`` sets the ``threading.Event``s the worker's lanes wait
on. A worker in another process (``trubka worker``) cannot see that event, so the news also
travels between processes, over the first of these that is configured:

- **Redis** (``REDIS_URL`` set): a message on the pub/sub channel ``trubka-wake:<db>``, where
  ``<db>`` is the database number of ``REDIS_URL``. Pub/sub ignores database numbers, so the
  number in the name keeps installations that share one Redis server (each on its own
  number) from waking each other.
- **PostgreSQL** without Redis: ``NOTIFY trubka_events`` on the connection that stored the
  event (delivered when its transaction commits; PostgreSQL keeps the channel per database).
- Neither (SQLite, one process): nothing crosses processes; the in-process event is enough.

Every process that runs a worker listens (``Listener``, one thread): a Redis subscription or
a PostgreSQL connection that ``LISTEN``s. A message sets the in-process events, so the
worker wakes as if the webhook had run in its own process. Messages carry the sender's
process token and a process ignores its own (it has set its events directly already).

Publishing happens in a thread of its own (``request_publish``): the webhook sets a flag and
answers, never waiting on Redis or PostgreSQL, and the notifications that arrive while one
message goes out are announced by the next one (at most one message every
``COALESCE_SECONDS`` per process, however many notifications). Nothing is lost by this: a
request after a message has started always causes another one, and a process that exits
sends what is still due first.

The wake-up is only ever a shortcut: a publish that fails is logged (at most every
``QUIET_SECONDS`` per process) and then skipped for ``QUIET_SECONDS``, so an unreachable
Redis costs the webhook one failed attempt, not one per notification; a listener that loses
its channel logs, reconnects with a growing pause and meanwhile the worker polls as before
(``Worker.idle_seconds``). Neither ever fails the webhook or stops the worker. The Redis URL
(it may hold a password) is never logged.
"""

from __future__ import annotations

import atexit
import logging
import os
import secrets
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.db import connection, connections, transaction

logger = logging.getLogger(__name__)

PG_CHANNEL = "trubka_events"
REDIS_CHANNEL_PREFIX = "trubka-wake:"
#: After a failed publish, how long this process skips publishing (and logging).
QUIET_SECONDS = 5.0
#: The listener's longest pause between reconnection attempts.
MAX_RECONNECT_PAUSE = 30.0
#: The shortest gap between two messages from one process (they announce the same news).
COALESCE_SECONDS = 0.005
#: How often a listener looks up from its channel to see whether it should stop.
LISTEN_SLICE_SECONDS = 1.0

_RANDOM = secrets.token_hex(6)
_quiet_until = 0.0
_quiet_lock = threading.Lock()
# REDIS_URL → (client, channel): made once per process and URL (the client is thread-safe).
_redis_clients: dict[str, tuple[Any, str]] = {}


def process_token() -> str:
    """Who sent a wake-up: this host and process (the pid is read now, so forks differ)."""
    return f"{socket.gethostname()}:{os.getpid()}:{_RANDOM}"


def kind() -> str | None:
    """The channel between processes: ``"redis"``, ``"postgresql"`` or None."""
    if settings.REDIS_URL:
        return "redis"
    if connection.vendor == "postgresql":
        return "postgresql"
    return None


def redis_channel(url: str) -> str:
    """``trubka-wake:<db>`` for the database number of the Redis URL ``url``, after
    ``TRUBKA_REDIS_CHANNEL_PREFIX`` (see ``trubka.core.redis_channels``)."""
    from trubka.core.redis_channels import redis_channel as named_channel

    return named_channel(url, REDIS_CHANNEL_PREFIX)


def _redis_publisher(url: str) -> tuple[Any, str]:
    publisher = _redis_clients.get(url)
    if publisher is None:
        import redis

        # Short timeouts: the webhook waits for this publish and must not hang on Redis.
        client = redis.Redis.from_url(url, socket_connect_timeout=0.5, socket_timeout=0.5)
        publisher = _redis_clients[url] = (client, redis_channel(url))
    return publisher


def _quiet() -> bool:
    return time.monotonic() < _quiet_until


def _failed(channel_kind: str, exc: BaseException) -> None:
    global _quiet_until
    with _quiet_lock:
        if _quiet():
            return
        _quiet_until = time.monotonic() + QUIET_SECONDS
    logger.warning(
        "could not wake workers in other processes through %s (%s); they poll instead, "
        "next try in %.0f s",
        channel_kind,
        type(exc).__name__,
        QUIET_SECONDS,
    )


def publish() -> None:
    """Tell the workers of other processes that something is queued. Never raises."""
    channel_kind = kind()
    if channel_kind is None or _quiet():
        return
    try:
        if channel_kind == "redis":
            client, channel = _redis_publisher(settings.REDIS_URL)
            client.publish(channel, process_token())
        else:
            _notify_postgresql()
    except Exception as exc:
        _failed(channel_kind, exc)


class _Publisher:
    """Sends the wake-ups that ``request_publish`` asks for, from a daemon thread."""

    def __init__(self) -> None:
        self._due = threading.Event()
        # Held while a message goes out: flush() waits for it, so none is cut off at exit.
        self._sending = threading.Lock()
        self._start = threading.Lock()
        self._thread: threading.Thread | None = None
        self._pid = 0

    def request(self) -> None:
        self._due.set()
        thread = self._thread
        if thread is None or not thread.is_alive() or self._pid != os.getpid():
            with self._start:
                if self._thread is None or not self._thread.is_alive() or self._pid != os.getpid():
                    self._pid = os.getpid()
                    self._thread = threading.Thread(
                        target=self._run, name="trubka-wakeup-publisher", daemon=True
                    )
                    self._thread.start()

    def flush(self) -> None:
        """Send what is due now, in this thread (and wait for a message on its way)."""
        self._send_if_due()

    def _send_if_due(self) -> None:
        with self._sending:
            if not self._due.is_set():
                return
            self._due.clear()
            try:
                publish()
            finally:
                if connection.vendor == "postgresql" and not connection.in_atomic_block:
                    connection.close()  # back to the pool: this thread may wait a long time

    def _run(self) -> None:
        while True:
            self._due.wait()
            self._send_if_due()
            time.sleep(COALESCE_SECONDS)


_publisher = _Publisher()
atexit.register(_publisher.flush)


def request_publish() -> None:
    """Have the workers of other processes woken soon, without waiting for it. Never raises."""
    try:
        if kind() is None:
            return
        _publisher.request()
    except Exception as exc:  # e.g. no thread can be started at interpreter exit
        _failed("a publishing thread", exc)


def flush() -> None:
    """Send a wake-up still due now (tests; the process's exit does it by itself)."""
    _publisher.flush()


def _notify_postgresql() -> None:
    def notify() -> None:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_notify(%s, %s)", [PG_CHANNEL, process_token()])

    if connection.in_atomic_block:
        # Sent when the surrounding transaction commits, dropped if it rolls back; the
        # savepoint keeps a failure here from spoiling that transaction.
        with transaction.atomic():
            notify()
    else:
        notify()


class Listener:
    """Listens for wake-ups from other processes in a daemon thread; ``on_wake`` is called
    for each (and once after every (re)connection: a message may have been missed)."""

    def __init__(self, on_wake: Callable[[], None], stop: threading.Event) -> None:
        self.on_wake = on_wake
        self.stop = stop
        #: Set while the channel is being listened to (tests wait for it).
        self.listening = threading.Event()
        self.kind = kind()
        self._params: dict[str, Any] = {}
        if self.kind == "postgresql":
            # Read here, in the thread that owns Django's connection settings for this worker.
            self._params = connections["default"].get_connection_params()
        self._url = settings.REDIS_URL
        self._own = process_token()
        self.thread: threading.Thread | None = None

    def start(self) -> Listener:
        if self.kind is not None:
            self.thread = threading.Thread(
                target=self._run, name="trubka-worker-wakeup", daemon=True
            )
            self.thread.start()
        return self

    def join(self, timeout: float | None = None) -> None:
        if self.thread is not None:
            self.thread.join(timeout)

    def _run(self) -> None:
        pause = 1.0
        while not self.stop.is_set():
            try:
                if self.kind == "redis":
                    self._listen_redis()
                else:
                    self._listen_postgresql()
                pause = 1.0
            except Exception as exc:
                logger.warning(
                    "lost the wake-up channel (%s: %s); polling meanwhile, reconnecting in %.0f s",
                    self.kind,
                    type(exc).__name__,
                    pause,
                )
                pause = min(pause * 2, MAX_RECONNECT_PAUSE)
            finally:
                self.listening.clear()
            self.stop.wait(pause)

    def _woken(self, sender: str | bytes | None) -> None:
        if isinstance(sender, bytes):
            sender = sender.decode("utf-8", "replace")
        if sender != self._own:
            self.on_wake()

    def _listen_redis(self) -> None:
        import redis

        client = redis.Redis.from_url(
            self._url,
            socket_connect_timeout=5,
            socket_timeout=5 + LISTEN_SLICE_SECONDS,
            socket_keepalive=True,
            health_check_interval=15,
        )
        pubsub = client.pubsub()
        try:
            pubsub.subscribe(redis_channel(self._url))
            # Redis confirms the subscription with a first message: listening from then on.
            deadline = time.monotonic() + 5
            while (confirmed := pubsub.get_message(timeout=1)) is None or confirmed.get(
                "type"
            ) != "subscribe":
                if time.monotonic() > deadline:
                    raise TimeoutError("Redis did not confirm the subscription")
            self.on_wake()  # before «listening»: whoever waits for that sees this wake too
            self.listening.set()
            while not self.stop.is_set():
                message = pubsub.get_message(timeout=LISTEN_SLICE_SECONDS)
                if message is not None and message.get("type") == "message":
                    self._woken(message.get("data"))
        finally:
            pubsub.close()
            client.close()

    def _listen_postgresql(self) -> None:
        import psycopg

        with psycopg.connect(**self._params, autocommit=True) as listener:
            listener.execute(f"LISTEN {PG_CHANNEL}")
            self.on_wake()
            self.listening.set()
            while not self.stop.is_set():
                for notice in listener.notifies(timeout=LISTEN_SLICE_SECONDS):
                    self._woken(notice.payload)


# What the lanes of the workers in this process wait on between polls: the events lane and
# the jobs lane (``queue/worker.py``).
events_wakeup = threading.Event()
jobs_wakeup = threading.Event()


def wake_local_lanes() -> None:
    events_wakeup.set()
    jobs_wakeup.set()


def wake_worker() -> None:
    """Tell the workers that new events are waiting: those in this process at once, those in
    other processes through Redis or PostgreSQL when configured.

    Never raises: a wake-up that cannot be delivered leaves the workers to their idle poll.
    """
    wake_local_lanes()
    request_publish()
