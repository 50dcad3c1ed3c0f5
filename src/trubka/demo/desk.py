"""The demo desk builder: people and clients first, then the planned tickets and calls."""

from __future__ import annotations

from trubka.demo.base import Summary
from trubka.demo.people import PeopleBuilder
from trubka.demo.phone_calls import CallMaker
from trubka.demo.planning import Planner
from trubka.demo.tickets import TicketMaker


class DemoDesk(PeopleBuilder, Planner, TicketMaker, CallMaker):
    """Builds the demo desk. One instance, one run: ``build()`` once."""

    def build(self) -> Summary:
        self._create_employees()
        self._create_clients()
        calls, tickets = self._plan()
        for plan in sorted(tickets, key=lambda p: p.created_at):
            self._create_ticket(plan)
        for index, call in enumerate(sorted(calls, key=lambda c: c.started_at), start=1):
            self._log_call(call, f"demo-{index:04d}")
        return self.summary
