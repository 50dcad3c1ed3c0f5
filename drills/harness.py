"""What every fault drill needs: its own data folder and PostgreSQL database, real ``trubka``
processes (``trubka web``, ``trubka worker``) started and stopped by process id, HTTP sending
to 127.0.0.1, and the database outage switch. A helper for the drills, not a drill.

A drill makes one ``Stack``; ``Stack.close()`` (call it in ``finally``) stops the processes it
started, drops its database and removes its folder. SIGTERM (``timeout`` in ``drills/run``)
is turned into ``SystemExit`` so the ``finally`` still runs, and every child is started with
the parent-death signal set, so nothing outlives a drill that is killed outright.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import queue
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psycopg

ROOT = Path(__file__).resolve().parents[1]
# The Trubka under test: this checkout's, or another tree's (TRUBKA_DRILL_SRC=/path/to/src),
# e.g. to try a fix before it lands. It goes first on PYTHONPATH, in this process and children.
SRC = Path(os.environ.get("TRUBKA_DRILL_SRC") or ROOT / "src").resolve()
_venv_python = ROOT / ".venv" / "bin" / "python"
PYTHON = str(_venv_python) if _venv_python.exists() else sys.executable
TRUBKA = [PYTHON, "-m", "trubka.cli"]
if str(SRC) not in sys.path:
    sys.path.insert(0, str(SRC))

# The server the drills create their databases on (never stopped or restarted by them).
ADMIN_URL = os.environ.get("DRILL_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


# A queue in which nothing moves for this long is stuck: the drill stops waiting.
STALL_SECONDS = 30.0


def _on_sigterm(signum: int, frame: object) -> None:
    raise SystemExit(f"stopped by signal {signum}")


signal.signal(signal.SIGTERM, _on_sigterm)


def say(text: str = "") -> None:
    print(text, flush=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _die_with_parent() -> None:  # pragma: no cover - runs in the child
    with contextlib.suppress(Exception):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def postgres_problem() -> str | None:
    """Why PostgreSQL cannot be used, or None."""
    try:
        psycopg.connect(ADMIN_URL, connect_timeout=3).close()
    except Exception as exc:
        return f"PostgreSQL at {ADMIN_URL} is not reachable: {exc}"
    return None


def open_drill(name: str, seed: int | None, settings: str) -> tuple[random.Random, Verdict] | None:
    """A drill's start: picks the seed (``seed``, or a random one), prints the header
    ``== <name> (seed N, <settings>)``, returns the random generator and the verdict. None,
    after printing ``FAIL <name>`` and why, when PostgreSQL cannot be used (exit with 2)."""
    problem = postgres_problem()
    if problem:
        say(f"FAIL {name}: {problem}")
        return None
    seed = seed if seed is not None else random.randrange(10**6)
    say(f"== {name} (seed {seed}, {settings})")
    return random.Random(seed), Verdict(name)


def admin_sql(statement: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
    """Run one statement on the server's maintenance database (autocommit)."""
    with psycopg.connect(ADMIN_URL, autocommit=True, connect_timeout=5) as conn:
        cur = conn.execute(statement, params)  # type: ignore[arg-type]
        return cur.fetchall() if cur.description else []


class Stack:
    """One drill's Trubka: a data folder, a database, the processes started on them."""

    def __init__(self, name: str, **env: str) -> None:
        self.name = name
        self.dir = Path(tempfile.mkdtemp(prefix=f"trubka-drill-{name}-"))
        self.db = f"trubka_drill_{name}_{os.getpid()}"
        base = ADMIN_URL.rsplit("/", 1)[0]
        self.database_url = f"{base}/{self.db}".replace("postgresql://", "postgres://", 1)
        self.extra_env = env
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        self._logs: dict[str, Path] = {}
        self._db_created = False
        self.port: int | None = None

    def env(self, **extra: str) -> dict[str, str]:
        env = {
            **os.environ,
            "PYTHONPATH": str(SRC) + os.pathsep + os.environ.get("PYTHONPATH", ""),
            "TRUBKA_DATA_DIR": str(self.dir / "data"),
            "DATABASE_URL": self.database_url,
            "TRUBKA_EMBEDDED_WORKER": "false",
            # Drills never reach out: no recording downloads (links point at app.uiscom.ru).
            "TRUBKA_RECORDING_ARCHIVE": "false",
            "TRUBKA_LOG_LEVEL": "WARNING",
            "REDIS_URL": "",
            **self.extra_env,
            **extra,
        }
        return env

    def create(self) -> None:
        admin_sql(f'CREATE DATABASE "{self.db}"')
        self._db_created = True
        self.trubka("migrate", "-v0")

    def trubka(self, *args: str, timeout: float = 120) -> str:
        done = subprocess.run(
            [*TRUBKA, *args],
            env=self.env(),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            preexec_fn=_die_with_parent,
        )
        if done.returncode != 0:
            raise RuntimeError(f"trubka {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
        return done.stdout

    def shell(self, code: str) -> str:
        return self.trubka("shell", "-c", code)

    def add_integration(self, app_id: int, *extra: str) -> str:
        """Connect a UIS account offline; returns the webhook path (``/okdesk/webhook/…/``)."""
        out = self.trubka("integration", "add", "--app-id", str(app_id), "--skip-key-check", *extra)
        url = next(line for line in out.splitlines() if "Notification URL:" in line)
        return "/" + url.split("://", 1)[1].split("/", 1)[1]

    def add_employees(self, extensions: Iterable[str]) -> None:
        pairs = [(ext, f"agent{ext}") for ext in extensions]
        self.shell(
            "from trubka.staff.models import Employee\n"
            f"for ext, name in {pairs!r}:\n"
            "    Employee.objects.create_user(username=name, password=None, extension=ext,"
            " first_name='Агент', last_name=ext)\n"
        )

    def add_contacts(self, contacts: Iterable[tuple[str, str]]) -> None:
        """Known clients: ``(last name, number as typed)``."""
        self.shell(
            "from trubka.clients.actions import do_create_contact\n"
            f"for name, phone in {list(contacts)!r}:\n"
            "    do_create_contact(first_name='Известный', last_name=name,"
            " phones=[('mobile', phone)])\n"
        )

    def open_desk(self, app_id: int, employees: Iterable[str], script: Any) -> str:
        """The usual desk for a ``desk_script.Script``: the database migrated, an employee per
        extension in ``employees``, the script's figures printed, its known numbers as
        clients, ``trubka web`` started and UIS account ``app_id`` connected. Returns the
        full webhook URL."""
        self.create()
        self.add_employees(employees)
        say(f"  script: {script.figures()}")
        self.add_contacts([(f"Известный{i}", t) for i, t in enumerate(script.known.values())])
        return self.start_web() + self.add_integration(app_id)

    def _start(self, key: str, args: Sequence[str], **env: str) -> subprocess.Popen[bytes]:
        log = self.dir / f"{key}.log"
        self._logs[key] = log
        with log.open("ab") as out:
            proc = subprocess.Popen(
                [*TRUBKA, *args],
                env=self.env(**env),
                stdout=out,
                stderr=subprocess.STDOUT,
                preexec_fn=_die_with_parent,
            )
        self.processes[key] = proc
        return proc

    def start_web(self, **env: str) -> str:
        """``trubka web`` on a free port; returns its base URL once it answers."""
        self.port = free_port()
        proc = self._start("web", ["web", "--port", str(self.port)], **env)
        base = f"http://127.0.0.1:{self.port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(f"{base}/accounts/login/", timeout=2)
                return base
            except httpx.HTTPError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(
                        f"trubka web did not start:\n{self.log_tail('web')}"
                    ) from None
                time.sleep(0.2)

    def start_worker(self, key: str, **env: str) -> subprocess.Popen[bytes]:
        return self._start(key, ["worker", "--idle", "0.2"], **env)

    def stop(self, key: str, sig: int = signal.SIGTERM, timeout: float = 20) -> int | None:
        proc = self.processes.get(key)
        if proc is None or proc.poll() is not None:
            return proc.returncode if proc else None
        proc.send_signal(sig)
        try:
            return proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            return proc.wait(10)

    def alive_check(self, keys: Sequence[str]) -> Callable[[], None]:
        """For ``wait_drained(alive=…)``: raises when a process in ``keys`` has exited (the
        sequence is read at each call, so a list the drill updates stays current)."""

        def alive() -> None:
            for key in keys:
                proc = self.processes[key]
                if proc.poll() is not None:
                    raise RuntimeError(f"{key} exited with {proc.returncode}")

        return alive

    def stop_checked(self, keys: Iterable[str], verdict: Verdict) -> None:
        """SIGTERM each process in ``keys``; the verdict wants a clean exit."""
        for key in keys:
            code = self.stop(key)
            verdict.check(code == 0, f"{key} stopped cleanly on SIGTERM (exit {code})")

    def kill9(self, key: str) -> None:
        proc = self.processes[key]
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)

    def log_tail(self, key: str, lines: int = 30) -> str:
        log = self._logs.get(key)
        if log is None or not log.exists():
            return ""
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])

    @contextlib.contextmanager
    def guarded(self, verdict: Verdict, *, show_logs: bool = True) -> Iterator[None]:
        """The drill's body: a crash becomes a failed check, and the stack is closed in any
        case (with the logs' last lines when a check failed and ``show_logs``)."""
        try:
            yield
        except Exception as exc:
            verdict.check(False, f"the drill crashed: {type(exc).__name__}: {exc}")
        finally:
            self.close(keep_logs_on=show_logs and bool(verdict.problems))

    def close(self, keep_logs_on: bool = False) -> None:
        for key in list(self.processes):
            with contextlib.suppress(Exception):
                self.stop(key)
        if keep_logs_on:
            for key in self._logs:
                tail = self.log_tail(key, 15)
                if tail.strip():
                    say(f"--- last lines of {key}.log ---\n{tail}")
        if self._db_created:
            with contextlib.suppress(Exception):
                admin_sql(f'ALTER DATABASE "{self.db}" WITH ALLOW_CONNECTIONS true')
            try:
                admin_sql(f'DROP DATABASE IF EXISTS "{self.db}" WITH (FORCE)')
            except Exception as exc:
                say(f"could not drop database {self.db}: {exc}")
        shutil.rmtree(self.dir, ignore_errors=True)

    def sql(self, statement: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        url = self.database_url.replace("postgres://", "postgresql://", 1)
        with psycopg.connect(url, autocommit=True, connect_timeout=5) as conn:
            cur = conn.execute(statement, params)  # type: ignore[arg-type]
            return cur.fetchall() if cur.description else []

    def scalar(self, statement: str, params: Sequence[Any] = ()) -> Any:
        return self.sql(statement, params)[0][0]

    def cut_database(self) -> int:
        """The outage: no new connections, and every open one terminated."""
        admin_sql(f'ALTER DATABASE "{self.db}" WITH ALLOW_CONNECTIONS false')
        rows = admin_sql(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = %s AND pid <> pg_backend_pid()",
            (self.db,),
        )
        return len(rows)

    def restore_database(self) -> None:
        admin_sql(f'ALTER DATABASE "{self.db}" WITH ALLOW_CONNECTIONS true')

    def queue_counts(self) -> dict[str, int]:
        return dict(self.sql("SELECT status, count(*) FROM connector_callevent GROUP BY status"))

    def wait_drained(
        self,
        timeout: float,
        expected: int,
        *,
        every: float = 5.0,
        stall: float = STALL_SECONDS,
        alive: Callable[[], None] | None = None,
    ) -> tuple[bool, float]:
        """Wait until no event is pending and ``expected`` are in the queue; gives up after
        ``timeout`` s, or after ``stall`` s in which no event was processed or failed."""
        started = time.monotonic()
        last_say = 0.0
        settled, progress_at = -1, started
        while True:
            if alive is not None:
                alive()
            counts = self.queue_counts()
            now = time.monotonic()
            if now - last_say >= every:
                say(f"  queue after {now - started:5.1f} s: {counts}")
                last_say = now
            pending = counts.get("pending", 0)
            if pending == 0 and sum(counts.values()) >= expected:
                return True, now - started
            done = sum(counts.values()) - pending
            if done != settled:
                settled, progress_at = done, now
            if now - started > timeout:
                say(f"  gave up after {timeout:.0f} s: {counts}")
                return False, now - started
            if now - progress_at > stall:
                say(f"  stalled: nothing processed for {stall:.0f} s: {counts}")
                return False, now - started
            time.sleep(0.5)


@dataclass
class Answer:
    index: int
    status: int  # 0: no answer (connection refused, timeout)
    text: str
    sent_at: float
    seconds: float

    @property
    def outcome(self) -> str:
        if self.status == 200:
            with contextlib.suppress(ValueError, AttributeError):
                return str(json.loads(self.text).get("status"))
            return "200?"
        return str(self.status or "no answer")


def post_one(http: httpx.Client, url: str, body: str, index: int = 0) -> Answer:
    started = time.monotonic()
    try:
        response = http.post(
            url, content=body.encode(), headers={"Content-Type": "application/json"}
        )
        status, text = response.status_code, response.text[:300]
    except httpx.HTTPError as exc:
        status, text = 0, f"{type(exc).__name__}: {exc}"
    return Answer(index, status, text, started, time.monotonic() - started)


def post_all(
    url: str, bodies: Sequence[str], *, concurrency: int = 8, timeout: float = 30
) -> list[Answer]:
    """POST every body, roughly in order, from ``concurrency`` threads; one answer each."""
    work: queue.Queue[int] = queue.Queue()
    for n in range(len(bodies)):
        work.put(n)
    answers: list[Answer | None] = [None] * len(bodies)

    def sender() -> None:
        with httpx.Client(timeout=timeout) as http:
            while True:
                try:
                    n = work.get_nowait()
                except queue.Empty:
                    return
                answers[n] = post_one(http, url, bodies[n], n)

    threads = [threading.Thread(target=sender, daemon=True) for _ in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return [a for a in answers if a is not None]


def percentile(values: Sequence[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


class Verdict:
    """Collects failed checks; prints PASS/FAIL with the reasons."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.problems: list[str] = []
        self.started = time.monotonic()

    def check(self, ok: bool, what: str) -> bool:
        say(f"  [{'ok' if ok else 'FAIL'}] {what}")
        if not ok:
            self.problems.append(what)
        return ok

    def finish(self) -> int:
        seconds = time.monotonic() - self.started
        if self.problems:
            say(f"FAIL {self.name} ({seconds:.0f} s): {len(self.problems)} check(s) failed")
            for problem in self.problems:
                say(f"  - {problem}")
            return 1
        say(f"PASS {self.name} ({seconds:.0f} s)")
        return 0


def check_answered_200(verdict: Verdict, answers: Sequence[Answer]) -> None:
    """The check of a drill's sending: every notification was answered 200."""
    not_ok = sum(a.status != 200 for a in answers)
    verdict.check(not not_ok, f"every notification answered 200 ({not_ok} not)")
