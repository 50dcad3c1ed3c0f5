#!/usr/bin/env python
"""Webhook accept rate of the real ``trubka web`` against a bare baseline, in one run.

Run from the repository root:

    .venv/bin/python bench/webhook_accept.py                  # PostgreSQL, 2 processes
    .venv/bin/python bench/webhook_accept.py --sqlite
    .venv/bin/python bench/webhook_accept.py --processes 1 --concurrency 64 --duration 30

What it does, all against 127.0.0.1 only:

1. makes a fresh PostgreSQL database ``bench_<pid>_real`` (``--sqlite``: a file in a temporary
   folder), runs ``trubka migrate`` and ``trubka integration add --app-id 900
   --skip-key-check`` (which prints the notification URL), then copies that database for the
   baseline (``bench_<pid>_base``), so both start from the same rows;
2. starts the real app, ``trubka web --processes N``, and the baseline: ``baseline_app`` below,
   a raw ASGI app under uvicorn with the same process count and the same Django settings,
   that reads the body and does only ``CallEvent.objects.create(...)`` of a comparable row
   (same integration, raw body, a parsed dict of the same shape, a unique dedupe key) — no
   parsing, no token check, no middleware — honouring ``TRUBKA_DB_CONN_MAX_AGE`` the way a
   Django request does (``close_old_connections()`` before and after);
3. drives each, one at a time, with the same closed-loop generator: ``wrk`` (C, from Debian)
   with a fixed number of connections, a Lua script posting UIS bodies rendered from the
   guide's templates exactly as UIS fills them (``wait`` 50 %, ``history`` 30 %, ``lost``
   20 %), each with a unique call id and caller; warm-up first, then a fixed duration;
   ``--rounds`` alternates baseline and real to even out drift;
4. then measures the real app once more with the load paced to about ``--paced-rate``
   (default 1,000/s: each connection pauses after an answer), because a closed loop at full
   speed only measures queueing (p50 ≈ connections ÷ rate): the p99 target is judged at the
   target rate;
5. reports accepted/s, p50/p95/p99/max latency, errors, rows actually stored, CPU used by
   the server, PostgreSQL, the load generator and everything else, and real/baseline.

The load generator shares the machine's 2 cores with the servers and PostgreSQL; its CPU
use is printed so the reader can judge. A missed target is printed as FAIL; the exit status
is non-zero only when the benchmark itself breaks. Servers, databases and the temporary
folder are removed in ``finally`` (``--keep`` keeps the folder).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import resource
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common
from common import Cleanup, CpuMeter, say


def make_baseline_app():  # type: ignore[no-untyped-def]
    """The baseline ASGI app: stores a comparable ``CallEvent`` row and answers 200."""
    import itertools
    import json as _json
    import uuid as _uuid

    import django
    from asgiref.sync import sync_to_async

    django.setup()
    from django.db import close_old_connections

    from trubka.connector.models import CallEvent

    integration_id = int(os.environ["BENCH_INTEGRATION_ID"])
    parsed = _json.loads(os.environ["BENCH_PARSED"])
    counter = itertools.count()
    prefix = _uuid.uuid4().hex[:12]

    def _insert(body: bytes, addr: str | None) -> None:
        close_old_connections()  # what Django's request_started does
        try:
            n = next(counter)
            CallEvent.objects.create(
                integration_id=integration_id,
                method="POST",
                content_type="application/json",
                remote_addr=addr,
                raw_body=body.decode("utf-8", errors="replace"),
                action="wait",
                kind="ring",
                call_id=f"{prefix}{n}",
                parsed=parsed,
                dedupe_key=f"base:{prefix}:{n}",
            )
        finally:
            close_old_connections()  # what Django's request_finished does

    _insert_async = sync_to_async(_insert, thread_sensitive=False)

    async def baseline_app(scope, receive, send):  # type: ignore[no-untyped-def]
        if scope["type"] != "http":
            return
        body, more = b"", True
        while more:
            message = await receive()
            body += message.get("body", b"")
            more = message.get("more_body", False)
        client = scope.get("client")
        await _insert_async(body, client[0] if client else None)
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"application/json")],
            }
        )
        await send({"type": "http.response.body", "body": b'{"status": "pending"}'})

    return baseline_app


# uvicorn imports this module in the baseline's worker processes (BENCH_BASELINE=1).
if os.environ.get("BENCH_BASELINE") == "1":
    baseline_app = make_baseline_app()


TARGET_RATE = 1000.0
TARGET_P99_MS = 50.0
TARGET_RATIO = 0.5
APP_ID = 900
ZONE = "Europe/Moscow"

LUA = r"""
-- Closed-loop POSTs of UIS notifications, each with a unique call id and caller.
local bodies = { WAIT = [==[@WAIT@]==], HISTORY = [==[@HISTORY@]==], LOST = [==[@LOST@]==] }
local threads = {}
local counter = 0
local tid = 0
local headers = { ["Content-Type"] = "application/json" }

function setup(thread)
  thread:set("tid", #threads + 1)
  table.insert(threads, thread)
end

function init(args)
  tid = tonumber(wrk.thread:get("tid")) or 0
  math.randomseed(@SEED@ + tid)
end

@DELAY_FUNCTION@
function request()
  counter = counter + 1
  local cid = tostring(@BASE@ + tid * 100000000 + counter)
  local phone = "79" .. string.format("%09d", (tid * 7919 + counter * 104729) % 1000000000)
  local k = counter % 10
  local body
  if k < 5 then body = bodies.WAIT elseif k < 8 then body = bodies.HISTORY else body = bodies.LOST end
  body = body:gsub("@CALL@", cid):gsub("@PHONE@", phone)
  return wrk.format("POST", nil, headers, body)
end

codes = {}
sample = ""

function response(status, headers, body)
  if status >= 300 then
    codes[tostring(status)] = (codes[tostring(status)] or 0) + 1
    if sample == "" then sample = string.sub(body or "", 1, 200) end
  end
end

function done(summary, latency, requests)
  local e = summary.errors
  for _, thread in ipairs(threads) do
    local c = thread:get("codes")
    for k, v in pairs(c or {}) do io.write(string.format("BENCH_STATUS %s %d\n", k, v)) end
    local s = thread:get("sample")
    if s and s ~= "" then io.write("BENCH_SAMPLE " .. string.gsub(s, "\n", " ") .. "\n") end
  end
  io.write(string.format(
    "BENCH_JSON {\"requests\": %d, \"duration_us\": %d, \"bytes\": %d, " ..
    "\"connect\": %d, \"read\": %d, \"write\": %d, \"status\": %d, \"timeout\": %d, " ..
    "\"p50\": %d, \"p90\": %d, \"p95\": %d, \"p99\": %d, \"p999\": %d, \"max\": %d, \"mean\": %f}\n",
    summary.requests, summary.duration, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(95),
    latency:percentile(99), latency:percentile(99.9), latency.max, latency.mean))
end
"""

CALL_SENTINEL = 918273645546372
PHONE_SENTINEL = "70000000000"


def lua_script(seed: int, base: int, delay_ms: int = 0) -> str:
    """The wrk script, with bodies rendered by Trubka's own simulator (as UIS fills them).

    ``delay_ms``: each connection waits this long after an answer before its next request
    (wrk's ``delay()``), which paces the load below saturation."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from trubka.connector.providers.uis.simulate import Call, history, lost, wait

    call = Call(
        app_id=APP_ID,
        call_session_id=CALL_SENTINEL,
        contact_phone_number=PHONE_SENTINEL,
        extension="101",
        started=datetime.now(ZoneInfo(ZONE)).replace(microsecond=123456),
    )

    def template(body: str) -> str:
        out = body.replace(str(CALL_SENTINEL), "@CALL@").replace(PHONE_SENTINEL, "@PHONE@")
        assert "]==]" not in out
        return out

    script = LUA
    script = script.replace("@WAIT@", template(wait(call)))
    script = script.replace("@HISTORY@", template(history(call)))
    script = script.replace("@LOST@", template(lost(call, ["Иванов Иван", "Петрова Мария"])))
    pace = f"function delay()\n  return {delay_ms}\nend\n" if delay_ms > 0 else ""
    script = script.replace("@DELAY_FUNCTION@", pace)
    return script.replace("@SEED@", str(seed)).replace("@BASE@", str(base))


def parsed_shape() -> str:
    """A parsed dict like the one the real webhook stores for a ``wait`` (for the baseline)."""
    import json

    return json.dumps(
        {
            "app_id": APP_ID,
            "call_id": "1234567890",
            "action": "wait",
            "phone": "79161234567",
            "direction": "in",
            "extension_phone_number": "101",
            "started_at": None,
            "file_url": [],
            "noanswered_employee_full_names": [],
            "phone_call": {"duration": None, "receiver_phone": None, "source_phone": None},
        }
    )


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--processes", type=int, default=2, help="web processes (each server)")
    parser.add_argument("--sqlite", action="store_true", help="SQLite instead of PostgreSQL")
    parser.add_argument("--concurrency", type=int, default=32, help="connections in flight")
    parser.add_argument("--threads", type=int, default=1, help="wrk threads")
    parser.add_argument("--duration", type=int, default=20, help="seconds measured per run")
    parser.add_argument("--warmup", type=int, default=5, help="seconds of warm-up per run")
    parser.add_argument("--rounds", type=int, default=2, help="baseline/real pairs")
    parser.add_argument("--only", choices=["both", "real", "baseline"], default="both")
    parser.add_argument(
        "--paced-rate",
        type=float,
        default=TARGET_RATE,
        help="after the rounds, measure the real app's latency with the load paced to about "
        "this many notifications/s instead of as fast as it answers (0: don't)",
    )
    parser.add_argument("--conn-max-age", default="", help="TRUBKA_DB_CONN_MAX_AGE for both")
    parser.add_argument(
        "--pythonpath",
        default="",
        help="prepend this folder to both servers' PYTHONPATH (what-if experiments: e.g. a "
        "folder with httptools/uvloop, or a settings module given with --settings)",
    )
    parser.add_argument("--settings", default="", help="DJANGO_SETTINGS_MODULE for both")
    parser.add_argument(
        "--py-spy",
        default="",
        metavar="FILE",
        help="profile one real web process during the last real run",
    )
    common.add_wait_quiet_argument(
        parser, default=300, help="first wait up to this long for an idle machine (0: don't)"
    )
    parser.add_argument("--json", default="", help="write the figures to this file")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    return parser.parse_args()


@dataclass
class Rig:
    """The two servers under test and how to reach them."""

    args: argparse.Namespace
    wrk: str
    work: Path
    env_real: dict[str, str]
    env_base: dict[str, str] = field(default_factory=dict)
    ports: dict[str, int] = field(default_factory=dict)
    urls: dict[str, str] = field(default_factory=dict)
    servers: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    @property
    def last_real_seed(self) -> int:
        """The seed of the last measured real run (the one profiled)."""
        return 2 * self.args.rounds


def real_env(args: argparse.Namespace, cleanup: Cleanup, work: Path) -> tuple[str, dict[str, str]]:
    """(database name, environment) of the real app."""
    extra = {}
    if args.conn_max_age:
        extra["TRUBKA_DB_CONN_MAX_AGE"] = args.conn_max_age
    redis_url = common.start_redis(cleanup, work)
    extra["REDIS_URL"] = redis_url  # as in a scale-out deployment (private instance)
    real_db, real_url = common.new_database(cleanup, work, "real", sqlite=args.sqlite)
    env_real = common.trubka_env(work, real_url, **extra)
    if args.settings:
        env_real["DJANGO_SETTINGS_MODULE"] = args.settings
    if args.pythonpath:
        env_real["PYTHONPATH"] = args.pythonpath + os.pathsep + env_real["PYTHONPATH"]
    return real_db, env_real


def prepare(args: argparse.Namespace, cleanup: Cleanup, work: Path, wrk: str) -> Rig:
    """Migrate the real app's database, connect UIS, copy the database for the baseline."""
    real_db, env_real = real_env(args, cleanup, work)
    rig = Rig(args, wrk, work, env_real)
    t0 = time.perf_counter()
    common.migrate(env_real, work)
    rig.ports = {"real": common.free_port(), "baseline": common.free_port()}
    webhook_url = common.add_integration(
        f"http://{common.HOST}:{rig.ports['real']}",
        env=env_real,
        cwd=work,
        app_id=APP_ID,
        zone=ZONE,
    )
    integration_id = int(
        common.run_trubka(
            "shell",
            "-c",
            "from trubka.connector.models import Integration;"
            f"print(Integration.objects.get(account_id={APP_ID}).pk)",
            env=env_real,
            cwd=work,
        )
        .strip()
        .splitlines()[-1]
    )
    _, base_url = common.new_database(cleanup, work, "base", template=real_db, sqlite=args.sqlite)
    rig.env_base = dict(env_real)
    rig.env_base.update(
        {
            "DATABASE_URL": base_url,
            "BENCH_BASELINE": "1",
            "BENCH_INTEGRATION_ID": str(integration_id),
            "BENCH_PARSED": parsed_shape(),
        }
    )
    say(
        f"   prepared in {time.perf_counter() - t0:.1f} s; webhook "
        f"{re.sub(r'/webhook/[^/]+/', '/webhook/<token>/', webhook_url)}"
    )
    rig.urls = {
        "real": webhook_url,
        "baseline": f"http://{common.HOST}:{rig.ports['baseline']}/insert",
    }
    return rig


def start_baseline(rig: Rig, cleanup: Cleanup) -> subprocess.Popen[bytes]:
    return common.spawn(
        cleanup,
        [
            sys.executable,
            "-m",
            "uvicorn",
            "webhook_accept:baseline_app",
            "--app-dir",
            str(Path(__file__).resolve().parent),
            "--host",
            common.HOST,
            "--port",
            str(rig.ports["baseline"]),
            "--workers",
            str(rig.args.processes),
            "--lifespan",
            "off",
            "--no-access-log",
            "--log-level",
            "warning",
        ],
        env=rig.env_base,
        cwd=rig.work,
        log=rig.work / "baseline.log",
    )


def start_servers(rig: Rig, cleanup: Cleanup) -> None:
    args, work = rig.args, rig.work
    if args.only in ("both", "real"):
        rig.servers["real"] = common.spawn_web(
            cleanup,
            rig.ports["real"],
            args.processes,
            env=rig.env_real,
            cwd=work,
            log=work / "real.log",
        )
    if args.only in ("both", "baseline"):
        rig.servers["baseline"] = start_baseline(rig, cleanup)
    for name, process in rig.servers.items():
        common.wait_for_http(common.health_url(rig.ports[name]), [process])
    time.sleep(1.0)  # let every worker process finish importing


def count_rows(rig: Rig, name: str) -> int:
    env = rig.env_real if name == "real" else rig.env_base
    code = "from trubka.connector.models import CallEvent;print(CallEvent.objects.count())"
    env = {k: v for k, v in env.items() if k != "BENCH_BASELINE"}
    out = common.run_trubka("shell", "-c", code, env=env, cwd=rig.work)
    return int(out.strip().splitlines()[-1])


def run_wrk(
    rig: Rig, name: str, seconds: int, seed: int, measured: bool, delay_ms: int
) -> tuple[subprocess.CompletedProcess[str], CpuMeter, dict[str, float], float]:
    """One wrk run against ``name``: (its output, CPU meter, CPU used, wrk's own CPU)."""
    args = rig.args
    script = rig.work / f"{name}-{seed}.lua"
    script.write_text(lua_script(seed, base=10**13 + seed * 10**11, delay_ms=delay_ms))
    command = [
        rig.wrk,
        "-t",
        str(args.threads),
        "-c",
        str(args.concurrency),
        "-d",
        f"{seconds}s",
        "--timeout",
        "10s",
        "-s",
        str(script),
        rig.urls[name],
    ]
    groups = {
        "server": lambda: common.tree_cpu_seconds([rig.servers[name].pid]),
        "postgresql": common.postgres_cpu_seconds,
    }
    meter = CpuMeter(groups)
    before_children = resource.getrusage(resource.RUSAGE_CHILDREN)
    meter.start()
    spy = None
    if measured and args.py_spy and name == "real" and seed == rig.last_real_seed:
        spy = start_py_spy(rig.servers[name].pid, args.py_spy, max(5, seconds - 2), rig.work)
    done = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60)
    used = meter.stop()
    after_children = resource.getrusage(resource.RUSAGE_CHILDREN)
    if spy is not None:
        spy.wait(timeout=120)
    gen = (after_children.ru_utime + after_children.ru_stime) - (
        before_children.ru_utime + before_children.ru_stime
    )
    return done, meter, used, gen


def read_wrk(
    name: str, done: subprocess.CompletedProcess[str], meter: CpuMeter, used: dict, gen: float
) -> dict:
    """The figures of one wrk run, from what the Lua script printed."""
    line = next((x for x in done.stdout.splitlines() if x.startswith("BENCH_JSON ")), "")
    if not line:
        raise RuntimeError(f"wrk failed:\n{done.stdout}\n{done.stderr}")
    data = json.loads(line[len("BENCH_JSON ") :])
    statuses: dict[str, int] = {}
    samples = []
    for x in done.stdout.splitlines():
        if x.startswith("BENCH_STATUS "):
            _, code, count = x.split()
            statuses[code] = statuses.get(code, 0) + int(count)
        elif x.startswith("BENCH_SAMPLE "):
            samples.append(x[len("BENCH_SAMPLE ") :])
    seconds_run = data["duration_us"] / 1e6
    errors = data["connect"] + data["read"] + data["write"] + data["status"] + data["timeout"]
    ok = data["requests"] - data["status"]
    # wrk counts a request only when its response arrived; errors.status are >= 400.
    cpu = dict(used)
    cpu["load generator (wrk)"] = gen
    cpu["other"] = used["other"] - gen
    return {
        "name": name,
        "requests": data["requests"],
        "ok": ok,
        "errors": errors,
        "error_detail": {k: data[k] for k in ("connect", "read", "write", "status", "timeout")},
        "statuses": statuses,
        "error_samples": samples[:3],
        "seconds": seconds_run,
        "rate": ok / seconds_run,
        "p50_ms": data["p50"] / 1000,
        "p90_ms": data["p90"] / 1000,
        "p95_ms": data["p95"] / 1000,
        "p99_ms": data["p99"] / 1000,
        "p999_ms": data["p999"] / 1000,
        "max_ms": data["max"] / 1000,
        "mean_ms": data["mean"] / 1000,
        "cpu_cores": {k: v / meter.wall for k, v in cpu.items()},
    }


def drive(rig: Rig, name: str, seconds: int, seed: int, measured: bool, delay_ms: int = 0) -> dict:
    return read_wrk(name, *run_wrk(rig, name, seconds, seed, measured, delay_ms))


def say_cpu(result: dict) -> None:
    say("   CPU: " + ", ".join(f"{k} {v:.2f}" for k, v in result["cpu_cores"].items()) + " cores")


def measure_round(rig: Rig, round_no: int, name: str, seed: int) -> dict:
    """Warm-up, then one measured run of ``name``, with the rows it stored."""
    args = rig.args
    say(f"-- round {round_no}: {name}: warm-up {args.warmup} s, then {args.duration} s measured")
    drive(rig, name, args.warmup, 1000 + seed, measured=False)
    if args.wait_quiet > 0:
        busy = common.wait_until_quiet(min(args.wait_quiet, 120), sample=3.0)
        if busy >= 0.3:
            say(f"   WARNING: {busy:.2f} cores busy before this run")
    rows_before = count_rows(rig, name)
    seed_measured = 2 * round_no if name == "real" else 2 * round_no - 1
    result = drive(rig, name, args.duration, seed_measured, measured=True)
    stored = count_rows(rig, name) - rows_before
    result["rows_stored"] = stored
    say(
        f"   {result['rate']:7.0f} accepted/s  p50 {result['p50_ms']:.1f}  "
        f"p95 {result['p95_ms']:.1f}  p99 {result['p99_ms']:.1f}  "
        f"max {result['max_ms']:.1f} ms  errors {result['errors']}  "
        f"rows stored {stored} (answered {result['ok']})"
    )
    if result["statuses"]:
        say(f"   answers other than 2xx: {result['statuses']}; e.g. {result['error_samples'][:1]}")
    say_cpu(result)
    return result


def run_rounds(rig: Rig, order: list[str], results: dict[str, list[dict]]) -> None:
    seed = 1
    for round_no in range(1, rig.args.rounds + 1):
        for name in order:
            results[name].append(measure_round(rig, round_no, name, seed))
            seed += 1


def run_paced(rig: Rig) -> dict:
    """Closed loop with a pause after each answer: each connection's cycle is answer time +
    pause, so the pause is set to connections × 1000 / rate ms less the answer time, found
    from the rate short calibration runs actually achieved."""
    args = rig.args
    cycle_ms = args.concurrency * 1000 / args.paced_rate
    delay_ms = max(1, round(cycle_ms))
    steps = 3
    say(f"-- paced: real at about {args.paced_rate:.0f}/s, {steps} calibration runs")
    for step in range(steps):
        seconds = max(3, args.warmup)
        trial = drive(rig, "real", seconds, 5000 + step, measured=False, delay_ms=delay_ms)
        answer_ms = max(0.0, args.concurrency * 1000 / max(trial["rate"], 1) - delay_ms)
        say(f"   pause {delay_ms} ms gave {trial['rate']:.0f}/s")
        delay_ms = max(1, round(cycle_ms - answer_ms))
    if args.wait_quiet > 0:
        common.wait_until_quiet(min(args.wait_quiet, 120), sample=3.0)
    say(f"   {args.duration} s measured, {delay_ms} ms pause per connection")
    paced = drive(rig, "real", args.duration, 5100, measured=True, delay_ms=delay_ms)
    say(
        f"   {paced['rate']:7.0f} accepted/s  p50 {paced['p50_ms']:.1f}  "
        f"p95 {paced['p95_ms']:.1f}  p99 {paced['p99_ms']:.1f}  "
        f"max {paced['max_ms']:.1f} ms  errors {paced['errors']}"
    )
    say_cpu(paced)
    return paced


def aggregate(runs: list[dict], concurrency: int) -> dict:
    rate = sum(r["rate"] for r in runs) / len(runs)
    return {
        "rate": rate,
        "p50_ms": sorted(r["p50_ms"] for r in runs)[len(runs) // 2],
        "p95_ms": max(r["p95_ms"] for r in runs),
        "p99_ms": max(r["p99_ms"] for r in runs),
        "max_ms": max(r["max_ms"] for r in runs),
        "errors": sum(r["errors"] for r in runs),
        # Requests still in flight when wrk stops are stored but not counted as answered.
        "rows_match": all(r["ok"] <= r["rows_stored"] <= r["ok"] + concurrency for r in runs),
        "cpu_cores": {
            k: sum(r["cpu_cores"][k] for r in runs) / len(runs) for k in runs[0]["cpu_cores"]
        },
    }


def report_server(name: str, a: dict, runs: list[dict], concurrency: int) -> None:
    say(
        f"   {name:<9} {a['rate']:7.0f} accepted/s (mean of {len(runs)} runs: "
        + ", ".join(f"{r['rate']:.0f}" for r in runs)
        + ")"
    )
    say(
        f"             latency p50 {a['p50_ms']:.1f} ms, p95 {a['p95_ms']:.1f} ms, "
        f"p99 {a['p99_ms']:.1f} ms, max {a['max_ms']:.1f} ms (worst run)"
    )
    say(
        f"             errors {a['errors']}; rows stored match answers "
        f"(+ at most {concurrency} in flight at the end): {a['rows_match']}"
    )
    say("             CPU (cores): " + ", ".join(f"{k} {v:.2f}" for k, v in a["cpu_cores"].items()))


def report_verdicts(args: argparse.Namespace, agg: dict, paced: dict | None) -> None:
    real = agg["real"]
    say("")
    say(
        f"   accept rate  {real['rate']:.0f}/s   target >= {TARGET_RATE:.0f}/s   "
        + common.verdict(real["rate"] >= TARGET_RATE)
    )
    say(
        f"   p99 flat out {real['p99_ms']:.1f} ms  ({args.concurrency} in flight; p50 is "
        "about connections ÷ rate, so this is queueing, not service time)"
    )
    if paced is not None:
        ok = paced["rate"] >= 0.9 * args.paced_rate and not paced["errors"]
        say(
            f"   p99 at {paced['rate']:.0f}/s {paced['p99_ms']:.1f} ms  target <= "
            f"{TARGET_P99_MS:.0f} ms at {TARGET_RATE:.0f}/s   "
            + common.verdict(paced["p99_ms"] <= TARGET_P99_MS and ok)
            + ("" if ok else " (the paced run fell short of the rate or had errors)")
        )
    if "baseline" in agg:
        ratio = real["rate"] / agg["baseline"]["rate"]
        agg["ratio"] = ratio
        say(
            f"   real/baseline {ratio:.2f}       target >= {TARGET_RATIO:.2f}       "
            + common.verdict(ratio >= TARGET_RATIO)
        )
    gen = real["cpu_cores"].get("load generator (wrk)", math.nan)
    say(f"   (the load generator used {gen:.2f} of the 2 cores during the real runs)")


def show_error_lines(work: Path) -> None:
    for log in sorted(work.glob("*.log")):
        lines = [
            x
            for x in log.read_text(errors="replace").splitlines()
            if re.search(r"ERROR|Error|Traceback|WARNING", x)
        ]
        if lines:
            say(f"   {log.name}: {len(lines)} error lines, the last ones:")
            say("\n".join("      " + x[:300] for x in lines[-8:]))


def report(
    rig: Rig, info: dict[str, str], order: list[str], results: dict, paced: dict | None
) -> dict:
    """Print the results; returns the summary kept in the JSON."""
    args = rig.args
    say("")
    common.print_info("Results", info)
    agg = {}
    for name in order:
        agg[name] = aggregate(results[name], args.concurrency)
        report_server(name, agg[name], results[name], args.concurrency)
    if "real" in agg:
        report_verdicts(args, agg, paced)
    if any(r["errors"] for runs in results.values() for r in runs):
        show_error_lines(rig.work)
    return agg


def print_settings(args: argparse.Namespace) -> None:
    say(
        f"   settings    processes={args.processes} db={'sqlite' if args.sqlite else 'postgresql'}"
        f" concurrency={args.concurrency} wrk-threads={args.threads} duration={args.duration}s"
        f" warmup={args.warmup}s rounds={args.rounds}"
        + (f" conn_max_age={args.conn_max_age}" if args.conn_max_age else "")
        + (f" pythonpath={args.pythonpath}" if args.pythonpath else "")
        + (f" settings={args.settings}" if args.settings else "")
    )


def main() -> int:
    args = parse_args()
    wrk = shutil.which("wrk")
    if not wrk:
        say("wrk is not installed: apt-get install -y wrk")
        return 2
    info = common.print_machine("Webhook accept: real trubka web vs a bare insert baseline")
    print_settings(args)
    common.wait_quiet_and_say(args.wait_quiet, "   machine busy before start")

    cleanup = Cleanup()
    results: dict[str, list[dict]] = {"baseline": [], "real": []}
    work: Path | None = None
    try:
        work = common.temp_dir(cleanup, "bench-webhook-", keep=args.keep)
        rig = prepare(args, cleanup, work, wrk)
        start_servers(rig, cleanup)
        order = [n for n in ("baseline", "real") if n in rig.servers]
        run_rounds(rig, order, results)
        paced = None
        if args.paced_rate > 0 and "real" in rig.servers:
            paced = run_paced(rig)
            results["paced"] = [paced]
        agg = report(rig, info, order, results, paced)
        common.write_json(
            args.json, {"machine": info, "args": vars(args), "runs": results, "summary": agg}
        )
    except Exception:
        if work is not None:
            common.show_logs(work, 30)
        raise
    finally:
        cleanup.run()
    return 0


def start_py_spy(pid: int, output: str, seconds: int, work: Path):  # type: ignore[no-untyped-def]
    """py-spy on the busiest child (a uvicorn worker process) of ``pid``."""
    children = [p for p in common.tree_pids(pid) if p != pid]
    target = max(children, key=common.proc_cpu_seconds) if children else pid
    return common.start_py_spy(
        target,
        output,
        "--duration",
        str(seconds),
        "--rate",
        "250",
        "--gil",  # GIL holder: Python CPU
        "--nonblocking",
        log=work / "py-spy.log",
    )


if __name__ == "__main__":
    sys.exit(main())
