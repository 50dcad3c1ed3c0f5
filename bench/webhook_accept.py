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

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

# ---------------------------------------------------------------------------------------------
# The baseline ASGI app (imported by uvicorn in its worker processes when BENCH_BASELINE=1)

if os.environ.get("BENCH_BASELINE") == "1":
    import itertools
    import json as _json
    import uuid as _uuid

    import django
    from asgiref.sync import sync_to_async

    django.setup()
    from django.db import close_old_connections

    from trubka.connector.models import CallEvent

    _INTEGRATION_ID = int(os.environ["BENCH_INTEGRATION_ID"])
    _PARSED = _json.loads(os.environ["BENCH_PARSED"])
    _COUNTER = itertools.count()
    _PREFIX = _uuid.uuid4().hex[:12]

    def _insert(body: bytes, addr: str | None) -> None:
        close_old_connections()  # what Django's request_started does
        try:
            n = next(_COUNTER)
            CallEvent.objects.create(
                integration_id=_INTEGRATION_ID,
                method="POST",
                content_type="application/json",
                remote_addr=addr,
                raw_body=body.decode("utf-8", errors="replace"),
                action="wait",
                call_id=f"{_PREFIX}{n}",
                parsed=_PARSED,
                dedupe_key=f"base:{_PREFIX}:{n}",
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


# ---------------------------------------------------------------------------------------------
# The benchmark

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


def main() -> int:
    import argparse
    import json
    import math
    import re
    import resource
    import shutil
    import subprocess
    import time

    import common
    from common import Cleanup, CpuMeter, say

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
    parser.add_argument(
        "--wait-quiet",
        type=float,
        default=300,
        metavar="SECONDS",
        help="first wait up to this long for an idle machine (0: don't)",
    )
    parser.add_argument("--json", default="", help="write the figures to this file")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = parser.parse_args()

    wrk = shutil.which("wrk")
    if not wrk:
        say("wrk is not installed: apt-get install -y wrk")
        return 2

    info = common.print_machine("Webhook accept: real trubka web vs a bare insert baseline")
    say(
        f"   settings    processes={args.processes} db={'sqlite' if args.sqlite else 'postgresql'}"
        f" concurrency={args.concurrency} wrk-threads={args.threads} duration={args.duration}s"
        f" warmup={args.warmup}s rounds={args.rounds}"
        + (f" conn_max_age={args.conn_max_age}" if args.conn_max_age else "")
        + (f" pythonpath={args.pythonpath}" if args.pythonpath else "")
        + (f" settings={args.settings}" if args.settings else "")
    )
    if args.wait_quiet > 0:
        busy = common.wait_until_quiet(args.wait_quiet)
        say(f"   machine busy before start: {busy:.2f} cores")

    cleanup = Cleanup()
    results: dict[str, list[dict]] = {"baseline": [], "real": []}
    try:
        work = common.temp_dir(cleanup, "bench-webhook-", keep=args.keep)
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
        t0 = time.perf_counter()
        common.migrate(env_real, work)
        real_port, base_port = common.free_port(), common.free_port()
        webhook_url = common.add_integration(
            f"http://{common.HOST}:{real_port}", env=env_real, cwd=work, app_id=APP_ID, zone=ZONE
        )
        integration_id = int(
            common.run_trubka(
                "shell",
                "-c",
                "from trubka.connector.models import Integration;"
                f"print(Integration.objects.get(app_id={APP_ID}).pk)",
                env=env_real,
                cwd=work,
            )
            .strip()
            .splitlines()[-1]
        )
        _, base_url = common.new_database(
            cleanup, work, "base", template=real_db, sqlite=args.sqlite
        )
        env_base = dict(env_real)
        env_base.update(
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

        servers: dict[str, subprocess.Popen[bytes]] = {}
        urls = {"real": webhook_url, "baseline": f"http://{common.HOST}:{base_port}/insert"}
        if args.only in ("both", "real"):
            servers["real"] = common.spawn_web(
                cleanup, real_port, args.processes, env=env_real, cwd=work, log=work / "real.log"
            )
        if args.only in ("both", "baseline"):
            servers["baseline"] = common.spawn(
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
                    str(base_port),
                    "--workers",
                    str(args.processes),
                    "--lifespan",
                    "off",
                    "--no-access-log",
                    "--log-level",
                    "warning",
                ],
                env=env_base,
                cwd=work,
                log=work / "baseline.log",
            )
        for name, process in servers.items():
            port = real_port if name == "real" else base_port
            common.wait_for_http(common.health_url(port), [process])
        time.sleep(1.0)  # let every worker process finish importing

        def count_rows(name: str) -> int:
            env = env_real if name == "real" else env_base
            code = "from trubka.connector.models import CallEvent;print(CallEvent.objects.count())"
            env = {k: v for k, v in env.items() if k != "BENCH_BASELINE"}
            out = common.run_trubka("shell", "-c", code, env=env, cwd=work)
            return int(out.strip().splitlines()[-1])

        def drive(name: str, seconds: int, seed: int, measured: bool, delay_ms: int = 0) -> dict:
            script = work / f"{name}-{seed}.lua"
            script.write_text(lua_script(seed, base=10**13 + seed * 10**11, delay_ms=delay_ms))
            command = [
                wrk,
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
                urls[name],
            ]
            groups = {
                "server": lambda: common.tree_cpu_seconds([servers[name].pid]),
                "postgresql": common.postgres_cpu_seconds,
            }
            meter = CpuMeter(groups)
            before_children = resource.getrusage(resource.RUSAGE_CHILDREN)
            meter.start()
            spy = None
            if measured and args.py_spy and name == "real" and seed == last_real_seed:
                spy = start_py_spy(servers[name].pid, args.py_spy, max(5, seconds - 2), work)
            done = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60)
            used = meter.stop()
            after_children = resource.getrusage(resource.RUSAGE_CHILDREN)
            if spy is not None:
                spy.wait(timeout=120)
            gen = (after_children.ru_utime + after_children.ru_stime) - (
                before_children.ru_utime + before_children.ru_stime
            )
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
            errors = (
                data["connect"] + data["read"] + data["write"] + data["status"] + data["timeout"]
            )
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
                "error_detail": {
                    k: data[k] for k in ("connect", "read", "write", "status", "timeout")
                },
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

        order = [n for n in ("baseline", "real") if n in servers]
        seed = 1
        last_real_seed = 2 * args.rounds  # the seed of the last measured real run
        rows_checked: dict[str, int] = {}
        for round_no in range(1, args.rounds + 1):
            for name in order:
                say(
                    f"-- round {round_no}: {name}: warm-up {args.warmup} s, "
                    f"then {args.duration} s measured"
                )
                drive(name, args.warmup, 1000 + seed, measured=False)
                if args.wait_quiet > 0:
                    busy = common.wait_until_quiet(min(args.wait_quiet, 120), sample=3.0)
                    if busy >= 0.3:
                        say(f"   WARNING: {busy:.2f} cores busy before this run")
                rows_before = count_rows(name)
                seed_measured = 2 * round_no if name == "real" else 2 * round_no - 1
                result = drive(name, args.duration, seed_measured, measured=True)
                stored = count_rows(name) - rows_before
                result["rows_stored"] = stored
                rows_checked[name] = rows_checked.get(name, 0) + stored
                results[name].append(result)
                seed += 1
                say(
                    f"   {result['rate']:7.0f} accepted/s  p50 {result['p50_ms']:.1f}  "
                    f"p95 {result['p95_ms']:.1f}  p99 {result['p99_ms']:.1f}  "
                    f"max {result['max_ms']:.1f} ms  errors {result['errors']}  "
                    f"rows stored {stored} (answered {result['ok']})"
                )
                if result["statuses"]:
                    say(
                        f"   answers other than 2xx: {result['statuses']}; e.g. "
                        f"{result['error_samples'][:1]}"
                    )
                say(
                    "   CPU: "
                    + ", ".join(f"{k} {v:.2f}" for k, v in result["cpu_cores"].items())
                    + " cores"
                )

        paced = None
        if args.paced_rate > 0 and "real" in servers:
            # Closed loop with a pause after each answer: each connection's cycle is answer
            # time + pause, so the pause is set to connections × 1000 / rate ms less the
            # answer time, found from the rate short calibration runs actually achieved.
            cycle_ms = args.concurrency * 1000 / args.paced_rate
            delay_ms = max(1, round(cycle_ms))
            steps = 3
            say(f"-- paced: real at about {args.paced_rate:.0f}/s, {steps} calibration runs")
            for step in range(steps):
                seconds = max(3, args.warmup)
                trial = drive("real", seconds, 5000 + step, measured=False, delay_ms=delay_ms)
                answer_ms = max(0.0, args.concurrency * 1000 / max(trial["rate"], 1) - delay_ms)
                say(f"   pause {delay_ms} ms gave {trial['rate']:.0f}/s")
                delay_ms = max(1, round(cycle_ms - answer_ms))
            if args.wait_quiet > 0:
                common.wait_until_quiet(min(args.wait_quiet, 120), sample=3.0)
            say(f"   {args.duration} s measured, {delay_ms} ms pause per connection")
            paced = drive("real", args.duration, 5100, measured=True, delay_ms=delay_ms)
            say(
                f"   {paced['rate']:7.0f} accepted/s  p50 {paced['p50_ms']:.1f}  "
                f"p95 {paced['p95_ms']:.1f}  p99 {paced['p99_ms']:.1f}  "
                f"max {paced['max_ms']:.1f} ms  errors {paced['errors']}"
            )
            say(
                "   CPU: "
                + ", ".join(f"{k} {v:.2f}" for k, v in paced["cpu_cores"].items())
                + " cores"
            )
            results["paced"] = [paced]

        say("")
        common.print_info("Results", info)
        agg = {}
        for name in order:
            runs = results[name]
            rate = sum(r["rate"] for r in runs) / len(runs)
            agg[name] = {
                "rate": rate,
                "p50_ms": sorted(r["p50_ms"] for r in runs)[len(runs) // 2],
                "p95_ms": max(r["p95_ms"] for r in runs),
                "p99_ms": max(r["p99_ms"] for r in runs),
                "max_ms": max(r["max_ms"] for r in runs),
                "errors": sum(r["errors"] for r in runs),
                # Requests still in flight when wrk stops are stored but not counted as answered.
                "rows_match": all(
                    r["ok"] <= r["rows_stored"] <= r["ok"] + args.concurrency for r in runs
                ),
                "cpu_cores": {
                    k: sum(r["cpu_cores"][k] for r in runs) / len(runs)
                    for k in runs[0]["cpu_cores"]
                },
            }
            a = agg[name]
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
                f"(+ at most {args.concurrency} in flight at the end): {a['rows_match']}"
            )
            say(
                "             CPU (cores): "
                + ", ".join(f"{k} {v:.2f}" for k, v in a["cpu_cores"].items())
            )
        if "real" in agg:
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
        if any(r["errors"] for runs in results.values() for r in runs):
            for log in sorted(work.glob("*.log")):
                lines = [
                    x
                    for x in log.read_text(errors="replace").splitlines()
                    if re.search(r"ERROR|Error|Traceback|WARNING", x)
                ]
                if lines:
                    say(f"   {log.name}: {len(lines)} error lines, the last ones:")
                    say("\n".join("      " + x[:300] for x in lines[-8:]))
        common.write_json(
            args.json, {"machine": info, "args": vars(args), "runs": results, "summary": agg}
        )
    except Exception:
        if "work" in locals():
            common.show_logs(work, 30)
        raise
    finally:
        cleanup.run()
    return 0


def start_py_spy(pid: int, output: str, seconds: int, work: Path):  # type: ignore[no-untyped-def]
    """py-spy on the busiest child (a uvicorn worker process) of ``pid``."""
    import common

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
