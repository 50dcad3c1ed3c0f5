"""A generated day of UIS calls, the desk state it must leave, and the check of a real
database against that state. A helper for the drills, not a drill.

``generate`` plans calls (numbers, ringing extensions, answered or missed) and renders their
notifications the way UIS fills the guide's templates (``trubka.connector.providers.uis.
simulate``); it reorders some calls (``history``/``lost`` sent before the ``wait``s) and
repeats random notifications. ``expected_state`` is computed from the plan alone, by the rules
the README states, without Trubka's code:

- one call record per call id; a missed call is missed, an answered one is not, and has the
  talk duration and the recording link of its ``history``;
- the answered call's employee is the one whose extension took it; a missed call's is one of
  those it rang on;
- a known number keeps its client; an unknown one gets exactly one «Новый клиент» card, however
  many calls it makes; every call is linked to the card of its number;
- the first missed call of a number opens «Пропущенный звонок от …» for that client; every
  further missed call of that number comments on it (the ticket stays open throughout);
- one popup per call and extension at most, and exactly one when the ``wait`` was processed
  before the call's end (a ``wait`` processed after ``history``/``lost`` pops nothing up).

``verify`` compares the drill's database with that state in plain SQL and prints mismatches.
"""

from __future__ import annotations

import random
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from harness import Stack, Verdict, say

from trubka.connector.providers.uis.simulate import Call, history, lost, wait

ZONE = ZoneInfo("Europe/Moscow")
EMPLOYEE_EXTENSIONS = [str(n) for n in range(101, 113)]
UNSTAFFED_EXTENSION = "199"  # rings, but no employee has it: a popup with no employee
EXTENSIONS = [*EMPLOYEE_EXTENSIONS, UNSTAFFED_EXTENSION]
MATCH_DIGITS = 10


def match_key(number: str) -> str:
    return re.sub(r"\D", "", number)[-MATCH_DIGITS:]


@dataclass
class PlannedCall:
    call_id: int
    number: str  # as UIS sends contact_phone_number: 7XXXXXXXXXX
    started: datetime
    waits: list[str]  # the extensions it rang on, in ringing order
    missed: bool
    answered_by: str | None
    duration: int | None
    not_answered: list[str]
    recording: str | None = None
    reordered: bool = False
    bodies: list[tuple[str, str]] = field(default_factory=list)  # (label, body)


@dataclass
class Script:
    app_id: int
    calls: list[PlannedCall]
    known: dict[str, str]  # match key → number as typed on the known contact's card
    sequence: list[str]  # the bodies to send, duplicates included, in sending order
    labels: list[str]  # "wait:<call>:<ext>", "history:<call>", "lost:<call>"
    distinct: int
    duplicates: int

    def figures(self) -> str:
        missed = sum(c.missed for c in self.calls)
        numbers = {match_key(c.number) for c in self.calls}
        return (
            f"{len(self.sequence)} notifications ({self.distinct} distinct, "
            f"{self.duplicates} repeats = {self.duplicates / max(len(self.sequence), 1):.1%}) "
            f"for {len(self.calls)} calls ({missed} missed, "
            f"{sum(c.reordered for c in self.calls)} reordered) from {len(numbers)} numbers "
            f"({len(numbers & set(self.known))} known clients)"
        )


def employee_name(extension: str) -> str:
    return f"{extension} Агент"


def generate(
    rng: random.Random,
    *,
    app_id: int,
    calls: int,
    total: int,
    numbers: int,
    known: int = 40,
    duplicate_share: float = 0.1,
    missed_share: float = 0.35,
    reorder_share: float = 0.2,
    spread: int = 40,
    first_call_id: int = 5_000_000_000,
) -> Script:
    """Plan ``calls`` calls from ``numbers`` distinct numbers so that, with repeats, about
    ``total`` notifications are sent. Neighbouring calls' notifications interleave over
    ``spread`` positions."""
    pool = _number_pool(rng, numbers)
    known_numbers = {
        match_key(n): f"8 ({n[1:4]}) {n[4:7]}-{n[7:9]}-{n[9:11]}" for n in pool[:known]
    }
    planned = _plan_calls(
        rng,
        pool,
        app_id=app_id,
        calls=calls,
        total=total,
        duplicate_share=duplicate_share,
        missed_share=missed_share,
        reorder_share=reorder_share,
        first_call_id=first_call_id,
    )
    slots, distinct = _interleave(rng, planned, total=total, spread=spread)
    return Script(
        app_id=app_id,
        calls=planned,
        known=known_numbers,
        sequence=[s[3] for s in slots],
        labels=[s[2] for s in slots],
        distinct=distinct,
        duplicates=len(slots) - distinct,
    )


def _number_pool(rng: random.Random, numbers: int) -> list[str]:
    """``numbers`` distinct mobile numbers (distinct by match key)."""
    pool: list[str] = []
    seen: set[str] = set()
    while len(pool) < numbers:
        number = "79" + "".join(str(rng.randint(0, 9)) for _ in range(9))
        if match_key(number) not in seen:
            seen.add(match_key(number))
            pool.append(number)
    return pool


def _plan_calls(
    rng: random.Random,
    pool: list[str],
    *,
    app_id: int,
    calls: int,
    total: int,
    duplicate_share: float,
    missed_share: float,
    reorder_share: float,
    first_call_id: int,
) -> list[PlannedCall]:
    """The calls, each with its notifications rendered."""
    # Waits per call so that distinct notifications ≈ total × (1 − duplicate share).
    per_call = total * (1 - duplicate_share) / calls
    extra_wait_p = min(max((per_call - 2) / 3, 0.0), 1.0)
    base = datetime.now(ZONE).replace(microsecond=0) - timedelta(hours=3)
    planned: list[PlannedCall] = []
    for n in range(calls):
        number = rng.choice(pool)
        ring = rng.sample(EXTENSIONS, 1 + sum(rng.random() < extra_wait_p for _ in range(3)))
        missed = rng.random() < missed_share
        answered_by = None if missed else rng.choice(ring)
        call = PlannedCall(
            call_id=first_call_id + n,
            number=number,
            started=base + timedelta(seconds=2 * n, microseconds=rng.randint(0, 999_999)),
            waits=ring,
            missed=missed,
            answered_by=answered_by,
            duration=None if missed else rng.randint(5, 900),
            not_answered=[employee_name(e) for e in ring if e != answered_by],
            reordered=rng.random() < reorder_share,
        )
        render_call(call, app_id)
        planned.append(call)
    return planned


def _interleave(
    rng: random.Random, planned: list[PlannedCall], *, total: int, spread: int
) -> tuple[list[tuple[float, int, str, str]], int]:
    """The sending order, repeats included, as sorted (position, tiebreak, label, body)
    slots; and how many of them are distinct."""
    # Interleave: call n starts around position n·k; its notifications follow within `spread`.
    slots: list[tuple[float, int, str, str]] = []
    tiebreak = 0
    for n, call in enumerate(planned):
        offsets = sorted(rng.uniform(0, spread) for _ in call.bodies)
        for offset, (label, body) in zip(offsets, call.bodies, strict=True):
            slots.append((n * 1.0 + offset, tiebreak, label, body))
            tiebreak += 1
    distinct = len(slots)
    duplicates = max(total - distinct, 0)
    for source in rng.sample(range(distinct), min(duplicates, distinct)):
        position, _, label, body = slots[source]
        slots.append((position + rng.uniform(0, 6 * spread), tiebreak, label, body))
        tiebreak += 1
    slots.sort()
    return slots, distinct


def render_call(call: PlannedCall, app_id: int) -> None:
    def leg(extension: str) -> Call:
        return Call(
            app_id=app_id,
            call_session_id=call.call_id,
            contact_phone_number=call.number,
            extension=extension,
            started=call.started,
        )

    waits = [(f"wait:{call.call_id}:{ext}", wait(leg(ext))) for ext in call.waits]
    if call.missed:
        end = (f"lost:{call.call_id}", lost(leg(call.waits[0]), call.not_answered))
    else:
        assert call.answered_by is not None
        assert call.duration is not None
        body = history(leg(call.answered_by), duration=call.duration)
        found = re.search(r'"file_url":\s*"([^"]+)"', body)
        assert found is not None
        call.recording = found.group(1)
        end = (f"history:{call.call_id}", body)
    call.bodies = [end, *waits] if call.reordered else [*waits, end]


@dataclass
class Expected:
    calls: dict[str, PlannedCall]
    unknown_numbers: set[str]  # match keys that must each get exactly one new card
    known_numbers: set[str]
    missed_per_number: dict[str, int]  # match key → missed calls (one ticket, n − 1 comments)


def expected_state(script: Script) -> Expected:
    numbers = {match_key(c.number) for c in script.calls}
    missed: Counter[str] = Counter(match_key(c.number) for c in script.calls if c.missed)
    return Expected(
        calls={str(c.call_id): c for c in script.calls},
        unknown_numbers=numbers - set(script.known),
        known_numbers=numbers & set(script.known),
        missed_per_number=dict(missed),
    )


def _show(problems: list[str], limit: int = 8) -> None:
    for line in problems[:limit]:
        say(f"      {line}")
    if len(problems) > limit:
        say(f"      … and {len(problems) - limit} more")


def verify(
    stack: Stack,
    script: Script,
    verdict: Verdict,
    *,
    sent_ok: bool = True,
    merge_strict: bool = True,
) -> None:
    """Compare the desk in ``stack``'s database with the script's expected state.

    ``sent_ok``: every notification was answered 200 once, so the repeats counted must equal
    the repeats sent. ``merge_strict=False`` reports the answered call's employee (a question
    of merging out-of-order notifications, not of losing or doubling one) without failing."""
    exp = expected_state(script)
    provider = f"uis:{script.app_id}"
    events = _check_queue(stack, script, verdict, sent_ok=sent_ok)
    tickets_of_number = _check_calls(stack, exp, provider, verdict, merge_strict=merge_strict)
    cards = _check_cards(stack, exp, verdict)
    _check_tickets(stack, exp, verdict, cards, tickets_of_number)
    _check_popups(stack, events, provider, verdict)


def _check_queue(
    stack: Stack, script: Script, verdict: Verdict, *, sent_ok: bool
) -> list[tuple[Any, ...]]:
    """The queue: every distinct notification stored once and processed. Returns the events."""
    events = stack.sql(
        "SELECT action, call_id, dedupe_key, status, repeats, processed_at, last_error "
        "FROM connector_callevent WHERE integration_id IS NOT NULL"
    )
    statuses = Counter(e[3] for e in events)
    verdict.check(
        len(events) == script.distinct,
        f"queued events: {len(events)} (distinct notifications sent: {script.distinct})",
    )
    not_done = [f"{e[0]} {e[1]}: {e[3]} {e[6]!r}" for e in events if e[3] != "processed"]
    if not verdict.check(not not_done, f"every event processed: {dict(statuses)}"):
        _show(not_done)
    if sent_ok:
        repeats = sum(e[4] for e in events)
        verdict.check(
            repeats == script.duplicates,
            f"repeats counted: {repeats} (repeats sent: {script.duplicates})",
        )
    return events


CALL_FIELDS = [
    "missed flag",
    "talk duration",
    "client card",
    "start time",
    "missed-call ticket link",
    "not answered by",
    "employee of a missed call",
    "ticket on an answered call",
    "employee of an answered call",
    "recording",
    "recording on a missed call",
]


def _check_calls(
    stack: Stack, exp: Expected, provider: str, verdict: Verdict, *, merge_strict: bool
) -> dict[str, set[int]]:
    """Calls: one record per call, each as planned. Returns the tickets the missed calls of
    each number link."""
    rows = stack.sql(
        "SELECT c.provider_call_id, c.is_missed, c.talk_duration, c.ticket_id, c.missed_by, "
        "c.started_at, e.extension, ph.match_key, c.contact_id "
        "FROM calls_phonecall c LEFT JOIN staff_employee e ON e.id = c.employee_id "
        "LEFT JOIN LATERAL (SELECT match_key FROM clients_phonenumber p "
        "  WHERE p.contact_id = c.contact_id AND c.contact_id IS NOT NULL LIMIT 1) ph ON true "
        "WHERE c.provider = %s",
        (provider,),
    )
    ids = Counter(r[0] for r in rows)
    verdict.check(
        set(ids) == set(exp.calls) and max(ids.values(), default=1) == 1,
        f"call records: {len(rows)} for {len(exp.calls)} calls, none twice",
    )
    recordings = defaultdict(list)
    for call_id, url in stack.sql(
        "SELECT c.provider_call_id, r.source_url FROM calls_callrecording r "
        "JOIN calls_phonecall c ON c.id = r.call_id WHERE c.provider = %s",
        (provider,),
    ):
        recordings[call_id].append(url)
    wrong, tickets_of_number = _call_mismatches(rows, exp, recordings)
    for what in CALL_FIELDS:
        text = f"calls: {what} as expected ({len(wrong[what])} off)"
        if what == "employee of an answered call" and not merge_strict:
            say(f"  [{'ok' if not wrong[what] else 'note'}] {text} (not this drill's subject)")
            _show(wrong[what], 3)
        elif not verdict.check(not wrong[what], text):
            _show(wrong[what])
    return tickets_of_number


def _call_mismatches(
    rows: list[tuple[Any, ...]], exp: Expected, recordings: dict[str, list[str]]
) -> tuple[dict[str, list[str]], dict[str, set[int]]]:
    """Each call record against its plan: the mismatches by kind, and the tickets the missed
    calls of each number link."""
    wrong: dict[str, list[str]] = defaultdict(list)
    tickets_of_number: dict[str, set[int]] = defaultdict(set)
    for call_id, missed, duration, ticket, missed_by, started, ext, key, _contact in rows:
        plan = exp.calls.get(call_id)
        if plan is None:
            continue
        number = match_key(plan.number)
        if missed != plan.missed:
            wrong["missed flag"].append(f"{call_id}: {missed} (expected {plan.missed})")
        if duration != plan.duration:
            wrong["talk duration"].append(f"{call_id}: {duration} (expected {plan.duration})")
        if key != number:
            wrong["client card"].append(f"{call_id}: card of {key} (expected {number})")
        if abs((started - plan.started).total_seconds()) > 1:
            wrong["start time"].append(f"{call_id}: {started} (expected {plan.started})")
        if plan.missed:
            if ticket is None:
                wrong["missed-call ticket link"].append(f"{call_id}: no ticket")
            else:
                tickets_of_number[number].add(ticket)
            if missed_by != ", ".join(plan.not_answered):
                wrong["not answered by"].append(f"{call_id}: {missed_by!r}")
            staffed = [e for e in plan.waits if e != UNSTAFFED_EXTENSION]
            if (ext if ext else None) not in (staffed or [None]):
                wrong["employee of a missed call"].append(
                    f"{call_id}: {ext} (rang on {plan.waits})"
                )
        else:
            if ticket is not None:
                wrong["ticket on an answered call"].append(f"{call_id}: ticket {ticket}")
            expected_ext = None if plan.answered_by == UNSTAFFED_EXTENSION else plan.answered_by
            if expected_ext is None:
                # Nobody's extension took it: the employee is whoever the waits named.
                pass
            elif ext != expected_ext:
                wrong["employee of an answered call"].append(
                    f"{call_id}: extension {ext} (answered by {expected_ext}, "
                    f"rang on {plan.waits}, {'reordered' if plan.reordered else 'in order'})"
                )
            if recordings.get(call_id) != [plan.recording]:
                wrong["recording"].append(f"{call_id}: {recordings.get(call_id)}")
        if plan.missed and recordings.get(call_id):
            wrong["recording on a missed call"].append(f"{call_id}: {recordings[call_id]}")
    return wrong, tickets_of_number


def _check_cards(stack: Stack, exp: Expected, verdict: Verdict) -> dict[str, set[int]]:
    """Clients: one card per number. Returns the cards of each match key."""
    cards = defaultdict(set)
    unknown_cards = defaultdict(set)
    for key, contact_id, from_unknown in stack.sql(
        "SELECT p.match_key, c.id, c.from_unknown_call_at IS NOT NULL FROM clients_phonenumber p "
        "JOIN clients_contact c ON c.id = p.contact_id"
    ):
        cards[key].add(contact_id)
        if from_unknown:
            unknown_cards[key].add(contact_id)
    off = [
        f"{key}: {len(cards.get(key, ()))} cards"
        for key in sorted(exp.unknown_numbers | exp.known_numbers)
        if len(cards.get(key, ())) != 1
    ]
    created_for_known = [k for k in exp.known_numbers if unknown_cards.get(k)]
    total_new = stack.scalar(
        "SELECT count(*) FROM clients_contact WHERE from_unknown_call_at IS NOT NULL"
    )
    if not verdict.check(
        not off and not created_for_known and total_new == len(exp.unknown_numbers),
        f"client cards: {total_new} new for {len(exp.unknown_numbers)} unknown numbers, "
        f"{len(exp.known_numbers)} known kept ({len(off)} numbers with ≠ 1 card, "
        f"{len(created_for_known)} known numbers given a new card)",
    ):
        _show(off + [f"{k}: known, yet a new card" for k in created_for_known])
    return cards


def _check_tickets(
    stack: Stack,
    exp: Expected,
    verdict: Verdict,
    cards: dict[str, set[int]],
    tickets_of_number: dict[str, set[int]],
) -> None:
    """Missed-call tickets: one per number, the further missed calls as comments on it."""
    tickets = {
        t_id: (key, comments)
        for t_id, key, comments in stack.sql(
            "SELECT t.id, p.match_key, (SELECT count(*) FROM tickets_ticketcomment m "
            "  WHERE m.ticket_id = t.id) FROM tickets_ticket t "
            "LEFT JOIN LATERAL (SELECT match_key FROM clients_phonenumber p "
            "  WHERE p.contact_id = t.contact_id LIMIT 1) p ON true "
            "WHERE t.source = 'missed_call'"
        )
    }
    per_number: dict[str | None, list[int]] = defaultdict(list)
    for t_id, (key, _) in tickets.items():
        per_number[key].append(t_id)
    off = []
    for key, missed_count in sorted(exp.missed_per_number.items()):
        mine = per_number.get(key, [])
        comments = sum(tickets[t][1] for t in mine)
        if len(mine) != 1 or comments != missed_count - 1:
            off.append(
                f"{key}: {len(mine)} tickets, {comments} comments "
                f"(expected 1 ticket, {missed_count - 1} comments; "
                f"the number has {len(cards.get(key, ()))} card(s))"
            )
        elif tickets_of_number.get(key, set()) - set(mine):
            off.append(f"{key}: its calls link tickets {sorted(tickets_of_number[key])}")
    stray = [k for k in per_number if k not in exp.missed_per_number]
    if not verdict.check(
        not off and not stray and len(tickets) == len(exp.missed_per_number),
        f"missed-call tickets: {len(tickets)} for {len(exp.missed_per_number)} numbers "
        f"with missed calls, comments per the reuse rule ({len(off)} numbers off, "
        f"{len(stray)} tickets of other numbers)",
    ):
        _show(off + [f"ticket for {k}" for k in stray])


def _check_popups(
    stack: Stack, events: list[tuple[Any, ...]], provider: str, verdict: Verdict
) -> None:
    """Popups: at most one per call and extension; present exactly when the wait was
    processed before the call's end."""
    processed: dict[tuple[str, str], Any] = {}
    end_at: dict[str, Any] = {}
    for action, call_id, key, status, _r, at, _e in events:
        if status != "processed":
            continue
        if action == "wait":
            processed[(call_id, key.rsplit(":", 1)[1])] = at
        elif action in ("history", "lost"):
            end_at[call_id] = min(at, end_at.get(call_id, at))
    popups = Counter(
        (call_id, ext)
        for call_id, ext in stack.sql(
            "SELECT c.provider_call_id, p.extension FROM calls_callpopup p "
            "JOIN calls_phonecall c ON c.id = p.call_id WHERE c.provider = %s",
            (provider,),
        )
    )
    twice = [f"{k}: {n}" for k, n in popups.items() if n > 1]
    missing, extra, late = [], [], 0
    for (call_id, ext), at in processed.items():
        ended = end_at.get(call_id)
        before_end = ended is None or at < ended
        late += not before_end
        if before_end and not popups.get((call_id, ext)):
            missing.append(f"{call_id} ext {ext}")
        if not before_end and popups.get((call_id, ext)):
            extra.append(f"{call_id} ext {ext} (wait processed after the end)")
    unplanned = [k for k in popups if k not in processed]
    if not verdict.check(
        not (twice or missing or extra or unplanned),
        f"popups: {sum(popups.values())} for {len(processed)} waits "
        f"({late} waits processed after their call ended, so no popup); "
        f"{len(twice)} twice, {len(missing)} missing, {len(extra) + len(unplanned)} extra",
    ):
        _show(twice + missing + extra + [f"{k} not planned" for k in unplanned])
