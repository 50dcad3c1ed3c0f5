#!/usr/bin/env python
"""Ring-to-popup latency of a real ``trubka serve`` under background notification load.

Run from the repository root:

    .venv/bin/python bench/popup_latency.py                     # embedded default
    .venv/bin/python bench/popup_latency.py --redis redis://127.0.0.1:6379/14

What it does, all against 127.0.0.1 only:

1. makes a temporary ``TRUBKA_DATA_DIR``, runs ``trubka migrate``, creates an employee with
   extension 101 (``trubka shell -c``) and connects UIS account 900 with
   ``trubka integration add --app-id 900 --skip-key-check``;
2. starts ``trubka serve --port <free port>`` (SQLite, in-process worker thread, in-memory
   fan-out; Redis fan-out with ``--redis``; separate ``trubka worker`` processes with
   ``--workers N``, which needs ``--redis`` since popups must cross processes);
3. logs the employee in (POST /accounts/login/ with the CSRF token) and opens the live
   stream ``/live/stream/`` in a reader thread;
4. sends background notifications (``wait`` then ``history`` or ``lost`` about a second later,
   extensions 200-299, bodies rendered the way UIS fills the guide's templates) on a fixed
   schedule at ``--background-rate`` per second, bounded in count and time;
5. sends ``--rings`` ``wait`` notifications for extension 101, each from a unique number with
   a unique call id, 100-300 ms apart; a ring's latency runs from just before its POST to the
   moment the reader has parsed the matching ``ring`` event (matched by the caller's number).

It prints the machine, date, commit and settings, then the figures and PASS/FAIL against the
product bar (ring-to-popup p95 <= 150 ms under 100 events/s). A missed target is a result,
not an error: the exit status is non-zero only when the benchmark itself crashes. The server
is always stopped and the temporary folder removed (unless ``--keep``).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import queue
import random
import re
import secrets
import shutil
import socketserver
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (
    HOST,
    ROOT,
    Cleanup,
    add_integration,
    free_port,
    machine_busy_seconds,
    machine_info,
    migrate,
    ms,
    percentile,
    proc_cpu_seconds,
    run_trubka,
    say,
    spawn,
    start_py_spy,
    trubka_command,
    wait_for_http,
    wait_until_quiet,
)


def _source_dir(argv: list[str]) -> Path:
    """``--src DIR`` (read before the parser: it decides which ``trubka`` gets imported)."""
    for n, arg in enumerate(argv):
        if arg == "--src" and n + 1 < len(argv):
            return Path(argv[n + 1]).resolve()
        if arg.startswith("--src="):
            return Path(arg.split("=", 1)[1]).resolve()
    return ROOT / "src"


SOURCE = _source_dir(sys.argv[1:])
sys.path.insert(0, str(SOURCE))  # after ``common``, which puts this checkout's src/ first

# The simulator renders the guide's templates exactly as UIS fills them; it needs no Django setup.
from trubka.connector.providers.uis.notification_bodies import HISTORY_BODY  # noqa: E402
from trubka.connector.providers.uis.simulate import Call, history, lost, render, wait  # noqa: E402

TARGET_P95_MS = 150.0
TARGET_BACKGROUND_RATE = 100.0
APP_ID = 900
EXTENSION = "101"
ZONE = "Europe/Moscow"
NOT_ANSWERED = ["Иванов Иван", "Петрова Мария"]


def digits(text: str) -> str:
    return re.sub(r"\D", "", text or "")


# ---------------------------------------------------------------------------------------------
# The server under test


@dataclass
class Server:
    data_dir: Path
    env: dict[str, str]
    port: int
    workers: int
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)
    logs: list[Path] = field(default_factory=list)
    cleanup: Cleanup = field(default_factory=Cleanup)  # stops the processes

    @property
    def base(self) -> str:
        return f"http://{HOST}:{self.port}"

    def run(self, *args: str) -> str:
        return run_trubka(*args, env=self.env, cwd=self.data_dir, timeout=300)

    def spawn(self, name: str, *args: str) -> subprocess.Popen[bytes]:
        log = self.data_dir / f"{name}.log"
        self.logs.append(log)
        process = spawn(
            self.cleanup, [*trubka_command(), *args], env=self.env, cwd=self.data_dir, log=log
        )
        self.processes.append(process)
        return process

    def start(self) -> None:
        self.spawn("serve", "serve", "--host", HOST, "--port", str(self.port))
        for n in range(self.workers):
            self.spawn(f"worker-{n + 1}", "worker")
        wait_for_http(self.base + "/accounts/login/", self.processes, timeout=90, status=200)

    @property
    def serve_pid(self) -> int | None:
        return self.processes[0].pid if self.processes else None

    def stop(self) -> None:
        self.cleanup.run()

    def log_tail(self, lines: int = 40) -> str:
        out = []
        for log in self.logs:
            with contextlib.suppress(OSError):
                text = log.read_text(errors="replace").splitlines()
                out.append(f"--- {log.name} (last {lines} lines) ---")
                out.extend(text[-lines:])
        return "\n".join(out)


def prepare(server: Server, password: str) -> str:
    """Migrate, create the employee with extension 101, connect UIS; returns the webhook URL."""
    migrate(server.env, server.data_dir, timeout=300)
    code = (
        "import os\n"
        "from trubka.staff.models import Employee\n"
        "Employee.objects.create_user(username='bench101', password=os.environ['BENCH_PW'],"
        " first_name='Анна', last_name='Звонкова', extension='101')\n"
    )
    server.env["BENCH_PW"] = password
    try:
        server.run("shell", "-c", code)
    finally:
        del server.env["BENCH_PW"]
    return add_integration(
        server.base, env=server.env, cwd=server.data_dir, app_id=APP_ID, zone=ZONE, timeout=300
    )


def login(base: str, password: str) -> httpx.Client:
    client = httpx.Client(base_url=base, timeout=httpx.Timeout(10, read=None))
    page = client.get("/accounts/login/")
    page.raise_for_status()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
    if not token:
        raise RuntimeError("no CSRF token on the login page")
    answer = client.post(
        "/accounts/login/",
        data={
            "username": "bench101",
            "password": password,
            "csrfmiddlewaretoken": token.group(1),
            "next": "",
        },
        headers={"Referer": base + "/accounts/login/"},
    )
    if answer.status_code != 302 or "sessionid" not in client.cookies:
        raise RuntimeError(f"login failed: {answer.status_code}")
    return client


# ---------------------------------------------------------------------------------------------
# The browser side: the live stream


class StreamReader(threading.Thread):
    """Reads ``/live/stream/`` like a browser's EventSource and timestamps ``ring`` events."""

    def __init__(self, client: httpx.Client) -> None:
        super().__init__(name="sse-reader", daemon=True)
        self.client = client
        self.ready = threading.Event()
        self.stopping = threading.Event()
        self.lock = threading.Lock()
        self.expected: dict[str, int] = {}  # caller digits -> ring index
        self.arrived: dict[int, float] = {}  # ring index -> perf_counter when parsed
        self.stray_rings = 0
        self.updates = 0
        self.reconnects = 0
        self.error: str | None = None
        self._response: httpx.Response | None = None
        self._last_id = ""

    def expect(self, phone_digits: str, index: int) -> None:
        with self.lock:
            self.expected[phone_digits] = index

    def run(self) -> None:
        while not self.stopping.is_set():
            headers = {"Accept": "text/event-stream"}
            if self._last_id:
                headers["Last-Event-ID"] = self._last_id
            try:
                with self.client.stream("GET", "/live/stream/", headers=headers) as response:
                    if response.status_code != 200:
                        raise RuntimeError(f"the live stream answered {response.status_code}")
                    self._response = response
                    self._read(response)
            except Exception as exc:
                if self.stopping.is_set():
                    return
                self.error = f"{type(exc).__name__}: {exc}"
            if self.stopping.is_set():
                return
            self.reconnects += 1
            time.sleep(0.2)

    def _read(self, response: httpx.Response) -> None:
        event, data = "message", []
        for line in response.iter_lines():
            if self.stopping.is_set():
                return
            if line == "":
                if data:
                    self._dispatch(event, "\n".join(data))
                event, data = "message", []
                continue
            if line.startswith(":"):
                continue
            name, _, value = line.partition(":")
            value = value[1:] if value.startswith(" ") else value
            if name == "event":
                event = value
            elif name == "data":
                data.append(value)
            elif name == "id":
                self._last_id = value
            elif name == "retry":
                self.ready.set()  # the server subscribed us before sending this line

    def _dispatch(self, event: str, data: str) -> None:
        now = time.perf_counter()
        if event == "update":
            self.updates += 1
            return
        if event != "ring":
            return
        payload = json.loads(data)
        key = digits(payload.get("phone", ""))
        with self.lock:
            index = self.expected.get(key)
            if index is None or index in self.arrived:
                self.stray_rings += 1
                return
            self.arrived[index] = now

    def stop(self) -> None:
        self.stopping.set()
        if self._response is not None:
            with contextlib.suppress(Exception):
                self._response.close()


# ---------------------------------------------------------------------------------------------
# Background load


def background_schedule(
    count: int, rate: float, rng: random.Random, media: str | None
) -> list[str]:
    """``count`` notification bodies: calls to extensions 200-299, each a ``wait`` followed
    about a second later by ``history`` (70 %) or ``lost`` (30 %). Callers come from a pool of
    5,000 numbers, so there are first-time and returning callers. ``history`` carries a
    recording link: on ``media`` (the local stand-in for UIS's media host) when given, else on
    app.uiscom.ru exactly as the simulator writes it."""
    pool = ["79" + f"{rng.randrange(10**9):09d}" for _ in range(5000)]
    started = datetime.now(ZoneInfo(ZONE))
    gap = max(1, int(rate))  # slots between a call's wait and its end: about one second
    ringing: deque[tuple[int, Call]] = deque()
    bodies: list[str] = []
    for slot in range(count):
        if slot % 2 == 1 and ringing and slot - ringing[0][0] >= gap:
            _, call = ringing.popleft()
            if rng.random() < 0.7:
                duration = rng.randint(5, 600)
                if media is None:
                    bodies.append(history(call, duration=duration))
                else:
                    link = f"{media}/system/media/talk/{call.call_session_id}/{rng.getrandbits(128):032x}/"
                    bodies.append(
                        render(HISTORY_BODY, call.values(file_link=link, file_duration=duration))
                    )
            else:
                bodies.append(lost(call, NOT_ANSWERED))
            continue
        call = Call(
            app_id=APP_ID,
            call_session_id=rng.randint(10**9, 5 * 10**9),
            contact_phone_number=rng.choice(pool),
            extension=str(rng.randint(200, 299)),
            started=started + timedelta(seconds=slot / rate),
        )
        ringing.append((slot, call))
        bodies.append(wait(call))
    return bodies


class MediaHost:
    """A stand-in for UIS's recording host on 127.0.0.1: every GET answers ``size`` bytes of
    ``audio/mpeg`` after ``delay`` seconds (the provider's time to first byte)."""

    def __init__(self, size: int, delay: float) -> None:
        payload = bytes(random.Random(7).getrandbits(8) for _ in range(size))
        host = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                time.sleep(delay)
                try:
                    self.send_response(200)
                    self.send_header("Content-Type", "audio/mpeg")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except OSError:  # Trubka stopped mid-download (the end of the run)
                    return
                with host.lock:
                    host.served += 1

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.lock = threading.Lock()
        self.served = 0
        socketserver.TCPServer.allow_reuse_address = True
        self.server = ThreadingHTTPServer((HOST, 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://{HOST}:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class Background:
    """Posts the schedule at a fixed rate: slot ``i`` is due at ``t0 + i / rate``.

    A dispatcher releases each slot at its time to a small pool of senders, so a slow answer
    delays that one request, not the schedule; if every sender is busy, slots wait in the queue
    and their lateness is recorded (the achieved rate then shows the shortfall)."""

    def __init__(self, url: str, bodies: list[str], rate: float, concurrency: int) -> None:
        self.url = url
        self.bodies = bodies
        self.rate = rate
        self.concurrency = concurrency
        self.stopping = threading.Event()
        self.jobs: queue.Queue[tuple[int, float] | None] = queue.Queue()
        self.lock = threading.Lock()
        # (sent at, answered at, seconds late, status)
        self.results: list[tuple[float, float, float, int]] = []
        self.errors = 0
        self.threads: list[threading.Thread] = []
        self.t0 = 0.0

    def start(self) -> None:
        self.t0 = time.perf_counter() + 0.05
        self.threads = [threading.Thread(target=self._dispatch, name="bg-dispatch", daemon=True)]
        self.threads += [
            threading.Thread(target=self._send, name=f"bg-send-{n}", daemon=True)
            for n in range(self.concurrency)
        ]
        for thread in self.threads:
            thread.start()

    def _dispatch(self) -> None:
        for index in range(len(self.bodies)):
            due = self.t0 + index / self.rate
            while not self.stopping.is_set():
                left = due - time.perf_counter()
                if left <= 0:
                    break
                time.sleep(min(left, 0.05))
            if self.stopping.is_set():
                break
            self.jobs.put((index, due))
        for _ in range(self.concurrency):
            self.jobs.put(None)

    def _send(self) -> None:
        headers = {"Content-Type": "application/json"}
        with httpx.Client(timeout=30) as http:
            while True:
                job = self.jobs.get()
                if job is None or self.stopping.is_set():
                    return
                index, due = job
                sent = time.perf_counter()
                try:
                    status = http.post(
                        self.url, content=self.bodies[index].encode(), headers=headers
                    ).status_code
                except httpx.HTTPError:
                    status = 0
                done = time.perf_counter()
                with self.lock:
                    self.results.append((sent, done, sent - due, status))
                    if status != 200:
                        self.errors += 1

    def stop(self) -> None:
        self.stopping.set()
        for _ in range(self.concurrency):
            self.jobs.put(None)
        for thread in self.threads:
            thread.join(timeout=35)

    def achieved_rate(self, start: float, end: float) -> float:
        """Accepted (HTTP 200) background notifications per second between two instants."""
        with self.lock:
            done = sum(1 for _, d, _, s in self.results if start <= d <= end and s == 200)
        return done / (end - start) if end > start else math.nan


# ---------------------------------------------------------------------------------------------
# The measurement


@dataclass
class Ring:
    index: int
    phone: str
    call_id: int
    sent: float = 0.0
    answered: float = 0.0
    status: int = 0


def send_rings(
    url: str, reader: StreamReader, count: int, spacing: tuple[float, float], rng: random.Random
) -> list[Ring]:
    prefix = rng.randint(100, 899)
    rings = [
        Ring(index=n, phone=f"7999{prefix:03d}{n:04d}", call_id=6 * 10**9 + prefix * 10**5 + n)
        for n in range(count)
    ]
    headers = {"Content-Type": "application/json"}
    with httpx.Client(timeout=30) as http:
        # One untimed request first so the connection is open, as UIS's would be.
        http.get(url.rsplit("/okdesk/", 1)[0] + "/accounts/login/")
        next_at = time.perf_counter()
        for ring in rings:
            while (left := next_at - time.perf_counter()) > 0:
                time.sleep(left)
            call = Call(
                app_id=APP_ID,
                call_session_id=ring.call_id,
                contact_phone_number=ring.phone,
                extension=EXTENSION,
                started=datetime.now(ZoneInfo(ZONE)),
            )
            body = wait(call).encode()
            reader.expect(ring.phone, ring.index)
            ring.sent = time.perf_counter()
            try:
                ring.status = http.post(url, content=body, headers=headers).status_code
            except httpx.HTTPError:
                ring.status = 0
            ring.answered = time.perf_counter()
            next_at = ring.sent + rng.uniform(*spacing)
    return rings


def queue_report(db: Path, ring_call_ids: set[str]) -> dict[str, Any]:
    """From the queue table: events by kind and status, and how long each kind waited between
    arrival and processing (rings apart from background ``wait``)."""
    out: dict[str, Any] = {"status_counts": {}, "wait_ms": {}}
    if not db.exists():
        return out
    with contextlib.closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)) as con:
        rows = con.execute(
            "SELECT call_id, action, status, received_at, processed_at FROM connector_callevent"
        ).fetchall()
    for call_id, action, status, received, processed in rows:
        kind = "ring" if action == "wait" and call_id in ring_call_ids else action
        counts = out["status_counts"].setdefault(kind, {})
        counts[status] = counts.get(status, 0) + 1
        if processed:
            lag = datetime.fromisoformat(processed) - datetime.fromisoformat(received)
            out["wait_ms"].setdefault(kind, []).append(lag.total_seconds() * 1000)
    return out


def own_cpu_seconds() -> float:
    return time.process_time()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rings", type=int, default=200, help="rings measured (default 200)")
    parser.add_argument(
        "--background-rate",
        type=float,
        default=TARGET_BACKGROUND_RATE,
        help="background notifications per second (default 100; 0 for none)",
    )
    parser.add_argument(
        "--duration",
        type=float,
        default=None,
        help="upper bound on the background load in seconds "
        "(default: warm-up + time the rings need + 15 s); it stops when the rings are done",
    )
    parser.add_argument("--warmup", type=float, default=3.0, help="background-only seconds first")
    parser.add_argument("--spacing-ms", default="100-300", help="gap between rings, MIN-MAX ms")
    parser.add_argument(
        "--popup-timeout",
        type=float,
        default=5.0,
        help="seconds after the last ring to wait for late popups",
    )
    parser.add_argument(
        "--concurrency", type=int, default=8, help="background sender threads (connections)"
    )
    parser.add_argument(
        "--redis", default="", help="REDIS_URL for Redis fan-out, e.g. redis://127.0.0.1:6379/14"
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=0,
        help="0: the worker thread inside trubka serve (default); N: N separate "
        "`trubka worker` processes (needs --redis)",
    )
    parser.add_argument(
        "--recordings",
        choices=["local", "uis", "off"],
        default="local",
        help="recording links in history notifications: local (default) = a "
        "stand-in media host on 127.0.0.1 that Trubka archives from; uis = "
        "app.uiscom.ru links as UIS sends them (Trubka then reaches the "
        "internet); off = TRUBKA_RECORDING_ARCHIVE=false",
    )
    parser.add_argument(
        "--recording-kb",
        type=int,
        default=200,
        help="size of each local recording (default 200 KB, ~95 s of UIS mp3)",
    )
    parser.add_argument(
        "--recording-delay-ms",
        type=float,
        default=50,
        help="local media host's time to first byte (default 50 ms)",
    )
    parser.add_argument("--seed", type=int, default=None, help="random seed")
    parser.add_argument("--json", dest="json_out", default="", help="also write results here")
    parser.add_argument(
        "--py-spy",
        dest="py_spy",
        default="",
        help="record a py-spy profile of trubka serve during the rings, idle threads "
        "included: .svg flame graph, .txt collapsed stacks, .json speedscope",
    )
    parser.add_argument(
        "--src",
        default=str(ROOT / "src"),
        help="run trubka from this source folder, e.g. a commit exported with "
        "`git archive` (default: this checkout's src/)",
    )
    parser.add_argument(
        "--commit", default="", help="commit to report (default: `git rev-parse --short HEAD` here)"
    )
    parser.add_argument(
        "--env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="extra environment for the server (repeatable), for experiments "
        "such as TRUBKA_DB_CONN_MAX_AGE=60",
    )
    parser.add_argument(
        "--wait-quiet",
        type=float,
        default=0,
        metavar="SECONDS",
        help="first wait up to this long for the machine to be idle (other "
        "processes under 0.2 cores), so figures are not someone else's load",
    )
    parser.add_argument("--keep", action="store_true", help="keep the temporary data folder")
    args = parser.parse_args(argv)

    if args.workers < 0:
        parser.error("--workers must be 0 or more")
    if args.workers and not args.redis:
        parser.error(
            "--workers N needs --redis: popups from a worker process reach the web "
            "process only through Redis"
        )
    low, _, high = args.spacing_ms.partition("-")
    spacing = (float(low) / 1000, float(high or low) / 1000)
    seed = args.seed if args.seed is not None else secrets.randbelow(10**6)
    rng = random.Random(seed)
    duration = args.duration or (args.warmup + args.rings * spacing[1] + 15)

    if args.redis:
        import redis

        redis.Redis.from_url(args.redis, socket_timeout=3).ping()

    if args.wait_quiet > 0:
        busy = wait_until_quiet(args.wait_quiet, threshold=0.2, indent="  ")
        say(f"  machine busy before the start: {busy:.2f} cores")
    info = machine_info(args.commit, postgres=False)
    data_dir = Path(tempfile.mkdtemp(prefix="trubka-bench-"))
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("TRUBKA_", "DATABASE_URL", "REDIS_URL", "DJANGO_"))
    }
    env.update(
        TRUBKA_DATA_DIR=str(data_dir),
        TRUBKA_ADMIN_USERNAME="admin",
        TRUBKA_ADMIN_PASSWORD=secrets.token_urlsafe(16),
        TRUBKA_EMBEDDED_WORKER="false" if args.workers else "true",
        PYTHONUNBUFFERED="1",
    )
    if SOURCE != ROOT / "src":
        env["PYTHONPATH"] = os.pathsep.join(
            [str(SOURCE), *filter(None, [os.environ.get("PYTHONPATH")])]
        )
    if args.redis:
        env["REDIS_URL"] = args.redis
    for item in args.env:
        name, sep, value = item.partition("=")
        if not sep:
            parser.error(f"--env wants NAME=VALUE, not {item!r}")
        env[name] = value
    server = Server(data_dir=data_dir, env=env, port=free_port(), workers=args.workers)
    mode = (
        ("Redis fan-out" if args.redis else "in-memory fan-out")
        + ", SQLite, "
        + (
            f"{args.workers} `trubka worker` process(es)"
            if args.workers
            else "embedded worker thread"
        )
    )

    say("Ring-to-popup latency benchmark")
    say(f"  machine:   {info['nproc']} CPUs, {info['cpu']}; {info['platform']}")
    say(f"  python:    {info['python']}")
    say(f"  date:      {info['date']}")
    say(f"  commit:    {info['commit']}")
    say(f"  mode:      {mode}")
    if SOURCE != ROOT / "src":
        say(f"  source:    {SOURCE}")
    if args.env:
        say(f"  extra env: {' '.join(args.env)}")
    say(
        f"  settings:  rings={args.rings} spacing={args.spacing_ms} ms "
        f"background={args.background_rate:g}/s (concurrency {args.concurrency}, "
        f"max {duration:.0f} s) warmup={args.warmup:g} s seed={seed} "
        f"recordings={args.recordings}"
        + (
            f" ({args.recording_kb} KB, {args.recording_delay_ms:g} ms to first byte)"
            if args.recordings == "local"
            else ""
        )
        + (f" redis={args.redis}" if args.redis else "")
    )
    say(f"  data dir:  {data_dir}")

    reader: StreamReader | None = None
    media: MediaHost | None = None
    media_url: str | None = None
    background: Background | None = None
    session: httpx.Client | None = None
    profiler: subprocess.Popen[bytes] | None = None
    try:
        if args.recordings == "local":
            media = MediaHost(args.recording_kb * 1024, args.recording_delay_ms / 1000)
            media_url = media.url
            env["TRUBKA_RECORDING_HOSTS"] = HOST
            env["TRUBKA_RECORDING_ALLOW_PRIVATE"] = "true"
        elif args.recordings == "off":
            env["TRUBKA_RECORDING_ARCHIVE"] = "false"
        password = secrets.token_urlsafe(16)
        url = prepare(server, password)
        server.start()
        say(f"  server:    pid {server.serve_pid} on {server.base}")

        session = login(server.base, password)
        reader = StreamReader(session)
        reader.start()
        if not reader.ready.wait(15):
            raise RuntimeError(f"the live stream did not open: {reader.error}")

        if args.background_rate > 0:
            count = int(args.background_rate * duration)
            background = Background(
                url,
                background_schedule(count, args.background_rate, rng, media_url),
                args.background_rate,
                args.concurrency,
            )
            background.start()
            time.sleep(args.warmup)

        if args.py_spy and server.serve_pid:
            seconds = int(args.rings * sum(spacing) / 2) + 5
            profiler = start_py_spy(
                server.serve_pid,
                args.py_spy,
                "--duration",
                str(seconds),
                "--rate",
                "200",
                "--threads",
                "--idle",
                "--nonblocking",
                indent="",
            )

        server_pids = [p.pid for p in server.processes]
        cpu_before = [proc_cpu_seconds(pid) for pid in server_pids]
        own_before = own_cpu_seconds()
        machine_before = machine_busy_seconds()
        load_before = os.getloadavg()[0]
        window_start = time.perf_counter()
        rings = send_rings(url, reader, args.rings, spacing, rng)
        window_end = time.perf_counter()
        cpu_used = [
            proc_cpu_seconds(pid) - b for pid, b in zip(server_pids, cpu_before, strict=True)
        ]
        own_used = own_cpu_seconds() - own_before
        machine_used = machine_busy_seconds() - machine_before
        deadline = window_end + args.popup_timeout
        while time.perf_counter() < deadline:
            with reader.lock:
                if len(reader.arrived) >= len(rings):
                    break
            time.sleep(0.05)
        if background is not None:
            background.stop()
        if profiler is not None:
            profiler.wait(timeout=120)

        # ------------------------------------------------------------------ results
        latencies = [
            (reader.arrived[r.index] - r.sent) * 1000 for r in rings if r.index in reader.arrived
        ]
        accept = [(r.answered - r.sent) * 1000 for r in rings]
        missed = sum(1 for r in rings if r.index not in reader.arrived)
        rejected = sum(1 for r in rings if r.status != 200)
        p95 = percentile(latencies, 95)
        if missed:
            # A popup that never came counts as infinitely late for the percentiles.
            padded = latencies + [math.inf] * missed
            p95 = percentile(padded, 95)
        bg_rate = math.nan
        bg_accept: list[float] = []
        bg_late: list[float] = []
        bg_errors = 0
        bg_sent = 0
        if background is not None:
            bg_rate = background.achieved_rate(window_start, window_end)
            with background.lock:
                bg_accept = [(d - s) * 1000 for s, d, _, _ in background.results]
                bg_late = [late * 1000 for _, _, late, _ in background.results]
                bg_sent = len(background.results)
            bg_errors = background.errors

        say()
        say(
            f"Ring-to-popup ({len(latencies)} of {len(rings)} popups received, "
            f"over {window_end - window_start:.1f} s)"
        )
        say(
            f"  p50 {ms(percentile(latencies, 50), 1)}   p95 {ms(p95, 1)}   "
            f"p99 {ms(percentile(latencies + [math.inf] * missed, 99), 1)}   "
            f"max {ms(max(latencies) if latencies else math.nan, 1)}"
        )
        say(
            f"  missed popups: {missed}   rings not accepted: {rejected}   "
            f"stray rings: {reader.stray_rings}   stream reconnects: {reader.reconnects}"
        )
        say(
            f"Webhook accept, rings:      p50 {ms(percentile(accept, 50), 1)}   "
            f"p99 {ms(percentile(accept, 99), 1)}"
        )
        if background is not None:
            say(
                f"Webhook accept, background: p50 {ms(percentile(bg_accept, 50), 1)}   "
                f"p99 {ms(percentile(bg_accept, 99), 1)}   "
                f"(sent {bg_sent}, not 200: {bg_errors}, "
                f"send lateness p99 {ms(percentile(bg_late, 99), 1)})"
            )
            say(
                f"Background rate achieved during the rings: {bg_rate:.1f}/s "
                f"(target {args.background_rate:g}/s)"
            )
        window = window_end - window_start
        say(
            "CPU during the rings (1.0 = one core busy): "
            + ", ".join(
                f"{log.stem} {c / window:.2f}" for log, c in zip(server.logs, cpu_used, strict=True)
            )
            + f", this benchmark {own_used / window:.2f}"
        )
        others = (machine_used - sum(cpu_used) - own_used) / window
        say(
            f"Other processes on the machine during the rings: {others:.2f} cores busy "
            f"(load average {load_before:.2f} before, {os.getloadavg()[0]:.2f} after)"
            + (
                "  WARNING: the machine was not quiet; figures are pessimistic"
                if others > 0.25
                else ""
            )
        )
        # Stop the server first so the database is quiet, then read the queue table.
        reader.stop()
        server.stop()
        queue_info = queue_report(data_dir / "trubka.sqlite3", {str(r.call_id) for r in rings})
        say("Queue wait (received → processed) by kind:")
        for kind, lags in sorted(queue_info["wait_ms"].items()):
            say(
                f"  {kind:<18} p50 {ms(percentile(lags, 50), 1):>10}   "
                f"p95 {ms(percentile(lags, 95), 1):>10}   max {ms(max(lags), 1):>10}   "
                f"({len(lags)} processed)"
            )
        say(
            "Events by kind and status at the end: "
            + "; ".join(
                f"{kind} {counts}" for kind, counts in sorted(queue_info["status_counts"].items())
            )
        )
        if media is not None:
            say(f"Recordings fetched from the local media host: {media.served}")

        under_load = background is not None and bg_rate >= 0.95 * TARGET_BACKGROUND_RATE
        verdict = "PASS" if p95 <= TARGET_P95_MS and not missed else "FAIL"
        say()
        say("Target                                              measured        verdict")
        say(
            f"  ring-to-popup p95 <= {TARGET_P95_MS:.0f} ms under "
            f"{TARGET_BACKGROUND_RATE:.0f} events/s   {ms(p95, 1):<14}  {verdict}"
            + (
                ""
                if under_load
                else "  (no background load)"
                if background is None
                else f"  (the server took only {bg_rate:.1f}/s of the {args.background_rate:g}/s "
                "background offered)"
                if args.background_rate >= TARGET_BACKGROUND_RATE
                else f"  (background {bg_rate:.1f}/s, below the bar's {TARGET_BACKGROUND_RATE:.0f}/s)"
            )
        )

        if args.json_out:
            Path(args.json_out).write_text(
                json.dumps(
                    {
                        "machine": info,
                        "mode": mode,
                        "seed": seed,
                        "settings": {k: v for k, v in vars(args).items() if k != "json_out"},
                        "ring_to_popup_ms": {
                            "p50": percentile(latencies, 50),
                            "p95": p95,
                            "p99": percentile(latencies + [math.inf] * missed, 99),
                            "max": max(latencies) if latencies else None,
                            "received": len(latencies),
                            "missed": missed,
                        },
                        "webhook_accept_ms": {
                            "rings_p50": percentile(accept, 50),
                            "rings_p99": percentile(accept, 99),
                            "background_p50": percentile(bg_accept, 50),
                            "background_p99": percentile(bg_accept, 99),
                        },
                        "background_rate_achieved": bg_rate,
                        "cpu_cores_busy": {
                            "server": [c / window for c in cpu_used],
                            "benchmark": own_used / window,
                            "other_processes": others,
                        },
                        "queue_wait_ms": {
                            kind: {
                                "p50": percentile(lags, 50),
                                "p95": percentile(lags, 95),
                                "max": max(lags),
                                "count": len(lags),
                            }
                            for kind, lags in queue_info["wait_ms"].items()
                        },
                        "status_counts": queue_info["status_counts"],
                        "recordings_fetched": media.served if media is not None else None,
                        "verdict": verdict,
                    },
                    indent=2,
                    default=str,
                )
            )
        return 0
    except BaseException:
        say("\nThe benchmark crashed; server output follows.")
        say(server.log_tail())
        raise
    finally:
        if reader is not None:
            reader.stop()
        if background is not None:
            background.stop()
        if profiler is not None and profiler.poll() is None:
            profiler.terminate()
        server.stop()
        if media is not None:
            media.stop()
        if session is not None:
            session.close()
        if args.keep:
            say(f"Kept {data_dir}")
        else:
            shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit(130)
