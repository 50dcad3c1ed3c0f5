#!/usr/bin/env python
"""Drill: the database goes away under webhook load; nothing acknowledged is lost, nothing
is queued twice.

``trubka web`` takes a steady ~50 notifications/s (a ``desk_script`` day: waits, histories,
losses, some repeated, some reordered) while a ``trubka worker`` drains the queue. After
``--before`` seconds the drill cuts the drill's own database: every backend of it is
terminated (``pg_terminate_backend``) and new connections are refused (``ALTER DATABASE …
WITH ALLOW_CONNECTIONS false``) for ``--outage`` seconds; then it is allowed again. The
PostgreSQL server itself is never stopped.

Then, as UIS does, every notification not answered 200 is sent again until it is. Passes when:

- no request was answered 200 without its notification being stored (every 200 is in the
  queue), and every failure during the outage was an error UIS retries (5xx or no answer,
  never a 4xx);
- after the resends each distinct notification is in the queue exactly once;
- the web and worker processes lived through it, the queue drains, and the desk equals the
  state computed from the script (``desk_script.verify``).

    .venv/bin/python drills/db_outage.py [--rate 50] [--outage 10] [--conn-max-age 0]
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import httpx
from desk_script import EMPLOYEE_EXTENSIONS, Script, generate, verify
from harness import Answer, Stack, Verdict, open_drill, post_one, say

APP_ID = 9103


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=50, help="notifications per second")
    parser.add_argument("--before", type=float, default=10, help="seconds of load before")
    parser.add_argument("--outage", type=float, default=10, help="seconds without database")
    parser.add_argument("--after", type=float, default=10, help="seconds of load after")
    parser.add_argument(
        "--conn-max-age", default="0", help="TRUBKA_DB_CONN_MAX_AGE for web and worker"
    )
    parser.add_argument("--timeout", type=float, default=90, help="bound on draining, s")
    parser.add_argument("--seed", type=int, default=None)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    settings = (
        f"{args.rate:.0f}/s, outage {args.outage:.0f} s, TRUBKA_DB_CONN_MAX_AGE={args.conn_max_age}"
    )
    opened = open_drill("db_outage", args.seed, settings)
    if opened is None:
        return 2
    rng, verdict = opened
    stack = Stack(
        "outage",
        TRUBKA_CLAIM_LEASE_SECONDS="15",
        TRUBKA_DB_CONN_MAX_AGE=args.conn_max_age,
    )
    with stack.guarded(verdict):
        total = int(args.rate * (args.before + args.outage + args.after))
        script = generate(
            rng,
            app_id=APP_ID,
            calls=max(total * 10 // 32, 1),
            total=total,
            numbers=max(total // 5, 1),
            known=20,
            duplicate_share=0.05,
        )
        url = stack.open_desk(APP_ID, EMPLOYEE_EXTENSIONS, script)
        stack.start_worker("worker-1")

        sent, cut_at, restore_at = send_through_outage(stack, url, script, args)
        failed = check_answers(sent, cut_at, restore_at, verdict)
        check_acknowledged_stored(stack, script, sent, failed, verdict)
        resends = resend_failed(url, script, failed, verdict)
        check_queued_once(stack, script, [*sent, *resends], verdict)

        for key in ("web", "worker-1"):
            proc = stack.processes[key]
            verdict.check(proc.poll() is None, f"{key} lived through the outage")
        drained, seconds = stack.wait_drained(args.timeout, script.distinct)
        verdict.check(drained, f"queue drained after the resends (waited {seconds:.1f} s)")
        stack.stop_checked(["worker-1"], verdict)
        verify(stack, script, verdict, sent_ok=False, merge_strict=False)
    return verdict.finish()


def send_through_outage(
    stack: Stack, url: str, script: Script, args: argparse.Namespace
) -> tuple[list[Answer], float, float]:
    """Send the script at ``--rate``, cutting the database at ``--before`` s and allowing it
    again ``--outage`` s later. Returns the answers, the cut time and the restore time."""
    answers: list[Answer | None] = [None] * len(script.sequence)
    local = threading.local()

    def send(n: int) -> None:
        if not hasattr(local, "http"):
            local.http = httpx.Client(timeout=10)
        answers[n] = post_one(local.http, url, script.sequence[n], n)

    t0 = time.monotonic()
    cut_at = t0 + args.before
    restore_at = cut_at + args.outage
    cut = restored = False
    with ThreadPoolExecutor(max_workers=16) as pool:
        for n in range(len(script.sequence)):
            due = t0 + n / args.rate
            while True:
                now = time.monotonic()
                if not cut and now >= cut_at:
                    killed = stack.cut_database()
                    cut = True
                    say(f"  {now - t0:5.1f} s: database cut ({killed} backends terminated)")
                if cut and not restored and now >= restore_at:
                    stack.restore_database()
                    restored = True
                    say(f"  {now - t0:5.1f} s: database allowed again")
                if now >= due:
                    break
                time.sleep(min(due - now, 0.005))
            pool.submit(send, n)
    if not restored:
        time.sleep(max(restore_at - time.monotonic(), 0))
        stack.restore_database()
    sent = [a for a in answers if a is not None]
    say(f"  sent {len(sent)} in {time.monotonic() - t0:.1f} s")
    return sent, cut_at, restore_at


def check_answers(
    sent: list[Answer], cut_at: float, restore_at: float, verdict: Verdict
) -> list[Answer]:
    """The answers before, during and after the outage; returns those that were not 200."""

    def phase(a: Answer) -> str:
        if a.sent_at + a.seconds < cut_at:
            return "before"
        if a.sent_at > restore_at:
            return "after"
        return "during"

    table: Counter[tuple[str, str]] = Counter((phase(a), a.outcome) for a in sent)
    for name in ("before", "during", "after"):
        row = {o: n for (p, o), n in sorted(table.items()) if p == name}
        say(f"  answers {name:>6} the outage: {row}")
    four_xx = [a for a in sent if 400 <= a.status < 500]
    failed = [a for a in sent if a.status != 200]
    verdict.check(
        not four_xx,
        f"no 4xx (UIS would not retry): {len(four_xx)}"
        + (f", e.g. {four_xx[0].status} {four_xx[0].text}" if four_xx else ""),
    )
    verdict.check(
        any(phase(a) == "during" and a.status != 200 for a in sent),
        f"the outage was felt: {len(failed)} requests answered with an error "
        f"({Counter(a.status for a in failed)})",
    )
    return failed


def check_acknowledged_stored(
    stack: Stack, script: Script, sent: list[Answer], failed: list[Answer], verdict: Verdict
) -> None:
    """Every 200 must be in the queue, now, before anything is resent."""
    stored = Counter(
        stored_key(k)
        for (k,) in stack.sql(
            "SELECT dedupe_key FROM connector_callevent WHERE dedupe_key IS NOT NULL"
        )
    )
    label_key = {label: key_of(label) for label in script.labels}
    acked_lost = [
        script.labels[a.index]
        for a in sent
        if a.status == 200 and not stored.get(label_key[script.labels[a.index]])
    ]
    verdict.check(
        not acked_lost,
        f"every notification answered 200 is stored: {len(acked_lost)} acknowledged yet "
        "missing" + (f", e.g. {acked_lost[:5]}" if acked_lost else ""),
    )
    acked = {label_key[script.labels[a.index]] for a in sent if a.status == 200}
    unacked = {label_key[script.labels[a.index]] for a in failed} - acked
    say(
        f"  {len(unacked & set(stored))} of {len(unacked)} notifications never answered 200 "
        "were stored anyway (committed, then the answer failed): their resend is a duplicate"
    )


def resend_failed(url: str, script: Script, failed: list[Answer], verdict: Verdict) -> list[Answer]:
    """Resend what failed, as UIS does, until it is taken. Returns the resends' answers."""
    rounds = 0
    pending = failed
    resends: list[Answer] = []
    with httpx.Client(timeout=10) as http:
        while pending and rounds < 5:
            rounds += 1
            again = [post_one(http, url, script.sequence[a.index], a.index) for a in pending]
            resends += again
            pending = [a for a in again if a.status != 200]
            if pending:
                time.sleep(2)
    verdict.check(
        not pending,
        f"every failed notification taken on resend ({len(failed)} resent, "
        f"{rounds} round(s); answers {dict(Counter(a.outcome for a in resends))})",
    )
    return resends


def check_queued_once(
    stack: Stack, script: Script, answered: list[Answer], verdict: Verdict
) -> None:
    """Each distinct notification in the queue exactly once, after the first sends and the
    resends (``answered``)."""
    rows = stack.sql(
        "SELECT dedupe_key, count(*) FROM connector_callevent "
        "WHERE dedupe_key IS NOT NULL GROUP BY dedupe_key"
    )
    twice = [k for k, n in rows if n > 1]
    verdict.check(
        len(rows) == script.distinct and not twice,
        f"each distinct notification queued exactly once: {len(rows)} for "
        f"{script.distinct} ({len(twice)} twice)",
    )
    answered_duplicate = sum(a.outcome == "duplicate" for a in answered)
    repeats = int(stack.scalar("SELECT coalesce(sum(repeats), 0) FROM connector_callevent"))
    say(f"  repeats counted {repeats}; answered «duplicate» {answered_duplicate}")


def stored_key(dedupe_key: str) -> str:
    """A stored dedupe key (``account:action:call_id:leg``) in ``key_of``'s terms."""
    _account, action, call_id, leg = dedupe_key.split(":", 3)
    return f"history:{call_id}" if action == "history" else f"{action}:{call_id}:{leg}"


def key_of(label: str) -> str:
    """A script label's dedupe key, without the account: ``action:call_id:leg`` (wait's leg
    is the extension, lost has none; history's, a hash of its links, is left out: one
    history per call)."""
    action, call_id, *leg = label.split(":")
    if action == "wait":
        return f"wait:{call_id}:{leg[0]}"
    if action == "lost":
        return f"lost:{call_id}:"
    return f"history:{call_id}"


if __name__ == "__main__":
    sys.exit(main())
