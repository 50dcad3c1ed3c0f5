"""The plan of the demo month: which calls come in and go out, and which tickets they lead to."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.utils import timezone

from trubka.calls.models import Direction
from trubka.clients.models import Company, Contact
from trubka.core.phones import normalize_phone
from trubka.demo.base import Caller, DeskBase
from trubka.demo.people import format_number
from trubka.demo.seeds import CALLBACK_NOTES, TOPICS
from trubka.staff.models import Employee
from trubka.tickets.models import Priority, Source, Status, Ticket, TicketType


@dataclass
class TicketPlan:
    """A ticket to create, with the story of its status changes and comments."""

    created_at: datetime
    title: str
    description: str
    source: str
    status: str  # the final status; "reopened" is opened after having been completed
    type: str = TicketType.QUESTION
    priority: str = Priority.NORMAL
    contact: Contact | None = None
    company: Company | None = None
    assignee: Employee | None = None
    author: Employee | None = None
    story_starts_at: datetime | None = None
    callback_note: str = ""
    ticket: Ticket | None = None


@dataclass
class CallPlan:
    """A call to log: ``talk`` is None when nobody answered."""

    started_at: datetime
    direction: str
    number: str
    wait: int
    talk: int | None = None
    employee: Employee | None = None
    missed_by: str = ""
    ticket: TicketPlan | None = None

    @property
    def answered(self) -> bool:
        return self.talk is not None

    @property
    def finished_at(self) -> datetime:
        return self.started_at + timedelta(seconds=self.wait + (self.talk or 0))


class Planner(DeskBase):
    """Plans the calls and tickets; nothing is written to the database here."""

    def _plan(self) -> tuple[list[CallPlan], list[TicketPlan]]:
        """Plan ~60 calls and ~30 tickets; the numbers below add up to those."""
        calls: list[CallPlan] = []
        tickets: list[TicketPlan] = []
        rng = self.rng
        person_callers = [c for c in self.callers if c.contact is not None]
        unknown = [
            Caller(format_number(self._new_number(), 2)),
            Caller(format_number(self._new_number(), 2)),
            Caller(format_number(self._new_number("495"), 2)),
        ]

        # Missed calls, each with its ticket; the handled ones got a call back.
        missed_statuses = self._deck(
            {Status.OPENED: 3, Status.IN_PROGRESS: 1, Status.COMPLETED: 1, Status.CLOSED: 3}
        )
        missed_callers = rng.sample(self.callers, len(missed_statuses))
        missed = [*zip(missed_callers, missed_statuses, strict=True)]
        missed.append((unknown[0], Status.OPENED))  # nobody knows this number yet
        for caller, status in missed:
            handled = status in (Status.CLOSED, Status.COMPLETED)
            missed_call = self._missed_call(caller, min_days_ago=1 if handled else 0)
            ticket = self._missed_ticket(caller, missed_call, status)
            missed_call.ticket = ticket
            calls.append(missed_call)
            if handled:
                back = self._outgoing(
                    caller, missed_call.finished_at + timedelta(minutes=rng.randint(10, 90))
                )
                back.ticket = ticket
                ticket.assignee = back.employee
                ticket.story_starts_at = back.finished_at
                ticket.callback_note = rng.choice(CALLBACK_NOTES)
                calls.append(back)
            tickets.append(ticket)

        topics = list(TOPICS)
        rng.shuffle(topics)
        statuses = self._deck(
            {
                Status.OPENED: 5,
                Status.IN_PROGRESS: 5,
                Status.COMPLETED: 4,
                Status.CLOSED: 5,
                "reopened": 2,
            }
        )

        # Answered incoming calls that became tickets.
        for caller in rng.sample(person_callers, 9):
            call = self._incoming(caller, self._working_moment())
            title, description, kind, priority = topics.pop()
            call.ticket = TicketPlan(
                created_at=self._past(call.finished_at + timedelta(minutes=rng.randint(1, 5))),
                title=title,
                description=description,
                source=Source.PHONE,
                status=statuses.pop(),
                type=kind,
                priority=priority,
                contact=caller.contact,
                company=caller.company,
                assignee=call.employee if rng.random() < 0.8 else rng.choice(self.employees),
                author=call.employee,
            )
            calls.append(call)
            tickets.append(call.ticket)

        # Tickets typed in by hand (from e-mail, messengers, a word in the corridor).
        while statuses:
            title, description, kind, priority = topics.pop()
            contact = rng.choice(self.contacts) if rng.random() < 0.85 else None
            company = contact.company if contact else rng.choice(self.companies)
            tickets.append(
                TicketPlan(
                    created_at=self._working_moment(),
                    title=title,
                    description=description,
                    source=Source.MANUAL,
                    status=statuses.pop(),
                    type=kind,
                    priority=priority,
                    contact=contact,
                    company=company,
                    assignee=rng.choice([*self.employees, None]),
                    author=rng.choice(self.employees),
                )
            )

        # The everyday traffic: answered calls, a few from numbers nobody has filled in yet.
        for _ in range(31):
            calls.append(self._incoming(rng.choice(self.callers), self._working_moment()))
        for caller in unknown[1:]:
            calls.append(self._incoming(caller, self._working_moment()))
        for _ in range(3):
            calls.append(self._outgoing(rng.choice(person_callers), self._working_moment()))
        for _ in range(2):
            call = self._outgoing(rng.choice(person_callers), self._working_moment())
            call.talk = None  # nobody picked up
            calls.append(call)
        return calls, tickets

    def _deck(self, counts: dict[str, int]) -> list[str]:
        """The final statuses to hand out, shuffled: so many of each."""
        deck = [status for status, count in counts.items() for _ in range(count)]
        self.rng.shuffle(deck)
        return deck

    def _incoming(self, caller: Caller, started_at: datetime) -> CallPlan:
        return CallPlan(
            started_at=started_at,
            direction=Direction.INCOMING,
            number=self._as_provider_sends(caller.number),
            wait=self.rng.randint(3, 25),
            talk=self._talk_seconds(),
            employee=self.rng.choice(self.employees),
        )

    def _outgoing(self, caller: Caller, started_at: datetime) -> CallPlan:
        return CallPlan(
            started_at=started_at,
            direction=Direction.OUTGOING,
            number=self._as_provider_sends(caller.number),
            wait=self.rng.randint(5, 30),
            talk=self._talk_seconds(),
            employee=self.rng.choice(self.employees),
        )

    def _missed_call(self, caller: Caller, *, min_days_ago: int) -> CallPlan:
        names = [f"{e.last_name} {e.first_name}" for e in self.employees]
        return CallPlan(
            started_at=self._working_moment(min_days_ago=min_days_ago),
            direction=Direction.INCOMING,
            number=self._as_provider_sends(caller.number),
            wait=self.rng.randint(20, 60),
            missed_by=", ".join(self.rng.sample(names, self.rng.randint(2, 3))),
        )

    def _missed_ticket(self, caller: Caller, call: CallPlan, status: str) -> TicketPlan:
        display = normalize_phone(caller.number).display
        return TicketPlan(
            created_at=call.finished_at + timedelta(seconds=self.rng.randint(1, 5)),
            title=f"Пропущенный звонок от {display}",
            description=(
                f"Звонок в {timezone.localtime(call.started_at):%H:%M} не приняли "
                f"({call.missed_by}). Перезвоните клиенту."
            ),
            source=Source.MISSED_CALL,
            status=status,
            contact=caller.contact,
            company=caller.company,
            assignee=self.rng.choice(self.employees) if status != Status.OPENED else None,
        )

    def _as_provider_sends(self, number: str) -> str:
        """Telephony reports numbers as bare E.164 digits, whatever the client card says."""
        phone = normalize_phone(number)
        return phone.e164[1:] if phone.e164 else phone.digits

    def _talk_seconds(self) -> int:
        return min(1200, 20 + int(self.rng.expovariate(1 / 150)))
