#!/usr/bin/env python
"""Drill: a worker killed with SIGKILL mid-batch loses nothing and doubles nothing.

Queues ~2,000 UIS notifications (wait / history / lost for ~600 calls, some reordered, some
repeated) through ``trubka web`` over HTTP, then drains them with two ``trubka worker``
processes on PostgreSQL. Once some are processed, one worker is killed with SIGKILL (the
event in hand and the rest of its claimed batch are left mid-flight) and a replacement is
started; this happens ``--kills`` times. ``TRUBKA_CLAIM_LEASE_SECONDS`` is low (10 s), so the
dead worker's claims are taken over soon. Passes when the queue drains within the bound and
the desk equals the state computed from the script (``desk_script``): every event processed,
one call record per call, one card per unknown number, one missed-call ticket per number
(further misses as comments), one popup per call and extension at most.

    .venv/bin/python drills/kill9_worker.py [--notifications 2000] [--calls 600] [--kills 2]
"""

from __future__ import annotations

import argparse
import sys
import time

from desk_script import EMPLOYEE_EXTENSIONS, Script, generate, verify
from harness import (
    STALL_SECONDS,
    Stack,
    Verdict,
    check_answered_200,
    open_drill,
    post_all,
    say,
)

APP_ID = 9101


def processed_count(stack: Stack) -> int:
    return int(stack.scalar("SELECT count(*) FROM connector_callevent WHERE status='processed'"))


def claimed_pending(stack: Stack) -> dict[int, object]:
    return dict(
        stack.sql(
            "SELECT id, claimed_until FROM connector_callevent "
            "WHERE status = 'pending' AND claimed_until > now()"
        )
    )


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--notifications", type=int, default=2000)
    parser.add_argument("--calls", type=int, default=600)
    parser.add_argument("--numbers", type=int, default=380)
    parser.add_argument("--kills", type=int, default=2)
    parser.add_argument("--lease", type=int, default=10, help="TRUBKA_CLAIM_LEASE_SECONDS")
    parser.add_argument("--timeout", type=float, default=180, help="bound on draining, s")
    parser.add_argument("--seed", type=int, default=None)
    return parser.parse_args(argv)


def queue_all(url: str, script: Script, verdict: Verdict) -> None:
    """Every notification sent over HTTP before any worker runs."""
    started = time.monotonic()
    answers = post_all(url, script.sequence, concurrency=8)
    seconds = time.monotonic() - started
    rate = len(answers) / seconds
    say(f"  queued {len(answers)} over HTTP in {seconds:.1f} s ({rate:.0f}/s)")
    check_answered_200(verdict, answers)


def wait_processed(stack: Stack, target: int, total: int, started: float, deadline: float) -> None:
    """Wait until ``target`` events are processed; raise when past the deadline or stalled."""
    seen, moved_at = -1, time.monotonic()
    while (done := processed_count(stack)) < target:
        now = time.monotonic()
        if done != seen:
            seen, moved_at = done, now
        if now > deadline or now - moved_at > STALL_SECONDS:
            raise RuntimeError(
                f"only {done} of {total} events processed after {now - started:.0f} s"
                f" (the queue: {stack.queue_counts()})"
            )
        time.sleep(0.05)


def kill_one(stack: Stack, workers: list[str], kill: int, total: int, started: float) -> int:
    """SIGKILL the kill-th victim, start its replacement; the events it left claimed."""
    victim = workers[kill % len(workers)]
    before = claimed_pending(stack)
    done_before = processed_count(stack)
    stack.kill9(victim)
    killed_at = time.monotonic()
    # The dead worker's claims are those that stay pending under an unchanged lease
    # while the live worker moves on.
    time.sleep(3)
    after = claimed_pending(stack)
    stranded = [i for i, until in before.items() if after.get(i) == until]
    say(
        f"  SIGKILL {victim} at {killed_at - started:.1f} s with {done_before}/{total} "
        f"processed; {len(stranded)} events left in its claimed batch"
    )
    replacement = f"worker-{3 + kill}"
    workers[kill % len(workers)] = replacement
    stack.start_worker(replacement)
    return len(stranded)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    opened = open_drill("kill9_worker", args.seed, f"lease {args.lease} s, {args.kills} kill(s)")
    if opened is None:
        return 2
    rng, verdict = opened
    stack = Stack("kill9", TRUBKA_CLAIM_LEASE_SECONDS=str(args.lease))
    with stack.guarded(verdict):
        script = generate(
            rng,
            app_id=APP_ID,
            calls=args.calls,
            total=args.notifications,
            numbers=args.numbers,
            duplicate_share=0.05,
        )
        url = stack.open_desk(APP_ID, EMPLOYEE_EXTENSIONS, script)
        queue_all(url, script, verdict)

        workers = ["worker-1", "worker-2"]
        for key in workers:
            stack.start_worker(key)
        started = time.monotonic()
        deadline = started + args.timeout
        total = script.distinct
        stranded_total = 0
        for kill in range(args.kills):
            # Kill when a share of the queue is done, so a batch is surely in hand.
            target = total * (kill + 1) // (args.kills + 2)
            wait_processed(stack, target, total, started, deadline)
            stranded_total += kill_one(stack, workers, kill, total, started)
        verdict.check(stranded_total > 0, f"a kill left claimed events behind ({stranded_total})")
        drained, _ = stack.wait_drained(
            max(deadline - time.monotonic(), 1), total, alive=stack.alive_check(workers)
        )
        verdict.check(
            drained,
            f"queue drained within {args.timeout:.0f} s of the workers starting "
            f"({time.monotonic() - started:.1f} s, {args.kills} kill(s) included)",
        )
        stack.stop_checked(workers, verdict)
        verify(stack, script, verdict, merge_strict=False)
    return verdict.finish()


if __name__ == "__main__":
    sys.exit(main())
