#!/usr/bin/env python
"""Drill: the help desk target fails and times out for a while; afterwards every event is
delivered, once in effect, and in order per call.

A connected UIS account's help desk is «an Okdesk cloud account»: a small fake Okdesk
(``fake_okdesk.py``) on 127.0.0.1. UIS notifications for ~150 calls (each a ``wait``, then a
``history`` or ``lost`` a second or two later, one number per call) are sent over HTTP to
``trubka web`` in real time while the target goes through:

1. ``--warm`` s up;
2. ``--flap`` s flapping: 30 % of its requests answer 503, so events fail part-way through;
3. ``--outage`` s down: the first half answers 503 at once, the second half hangs past
   ``TRUBKA_OKDESK_TIMEOUT`` (2 s). Minutes in production; one minute here (the default);
4. up again, until the queue drains (bounded by ``--timeout``).

The worker runs in this process (two ``Worker`` threads on the drill's PostgreSQL database),
with ``TRUBKA_BACKOFF_BASE_SECONDS`` / ``TRUBKA_BACKOFF_MAX_SECONDS`` at 1 s / 8 s and
``TRUBKA_EVENT_MAX_ATTEMPTS`` at 100, so retries keep coming through the outage and the queue
drains soon after it.

Passes when every event ends processed; the fake account holds exactly one contact per
number, one call record per call (with its issue for a missed one), one issue per missed call
and no stray comments; and per call the ``wait`` was delivered before the call's end (its
popup before its call record), none after it.

    .venv/bin/python drills/target_down.py [--outage 60] [--calls 150]
"""

from __future__ import annotations

import argparse
import os
import random
import secrets
import sys
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
from desk_script import ZONE, match_key
from fake_okdesk import FakeOkdesk
from harness import Answer, Stack, Verdict, check_answered_200, open_drill, post_one, say

from trubka.connector.providers.uis.simulate import Call, history, lost, wait

APP_ID = 9102
EXTENSIONS = ["101", "102", "103"]


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=150)
    parser.add_argument("--warm", type=float, default=8)
    parser.add_argument("--flap", type=float, default=10)
    parser.add_argument("--outage", type=float, default=60, help="seconds the target is down")
    parser.add_argument("--timeout", type=float, default=90, help="bound on draining after it")
    parser.add_argument("--seed", type=int, default=None)
    return parser.parse_args(argv)


@dataclass(frozen=True)
class Timeline:
    """The target's phases, in seconds relative to the first notification sent."""

    flap_at: float
    down_at: float
    hang_at: float
    up_at: float

    @classmethod
    def of(cls, args: argparse.Namespace) -> Timeline:
        flap_at = args.warm
        down_at = flap_at + args.flap
        hang_at = down_at + args.outage / 2
        up_at = down_at + args.outage
        return cls(flap_at, down_at, hang_at, up_at)


def target_failures(
    timeline: Timeline, rng: random.Random, clock: dict[str, float]
) -> Callable[[str, str], str | None]:
    """The fake Okdesk's ``failing``: how a request fails at the current phase, if it does."""

    def failing(method: str, path: str) -> str | None:
        t = time.monotonic() - clock["t0"]
        if timeline.flap_at <= t < timeline.down_at:
            return "503" if rng.random() < 0.3 else None
        if timeline.down_at <= t < timeline.hang_at:
            return "503"
        if timeline.hang_at <= t < timeline.up_at:
            return "hang"
        return None

    return failing


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    opened = open_drill("target_down", args.seed, f"outage {args.outage:.0f} s")
    if opened is None:
        return 2
    rng, verdict = opened
    stack = Stack(
        "target",
        TRUBKA_OKDESK_TIMEOUT="2",
        TRUBKA_EVENT_MAX_ATTEMPTS="100",
        TRUBKA_CLAIM_LEASE_SECONDS="60",
    )
    token = secrets.token_hex(16)
    timeline = Timeline.of(args)
    clock = {"t0": float("inf")}
    fake = FakeOkdesk(token=token, failing=target_failures(timeline, rng, clock), hang_seconds=3)
    workers: list[tuple[object, threading.Thread]] = []
    try:
        url = start_desk(stack, fake, token)
        schedule, calls = plan_calls(rng, args, timeline)
        start_workers(workers)
        answers = send_schedule(url, schedule, clock, verdict)
        recovered = wait_recovery(stack, args.timeout, timeline, clock, len(answers), verdict)
        stop_workers(workers, 30)
        events = check_events(stack, args.calls, fake, recovered, verdict)
        check_effects(fake, calls, verdict)
        check_order(events, fake, calls, timeline, verdict)
    except Exception as exc:
        verdict.check(False, f"the drill crashed: {type(exc).__name__}: {exc}")
    finally:
        stop_workers(workers, 10)
        if "django.db" in sys.modules:
            sys.modules["django.db"].connections.close_all()
        fake.stop()
        stack.close(keep_logs_on=False)
    return verdict.finish()


def start_desk(stack: Stack, fake: FakeOkdesk, token: str) -> str:
    """The drill's database, the fake Okdesk, ``trubka web`` with the account connected to it,
    and Django set up in this process for the worker threads. Returns the webhook URL."""
    stack.create()
    base = fake.start()
    url = stack.start_web() + stack.add_integration(
        APP_ID, "--target", "okdesk", "--okdesk-account", base, "--okdesk-key", token
    )
    for key, value in stack.env().items():
        os.environ[key] = value
    os.environ["DJANGO_SETTINGS_MODULE"] = "trubka.settings"
    os.environ["TRUBKA_BACKOFF_BASE_SECONDS"] = "1"
    os.environ["TRUBKA_BACKOFF_MAX_SECONDS"] = "8"
    import django

    django.setup()
    return url


def plan_calls(
    rng: random.Random, args: argparse.Namespace, timeline: Timeline
) -> tuple[list[tuple[float, str, str]], dict[str, dict[str, object]]]:
    """The script: one number per call, the end 1–3 s after the wait, calls spread over
    everything but the last tenth of the outage. Returns the sending schedule and the calls."""
    span = timeline.up_at - args.outage * 0.1
    start = datetime.now(ZONE).replace(microsecond=0) - timedelta(minutes=1)
    schedule: list[tuple[float, str, str]] = []
    calls: dict[str, dict[str, object]] = {}
    for n in range(args.calls):
        call_id = str(7_000_000_000 + n)
        number = "79" + f"{rng.randrange(10**9):09d}"
        ext = rng.choice(EXTENSIONS)
        missed = rng.random() < 0.35
        at = span * n / args.calls
        leg = Call(APP_ID, int(call_id), number, ext, start + timedelta(seconds=n))
        end = lost(leg, ["Агент"]) if missed else history(leg, rng.randint(5, 300))
        schedule += [(at, f"wait:{call_id}", wait(leg)), (at + rng.uniform(1, 3), "end", end)]
        calls[call_id] = {"number": number, "missed": missed, "sent": at}
    schedule.sort(key=lambda s: s[0])
    return schedule, calls


def start_workers(workers: list[tuple[object, threading.Thread]]) -> None:
    """Two ``Worker`` threads on the drill's database (Django must be set up)."""
    from trubka.connector.queue.worker import Worker

    for _ in range(2):
        worker = Worker(idle_seconds=0.2)
        thread = threading.Thread(target=worker.run, daemon=True)
        thread.start()
        workers.append((worker, thread))


def stop_workers(workers: list[tuple[object, threading.Thread]], timeout: float) -> None:
    for worker, thread in workers:
        worker.stop()  # type: ignore[attr-defined]
        thread.join(timeout)


def send_schedule(
    url: str, schedule: list[tuple[float, str, str]], clock: dict[str, float], verdict: Verdict
) -> list[Answer]:
    """Send each notification at its time; the clock starts with the first."""
    answers = []
    clock["t0"] = time.monotonic()
    with httpx.Client(timeout=10) as http:
        for at, _label, body in schedule:
            delay = clock["t0"] + at - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            answers.append(post_one(http, url, body))
    say(f"  sent {len(answers)} notifications over {time.monotonic() - clock['t0']:.0f} s")
    check_answered_200(verdict, answers)
    return answers


def wait_recovery(
    stack: Stack,
    timeout: float,
    timeline: Timeline,
    clock: dict[str, float],
    sent: int,
    verdict: Verdict,
) -> float:
    """Wait out the outage, then for the queue to drain. Returns when the target came back."""
    remaining = clock["t0"] + timeline.up_at - time.monotonic()
    if remaining > 0:
        say(f"  target down for {remaining:.0f} s more")
        time.sleep(remaining)
    counts = stack.queue_counts()
    say(f"  the target is back; queue: {counts}")
    recovered = time.monotonic()
    drained, seconds = stack.wait_drained(timeout, sent)
    verdict.check(drained, f"queue drained after the target came back (waited {seconds:.1f} s)")
    return recovered


def check_events(
    stack: Stack, calls: int, fake: FakeOkdesk, recovered: float, verdict: Verdict
) -> list[tuple[Any, ...]]:
    """Every event processed; the retries and the requests at the target. Returns the events."""
    events = stack.sql(
        "SELECT action, call_id, status, attempts, processed_at, last_error "
        "FROM connector_callevent WHERE integration_id IS NOT NULL"
    )
    statuses = Counter(e[2] for e in events)
    attempts = [e[3] for e in events]
    verdict.check(
        set(statuses) == {"processed"} and len(events) == 2 * calls,
        f"every event processed: {dict(statuses)} of {2 * calls}",
    )
    say(
        f"  attempts per event: max {max(attempts)}, "
        f"{sum(a > 1 for a in attempts)} events retried, {sum(attempts)} attempts in all"
    )
    failed_requests = Counter(s for _, _, _, s in fake.requests)
    say(f"  requests at the target: {dict(failed_requests)}")
    after = [d.at for d in fake.deliveries if d.at >= recovered]
    if after:
        say(f"  last delivery {max(after) - recovered:.1f} s after the target came back")
    return events


def check_effects(fake: FakeOkdesk, calls: dict[str, dict[str, object]], verdict: Verdict) -> None:
    """Effects at the target: once each."""
    contacts = Counter(c["_key"] for c in fake.contacts.values())
    numbers = {match_key(str(c["number"])) for c in calls.values()}
    twice = [f"{k}: {n} contacts" for k, n in contacts.items() if n != 1]
    verdict.check(
        set(contacts) == numbers and not twice,
        f"one contact per number at the target: {len(fake.contacts)} for {len(numbers)}"
        + (f"; {twice[:5]}" if twice else ""),
    )
    missing = [c for c in calls if c not in fake.phone_calls]
    verdict.check(
        not missing,
        f"one call record per call: {len(fake.phone_calls)} for {len(calls)} "
        f"({sum(fake.phone_call_posts.values())} posts, merged by call_id)"
        + (f"; missing {missing[:5]}" if missing else ""),
    )
    missed = {c for c, v in calls.items() if v["missed"]}
    issues_by_number = defaultdict(list)
    for issue in fake.issues.values():
        contact = fake.contacts.get(issue.get("contact_id"))
        issues_by_number[contact["_key"] if contact else None].append(issue["id"])
    off = []
    for call_id in missed:
        key = match_key(str(calls[call_id]["number"]))
        mine = issues_by_number.get(key, [])
        linked = fake.phone_calls.get(call_id, {}).get("issue_id")
        if len(mine) != 1 or linked != mine[0]:
            off.append(f"{call_id}: issues {mine}, call linked to {linked}")
    verdict.check(
        not off and len(fake.issues) == len(missed),
        f"one issue per missed call, linked from its call record: {len(fake.issues)} "
        f"for {len(missed)}" + (f"; {off[:5]}" if off else ""),
    )
    comments = sum(len(c) for c in fake.comments.values())
    verdict.check(comments == 0, f"no stray comments (one number per call): {comments}")


def check_order(
    events: list[tuple[Any, ...]],
    fake: FakeOkdesk,
    calls: dict[str, dict[str, object]],
    timeline: Timeline,
    verdict: Verdict,
) -> None:
    """Order per call: the wait before the end, in processing and at the target."""
    done: dict[str, dict[str, datetime]] = defaultdict(dict)
    for action, call_id, status, _a, at, _e in events:
        if status == "processed":
            done[call_id]["wait" if action == "wait" else "end"] = at
    late = sorted(c for c, d in done.items() if "wait" in d and "end" in d and d["wait"] > d["end"])
    popup_at = {d.key: d.at for d in fake.deliveries if d.kind == "popup"}
    call_at: dict[str, float] = {}
    for d in fake.deliveries:
        if d.kind == "phone_call":
            call_at.setdefault(d.key, d.at)
    popups_twice = [
        k for k, n in Counter(d.key for d in fake.deliveries if d.kind == "popup").items() if n > 1
    ]
    after_end = [
        c
        for c, v in calls.items()
        if match_key(str(v["number"])) in popup_at
        and c in call_at
        and popup_at[match_key(str(v["number"]))] > call_at[c]
    ]

    def phase(call_id: str) -> str:
        at = float(calls[call_id]["sent"])  # type: ignore[arg-type]
        if at < timeline.flap_at:
            return "up"
        return "flapping" if at < timeline.down_at else "down"

    by_phase = Counter(phase(c) for c in calls)
    late_by_phase = Counter(phase(c) for c in late)
    say(
        "  calls whose wait was processed after their end, by when they rang: "
        + ", ".join(f"{p} {late_by_phase[p]}/{by_phase[p]}" for p in ("up", "flapping", "down"))
    )
    verdict.check(
        not late,
        f"in order per call: {len(late)} of {len(calls)} calls had their wait processed "
        f"after their end (their popup is dropped)" + (f", e.g. {late[:5]}" if late else ""),
    )
    verdict.check(
        not after_end and not popups_twice,
        f"at the target no popup came after its call record ({len(after_end)}) "
        f"or twice ({len(popups_twice)}); {len(popup_at)} popups for {len(calls)} calls",
    )


if __name__ == "__main__":
    sys.exit(main())
