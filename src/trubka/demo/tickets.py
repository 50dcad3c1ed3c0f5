"""Demo tickets, created through the ticket actions and given a dated story of replies."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from trubka.demo.base import DeskBase
from trubka.demo.planning import TicketPlan
from trubka.demo.seeds import (
    CLIENT_AGAIN,
    CLIENT_THANKS,
    DONE_REPLIES,
    INTERNAL_NOTES,
    PROGRESS_REPLIES,
    TAKEN_REPLIES,
)
from trubka.tickets.actions import (
    do_add_ticket_comment,
    do_change_ticket_status,
    do_create_ticket,
)
from trubka.tickets.models import Source, Status, Ticket, TicketComment


class TicketMaker(DeskBase):
    """Creates a planned ticket, then plays its status changes and comments back in time."""

    def _create_ticket(self, plan: TicketPlan) -> None:
        ticket = do_create_ticket(
            title=plan.title,
            description=plan.description,
            contact=plan.contact,
            company=plan.company,
            assignee=plan.assignee,
            author=plan.author,
            priority=plan.priority,
            type=plan.type,
            source=plan.source,
        )
        plan.ticket = ticket
        steps = self._story(plan)
        start = plan.story_starts_at or plan.created_at
        end = self._past(start + timedelta(minutes=self.rng.randint(60, 4 * 24 * 60)))
        moments = sorted(self._working_moment_between(start, end) for _ in steps)
        stamps: dict[str, datetime | None] = {"completed_at": None, "closed_at": None}
        for step, moment in zip(steps, moments, strict=True):
            seen = set(TicketComment.objects.filter(ticket=ticket).values_list("pk", flat=True))
            step()
            # The actions stamp "now"; the story happened at ``moment``.
            TicketComment.objects.filter(ticket=ticket).exclude(pk__in=seen).update(
                created_at=moment
            )
            status = Ticket.objects.values_list("status", flat=True).get(pk=ticket.pk)
            if status == Status.COMPLETED:
                stamps["completed_at"] = moment
            elif status == Status.CLOSED:
                stamps["completed_at"] = stamps["completed_at"] or moment
                stamps["closed_at"] = moment
            elif status == Status.OPENED:
                stamps = {"completed_at": None, "closed_at": None}
        Ticket.objects.filter(pk=ticket.pk).update(
            created_at=plan.created_at,
            updated_at=moments[-1] if moments else plan.created_at,
            **stamps,
        )
        ticket.refresh_from_db()
        self.summary.tickets.append(ticket)
        self.summary.comments += TicketComment.objects.filter(ticket=ticket).count()

    def _story(self, plan: TicketPlan) -> list[Callable[[], object]]:
        """What happens to the ticket after it was created, step by step, in order."""
        assert plan.ticket is not None
        ticket = plan.ticket
        rng = self.rng
        worker = plan.assignee or rng.choice(self.employees)
        steps: list[Callable[[], object]] = []

        def move(status: str, note: str = "") -> None:
            steps.append(lambda: do_change_ticket_status(ticket, status, by=worker, comment=note))

        def reply(text: str, *, public: bool = True) -> None:
            steps.append(
                lambda: do_add_ticket_comment(ticket, content=text, author=worker, public=public)
            )

        def client_says(text: str) -> None:
            if plan.contact is not None:
                contact = plan.contact
                steps.append(
                    lambda: do_add_ticket_comment(
                        ticket, content=text, author_contact=contact, public=True
                    )
                )

        if plan.source == Source.MISSED_CALL:
            if plan.status == Status.IN_PROGRESS:
                move(Status.IN_PROGRESS, "Звоню клиенту, пока не берёт трубку.")
            elif plan.status in (Status.COMPLETED, Status.CLOSED):
                move(Status.IN_PROGRESS)
                move(Status.COMPLETED, plan.callback_note)
                if plan.status == Status.CLOSED:
                    move(Status.CLOSED)
            return steps

        if plan.status == Status.OPENED:
            if rng.random() < 0.5:
                reply(rng.choice(INTERNAL_NOTES), public=False)
            return steps
        move(Status.IN_PROGRESS)
        reply(rng.choice(TAKEN_REPLIES))
        if rng.random() < 0.5:
            reply(rng.choice(INTERNAL_NOTES), public=False)
        if plan.status == Status.IN_PROGRESS:
            if rng.random() < 0.5:
                reply(rng.choice(PROGRESS_REPLIES))
            return steps
        reply(rng.choice(DONE_REPLIES))
        move(Status.COMPLETED)
        if plan.status == "reopened":
            client_says(CLIENT_AGAIN)
            move(Status.OPENED, "Клиент пишет, что проблема вернулась.")
            return steps
        if rng.random() < 0.6:
            client_says(rng.choice(CLIENT_THANKS))
        if plan.status == Status.CLOSED:
            move(Status.CLOSED)
        return steps
