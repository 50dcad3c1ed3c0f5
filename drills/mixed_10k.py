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
import random
import sys
import time
from collections import Counter

from desk_script import EMPLOYEE_EXTENSIONS, generate, verify
from harness import Stack, Verdict, percentile, post_all, postgres_problem, say

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
    problem = postgres_problem()
    if problem:
        say(f"FAIL mixed_10k: {problem}")
        return 2
    seed = args.seed if args.seed is not None else random.randrange(10**6)
    say(f"== mixed_10k (seed {seed}, {args.workers} workers, {args.senders} senders)")
    rng = random.Random(seed)
    verdict = Verdict("mixed_10k")
    stack = Stack("mixed")
    try:
        stack.create()
        stack.add_employees(EMPLOYEE_EXTENSIONS)
        script = generate(
            rng,
            app_id=APP_ID,
            calls=args.calls,
            total=args.notifications,
            numbers=args.numbers,
            known=60,
            duplicate_share=0.1,
        )
        say(f"  script: {script.figures()}")
        stack.add_contacts([(f"Известный{i}", t) for i, t in enumerate(script.known.values())])
        url = stack.start_web() + stack.add_integration(APP_ID)
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
        not_ok = sum(a.status != 200 for a in answers)
        verdict.check(not not_ok, f"every notification answered 200 ({not_ok} not)")

        def alive() -> None:
            for key in workers:
                proc = stack.processes[key]
                if proc.poll() is not None:
                    raise RuntimeError(f"{key} exited with {proc.returncode}")

        drained, _ = stack.wait_drained(args.timeout, script.distinct, alive=alive, every=10)
        total_seconds = time.monotonic() - started
        verdict.check(
            drained,
            f"queue drained within {args.timeout:.0f} s of the last send "
            f"({total_seconds:.1f} s from the first send, "
            f"{script.distinct / total_seconds:.0f} events/s end to end)",
        )
        for key in workers:
            code = stack.stop(key)
            verdict.check(code == 0, f"{key} stopped cleanly on SIGTERM (exit {code})")
        verify(stack, script, verdict)
    except Exception as exc:
        verdict.check(False, f"the drill crashed: {type(exc).__name__}: {exc}")
    finally:
        stack.close(keep_logs_on=False)
    return verdict.finish()


if __name__ == "__main__":
    sys.exit(main())
