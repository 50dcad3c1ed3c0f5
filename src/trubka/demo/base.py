"""What every part of the demo desk builder shares: the random source, the clock, the numbers."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from django.utils import timezone

from trubka.calls.models import PhoneCall
from trubka.clients.models import Company, Contact
from trubka.demo.seeds import MOBILE_CODES
from trubka.staff.models import Employee
from trubka.tickets.models import Ticket


@dataclass
class Caller:
    """A number a call comes from, with the client it belongs to (if any)."""

    number: str
    contact: Contact | None = None
    company: Company | None = None


@dataclass
class Summary:
    employees: list[Employee] = field(default_factory=list)
    companies: int = 0
    contacts: int = 0
    phones: int = 0
    tickets: list[Ticket] = field(default_factory=list)
    comments: int = 0
    calls: list[PhoneCall] = field(default_factory=list)
    recordings: int = 0
    recording_bytes: int = 0


class DeskBase:
    """The state of one run of the builder, and the moments and numbers its parts draw."""

    def __init__(self, rng: random.Random, password: str, saved_files: list[str]) -> None:
        self.rng = rng
        self.password = password
        self.saved_files = saved_files
        self.now = timezone.now()
        self.today = timezone.localdate(self.now)
        self.used_numbers: set[str] = set()
        self.summary = Summary()
        self.employees: list[Employee] = []
        self.companies: list[Company] = []
        self.contacts: list[Contact] = []
        self.callers: list[Caller] = []  # client numbers, for calls

    def _working_moment(self, min_days_ago: int = 0, max_days_ago: int = 29) -> datetime:
        """A moment of a working day (weekends are rarer) at least half an hour ago."""
        latest = self.now - timedelta(minutes=30)
        for _attempt in range(200):
            day = self.today - timedelta(days=self.rng.randint(min_days_ago, max_days_ago))
            if day.weekday() >= 5 and self.rng.random() < 0.8:
                continue
            moment = self._at(day, 9) + timedelta(seconds=self.rng.randint(0, 10 * 3600))
            if moment <= latest:
                return moment
        return latest - timedelta(hours=self.rng.randint(1, 48))

    def _working_moment_between(self, start: datetime, end: datetime) -> datetime:
        """A moment between the two, in working hours (9 to 19) when there are any."""
        for _attempt in range(50):
            moment = start + (end - start) * self.rng.random()
            if 9 <= timezone.localtime(moment).hour < 19:
                return moment
        # No working hours in between: someone stayed late, soon after the start.
        return min(end, start + timedelta(minutes=self.rng.randint(5, 40)))

    @staticmethod
    def _at(day: date, hour: int) -> datetime:
        return timezone.make_aware(datetime.combine(day, time(hour)))

    def _past(self, moment: datetime) -> datetime:
        return min(moment, self.now - timedelta(minutes=1))

    def _new_number(self, city_code: str = "") -> str:
        """A 10-digit number no demo client or employee has yet."""
        while True:
            code = city_code or self.rng.choice(MOBILE_CODES)
            number = code + "".join(str(self.rng.randint(0, 9)) for _ in range(10 - len(code)))
            if number not in self.used_numbers and number[3] != "0":
                self.used_numbers.add(number)
                return number
