"""The real ASGI app on a real port, and Server-Sent Events read the way a browser reads them
(a helper for the live-stream tests, not tests).

``LiveServer`` runs ``trubka.asgi.application`` under uvicorn in a background thread on
127.0.0.1 with a port the system picks. It shares this process's settings, database
connection settings and broker, so use it from ``@pytest.mark.django_db(transaction=True)``
tests: rows the test commits are what the server's threads read (the SQLite test database is
a file). Use it as a context manager or call ``start()``/``stop()``.

``SseStream`` reads one event stream in a thread with httpx and hands over what arrives
through a queue; every wait on it is bounded and fails with what was received so far.
``session_cookie(employee)`` is the ``Cookie`` header of a logged-in browser.
"""

from __future__ import annotations

import contextlib
import json
import queue
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx

DEFAULT_WAIT = 10.0  # seconds: the bound of every wait, never an expectation of speed


class LiveServer:
    """uvicorn serving ``app`` (default: ``trubka.asgi.application``) in a thread."""

    def __init__(self, app: Any = None, host: str = "127.0.0.1") -> None:
        if app is None:
            from trubka.asgi import application

            app = application
        self.app = app
        self.host = host
        self.port: int | None = None
        self._server: Any = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        assert self.port is not None, "the server is not running"
        return f"http://{self.host}:{self.port}"

    def start(self, timeout: float = DEFAULT_WAIT) -> LiveServer:
        import uvicorn

        config = uvicorn.Config(
            self.app,
            host=self.host,
            port=0,
            lifespan="off",
            log_config=None,
            access_log=False,
            # Streams still open at shutdown are cancelled after this, not waited for.
            timeout_graceful_shutdown=2,
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, name="asgi-live-server")
        self._thread.daemon = True
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive():
                raise RuntimeError("the live server stopped while starting")
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"the live server did not start within {timeout} s")
            time.sleep(0.01)
        self.port = self._server.servers[0].sockets[0].getsockname()[1]
        return self

    def stop(self, timeout: float = DEFAULT_WAIT) -> None:
        if self._server is None or self._thread is None:
            return
        self._server.should_exit = True
        self._thread.join(timeout)
        if self._thread.is_alive():  # pragma: no cover - a hung shutdown
            self._server.force_exit = True
            self._thread.join(timeout)
        self._server = None
        self._thread = None
        self.port = None

    def __enter__(self) -> LiveServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def wait_until(
    predicate: Callable[[], bool], timeout: float = DEFAULT_WAIT, what: str = "the condition"
) -> None:
    """Poll ``predicate`` until it holds; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not hold within {timeout} s")
        time.sleep(0.01)


def session_cookie(employee: Any) -> str:
    """The ``Cookie`` header of a browser logged in as ``employee`` (a fresh session)."""
    from django.conf import settings
    from django.test import Client

    client = Client()
    client.force_login(employee)
    name = settings.SESSION_COOKIE_NAME
    return f"{name}={client.cookies[name].value}"


@dataclass
class SseEvent:
    """One dispatched block of the stream, or one comment line (``comment`` set)."""

    id: str | None = None
    event: str | None = None
    data: Any = None  # the JSON of the data lines, or their text when it is not JSON
    retry: int | None = None
    comment: str | None = None

    @property
    def is_comment(self) -> bool:
        return self.comment is not None


@dataclass
class _Ended:
    error: BaseException | None = None


@dataclass
class SseStream:
    """One open ``GET`` of an event stream, read in a background thread."""

    url: str
    cookie: str | None = None
    last_event_id: str | int | None = None
    status_code: int | None = None
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    received: list[SseEvent] = field(default_factory=list)
    opening: SseEvent | None = None
    ended: bool = False
    error: BaseException | None = None

    def __post_init__(self) -> None:
        self._queue: queue.Queue[SseEvent | _Ended] = queue.Queue()
        self._opened = threading.Event()
        self._closing = threading.Event()
        self._socket: socket.socket | None = None
        self._thread = threading.Thread(target=self._read, name="sse-reader", daemon=True)

    # --- the reader thread ----------------------------------------------------------------

    def _read(self) -> None:
        headers = {"Accept": "text/event-stream"}
        if self.cookie:
            headers["Cookie"] = self.cookie
        if self.last_event_id is not None:
            headers["Last-Event-ID"] = str(self.last_event_id)
        # The read timeout only keeps a forgotten reader from living forever.
        timeout = httpx.Timeout(DEFAULT_WAIT, read=60.0)
        error: BaseException | None = None
        try:
            with (
                httpx.Client(timeout=timeout) as client,
                client.stream("GET", self.url, headers=headers) as response,
            ):
                self.status_code = response.status_code
                self.headers = dict(response.headers)
                network = response.extensions.get("network_stream")
                self._socket = network.get_extra_info("socket") if network else None
                self._opened.set()
                if response.status_code != 200 or not response.headers.get(
                    "content-type", ""
                ).startswith("text/event-stream"):
                    self.body = response.read()
                    return
                self._parse(response.iter_lines())
        except BaseException as exc:  # handed to the test thread
            if not self._closing.is_set():
                error = exc
        finally:
            self._opened.set()
            self._queue.put(_Ended(error))

    def _parse(self, lines: Iterator[str]) -> None:
        current = SseEvent()
        data: list[str] = []
        seen = False
        for line in lines:
            if line == "":
                if seen:
                    if data:
                        text = "\n".join(data)
                        try:
                            current.data = json.loads(text)
                        except ValueError:
                            current.data = text
                    self._queue.put(current)
                current, data, seen = SseEvent(), [], False
                continue
            if line.startswith(":"):
                self._queue.put(SseEvent(comment=line[1:].strip()))
                continue
            name, _, value = line.partition(":")
            value = value.removeprefix(" ")
            seen = True
            if name == "id":
                current.id = value
            elif name == "event":
                current.event = value
            elif name == "data":
                data.append(value)
            elif name == "retry" and value.isdigit():
                current.retry = int(value)

    # --- the test thread ------------------------------------------------------------------

    def open(self, timeout: float = DEFAULT_WAIT) -> SseStream:
        self._thread.start()
        if not self._opened.wait(timeout):
            raise AssertionError(f"no answer from {self.url} within {timeout} s")
        return self

    def next(self, timeout: float = DEFAULT_WAIT, *, comments: bool = False) -> SseEvent:
        """The next event (comments skipped unless ``comments``)."""
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            try:
                item = self._queue.get(timeout=max(remaining, 0))
            except queue.Empty:
                raise AssertionError(
                    f"nothing more arrived within {timeout} s; received: {self.received!r}"
                ) from None
            if isinstance(item, _Ended):
                self.ended, self.error = True, item.error
                self._queue.put(item)  # stays ended for later calls
                raise AssertionError(
                    f"the stream ended (error: {item.error!r}); received: {self.received!r}"
                )
            self.received.append(item)
            if item.is_comment and not comments:
                continue
            return item

    def wait_for(
        self, predicate: Callable[[SseEvent], bool], timeout: float = DEFAULT_WAIT
    ) -> tuple[SseEvent, list[SseEvent]]:
        """The first event matching ``predicate``, and the events skipped before it."""
        deadline = time.monotonic() + timeout
        skipped: list[SseEvent] = []
        while True:
            event = self.next(max(deadline - time.monotonic(), 0))
            if predicate(event):
                return event, skipped
            skipped.append(event)

    def close(self, timeout: float = DEFAULT_WAIT) -> None:
        """Drop the connection (like closing the tab) and wait for the reader to stop."""
        self._closing.set()
        if self._socket is not None:
            with contextlib.suppress(OSError):
                self._socket.shutdown(socket.SHUT_RDWR)
        if self._thread.is_alive():
            self._thread.join(timeout)

    def __enter__(self) -> SseStream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_stream(
    url: str,
    employee: Any = None,
    *,
    last_event_id: str | int | None = None,
    cookie: str | None = None,
    ready: bool = True,
    timeout: float = DEFAULT_WAIT,
) -> SseStream:
    """Open an event stream as ``employee`` (or with ``cookie``; anonymous with neither).

    With ``ready`` (the default) it waits for the stream's opening event (``ready``, with
    ``retry`` and the starting ``id``, sent once the stream is subscribed), so anything
    published afterwards reaches it; that event is ``stream.opening``.
    """
    if cookie is None and employee is not None:
        cookie = session_cookie(employee)
    stream = SseStream(url, cookie=cookie, last_event_id=last_event_id).open(timeout)
    if ready:
        try:
            stream.opening = stream.next(timeout)
        except AssertionError:
            stream.close()
            raise
        assert stream.opening.event == "ready", stream.opening
    return stream


class Streams:
    """Opens streams against one server and closes them all at the end (a fixture's value)."""

    def __init__(self, server_url: str, path: str = "/live/stream/") -> None:
        self.url = server_url + path
        self._open: list[SseStream] = []

    def open(self, employee: Any = None, *, query: str = "", **kwargs: Any) -> SseStream:
        url = f"{self.url}?{query}" if query else self.url
        stream = open_stream(url, employee, **kwargs)
        self._open.append(stream)
        return stream

    def close_all(self) -> None:
        for stream in self._open:
            stream.close()
        self._open.clear()
