#!/usr/bin/env python
"""Worker throughput on PostgreSQL with 1, 2 and 4 ``trubka worker`` processes.

Run from the repository root:

    .venv/bin/python bench/worker_throughput.py
    .venv/bin/python bench/worker_throughput.py --calls 1000 --workers 1 2

What it does, all against 127.0.0.1 only:

1. makes a fresh PostgreSQL database ``bench_<pid>_wtmpl``: ``trubka migrate``, 20 employees
   with extensions 101-120, 1,000 existing contacts with one phone each, UIS account 900
   connected with ``trubka integration add --app-id 900 --skip-key-check``;
2. fills the queue through HTTP, exactly as UIS would: starts ``trubka web``, and posts
   ``--calls`` calls (default 2,000) to the notification URL, each ringing a group of two
   extensions (two ``wait``) and then ending as ``history`` (70 %, with a recording link) or
   ``lost`` (30 %): 6,000 notifications, bodies rendered from the guide's templates as UIS
   fills them. Half the callers are existing contacts, half unknown numbers from a pool of
   600 (so unknown callers call again, and two legs of one call race to create their card).
   Calls overlap: the ends of one batch of 50 calls are posted after the rings of the next.
   Then stops the web server;
3. for each worker count: copies that database (``CREATE DATABASE … TEMPLATE``), starts N
   ``trubka worker`` processes at once with a private Redis for popups, and waits until the
   queue is drained; events/s is processed events over the span between the first and the
   last ``processed_at`` (process start-up excluded; the wall time including it is printed
   too); CPU of the workers, PostgreSQL and the rest is measured;
4. checks the outcome is exactly once in effect: every event processed, one ``PhoneCall`` per
   call id, every lost call missed with a ticket (a new one or a comment on the caller's
   open one), one recording per answered call, one new client card per unknown number.

Recording archiving (``TRUBKA_RECORDING_ARCHIVE``) is off: its jobs would download from
app.uiscom.ru, and this benchmark sends traffic to 127.0.0.1 only; archive jobs are separate
queue rows, not notification processing. The scaling is reported as ratios to one worker; on
this 2-core machine PostgreSQL and the workers share the same cores, which caps it. A missed
target is printed as FAIL; the exit status is non-zero only when the benchmark itself breaks.
Everything it made is removed in ``finally``.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common
from common import Cleanup, CpuMeter, say

APP_ID = 900
ZONE = "Europe/Moscow"
EXTENSIONS = [str(x) for x in range(101, 121)]
NEAR_LINEAR = 0.8  # efficiency (speed-up / workers) taken as "near-linear"

SETUP_CODE = r"""
import random
from trubka.staff.models import Employee
from trubka.clients.models import Contact, PhoneNumber
rng = random.Random(7)
for n, ext in enumerate(range(101, 121)):
    Employee.objects.create_user(username=f"agent{ext}", password=None,
                                 first_name="Агент", last_name=f"Номер{ext}", extension=str(ext))
for i, phone in enumerate(PHONES):
    contact = Contact.objects.create(first_name="Клиент", last_name=f"Постоянный{i}")
    PhoneNumber.objects.create(contact=contact, raw=phone, kind="mobile")
print("ok")
"""


def plan_calls(calls: int, rng: random.Random, known: list[str], unknown: list[str]) -> list[dict]:
    out = []
    started = datetime.now(ZoneInfo(ZONE)) - timedelta(hours=1)
    for n in range(calls):
        phone = rng.choice(known) if rng.random() < 0.5 else rng.choice(unknown)
        a, b = rng.sample(EXTENSIONS, 2)
        out.append(
            {
                "call_id": 7_000_000_000 + n,
                "phone": phone,
                "extensions": [a, b],
                "answered": rng.random() < 0.7,
                "started": started + timedelta(seconds=n),
            }
        )
    return out


def bodies_in_order(calls: list[dict], batch: int = 50) -> list[tuple[str, str]]:
    """(kind, body) in the order they are posted: rings of batch k, then ends of batch k-1."""
    from trubka.connector.providers.uis.simulate import Call, history, lost, wait

    def call_of(c: dict, ext: str) -> Call:
        return Call(
            app_id=APP_ID,
            call_session_id=c["call_id"],
            contact_phone_number=c["phone"],
            extension=ext,
            started=c["started"],
        )

    rings = [[("wait", wait(call_of(c, e))) for e in c["extensions"]] for c in calls]
    ends = [
        [("history", history(call_of(c, c["extensions"][0])))]
        if c["answered"]
        else [("lost", lost(call_of(c, c["extensions"][0]), ["Агент Номер101", "Агент Номер102"]))]
        for c in calls
    ]
    out: list[tuple[str, str]] = []
    chunks = [range(i, min(i + batch, len(calls))) for i in range(0, len(calls), batch)]
    for k, chunk in enumerate(chunks):
        for i in chunk:
            out += rings[i]
        if k:
            for i in chunks[k - 1]:
                out += ends[i]
    for i in chunks[-1]:
        out += ends[i]
    return out


def post_all(url: str, bodies: list[tuple[str, str]], concurrency: int = 8) -> dict[str, int]:
    """POST in order with a small window of concurrent senders; returns answers by status."""
    import httpx

    counts: dict[str, int] = {}
    lock = threading.Lock()
    local = threading.local()

    def send(item: tuple[str, str]) -> None:
        if not hasattr(local, "client"):
            local.client = httpx.Client(timeout=30)
        response = local.client.post(
            url, content=item[1].encode(), headers={"Content-Type": "application/json"}
        )
        key = str(response.status_code)
        if response.status_code == 200:
            key = response.json().get("status", "200")
        with lock:
            counts[key] = counts.get(key, 0) + 1

    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(send, bodies))
    return counts


COUNT_CODE = r"""
import collections, json, time
from django.db import connection
from trubka.connector.models import CallEvent
from trubka.connector.queue.claim import claim_batch
from trubka.connector.queue.outcome import run_event
actions = dict(CallEvent.objects.values_list("id", "action"))
seen = {"q": 0}
def count(execute, sql, params, many, context):
    seen["q"] += 1
    return execute(sql, params, many, context)
queries, seconds, events = collections.Counter(), collections.Counter(), collections.Counter()
claims = claim_queries = 0
with connection.execute_wrapper(count):
    while sum(events.values()) < LIMIT:
        q = seen["q"]
        ids = claim_batch(20)
        claims += 1
        claim_queries += seen["q"] - q
        if not ids:
            break
        for event_id in ids:
            action = actions.get(event_id, "?")
            q, t = seen["q"], time.perf_counter()
            run_event(event_id)
            seconds[action] += time.perf_counter() - t
            queries[action] += seen["q"] - q
            events[action] += 1
print("BENCH_JSON " + json.dumps({"events": events, "queries": queries, "seconds": seconds,
      "claims": claims, "claim_queries": claim_queries}))
"""


def query(url: str, sql: str, params: tuple = ()) -> list[tuple]:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        return conn.execute(sql, params).fetchall()


def verify(url: str, calls: list[dict], unknown_pool: list[str]) -> dict[str, object]:
    """Exactly once in effect: counts that must match the calls sent."""
    answered = sum(c["answered"] for c in calls)
    lost_n = len(calls) - answered
    unknown_called = len({c["phone"] for c in calls if c["phone"] in set(unknown_pool)})
    status = dict(query(url, "SELECT status, count(*) FROM connector_callevent GROUP BY status"))
    phonecalls = query(
        url,
        "SELECT count(*), count(DISTINCT (provider, provider_call_id)),"
        " count(*) FILTER (WHERE is_missed),"
        " count(*) FILTER (WHERE is_missed AND ticket_id IS NULL)"
        " FROM calls_phonecall",
    )[0]
    recordings = query(url, "SELECT count(*), count(DISTINCT call_id) FROM calls_callrecording")[0]
    tickets = query(url, "SELECT count(*) FROM tickets_ticket WHERE source = 'missed_call'")[0][0]
    comments = query(
        url,
        "SELECT count(*) FROM tickets_ticketcomment c JOIN tickets_ticket t"
        " ON t.id = c.ticket_id WHERE t.source = 'missed_call'",
    )[0][0]
    cards = query(
        url,
        "SELECT p.match_key, count(DISTINCT c.id) FROM clients_contact c"
        " JOIN clients_phonenumber p ON p.contact_id = c.id"
        " WHERE c.from_unknown_call_at IS NOT NULL GROUP BY p.match_key",
    )
    popups = query(url, "SELECT count(*) FROM calls_callpopup")[0][0]
    checks = {
        "events processed": (status.get("processed", 0), len(calls) * 3),
        "events failed": (status.get("failed", 0), 0),
        "events left pending": (status.get("pending", 0), 0),
        "PhoneCall rows": (phonecalls[0], len(calls)),
        "distinct call ids": (phonecalls[1], len(calls)),
        "missed calls": (phonecalls[2], lost_n),
        "missed calls without a ticket": (phonecalls[3], 0),
        "recordings (one per answered call)": (recordings[0], answered),
        "missed-call tickets + comments": (tickets + comments, lost_n),
        "new client cards": (len(cards), unknown_called),
        "unknown numbers with >1 card": (sum(1 for _k, n in cards if n > 1), 0),
    }
    return {
        "checks": {k: {"got": g, "want": w, "ok": g == w} for k, (g, w) in checks.items()},
        "popups": popups,
        "tickets": tickets,
        "comments": comments,
        "ok": all(g == w for g, w in checks.values()),
    }


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--timeout", type=float, default=300, help="seconds per drain, at most")
    parser.add_argument("--seed", type=int, default=6)
    parser.add_argument(
        "--py-spy",
        default="",
        metavar="FILE",
        help="profile the first worker of the first run (py-spy)",
    )
    common.add_wait_quiet_argument(parser, default=300)
    parser.add_argument(
        "--count-queries",
        type=int,
        default=600,
        metavar="N",
        help="afterwards, count SQL statements per event over the first N "
        "events with one in-process worker (0: skip)",
    )
    parser.add_argument("--json", default="")
    parser.add_argument(
        "--src",
        default="",
        help="run the trubka processes from this copy of src/ instead of the working tree "
        "(what-if runs with a fix applied; the difference is printed)",
    )
    return parser.parse_args()


PENDING_SQL = "SELECT count(*) FROM connector_callevent WHERE status = 'pending'"


@dataclass
class Queue:
    """The filled template database every run copies, and what was sent into it."""

    work: Path
    env: dict[str, str]
    name: str
    calls: list[dict]
    unknown: list[str]
    notifications: int


def fill_queue(args: argparse.Namespace, src: Path, cleanup: Cleanup, work: Path) -> Queue:
    """The template database: migrated, set up, its queue filled through ``trubka web``."""
    rng = random.Random(args.seed)
    redis_url = common.start_redis(cleanup, work)
    tmpl, tmpl_url = common.new_database(cleanup, work, "wtmpl")
    env = common.trubka_env(
        work, tmpl_url, src=src, REDIS_URL=redis_url, TRUBKA_RECORDING_ARCHIVE="false"
    )
    t0 = time.perf_counter()
    common.migrate(env, work)
    known = [f"+7 9{rng.randrange(10**9):09d}" for _ in range(1000)]
    unknown = [f"79{rng.randrange(10**9):09d}" for _ in range(600)]
    code = f"PHONES = {json.dumps(known)}\n" + SETUP_CODE
    common.run_trubka("shell", "-c", code, env=env, cwd=work)
    port = common.free_port()
    url = common.add_integration(
        f"http://{common.HOST}:{port}", env=env, cwd=work, app_id=APP_ID, zone=ZONE
    )
    # UIS writes contact_phone_number as digits with the country code.
    calls = plan_calls(args.calls, rng, [re.sub(r"\D", "", k) for k in known], unknown)
    bodies = bodies_in_order(calls)
    web = common.spawn_web(cleanup, port, 2, env=env, cwd=work, log=work / "web.log")
    common.wait_for_http(common.health_url(port), [web])
    t1 = time.perf_counter()
    answers = post_all(url, bodies)
    post_s = time.perf_counter() - t1
    common.stop_process(web)
    pending = query(tmpl_url, PENDING_SQL)[0][0]
    say(
        f"-- prepared in {time.perf_counter() - t0:.0f} s: posted {len(bodies)} notifications "
        f"through HTTP in {post_s:.1f} s ({len(bodies) / post_s:.0f}/s), answers {answers}; "
        f"{pending} pending in the queue"
    )
    if pending != len(bodies):
        raise RuntimeError(f"expected {len(bodies)} pending events, found {pending}")
    return Queue(work, env, tmpl, calls, unknown, len(bodies))


def start_workers(
    cleanup: Cleanup, queue: Queue, n: int, env: dict[str, str]
) -> list[subprocess.Popen[bytes]]:
    return [
        common.spawn(
            cleanup,
            [*common.trubka_command(), "worker", "--idle", "0.2"],
            env=env,
            cwd=queue.work,
            log=queue.work / f"worker-{n}-{k}.log",
        )
        for k in range(n)
    ]


def start_profiler(pid: int, output: str, work: Path) -> subprocess.Popen[bytes] | None:
    time.sleep(1.5)  # past the imports
    # --idle: wall time, the waits on PostgreSQL too.
    return common.start_py_spy(
        pid, output, "--rate", "250", "--idle", "--nonblocking", log=work / "py-spy.log"
    )


def wait_drained(
    db: str, workers: list[subprocess.Popen[bytes]], left: int, deadline: float
) -> int:
    """Wait until nothing is pending (or the deadline, or 30 s without progress); returns
    the events left pending."""
    progress_at, last_left = time.perf_counter(), left
    while time.perf_counter() < deadline:
        left = query(db, PENDING_SQL)[0][0]
        if not left:
            break
        if any(w.poll() is not None for w in workers):
            raise RuntimeError("a worker exited early")
        if left < last_left:
            progress_at, last_left = time.perf_counter(), left
        elif time.perf_counter() - progress_at > 30:
            say("   no progress for 30 s; giving up on this run")
            break
        time.sleep(0.25)
    return left


def drain(
    args: argparse.Namespace, cleanup: Cleanup, queue: Queue, n: int, db: str, profile: bool
) -> tuple[int, float, CpuMeter]:
    """Drain one copy of the queue with ``n`` workers: (events left, wall time, CPU)."""
    wenv = dict(queue.env, DATABASE_URL=db)
    common.wait_quiet_and_say(args.wait_quiet, "   machine busy before the run")
    say(f"-- {n} worker(s)")
    meter = CpuMeter({})
    start = time.perf_counter()
    workers = start_workers(cleanup, queue, n, wenv)
    pids = [w.pid for w in workers]
    meter.groups = {
        "workers": lambda pids=pids: common.tree_cpu_seconds(pids),
        "postgresql": common.postgres_cpu_seconds,
    }
    meter.start()
    spy = start_profiler(pids[0], args.py_spy, queue.work) if profile else None
    left = wait_drained(db, workers, queue.notifications, start + args.timeout)
    wall = time.perf_counter() - start
    meter.stop()
    for w in workers:
        common.stop_process(w)
    if spy is not None:
        spy.send_signal(signal.SIGINT)
        spy.wait(timeout=30)
    return left, wall, meter


def measure_run(
    db: str, queue: Queue, n: int, left: int, wall: float, meter: CpuMeter, base_rate: float
) -> dict:
    """The figures of one drained copy; ``base_rate`` is one worker's (0 for this run)."""
    first, last, done = query(
        db,
        "SELECT min(processed_at), max(processed_at),"
        " count(*) FROM connector_callevent"
        " WHERE status = 'processed'",
    )[0]
    span = (last - first).total_seconds() if first and last else float("nan")
    rate = done / span if span else float("nan")
    base_rate = base_rate or rate
    per_worker = query(db, "SELECT count(*) FROM connector_callevent WHERE attempts > 1")[0][0]
    check = verify(db, queue.calls, queue.unknown)
    errors = query(
        db,
        "SELECT left(last_error, 300), count(*) FROM connector_callevent"
        " WHERE last_error <> '' GROUP BY 1 ORDER BY 2 DESC LIMIT 5",
    )
    for error, count in errors:
        say(f"   last_error x{count}: {error}")
    return {
        "workers": n,
        "processed": done,
        "left": left,
        "span_s": span,
        "wall_s": wall,
        "rate": rate,
        "speedup": rate / base_rate,
        "efficiency": rate / base_rate / n,
        "retried_events": per_worker,
        "cpu_cores": {k: v / meter.wall for k, v in meter.used.items()},
        "verify": check,
    }


def print_run(run: dict, meter: CpuMeter) -> None:
    check = run["verify"]
    say(
        f"   {run['processed']} processed in {run['span_s']:.1f} s = {run['rate']:.0f} events/s "
        f"(wall incl. start-up {run['wall_s']:.1f} s); speed-up x{run['speedup']:.2f}, "
        f"efficiency {100 * run['efficiency']:.0f} %; events retried {run['retried_events']}"
    )
    say("   CPU: " + "; ".join(meter.lines()))
    bad = [k for k, v in check["checks"].items() if not v["ok"]]
    say(
        f"   exactly once in effect: {'yes' if check['ok'] else 'NO'}"
        + (
            " — "
            + ", ".join(
                f"{k}: {check['checks'][k]['got']} (want {check['checks'][k]['want']})" for k in bad
            )
            if bad
            else ""
        )
        + f"; popups {check['popups']}, missed tickets {check['tickets']} "
        f"+ comments {check['comments']}"
    )


def run_all(args: argparse.Namespace, cleanup: Cleanup, queue: Queue) -> list[dict]:
    """One drained copy of the queue per worker count."""
    runs: list[dict] = []
    base_rate = 0.0
    for n in args.workers:
        name, db = common.new_database(cleanup, queue.work, f"w{n}", template=queue.name)
        profile = bool(args.py_spy) and not runs
        left, wall, meter = drain(args, cleanup, queue, n, db, profile)
        run = measure_run(db, queue, n, left, wall, meter, base_rate)
        base_rate = base_rate or run["rate"]
        runs.append(run)
        print_run(run, meter)
        common.drop_database(name)
    return runs


def count_queries(args: argparse.Namespace, cleanup: Cleanup, queue: Queue) -> dict | None:
    """One worker in this benchmark's own process tree, counting SQL per event."""
    if not args.count_queries:
        return None
    name, db = common.new_database(cleanup, queue.work, "wq", template=queue.name)
    qenv = dict(queue.env, DATABASE_URL=db)
    out = common.run_trubka(
        "shell", "-c", f"LIMIT = {args.count_queries}\n" + COUNT_CODE, env=qenv, cwd=queue.work
    )
    line = next(x for x in out.splitlines() if x.startswith("BENCH_JSON "))
    counted = json.loads(line[len("BENCH_JSON ") :])
    say(f"-- SQL per event, one worker, first {sum(counted['events'].values())} events:")
    for action, n in sorted(counted["events"].items()):
        say(
            f"   {action:<8} {n:>5} events: {counted['queries'][action] / n:5.1f} queries, "
            f"{1000 * counted['seconds'][action] / n:6.1f} ms each"
        )
    say(
        f"   claim_batch: {counted['claim_queries'] / max(counted['claims'], 1):.1f} "
        f"queries per batch of up to 20"
    )
    common.drop_database(name)
    return counted


def report(info: dict[str, str], runs: list[dict]) -> None:
    say("")
    common.print_info("Results", info)
    say(
        f"   {'workers':>7} {'events/s':>9} {'speed-up':>9} {'efficiency':>10} "
        f"{'workers CPU':>11} {'PG CPU':>7} {'idle':>5} {'once':>5}"
    )
    for r in runs:
        c = r["cpu_cores"]
        idle = (os.cpu_count() or 2) - c["machine"]
        say(
            f"   {r['workers']:>7} {r['rate']:>9.0f} {r['speedup']:>8.2f}x "
            f"{100 * r['efficiency']:>9.0f}% {c['workers']:>11.2f} {c['postgresql']:>7.2f} "
            f"{idle:>5.2f} {'yes' if r['verify']['ok'] else 'NO':>5}"
        )
    by_n = {r["workers"]: r for r in runs}
    if 2 in by_n:
        say(
            f"   1→2 workers: x{by_n[2]['speedup']:.2f}   near-linear (>= x{2 * NEAR_LINEAR:.1f}) "
            + common.verdict(by_n[2]["speedup"] >= 2 * NEAR_LINEAR)
        )
    if 4 in by_n:
        say(
            f"   1→4 workers: x{by_n[4]['speedup']:.2f}   near-linear (>= x{4 * NEAR_LINEAR:.1f}) "
            + common.verdict(by_n[4]["speedup"] >= 4 * NEAR_LINEAR)
            + " (2 cores: above x2 is impossible here)"
        )
    say(
        "   exactly once in effect in every run: "
        + common.verdict(all(r["verify"]["ok"] for r in runs))
    )


def main() -> int:
    args = parse_args()
    src = Path(args.src).resolve() if args.src else common.SRC
    info = common.print_machine("Worker throughput: 1, 2 and 4 trubka worker processes")
    say(
        f"   settings    calls={args.calls} (notifications={args.calls * 3}) "
        f"workers={args.workers} seed={args.seed}"
    )
    if args.src:
        common.print_source_diff(src)
    cleanup = Cleanup()
    work: Path | None = None
    try:
        work = common.temp_dir(cleanup, "bench-worker-")
        queue = fill_queue(args, src, cleanup, work)
        runs = run_all(args, cleanup, queue)
        counted = count_queries(args, cleanup, queue)
        report(info, runs)
        common.write_json(
            args.json,
            {
                "machine": info,
                "args": vars(args),
                "runs": runs,
                "sql_per_event": counted,
                "source_diff": common.source_diff(src),
            },
        )
    except Exception:
        if work is not None:
            common.show_logs(work, 20)
        raise
    finally:
        cleanup.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
