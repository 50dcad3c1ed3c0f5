"""Browser tests: Debian's Chromium against the real ASGI app served by uvicorn.

What runs is what ``trubka serve`` runs: ``trubka.asgi.application`` under uvicorn (in a thread
here, on a free port of 127.0.0.1), the static files collected and served by WhiteNoise, and
the notification worker in the same process. UIS is played by the test: it posts the guide's
notification bodies, rendered by ``trubka.connector.providers.uis.simulate``, to the webhook URL
of a connected account.

Notes on the harness:

- Playwright's sync API keeps an asyncio loop marked as running in the main thread while it
  is started, so Django's ORM (in fixtures and tests) would refuse to run there.
  ``DJANGO_ALLOW_ASYNC_UNSAFE`` is set only while this package's tests run, and Playwright is
  started and stopped per package (not per session as pytest-playwright does), so the tests
  collected after this folder run with the loop gone and the guard back on.
- A call posted before the page's live stream has subscribed would not pop up (a fresh
  stream starts after the newest stored message, by design), so ``Desk.open`` waits until the
  stream of that page has subscribed and read its backlog (``StreamWatch``).
"""

from __future__ import annotations

import contextlib
import itertools
import os
import re
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
import uvicorn
from django.core.management import call_command
from django.test import override_settings
from django.utils import timezone
from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, Page, expect
from playwright.sync_api import Error as PlaywrightError

from conftest import PASSWORD
from trubka.connector.models import CallEvent, EventStatus, Integration
from trubka.connector.providers.uis import simulate
from trubka.staff.models import Employee

CHROMIUM = Path("/usr/bin/chromium")
REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts" / "browser"
VIEWPORT = {"width": 1400, "height": 900}
# Generous: the first page of a run also warms up Chromium, WhiteNoise and the templates.
TIMEOUT_MS = 20_000

expect.set_options(timeout=TIMEOUT_MS)


# --- The browser ---------------------------------------------------------------------------


@pytest.fixture(scope="package", autouse=True)
def _require_chromium() -> None:
    if not CHROMIUM.exists():
        pytest.skip(
            f"browser tests need Debian's Chromium at {CHROMIUM} "
            "(install it with: sudo apt-get install -y chromium, or bash scripts/install-browser)"
        )


@pytest.fixture(scope="package", autouse=True)
def _fresh_artifacts(_require_chromium: None) -> None:
    """Screenshots of this run only (the folder is git-ignored)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for old in ARTIFACTS.glob("*.png"):
        old.unlink()


@pytest.fixture(scope="package", autouse=True)
def _orm_beside_playwright(_require_chromium: None) -> Iterator[None]:
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    yield
    if previous is None:
        os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    else:
        os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture(scope="session")
def browser_type_launch_args() -> dict[str, Any]:
    return {
        "executable_path": str(CHROMIUM),
        "headless": True,
        "args": [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--disable-quic",
            "--autoplay-policy=no-user-gesture-required",
        ],
    }


# pytest-playwright's chain, package-scoped (see the module docstring).
@pytest.fixture(scope="package")
def playwright(_orm_beside_playwright: None) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    pw = sync_playwright().start()
    yield pw
    pw.stop()


@pytest.fixture(scope="package")
def browser_type(playwright: Any, browser_name: str) -> Any:
    if browser_name != "chromium":
        pytest.skip("the browser tests run on Debian's Chromium only")
    return playwright.chromium


@pytest.fixture(scope="package")
def launch_browser(browser_type_launch_args: dict[str, Any], browser_type: Any) -> Callable:
    return lambda **kwargs: browser_type.launch(**{**browser_type_launch_args, **kwargs})


@pytest.fixture(scope="package")
def browser(launch_browser: Callable[..., Browser]) -> Iterator[Browser]:
    browser = launch_browser()
    yield browser
    browser.close()


@pytest.fixture(scope="package")
def browser_context_args() -> dict[str, Any]:
    return {"viewport": VIEWPORT, "locale": "ru-RU", "timezone_id": "Europe/Moscow"}


# --- The server ----------------------------------------------------------------------------


@pytest.fixture(scope="package")
def asgi_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """The real application, its static files collected the way ``trubka serve`` does.

    WhiteNoise indexes ``STATIC_ROOT`` when the middleware chain is built, so the chain is
    built (again, if an earlier test imported the module) while the collected folder is set.
    """
    static_root = tmp_path_factory.mktemp("static")
    storages = {
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    with override_settings(STATIC_ROOT=static_root, STORAGES=storages):
        call_command("collectstatic", interactive=False, verbosity=0)
        assert (static_root / "trubka" / "popup.js").is_file()
        from trubka.asgi import application, django_application

        # The webhook's lane wraps Django's handler; the handler's chain is what is rebuilt.
        django_application.load_middleware(is_async=True)
        yield application


class StreamWatch:
    """Counts, per employee, the live streams that have subscribed and read their backlog."""

    def __init__(self) -> None:
        self._ready: Counter[int] = Counter()
        self._changed = threading.Condition()

    def wrap(self, missed: Callable[..., Any]) -> Callable[..., Any]:
        async def _missed(employee_id: int, after: int) -> Any:
            result = await missed(employee_id, after)
            with self._changed:
                self._ready[employee_id] += 1
                self._changed.notify_all()
            return result

        return _missed

    def count(self, employee: Employee) -> int:
        with self._changed:
            return self._ready[employee.pk]

    def wait_beyond(self, employee: Employee, seen: int, timeout: float = TIMEOUT_MS / 1000):
        with self._changed:
            ok = self._changed.wait_for(lambda: self._ready[employee.pk] > seen, timeout)
        assert ok, f"the live stream of {employee} did not connect within {timeout} s"


@pytest.fixture
def stream_watch(monkeypatch: pytest.MonkeyPatch) -> StreamWatch:
    from trubka.realtime import views

    watch = StreamWatch()
    monkeypatch.setattr(views, "_missed", watch.wrap(views._missed))
    return watch


@dataclass
class LiveServer:
    url: str
    server: uvicorn.Server

    def drop_streams(self) -> int:
        """Cut the live streams' connections as a network drop would; returns how many."""
        loop = self.server.servers[0].get_loop()
        dropped = 0
        for connection in list(self.server.server_state.connections):
            scope = getattr(connection, "scope", None)
            if scope and scope.get("path") == "/live/stream/":
                loop.call_soon_threadsafe(connection.transport.abort)
                dropped += 1
        return dropped


@pytest.fixture
def trubka_server(
    transactional_db: None, asgi_app: Any, stream_watch: StreamWatch, settings: Any
) -> Iterator[LiveServer]:
    """``asgi_app`` under uvicorn on a free port, with the notification worker running."""
    from trubka.connector.queue.worker import Worker

    # The simulated links point at app.uiscom.ru: nothing may fetch them from a test.
    settings.TRUBKA_RECORDING_ARCHIVE = False
    config = uvicorn.Config(
        asgi_app,
        host="127.0.0.1",
        port=0,
        lifespan="off",
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=1,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        assert thread.is_alive(), "uvicorn stopped while starting"
        assert time.monotonic() < deadline, "uvicorn did not start within 15 s"
        time.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    worker = Worker(idle_seconds=0.2)
    worker_thread = worker.start_thread()
    yield LiveServer(f"http://127.0.0.1:{port}", server)
    worker.stop()
    worker_thread.join(10)
    server.force_exit = True
    server.should_exit = True
    thread.join(10)


# --- UIS, played by the test ---------------------------------------------------------------


@dataclass
class Uis:
    """A connected UIS account and its notification URL on the live server."""

    integration: Integration
    url: str
    ids: Iterator[int] = field(default_factory=lambda: itertools.count(3_200_000_001))

    def call(self, phone: str, extension: str = "101") -> simulate.Call:
        zone = ZoneInfo(self.integration.timezone)
        return simulate.Call(
            app_id=int(self.integration.account_id),
            call_session_id=next(self.ids),
            contact_phone_number=simulate.uis_number(phone),
            extension=extension,
            started=datetime.now(zone) - timedelta(seconds=3),
        )

    def post(self, body: str) -> dict[str, Any]:
        response = httpx.post(
            self.url,
            content=body.encode(),
            headers={"Content-Type": "application/json"},
            timeout=10,
        )
        assert response.status_code == 200, response.text
        return response.json()

    def ring(self, call: simulate.Call) -> None:
        self.post(simulate.wait(call))

    def answer(self, call: simulate.Call, duration: int = 95) -> None:
        self.post(simulate.history(call, duration=duration))

    def lose(self, call: simulate.Call, not_answered: list[str]) -> None:
        self.post(simulate.lost(call, not_answered))

    def wait_processed(self, timeout: float = TIMEOUT_MS / 1000) -> None:
        """Until the worker has handled everything posted (polling the queue, not sleeping
        a fixed time)."""
        wait_until(
            lambda: (
                not CallEvent.objects.filter(
                    integration=self.integration, status=EventStatus.PENDING
                ).exists()
            ),
            timeout,
            "the worker did not process the notifications",
        )
        failed = CallEvent.objects.filter(integration=self.integration).exclude(
            status=EventStatus.PROCESSED
        )
        assert not failed.exists(), [(e.action, e.status, e.last_error) for e in failed]


def wait_until(
    condition: Callable[[], object], timeout: float = TIMEOUT_MS / 1000, message: str = ""
) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, message or "condition not met in time"
        time.sleep(0.05)


@pytest.fixture
def uis(trubka_server: LiveServer) -> Uis:
    integration = Integration.objects.create(
        account_id=4_100_001, name="Тестовый аккаунт UIS", enabled_at=timezone.now()
    )
    return Uis(integration, f"{trubka_server.url}/okdesk/webhook/{integration.webhook_token}/")


# --- Pages ---------------------------------------------------------------------------------


class Desk:
    """One employee's browser context on the live server, with what went wrong in it."""

    def __init__(
        self,
        context: BrowserContext,
        base_url: str,
        employee: Employee,
        watch: StreamWatch,
        shots: Callable[[Page, str], Path],
    ) -> None:
        self.context = context
        self.base_url = base_url
        self.employee = employee
        self.watch = watch
        self._shot = shots
        self.errors: list[str] = []
        self.static_failures: list[str] = []
        self.stream_requests: list[Any] = []
        self.page = context.new_page()
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda exc: self.errors.append(f"pageerror: {exc}"))
        self.page.on("response", self._response)
        self.page.on("request", self._request)
        self.expected_console: list[re.Pattern[str]] = []

    def _console(self, message: ConsoleMessage) -> None:
        if message.type != "error":
            return
        line = f"{message.text} ({message.location.get('url')})"
        if not any(p.search(line) for p in self.expected_console):
            self.errors.append(f"console: {line}")

    def _response(self, response: Any) -> None:
        if "/static/" in response.url and response.status >= 400:
            self.static_failures.append(f"{response.status} {response.url}")

    def _request(self, request: Any) -> None:
        if "/live/stream/" in request.url:
            self.stream_requests.append(request)

    def url(self, path: str) -> str:
        return self.base_url + path

    def log_in(self) -> None:
        page = self.page
        page.goto(self.url("/accounts/login/"))
        expect(page.get_by_role("heading", name="☎ Trubka")).to_be_visible()
        page.get_by_label("Логин").fill(self.employee.username)
        page.get_by_label("Пароль").fill(PASSWORD)
        page.get_by_role("button", name="Войти").click()
        expect(page.locator(".topbar .me")).to_contain_text(f"доб. {self.employee.extension}")

    def open(self, path: str) -> Page:
        """Open a page and wait until its live stream has subscribed."""
        seen = self.watch.count(self.employee)
        self.page.goto(self.url(path))
        self.watch.wait_beyond(self.employee, seen)
        return self.page

    def shot(self, name: str) -> Path:
        return self._shot(self.page, name)

    def assert_clean(self) -> None:
        """popup.js and the styles loaded, the live stream was opened, nothing failed."""
        assert not self.static_failures, self.static_failures
        assert not self.errors, self.errors
        assert self.stream_requests, "popup.js never opened the live stream"


@pytest.fixture
def shots(request: pytest.FixtureRequest) -> Callable[[Page, str], Path]:
    test = request.node.originalname
    numbers = itertools.count(1)

    def shot(page: Page, name: str) -> Path:
        path = ARTIFACTS / f"{test}-{next(numbers):02d}-{name}.png"
        page.screenshot(path=str(path))
        return path

    return shot


@pytest.fixture
def desk_for(
    browser: Browser,
    browser_context_args: dict[str, Any],
    trubka_server: LiveServer,
    stream_watch: StreamWatch,
    shots: Callable[[Page, str], Path],
) -> Iterator[Callable[[Employee], Desk]]:
    """Log an employee in through the login form in a browser context of their own."""
    contexts: list[BrowserContext] = []

    def make(employee: Employee) -> Desk:
        context = browser.new_context(**browser_context_args)
        context.set_default_timeout(TIMEOUT_MS)
        contexts.append(context)
        desk = Desk(context, trubka_server.url, employee, stream_watch, shots)
        desk.log_in()
        return desk

    yield make
    for context in contexts:
        with contextlib.suppress(PlaywrightError):
            context.close()


@pytest.fixture
def desk(desk_for: Callable[[Employee], Desk], agent: Employee) -> Desk:
    """The agent with extension 101, logged in."""
    return desk_for(agent)
