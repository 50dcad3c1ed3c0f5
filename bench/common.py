"""Shared helpers for the benchmarks (popup_latency, webhook_accept, caller_lookup,
worker_throughput).

Benchmarks are scripts that print figures, never tests. Everything here talks to 127.0.0.1
only, and every resource a helper makes (temporary folders, PostgreSQL databases named
``bench_<pid>_*``, a private Redis, server processes) is handed back to a ``Cleanup`` that
the scripts run in their ``finally`` blocks.
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import platform
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src"
HOST = "127.0.0.1"
ADMIN_URL = os.environ.get("BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres")

if str(SRC) not in sys.path:
    sys.path.insert(0, str(SRC))


# ---------------------------------------------------------------------------------------------
# Printing and statistics


def say(text: str = "") -> None:
    print(text, flush=True)


def percentile(values: Iterable[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100); NaN for no values."""
    ordered = sorted(values)
    if not ordered:
        return math.nan
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def summary(values: list[float]) -> dict[str, float]:
    return {
        "n": float(len(values)),
        "mean": (sum(values) / len(values)) if values else math.nan,
        "p50": percentile(values, 50),
        "p95": percentile(values, 95),
        "p99": percentile(values, 99),
        "max": max(values) if values else math.nan,
    }


def ms(value: float, digits: int = 2) -> str:
    return "n/a" if value is None or math.isnan(value) else f"{value:.{digits}f} ms"


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


# ---------------------------------------------------------------------------------------------
# The machine


def _git(*args: str) -> str:
    """What ``git <args>`` prints about this checkout. Read-only: GIT_OPTIONAL_LOCKS=0 keeps
    ``git status`` from touching the index."""
    return subprocess.run(
        ["git", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "GIT_OPTIONAL_LOCKS": "0"},
    ).stdout.strip()


def machine_info(commit_label: str = "", postgres: bool = True) -> dict[str, str]:
    """The machine, Python, PostgreSQL (unless ``postgres`` is false), date and commit
    (``commit_label`` instead of this checkout's, when given)."""
    model = "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    commit, dirty = "unknown", ""
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        commit = _git("rev-parse", "--short", "HEAD")
        status = _git("status", "--porcelain", "--untracked-files=no")
        dirty = " (+ uncommitted changes)" if status else ""
    info = {"nproc": str(os.cpu_count()), "cpu": model, "python": platform.python_version()}
    if postgres:
        info["postgresql"] = "unknown"
        with contextlib.suppress(Exception):
            import psycopg

            with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
                info["postgresql"] = str(conn.execute("SHOW server_version").fetchone()[0])
    info["platform"] = platform.platform()
    info["date"] = datetime.now(UTC).astimezone().strftime("%Y-%m-%d %H:%M:%S %Z")
    info["commit"] = commit_label or commit + dirty
    return info


def print_info(title: str, info: dict[str, str]) -> None:
    say(f"== {title}")
    for key, value in info.items():
        say(f"   {key:<11} {value}")


def print_machine(title: str) -> dict[str, str]:
    info = machine_info()
    print_info(title, info)
    say(f"   {'command':<11} {' '.join([Path(sys.executable).name, *sys.argv])}")
    return info


_TICK = os.sysconf("SC_CLK_TCK")


def proc_cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of one process so far (0 when it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / _TICK


def _all_processes() -> list[tuple[int, int, str]]:
    """(pid, ppid, comm) of every process."""
    out = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        with contextlib.suppress(OSError, IndexError, ValueError):
            text = Path(f"/proc/{entry}/stat").read_text()
            comm = text[text.index("(") + 1 : text.rindex(")")]
            ppid = int(text.rsplit(")", 1)[1].split()[1])
            out.append((int(entry), ppid, comm))
    return out


def tree_pids(root: int) -> list[int]:
    procs = _all_processes()
    children: dict[int, list[int]] = {}
    for pid, ppid, _comm in procs:
        children.setdefault(ppid, []).append(pid)
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children.get(pid, []))
    return found


def tree_cpu_seconds(roots: Iterable[int]) -> float:
    """CPU of the processes under ``roots`` (children they reaped included)."""
    return sum(proc_cpu_with_children(p) for root in roots for p in tree_pids(root))


def proc_cpu_with_children(pid: int) -> float:
    """CPU of a process plus that of its children it has already reaped."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return sum(int(v) for v in fields[11:15]) / _TICK


def postgres_cpu_seconds() -> float:
    """CPU of every PostgreSQL process on the machine, backends that already exited included
    (the postmaster reaps them). The server is shared: other users' backends count here too;
    they are idle unless someone else is benchmarking."""
    procs = _all_processes()
    pg = {pid for pid, _pp, comm in procs if comm == "postgres"}
    total = 0.0
    for pid, ppid, comm in procs:
        if comm != "postgres":
            continue
        # The postmaster (parent not postgres) carries its reaped backends' CPU too.
        total += proc_cpu_with_children(pid) if ppid not in pg else proc_cpu_seconds(pid)
    return total


def machine_busy_seconds() -> float:
    """CPU seconds all processes on the machine have used (all cores)."""
    fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(v) for v in fields[:8])
    return (user + nice + system + irq + softirq + steal) / _TICK


class CpuMeter:
    """CPU seconds used between ``start()`` and ``stop()`` by named groups and the machine."""

    def __init__(self, groups: dict[str, Callable[[], float]]) -> None:
        self.groups = groups
        self.before: dict[str, float] = {}
        self.used: dict[str, float] = {}
        self.wall = 0.0

    def start(self) -> None:
        self._t0 = time.perf_counter()
        self.before = {name: read() for name, read in self.groups.items()}
        self.before["machine"] = machine_busy_seconds()

    def stop(self) -> dict[str, float]:
        self.wall = time.perf_counter() - self._t0
        self.used = {name: read() - self.before[name] for name, read in self.groups.items()}
        self.used["machine"] = machine_busy_seconds() - self.before["machine"]
        self.used["other"] = self.used["machine"] - sum(
            v for k, v in self.used.items() if k != "machine"
        )
        return self.used

    def lines(self) -> list[str]:
        cores = os.cpu_count() or 1
        wall = self.wall or 1.0
        out = []
        for name, used in self.used.items():
            out.append(
                f"{name:<22} {used:7.1f} CPU-s = {used / wall:4.2f} cores "
                f"({100 * used / wall / cores:4.1f} % of the machine)"
            )
        return out


def wait_until_quiet(
    limit: float, threshold: float = 0.3, sample: float = 5.0, indent: str = "   "
) -> float:
    """Wait up to ``limit`` seconds until the machine uses less than ``threshold`` cores over
    ``sample`` seconds (other people's benchmarks share these 2 cores); returns the last
    figure measured. Each wait is reported on a line starting with ``indent``."""
    deadline = time.monotonic() + limit
    while True:
        before = machine_busy_seconds()
        time.sleep(sample)
        busy = (machine_busy_seconds() - before) / sample
        if busy < threshold or time.monotonic() >= deadline:
            return busy
        say(f"{indent}waiting for a quiet machine: {busy:.2f} cores busy")


def wait_quiet_and_say(
    limit: float, label: str, threshold: float = 0.3, indent: str = "   "
) -> None:
    """``wait_until_quiet`` when ``limit`` is positive, then ``label: N cores`` on a line."""
    if limit > 0:
        busy = wait_until_quiet(limit, threshold=threshold, indent=indent)
        say(f"{label}: {busy:.2f} cores")


def add_wait_quiet_argument(
    parser: argparse.ArgumentParser, default: float, help: str | None = None
) -> None:
    """``--wait-quiet SECONDS``: wait up to this long for an idle machine first."""
    parser.add_argument(
        "--wait-quiet",
        type=float,
        default=default,
        metavar="SECONDS",
        help=help or "wait up to this long for an idle machine before measuring",
    )


def print_source_diff(src: Path) -> None:
    """Where a what-if run's ``--src`` comes from and how it differs from the working tree."""
    diff = source_diff(src)
    say(f"   source      {src} — differs from the working tree by:")
    say("\n".join("      " + x for x in (diff or "(nothing)").splitlines()))


# ---------------------------------------------------------------------------------------------
# Processes


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def trubka_command() -> list[str]:
    return [sys.executable, "-m", "trubka.cli"]


@dataclass
class Cleanup:
    """Everything a benchmark made, undone in reverse order by ``run()`` (in ``finally``)."""

    actions: list[tuple[str, Callable[[], None]]] = field(default_factory=list)
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def add(self, label: str, action: Callable[[], None]) -> None:
        self.actions.append((label, action))

    def run(self) -> None:
        while self.actions:
            label, action = self.actions.pop()
            try:
                action()
            except Exception as exc:
                say(f"   cleanup: {label} failed: {type(exc).__name__}: {exc}")


def stop_process(process: subprocess.Popen[bytes], grace: float = 15.0) -> None:
    """SIGTERM the process group this benchmark started (its own children included), then
    SIGKILL after ``grace`` seconds."""
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=5)
    # Children (uvicorn's worker processes) may outlive a killed parent for a moment.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)


def spawn(
    cleanup: Cleanup,
    args: list[str],
    *,
    env: dict[str, str],
    cwd: Path,
    log: Path,
) -> subprocess.Popen[bytes]:
    """Start a process in its own session (so its group can be stopped as one)."""
    with log.open("ab") as out:
        process = subprocess.Popen(
            args,
            env=env,
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    cleanup.add(f"stop {Path(args[0]).name} {process.pid}", lambda: stop_process(process))
    return process


def run_trubka(*args: str, env: dict[str, str], cwd: Path, timeout: float = 600) -> str:
    done = subprocess.run(
        [*trubka_command(), *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if done.returncode != 0:
        raise RuntimeError(
            f"trubka {' '.join(args)} failed ({done.returncode}):\n{done.stdout}{done.stderr}"
        )
    return done.stdout


def spawn_web(
    cleanup: Cleanup, port: int, processes: int, *, env: dict[str, str], cwd: Path, log: Path
) -> subprocess.Popen[bytes]:
    """``trubka web`` with ``processes`` processes on 127.0.0.1:``port`` (not yet answering)."""
    return spawn(
        cleanup,
        [
            *trubka_command(),
            "web",
            "--host",
            HOST,
            "--port",
            str(port),
            "--processes",
            str(processes),
        ],
        env=env,
        cwd=cwd,
        log=log,
    )


def health_url(port: int) -> str:
    return f"http://{HOST}:{port}/healthz"


def migrate(env: dict[str, str], cwd: Path, timeout: float = 600) -> None:
    run_trubka("migrate", "--no-input", "-v", "0", env=env, cwd=cwd, timeout=timeout)


def add_integration(
    base_url: str,
    *,
    env: dict[str, str],
    cwd: Path,
    app_id: int = 900,
    zone: str = "Europe/Moscow",
    timeout: float = 600,
) -> str:
    """Connect UIS account ``app_id`` offline (``--skip-key-check``) for a Trubka reached at
    ``base_url``; returns the notification URL it prints."""
    out = run_trubka(
        "integration",
        "add",
        "--app-id",
        str(app_id),
        "--skip-key-check",
        "--name",
        "Bench",
        "--timezone",
        zone,
        "--base-url",
        base_url,
        env=env,
        cwd=cwd,
        timeout=timeout,
    )
    found = re.search(r"Notification URL: (\S+)", out)
    if not found:
        raise RuntimeError(f"no notification URL in {out!r}")
    return found.group(1)


def wait_for_http(
    url: str,
    processes: list[subprocess.Popen[bytes]],
    timeout: float = 90,
    status: int | None = None,
) -> None:
    """Wait until ``url`` answers (with ``status``, when given); fails early when one of
    ``processes`` exits."""
    import httpx

    deadline = time.monotonic() + timeout
    with httpx.Client(timeout=2) as http:
        while time.monotonic() < deadline:
            for process in processes:
                if process.poll() is not None:
                    raise RuntimeError(f"a server process exited early ({process.returncode})")
            with contextlib.suppress(httpx.HTTPError):
                answer = http.get(url)
                if status is None or answer.status_code == status:
                    return
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer within {timeout:.0f} s")


def temp_dir(cleanup: Cleanup, prefix: str, keep: bool = False) -> Path:
    path = Path(tempfile.mkdtemp(prefix=prefix))
    if not keep:
        cleanup.add(f"remove {path}", lambda: shutil.rmtree(path, ignore_errors=True))
    return path


def show_logs(folder: Path, lines: int) -> None:
    """The last ``lines`` lines of every ``*.log`` in ``folder`` (after a crash)."""
    for log in sorted(folder.glob("*.log")):
        text = log.read_text(errors="replace").splitlines()[-lines:]
        say(f"--- {log.name} ---")
        say("\n".join(text))


def start_py_spy(
    pid: int, output: str, *options: str, log: Path | None = None, indent: str = "   "
) -> subprocess.Popen[bytes] | None:
    """``py-spy record`` of ``pid`` into ``output`` (format from its suffix: .txt collapsed
    stacks, .json speedscope, else a flame graph) with further ``options``; its own output
    goes to ``log`` (or nowhere). None, with a note, when py-spy is not installed."""
    exe = os.environ.get("PY_SPY") or shutil.which("py-spy")
    if not exe:
        say(f"{indent}py-spy not found (set PY_SPY=/path/to/py-spy); profiling skipped")
        return None
    fmt = {".txt": "raw", ".json": "speedscope"}.get(Path(output).suffix, "flamegraph")
    command = [exe, "record", "--pid", str(pid), "--output", output, "--format", fmt, *options]
    if log is None:
        return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    with log.open("ab") as out:
        return subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)


def source_diff(src: Path) -> str:
    """How ``src`` differs from the working tree's ``src`` (for a what-if run), as a diff."""
    if src.resolve() == SRC.resolve():
        return ""
    done = subprocess.run(
        ["diff", "-ru", "-x", "__pycache__", str(SRC), str(src)], capture_output=True, text=True
    )
    return done.stdout


def trubka_env(data_dir: Path, database_url: str, src: Path = SRC, **extra: str) -> dict[str, str]:
    """The environment of every Trubka process of one benchmark: the working tree's code (or
    ``src``), a throw-away data folder (its generated keys are shared by all the processes),
    quiet logs."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("TRUBKA_") and k not in {"DATABASE_URL", "REDIS_URL"}
    }
    env.update(
        {
            "PYTHONPATH": str(src) + os.pathsep + env.get("PYTHONPATH", ""),
            "DJANGO_SETTINGS_MODULE": "trubka.settings",
            "TRUBKA_DATA_DIR": str(data_dir),
            "DATABASE_URL": database_url,
            "TRUBKA_LOG_LEVEL": "WARNING",
            "TRUBKA_EMBEDDED_WORKER": "false",
            "TRUBKA_ALLOWED_HOSTS": "127.0.0.1,localhost",
        }
    )
    env.update(extra)
    return env


# ---------------------------------------------------------------------------------------------
# PostgreSQL: throw-away databases named bench_<pid>_<label>


def db_name(label: str) -> str:
    return f"bench_{os.getpid()}_{label}"


def db_url(name: str) -> str:
    base = ADMIN_URL.rsplit("/", 1)[0]
    return f"{base}/{name}"


def _admin(sql: str) -> None:
    import psycopg

    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(sql)


def drop_database(name: str) -> None:
    assert name.startswith(f"bench_{os.getpid()}_"), name  # only our own
    # WITH (FORCE) ends the sessions connected to that one database only.
    _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def create_database(cleanup: Cleanup, label: str, template: str | None = None) -> str:
    """A fresh database (or a copy of ``template``, one of ours); dropped at cleanup."""
    name = db_name(label)
    drop_database(name)
    if template:
        _admin(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    else:
        _admin(f'CREATE DATABASE "{name}"')
    cleanup.add(f"drop database {name}", lambda: drop_database(name))
    return name


def new_database(
    cleanup: Cleanup,
    work: Path,
    label: str,
    *,
    template: str | None = None,
    sqlite: bool = False,
) -> tuple[str, str]:
    """(name, DATABASE_URL) of a fresh database, or of a copy of ``template`` (a name this
    returned before). PostgreSQL: ``bench_<pid>_<label>``, dropped at cleanup; ``sqlite``:
    the file ``<label>.sqlite3`` in ``work`` (removed with it), its path as the name."""
    if sqlite:
        path = work / f"{label}.sqlite3"
        if template:
            shutil.copy(template, path)
        return str(path), f"sqlite:///{path}"
    name = create_database(cleanup, label, template=template)
    return name, db_url(name)


# ---------------------------------------------------------------------------------------------
# A private Redis (so popups published by a benchmark never reach anyone else's Trubka: Redis
# pub/sub channels are shared across database numbers)


def start_redis(cleanup: Cleanup, work: Path) -> str:
    exe = shutil.which("redis-server")
    if not exe:
        raise RuntimeError("redis-server not found")
    port = free_port()
    process = spawn(
        cleanup,
        [
            exe,
            "--bind",
            HOST,
            "--port",
            str(port),
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(work),
            "--protected-mode",
            "yes",
        ],
        env=dict(os.environ),
        cwd=work,
        log=work / "redis.log",
    )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError("the private redis-server exited")
        with contextlib.suppress(OSError), socket.create_connection((HOST, port), timeout=0.5):
            return f"redis://{HOST}:{port}/0"
        time.sleep(0.1)
    raise RuntimeError("the private redis-server did not start")


def write_json(path: str | None, data: Any) -> None:
    if not path:
        return
    import json

    Path(path).write_text(json.dumps(data, indent=2, ensure_ascii=False, default=str))
    say(f"   figures written to {path}")
