#!/usr/bin/env python
"""Drill: 10,000 mixed notifications with repeats and reordering leave exactly the desk state
computed independently from the script.

Plans ~2,500 calls from ~1,500 numbers (some of them known clients): each rings one to four
extensions (a ``wait`` each) and ends answered (``history`` with a recording) or missed
(``lost``); a fifth of the calls send their end before their ``wait``s, and about 10 % of the
notifications are sent again later. Everything goes over HTTP to ``trubka web`` from several
threads while two ``trubka worker`` processes drain the queue on PostgreSQL. The expected
state (``desk_script.expected_state``) comes from the script alone; ``desk_script.verify``
compares it with the database and prints every mismatch.

    .venv/bin/python drills/mixed_10k.py [--notifications 10000] [--calls 2500] [--seed N]
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter

from desk_script import EMPLOYEE_EXTENSIONS, generate, verify
from harness import Stack, check_answered_200, open_drill, percentile, post_all, say

APP_ID = 9104


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--notifications", type=int, default=10_000)
    parser.add_argument("--calls", type=int, default=2_500)
    parser.add_argument("--numbers", type=int, default=1_500)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--senders", type=int, default=8, help="concurrent HTTP senders")
    parser.add_argument("--timeout", type=float, default=240, help="bound on draining, s")
    parser.add_argument("--seed", type=int, default=None)
    args = parser.parse_args(argv)
    settings = f"{args.workers} workers, {args.senders} senders"
    opened = open_drill("mixed_10k", args.seed, settings)
    if opened is None:
        return 2
    rng, verdict = opened
    stack = Stack("mixed")
    with stack.guarded(verdict, show_logs=False):
        script = generate(
            rng,
            app_id=APP_ID,
            calls=args.calls,
            total=args.notifications,
            numbers=args.numbers,
            known=60,
            duplicate_share=0.1,
        )
        url = stack.open_desk(APP_ID, EMPLOYEE_EXTENSIONS, script)
        workers = [f"worker-{n + 1}" for n in range(args.workers)]
        for key in workers:
            stack.start_worker(key)
        started = time.monotonic()
        answers = post_all(url, script.sequence, concurrency=args.senders)
        seconds = time.monotonic() - started
        outcomes = Counter(a.outcome for a in answers)
        latencies = [a.seconds * 1000 for a in answers]
        say(
            f"  sent {len(answers)} in {seconds:.1f} s ({len(answers) / seconds:.0f}/s), "
            f"answers {dict(outcomes)}, latency p50 {percentile(latencies, 50):.0f} ms "
            f"p99 {percentile(latencies, 99):.0f} ms"
        )
        check_answered_200(verdict, answers)
        drained, _ = stack.wait_drained(
            args.timeout, script.distinct, alive=stack.alive_check(workers), every=10
        )
        total_seconds = time.monotonic() - started
        verdict.check(
            drained,
            f"queue drained within {args.timeout:.0f} s of the last send "
            f"({total_seconds:.1f} s from the first send, "
            f"{script.distinct / total_seconds:.0f} events/s end to end)",
        )
        stack.stop_checked(workers, verdict)
        verify(stack, script, verdict)
    return verdict.finish()


if __name__ == "__main__":
    sys.exit(main())
