"""``trubka demo-data``: fill the desk with believable Russian demo data.

It creates employees with extensions 101–105, companies and contacts with numbers typed in
every common format, tickets in every status (some from calls, some from missed calls) and a
month of calls, the answered ones with a short generated recording (``trubka.calls.audio``),
all through the same actions the rest of Trubka uses, in one transaction. The parts of the
builder are modules of ``trubka.demo``.

Demo objects are recognised later by markers, so ``--reset`` deletes exactly them: calls of
the provider ``demo``; employees, companies and contacts whose e-mail is in the reserved
``.example`` domain (employees also need one of the demo usernames); and the tickets of those
clients and calls. The same ``--seed`` gives the same desk, dated back from the moment it ran.
"""

from __future__ import annotations

import random
import secrets
from collections import Counter
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from trubka.calls.models import Direction
from trubka.demo.base import Summary
from trubka.demo.desk import DemoDesk
from trubka.demo.markers import (
    check_employee_conflicts,
    delete_files,
    demo_data_present,
    reset_demo_data,
)
from trubka.demo.seeds import DEFAULT_SEED, EMPLOYEES
from trubka.tickets.models import Source, Status


class Command(BaseCommand):
    help = (
        "Fill the desk with believable Russian demo data: employees with extensions "
        f"{EMPLOYEES[0][5]}–{EMPLOYEES[-1][5]}, companies, contacts, tickets and a month of "
        "calls with recordings."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--password",
            help="password of the demo employees; by default one is generated and shown once",
        )
        parser.add_argument(
            "--seed",
            type=int,
            default=DEFAULT_SEED,
            help=f"random seed: the same seed gives the same desk (default {DEFAULT_SEED})",
        )
        parser.add_argument(
            "--reset",
            action="store_true",
            help=(
                "delete the demo data made earlier (calls of provider 'demo'; employees, "
                "companies and contacts with an e-mail in the .example domain; their tickets) "
                "and make it again"
            ),
        )

    def handle(self, *args: Any, **options: Any) -> None:
        password: str | None = options["password"]
        generated = password is None
        if password is None:
            password = secrets.token_urlsafe(12)
        elif not password.strip():
            raise CommandError("The --password must not be empty.")
        saved_files: list[str] = []
        try:
            with transaction.atomic():
                stale_files: list[str] = []
                if options["reset"]:
                    stale_files = reset_demo_data()
                else:
                    present = demo_data_present()
                    if present:
                        raise CommandError(
                            f"Demo data is already here ({', '.join(present)}). Run "
                            "`trubka demo-data --reset` to delete it and make it again."
                        )
                check_employee_conflicts()
                desk = DemoDesk(random.Random(options["seed"]), password, saved_files)  # noqa: S311
                summary = desk.build()
                transaction.on_commit(lambda: delete_files(stale_files))
        except BaseException:
            delete_files(saved_files)  # the rows are rolled back; do not leave their audio
            raise
        self._report(summary, password if generated else None, bool(options["reset"]))

    def _report(self, summary: Summary, generated_password: str | None, reset: bool) -> None:
        statuses = Counter(t.status for t in summary.tickets)
        sources = Counter(t.source for t in summary.tickets)
        directions = Counter(c.direction for c in summary.calls)
        missed = sum(1 for c in summary.calls if c.is_missed)
        unknown = sum(1 for c in summary.calls if c.contact_id is None and c.company_id is None)
        extensions = [e.extension for e in summary.employees]
        write = self.stdout.write
        write(self.style.SUCCESS("Demo data re-created:" if reset else "Demo data created:"))
        write(
            f"  employees   {len(summary.employees)} "
            f"(logins {', '.join(e.username for e in summary.employees)}; "
            f"extensions {extensions[0]}–{extensions[-1]})"
        )
        write(f"  companies   {summary.companies}")
        write(f"  contacts    {summary.contacts} ({summary.phones} client phone numbers)")
        write(
            f"  tickets     {len(summary.tickets)} ("
            + ", ".join(f"{s.name.lower().replace('_', ' ')} {statuses[s]}" for s in Status)
            + f"; from calls {sources[Source.PHONE]}, missed calls {sources[Source.MISSED_CALL]}"
            + f"; {summary.comments} comments)"
        )
        write(
            f"  calls       {len(summary.calls)} (incoming {directions[Direction.INCOMING]}, "
            f"outgoing {directions[Direction.OUTGOING]}, missed {missed}, "
            f"from unknown numbers {unknown})"
        )
        write(
            f"  recordings  {summary.recordings} "
            f"({summary.recording_bytes / 1_000_000:.1f} MB of WAV audio)"
        )
        if generated_password:
            write(
                "The demo employees' password, shown only this once: "
                + self.style.WARNING(generated_password)
            )
