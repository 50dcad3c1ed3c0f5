#!/usr/bin/env python
"""Caller lookup (``find_caller``) with 1,000,000 contacts on PostgreSQL, against a naive scan.

Run from the repository root:

    .venv/bin/python bench/caller_lookup.py
    .venv/bin/python bench/caller_lookup.py --contacts 200000 --lookups 2000

What it does, all against 127.0.0.1 only:

1. makes a fresh PostgreSQL database ``bench_<pid>_lookup`` and runs ``trubka migrate`` on it
   (``DATABASE_URL``);
2. bulk-loads ``--contacts`` contacts (default 1,000,000) with one phone each through
   ``COPY``: unique Russian mobile and landline numbers typed in seven formats
   (``+7 916 123-45-67``, ``8 (916) 123-45-67``, ``79161234567``, ``9161234567``, …), 2 %
   inactive, a third of them in one of 20,000 companies. ``e164`` and ``match_key`` are
   computed in bulk the way ``trubka.core.phones.normalize_phone`` does; a sample of 20,000
   stored numbers is checked against ``normalize_phone`` itself (any mismatch stops the run);
   then ``VACUUM ANALYZE``;
3. in this process (Django set up on that database, one persistent connection, as a worker
   has), calls ``trubka.clients.lookup.find_caller`` for ``--lookups`` random existing numbers
   written in another format than the stored one plus ``--unknown`` numbers nobody has,
   shuffled, after a warm-up; checks each answer (the right contact, or nobody) and reports
   p50/p95/p99/max; then splits the time into normalisation and the query;
4. the naive baseline, over ``--naive`` existing numbers: the same normalisation, then a suffix
   scan ``WHERE regexp_replace(raw, '\\D', '', 'g') LIKE '%' || last10`` joined to the
   contact and company the way ``find_caller`` selects them; reports its figures and the
   ratio naive/find_caller.

A missed target is printed as FAIL; the exit status is non-zero only when the benchmark
itself breaks. The database and the temporary folder are dropped in ``finally``.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common
from common import Cleanup, say

TARGET_P99_MS = 2.0
TARGET_RATIO = 100.0

FIRST = [
    "Иван",
    "Мария",
    "Алексей",
    "Ольга",
    "Дмитрий",
    "Елена",
    "Сергей",
    "Анна",
    "Павел",
    "Татьяна",
    "Никита",
    "Наталья",
    "Андрей",
    "Светлана",
    "Михаил",
    "Юлия",
]
LAST = [
    "Иванов",
    "Смирнов",
    "Кузнецов",
    "Попов",
    "Васильев",
    "Петров",
    "Соколов",
    "Михайлов",
    "Новиков",
    "Фёдоров",
    "Морозов",
    "Волков",
    "Алексеев",
    "Лебедев",
    "Семёнов",
    "Егоров",
]
PATRONYMIC = ["Иванович", "Петрович", "Сергеевич", "Алексеевич", "Андреевич", ""]
LANDLINE = ["495", "499", "812", "343", "383", "846", "861", "863", "831", "843", "351", "342"]


def fmt(national: str, style: int) -> str:
    """A 10-digit Russian national number as people type it."""
    a, b, c, d = national[:3], national[3:6], national[6:8], national[8:]
    return [
        f"+7 {a} {b}-{c}-{d}",
        f"8 ({a}) {b}-{c}-{d}",
        f"7{national}",
        national,
        f"+7({a}){b}{c}{d}",
        f"8-{a}-{b}-{c}-{d}",
        f"+7{national}",
    ][style]


STYLES = 7


def make_numbers(count: int, rng: random.Random) -> list[str]:
    """``count`` unique 10-digit national numbers: 80 % mobile (9xx), 20 % landline."""
    seen: set[str] = set()
    out: list[str] = []
    while len(out) < count:
        if rng.random() < 0.8:
            n = f"9{rng.randrange(10**9):09d}"
        else:
            n = rng.choice(LANDLINE) + f"{rng.randrange(10**7):07d}"
        if n not in seen:
            seen.add(n)
            out.append(n)
    return out


def copy_companies(cur: Any, count: int, now: str) -> None:
    from trubka.core.search import search_text

    with cur.copy(
        "COPY clients_company (id, name, additional_name, email, site, address, comment,"
        " active, search_text, created_at, updated_at) FROM STDIN"
    ) as copy:
        for i in range(1, count + 1):
            name = f"ООО «Компания {i}»"
            copy.write_row((i, name, "", "", "", "", "", True, search_text(name), now, now))


def copy_contacts(
    cur: Any, count: int, companies: int, now: str, rng: random.Random
) -> dict[int, int]:
    from trubka.core.search import search_text

    owner: dict[int, int] = {}
    with cur.copy(
        "COPY clients_contact (id, first_name, last_name, patronymic, company_id, email,"
        " position, comment, active, from_unknown_call_at, search_text, created_at,"
        " updated_at) FROM STDIN"
    ) as copy:
        for i in range(count):
            cid = i + 1
            first, last = rng.choice(FIRST), rng.choice(LAST)
            patronymic = rng.choice(PATRONYMIC)
            company = rng.randrange(1, companies + 1) if rng.random() < 0.33 else None
            active = rng.random() >= 0.02
            copy.write_row(
                (
                    cid,
                    first,
                    last,
                    patronymic,
                    company,
                    "",
                    "",
                    "",
                    active,
                    None,
                    search_text(last, first, patronymic),
                    now,
                    now,
                )
            )
            owner[cid] = i
    return owner


def copy_phones(cur: Any, numbers: list[str], styles: list[int], now: str) -> None:
    with cur.copy(
        "COPY clients_phonenumber (id, contact_id, company_id, kind, raw, e164, match_key,"
        " created_at) FROM STDIN"
    ) as copy:
        for i, national in enumerate(numbers):
            kind = "mobile" if national.startswith("9") else "work"
            copy.write_row(
                (
                    i + 1,
                    i + 1,
                    None,
                    kind,
                    fmt(national, styles[i]),
                    "+7" + national,
                    national[-10:],
                    now,
                )
            )


def load(url: str, numbers: list[str], styles: list[int], rng: random.Random) -> dict[int, int]:
    """COPY companies, contacts and their phones; returns contact id -> index in numbers."""
    import psycopg

    companies = 20_000
    now = "2026-01-01 09:00:00+00"
    with psycopg.connect(url) as conn, conn.cursor() as cur:
        copy_companies(cur, companies, now)
        owner = copy_contacts(cur, len(numbers), companies, now, rng)
        copy_phones(cur, numbers, styles, now)
        for table in ("clients_company", "clients_contact", "clients_phonenumber"):
            cur.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'),"
                f" (SELECT max(id) FROM {table}))"
            )
        conn.commit()
    with psycopg.connect(url, autocommit=True) as conn:
        for table in ("clients_company", "clients_contact", "clients_phonenumber"):
            conn.execute(f"VACUUM ANALYZE {table}")
    return owner


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--contacts", type=int, default=1_000_000)
    parser.add_argument("--lookups", type=int, default=5000, help="existing numbers looked up")
    parser.add_argument("--unknown", type=int, default=1000, help="unknown numbers looked up")
    parser.add_argument("--warmup", type=int, default=500)
    parser.add_argument("--naive", type=int, default=50, help="lookups by the naive scan")
    parser.add_argument("--seed", type=int, default=6)
    common.add_wait_quiet_argument(parser, default=300)
    parser.add_argument("--json", default="")
    return parser.parse_args()


def setup_django(env: dict[str, str]) -> None:
    """Django in this process, on the same database and settings."""
    for key in (
        "DATABASE_URL",
        "TRUBKA_DATA_DIR",
        "DJANGO_SETTINGS_MODULE",
        "TRUBKA_LOG_LEVEL",
        "TRUBKA_ALLOWED_HOSTS",
    ):
        os.environ[key] = env[key]
    import django

    django.setup()


@dataclass
class Numbers:
    """The contacts' numbers (as stored, in ``styles``) and the unknown ones."""

    known: list[str]
    styles: list[int]
    unknown: list[str]
    warm_unknown: list[str]
    rng: random.Random

    def other_format(self, i: int) -> str:
        """Contact ``i``'s number typed in another format than the stored one."""
        style = (self.styles[i] + 1 + self.rng.randrange(STYLES - 1)) % STYLES
        return fmt(self.known[i], style)


def make_all_numbers(args: argparse.Namespace, rng: random.Random) -> Numbers:
    total = args.contacts + args.lookups + args.unknown + args.warmup
    numbers_all = make_numbers(total, rng)
    numbers = numbers_all[: args.contacts]
    return Numbers(
        known=numbers,
        unknown=numbers_all[args.contacts : args.contacts + args.unknown],
        warm_unknown=numbers_all[args.contacts + args.unknown :],
        styles=[rng.randrange(STYLES) for _ in numbers],
        rng=rng,
    )


def check_bulk_keys(nums: Numbers, rng: random.Random) -> None:
    """The bulk e164/match_key must be what normalize_phone gives."""
    from trubka.core.phones import normalize_phone

    numbers, styles = nums.known, nums.styles
    sample = rng.sample(range(len(numbers)), min(20_000, len(numbers)))
    bad = 0
    for i in sample:
        n = normalize_phone(fmt(numbers[i], styles[i]))
        if n.e164 != "+7" + numbers[i] or n.match_key != numbers[i][-10:]:
            bad += 1
            if bad <= 3:
                say(f"   mismatch: {fmt(numbers[i], styles[i])!r} -> {n}")
    if bad:
        raise RuntimeError(f"{bad} of {len(sample)} bulk keys differ from normalize_phone")
    say(f"-- bulk keys checked against normalize_phone on {len(sample):,} numbers: all equal")


def fill(url: str, nums: Numbers, rng: random.Random) -> dict[str, Any]:
    """Load the contacts and describe the table; returns the figures kept in the JSON."""
    from django.db import connection

    t0 = time.perf_counter()
    load(url, nums.known, nums.styles, rng)
    load_s = time.perf_counter() - t0
    with connection.cursor() as cur:
        cur.execute("SELECT count(*) FROM clients_contact")
        contacts_n = cur.fetchone()[0]
        cur.execute("SELECT count(*) FROM clients_phonenumber")
        phones_n = cur.fetchone()[0]
        cur.execute("SELECT pg_size_pretty(pg_total_relation_size('clients_phonenumber'))")
        phones_size = cur.fetchone()[0]
        cur.execute("SHOW shared_buffers")
        shared_buffers = cur.fetchone()[0]
        cur.execute(
            "EXPLAIN SELECT * FROM clients_phonenumber WHERE match_key = %s", [nums.known[0]]
        )
        plan = " / ".join(r[0].strip() for r in cur.fetchall())
    say(
        f"-- loaded {contacts_n:,} contacts, {phones_n:,} phones in {load_s:.0f} s "
        f"(COPY + VACUUM ANALYZE); phone table {phones_size}; shared_buffers "
        f"{shared_buffers}"
    )
    say(f"   plan for a match_key probe: {plan}")
    return {"load_seconds": load_s, "phone_table_size": phones_size, "plan": plan}


Job = tuple[str, int | None]


def plan_lookups(
    args: argparse.Namespace, nums: Numbers, rng: random.Random
) -> tuple[list[Job], list[Job], list[int]]:
    """(measured lookups, warm-up lookups, contacts for the naive scan): existing numbers in
    another format than stored, and unknown numbers."""
    known_idx = rng.sample(range(len(nums.known)), args.lookups + args.warmup + args.naive)
    warm_idx = known_idx[: args.warmup]
    look_idx = known_idx[args.warmup : args.warmup + args.lookups]
    naive_idx = known_idx[args.warmup + args.lookups :]
    jobs: list[Job] = [(nums.other_format(i), i + 1) for i in look_idx]
    jobs += [(fmt(n, rng.randrange(STYLES)), None) for n in nums.unknown]
    rng.shuffle(jobs)
    warm: list[Job] = [(nums.other_format(i), i + 1) for i in warm_idx]
    warm += [(fmt(n, 0), None) for n in nums.warm_unknown]
    return jobs, warm, naive_idx


def measure_find_caller(
    jobs: list[Job], warm: list[Job], wait_quiet: float
) -> tuple[list[float], list[float], int, common.CpuMeter]:
    """(times for existing numbers, for unknown ones, wrong answers, CPU) of find_caller."""
    from trubka.clients.lookup import find_caller

    common.wait_quiet_and_say(wait_quiet, "   machine busy before measuring")
    for raw, _ in warm:
        find_caller(raw)

    meter = common.CpuMeter(
        {
            "this process": lambda: common.proc_cpu_seconds(os.getpid()),
            "postgresql": common.postgres_cpu_seconds,
        }
    )
    meter.start()
    times_known: list[float] = []
    times_unknown: list[float] = []
    wrong = 0
    for raw, expected in jobs:
        t = time.perf_counter()
        match = find_caller(raw)
        elapsed = (time.perf_counter() - t) * 1000
        if expected is None:
            times_unknown.append(elapsed)
            wrong += match.found
        else:
            times_known.append(elapsed)
            wrong += match.contact is None or match.contact.pk != expected
    meter.stop()
    return times_known, times_unknown, wrong, meter


def measure_split(jobs: list[Job]) -> dict[str, list[float]]:
    """Where the time goes: normalisation alone, the ORM query alone, the same SQL through a
    bare cursor (no ORM), and PostgreSQL's own planning + execution (EXPLAIN ANALYZE)."""
    from django.db import connection

    from trubka.clients.models import PhoneNumber
    from trubka.core.phones import normalize_phone

    norm_times, query_times, sql_times, server_times = [], [], [], []
    with connection.cursor() as cur:
        for n, (raw, _) in enumerate(jobs[:2000]):
            t = time.perf_counter()
            key = normalize_phone(raw).match_key
            norm_times.append((time.perf_counter() - t) * 1000)
            qs = (
                PhoneNumber.objects.filter(match_key=key)
                .select_related("contact__company", "company")
                .order_by("id")
            )
            t = time.perf_counter()
            list(qs._chain())
            query_times.append((time.perf_counter() - t) * 1000)
            sql, params = qs.query.sql_with_params()
            t = time.perf_counter()
            cur.execute(sql, params)
            cur.fetchall()
            sql_times.append((time.perf_counter() - t) * 1000)
            if n < 300:
                cur.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + sql, params)
                plan_json = cur.fetchone()[0]
                plan_json = plan_json[0] if isinstance(plan_json, list) else plan_json
                server_times.append(plan_json["Planning Time"] + plan_json["Execution Time"])
    return {"normalize": norm_times, "query": query_times, "sql": sql_times, "server": server_times}


NAIVE_SQL = (
    "SELECT p.id, p.raw, p.e164, c.id, c.last_name, c.first_name, c.active, co.id,"
    " co.name FROM clients_phonenumber p"
    " LEFT JOIN clients_contact c ON c.id = p.contact_id"
    " LEFT JOIN clients_company co ON co.id = COALESCE(p.company_id, c.company_id)"
    " WHERE regexp_replace(p.raw, '\\D', '', 'g') LIKE '%%' || %s ORDER BY p.id"
)


def measure_naive(nums: Numbers, naive_idx: list[int]) -> tuple[list[float], int, str]:
    """The naive baseline: a suffix scan over every stored number; (times, wrong answers,
    max_parallel_workers_per_gather)."""
    from django.db import connection

    from trubka.core.phones import normalize_phone

    naive_times: list[float] = []
    naive_wrong = 0
    with connection.cursor() as cur:
        cur.execute("SHOW max_parallel_workers_per_gather")
        parallel = cur.fetchone()[0]
        for i in naive_idx:
            raw = nums.other_format(i)
            t = time.perf_counter()
            last = normalize_phone(raw).match_key
            cur.execute(NAIVE_SQL, [last])
            rows = cur.fetchall()
            naive_times.append((time.perf_counter() - t) * 1000)
            naive_wrong += not any(r[3] == i + 1 for r in rows)
    return naive_times, naive_wrong, parallel


def line(label: str, s: dict[str, float]) -> None:
    say(
        f"   {label:<30} n={int(s['n']):>5}  p50 {s['p50']:.3f}  p95 {s['p95']:.3f}  "
        f"p99 {s['p99']:.3f}  max {s['max']:.3f} ms"
    )


def report(
    args: argparse.Namespace,
    info: dict[str, str],
    loaded: dict[str, Any],
    measured: tuple[list[float], list[float], int, common.CpuMeter],
    split: dict[str, list[float]],
    naive: tuple[list[float], int, str],
) -> None:
    times_known, times_unknown, wrong, meter = measured
    naive_times, naive_wrong, parallel = naive
    s_all, s_known, s_unknown = (
        common.summary(x) for x in (times_known + times_unknown, times_known, times_unknown)
    )
    s = {name: common.summary(values) for name, values in split.items()}
    s_naive = common.summary(naive_times)
    say("")
    common.print_info("Results", info)
    line("find_caller, all", s_all)
    line("find_caller, existing numbers", s_known)
    line("find_caller, unknown numbers", s_unknown)
    line("  of which normalize_phone", s["normalize"])
    line("  of which the query (ORM)", s["query"])
    line("  the same SQL, bare cursor", s["sql"])
    line("  PostgreSQL plan+execute", s["server"])
    line(f"naive suffix scan (parallel {parallel})", s_naive)
    say(f"   wrong answers: find_caller {wrong}, naive {naive_wrong}")
    say("   CPU during the find_caller loop: " + "; ".join(meter.lines()))
    ratio50 = s_naive["p50"] / s_known["p50"]
    ratio99 = s_naive["p99"] / s_known["p99"]
    say("")
    say(
        f"   find_caller p99 {s_all['p99']:.3f} ms   target <= {TARGET_P99_MS} ms   "
        + common.verdict(s_all["p99"] <= TARGET_P99_MS and wrong == 0)
    )
    say(
        f"   naive/find_caller (median) {ratio50:,.0f}x   target >= {TARGET_RATIO:.0f}x   "
        + common.verdict(ratio50 >= TARGET_RATIO)
    )
    say(f"   naive/find_caller (p99)    {ratio99:,.0f}x")
    common.write_json(
        args.json,
        {
            "machine": info,
            "args": vars(args),
            **loaded,
            "find_caller": s_all,
            "known": s_known,
            "unknown": s_unknown,
            **s,
            "naive": s_naive,
            "ratio_p50": ratio50,
            "ratio_p99": ratio99,
            "wrong": wrong,
            "naive_wrong": naive_wrong,
        },
    )


def main() -> int:
    args = parse_args()
    info = common.print_machine("Caller lookup: find_caller() vs a naive suffix scan")
    say(
        f"   settings    contacts={args.contacts:,} lookups={args.lookups} "
        f"unknown={args.unknown} naive={args.naive} seed={args.seed}"
    )
    rng = random.Random(args.seed)
    cleanup = Cleanup()
    try:
        work = common.temp_dir(cleanup, "bench-lookup-")
        _, url = common.new_database(cleanup, work, "lookup")
        env = common.trubka_env(work, url)
        t0 = time.perf_counter()
        common.migrate(env, work)
        say(f"-- migrated in {time.perf_counter() - t0:.1f} s")
        setup_django(env)
        nums = make_all_numbers(args, rng)
        check_bulk_keys(nums, rng)
        loaded = fill(url, nums, rng)
        jobs, warm, naive_idx = plan_lookups(args, nums, rng)
        measured = measure_find_caller(jobs, warm, args.wait_quiet)
        split = measure_split(jobs)
        naive = measure_naive(nums, naive_idx)
        report(args, info, loaded, measured, split, naive)
    finally:
        with contextlib.suppress(Exception):
            from django.db import connections

            connections.close_all()
        cleanup.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
