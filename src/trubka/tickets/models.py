from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from trubka.clients.models import Company, Contact
from trubka.core.search import search_text as build_search_text


class Status(models.TextChoices):
    """Ticket statuses, with Okdesk's codes so the API speaks the same language."""

    OPENED = "opened", _("Opened")
    IN_PROGRESS = "inprogress", _("In progress")
    COMPLETED = "completed", _("Completed")
    CLOSED = "closed", _("Closed")


# Which status may follow which. Completed and closed tickets are re-opened by moving back to
# "opened"; a closed ticket cannot be completed again without re-opening it first.
TRANSITIONS: dict[str, frozenset[str]] = {
    Status.OPENED: frozenset({Status.IN_PROGRESS, Status.COMPLETED, Status.CLOSED}),
    Status.IN_PROGRESS: frozenset({Status.OPENED, Status.COMPLETED, Status.CLOSED}),
    Status.COMPLETED: frozenset({Status.OPENED, Status.CLOSED}),
    Status.CLOSED: frozenset({Status.OPENED}),
}
OPEN_STATUSES = (Status.OPENED, Status.IN_PROGRESS)


class Priority(models.TextChoices):
    LOW = "low", _("Low")
    NORMAL = "normal", _("Normal")
    HIGH = "high", _("High")


class TicketType(models.TextChoices):
    QUESTION = "question", _("Question")
    INCIDENT = "incident", _("Incident")
    SERVICE = "service", _("Service request")


class Source(models.TextChoices):
    MANUAL = "manual", _("Manual")
    PHONE = "phone", _("Phone call")
    MISSED_CALL = "missed_call", _("Missed call")
    API = "api", _("API")


class TicketQuerySet(models.QuerySet["Ticket"]):
    def open(self) -> TicketQuerySet:
        return self.filter(status__in=OPEN_STATUSES)


class Ticket(models.Model):
    """A ticket («Заявка»). Change it through the actions in ``tickets.actions``."""

    title = models.CharField(_("title"), max_length=255)
    description = models.TextField(_("description"), blank=True)
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.OPENED
    )
    old_status = models.CharField(
        _("previous status"), max_length=20, choices=Status.choices, blank=True
    )
    priority = models.CharField(
        _("priority"), max_length=20, choices=Priority.choices, default=Priority.NORMAL
    )
    type = models.CharField(
        _("type"), max_length=20, choices=TicketType.choices, default=TicketType.QUESTION
    )
    source = models.CharField(
        _("source"), max_length=20, choices=Source.choices, default=Source.MANUAL
    )
    contact = models.ForeignKey(
        Contact,
        verbose_name=_("contact"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="tickets",
    )
    company = models.ForeignKey(
        Company,
        verbose_name=_("company"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="tickets",
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("assignee"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="assigned_tickets",
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("author"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="authored_tickets",
    )
    search_text = models.TextField(editable=False, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    completed_at = models.DateTimeField(_("completed"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)

    objects = TicketQuerySet.as_manager()

    class Meta:
        verbose_name = _("ticket")
        verbose_name_plural = _("tickets")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["status", "-created_at"]),
            models.Index(fields=["assignee", "status"]),
            models.Index(fields=["source", "status"]),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.title}"

    def save(self, *args: object, **kwargs: object) -> None:
        self.search_text = build_search_text(self.title, self.description)
        super().save(*args, **kwargs)  # type: ignore[arg-type]

    def allowed_statuses(self) -> list[Status]:
        return [s for s in Status if s in TRANSITIONS[self.status]]


class TicketComment(models.Model):
    """A comment on a ticket: public (the client may see it) or internal."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="comments")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("author"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="ticket_comments",
    )
    author_contact = models.ForeignKey(
        Contact, null=True, blank=True, on_delete=models.SET_NULL, related_name="ticket_comments"
    )
    content = models.TextField(_("comment"))
    public = models.BooleanField(_("public"), default=False)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("comment")
        verbose_name_plural = _("comments")
        ordering = ["created_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(author__isnull=False, author_contact__isnull=False),
                name="comment_has_at_most_one_author",
            )
        ]

    def __str__(self) -> str:
        return self.content[:60]
