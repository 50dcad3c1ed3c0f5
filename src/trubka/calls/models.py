from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from trubka.clients.models import Company, Contact
from trubka.core.phones import format_e164
from trubka.tickets.models import Ticket


class Direction(models.TextChoices):
    INCOMING = "in", _("Incoming")
    OUTGOING = "out", _("Outgoing")


class PhoneCall(models.Model):
    """One call session as the PBX reported it, merged from all its notifications.

    ``(provider, provider_call_id)`` is unique: every notification of one call session
    updates the same row, whatever order they arrive in.
    """

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    provider = models.CharField(_("provider"), max_length=30, default="manual")
    provider_call_id = models.CharField(_("call id"), max_length=100)
    direction = models.CharField(
        _("direction"), max_length=3, choices=Direction.choices, default=Direction.INCOMING
    )
    # The client's number (the caller of an incoming call, the callee of an outgoing one).
    client_number = models.CharField(_("client number"), max_length=64, blank=True)
    client_e164 = models.CharField(max_length=20, blank=True)
    client_match_key = models.CharField(max_length=20, blank=True, db_index=True)
    # The number on our side: an employee's extension or the company's virtual number.
    our_number = models.CharField(_("our number"), max_length=64, blank=True)
    employee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("employee"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="phone_calls",
    )
    contact = models.ForeignKey(
        Contact,
        verbose_name=_("contact"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="phone_calls",
    )
    company = models.ForeignKey(
        Company,
        verbose_name=_("company"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="phone_calls",
    )
    ticket = models.ForeignKey(
        Ticket,
        verbose_name=_("ticket"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="phone_calls",
    )
    started_at = models.DateTimeField(_("started"), db_index=True)
    answered_at = models.DateTimeField(_("answered"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    wait_duration = models.PositiveIntegerField(_("waiting, s"), null=True, blank=True)
    talk_duration = models.PositiveIntegerField(_("talk, s"), null=True, blank=True)
    is_missed = models.BooleanField(_("missed"), default=False)
    missed_by = models.TextField(_("not answered by"), blank=True)
    raw = models.JSONField(_("provider data"), default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("phone call")
        verbose_name_plural = _("phone calls")
        ordering = ["-started_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["provider", "provider_call_id"], name="unique_call_per_provider"
            )
        ]
        indexes = [
            models.Index(fields=["contact", "-started_at"]),
            models.Index(fields=["company", "-started_at"]),
            models.Index(fields=["employee", "-started_at"]),
        ]

    def __str__(self) -> str:
        when = f"{self.started_at:%Y-%m-%d %H:%M}"
        return f"{self.get_direction_display()} {self.client_display} {when}"

    @property
    def client_display(self) -> str:
        return format_e164(self.client_e164) if self.client_e164 else self.client_number


def recording_upload_to(instance: CallRecording, filename: str) -> str:
    return f"recordings/{instance.call.started_at:%Y/%m}/{instance.uuid}-{filename}"


class CallRecording(models.Model):
    """A recording of a call: the provider's link, and the audio kept by Trubka if archived."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    call = models.ForeignKey(PhoneCall, on_delete=models.CASCADE, related_name="recordings")
    source_url = models.URLField(_("provider link"), max_length=1000, blank=True)
    file = models.FileField(_("audio file"), upload_to=recording_upload_to, blank=True)
    content_type = models.CharField(max_length=100, blank=True)
    duration = models.PositiveIntegerField(_("duration, s"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    archived_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("call recording")
        verbose_name_plural = _("call recordings")
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["call", "source_url"],
                condition=~models.Q(source_url=""),
                name="unique_recording_link_per_call",
            )
        ]

    def __str__(self) -> str:
        return str(self.uuid)


class CallPopup(models.Model):
    """A request to pop a call up on the screens of the employees with an extension.

    Written when a call rings (UIS ``wait``, Okdesk API ``telephony/messages``); the browser
    half reads these. A request for an extension no employee has is kept with no employee,
    so an administrator can see which extension numbers are missing.
    """

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    call = models.ForeignKey(
        PhoneCall, null=True, blank=True, on_delete=models.CASCADE, related_name="popups"
    )
    employee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("employee"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="call_popups",
    )
    extension = models.CharField(_("extension number"), max_length=10)
    phone = models.CharField(_("number"), max_length=64, blank=True)
    contact = models.ForeignKey(
        Contact, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    company = models.ForeignKey(
        Company, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("call popup")
        verbose_name_plural = _("call popups")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["call", "extension"],
                condition=models.Q(call__isnull=False),
                name="one_popup_per_call_and_extension",
            )
        ]

    def __str__(self) -> str:
        return f"{self.phone} → {self.extension}"
