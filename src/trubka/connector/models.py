from __future__ import annotations

import secrets
import uuid

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from trubka.core.addresses import in_networks
from trubka.core.crypto import EncryptedTextField, token_digest


class Target(models.TextChoices):
    LOCAL = "local", _("This Trubka")
    OKDESK = "okdesk", _("Okdesk cloud account")


class Integration(models.Model):
    """One connected telephony account (``provider``, ``account_id``) and the help desk its
    calls go to. For UIS, ``account_id`` is the account's ``app_id``."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    #: The provider's name (``connector.providers.PROVIDERS``).
    provider = models.CharField(_("provider"), max_length=20, default="uis")
    #: The account's id at its provider, as text (UIS: ``app_id``, a number).
    account_id = models.CharField(_("account id"), max_length=64)
    name = models.CharField(_("UIS account name"), max_length=255, blank=True)
    timezone = models.CharField(_("time zone"), max_length=64, default="Europe/Moscow")
    uis_api_key = EncryptedTextField(_("UIS API key"), blank=True)
    key_checked_at = models.DateTimeField(_("key checked"), null=True, blank=True)
    target = models.CharField(
        _("help desk"), max_length=10, choices=Target.choices, default=Target.LOCAL
    )
    okdesk_account = models.CharField(
        _("Okdesk account name or address"), max_length=255, blank=True
    )
    okdesk_api_key = EncryptedTextField(_("Okdesk API key"), blank=True)
    okdesk_timezone = models.CharField(
        _("Okdesk account time zone"),
        max_length=64,
        default="Europe/Moscow",
        help_text=_("Call times are sent to Okdesk in this zone (Okdesk reads them so)."),
    )
    # The webhook token: its digest finds the account, the encrypted copy shows the URL again.
    webhook_token_digest = models.CharField(max_length=64, unique=True, editable=False)
    webhook_token = EncryptedTextField(editable=False)
    # The guide's URL /okdesk/webhook/ carries no secret; it is accepted for this account
    # only when enabled here and the sender's address is in the allow-list.
    shared_url_allowed = models.BooleanField(_("accept the shared URL"), default=False)
    allowed_ips = models.TextField(
        _("sender addresses allowed on the shared URL"),
        blank=True,
        help_text=_("IP addresses or networks, one per line, e.g. 195.211.122.0/24."),
    )
    enabled_at = models.DateTimeField(_("enabled"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("connected UIS account")
        verbose_name_plural = _("connected UIS accounts")
        ordering = ["provider", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["provider", "account_id"], name="integration_provider_account_unique"
            ),
        ]

    def __str__(self) -> str:
        label = "UIS" if self.provider == "uis" else self.provider
        return f"{label} {self.account_id}" + (f" «{self.name}»" if self.name else "")

    def save(self, *args: object, **kwargs: object) -> None:
        if not self.webhook_token_digest:
            self.rotate_token()
        super().save(*args, **kwargs)  # type: ignore[arg-type]

    @property
    def enabled(self) -> bool:
        return self.enabled_at is not None

    @property
    def provider_key(self) -> str:
        """The ``PhoneCall.provider`` of this account's calls: ids are unique per account."""
        return f"{self.provider}:{self.account_id}"

    def rotate_token(self) -> str:
        token = secrets.token_urlsafe(24)
        self.webhook_token = token
        self.webhook_token_digest = token_digest(token)
        return token

    def sender_allowed(self, address: str) -> bool:
        return in_networks(address, self.allowed_ips.split())


class EventStatus(models.TextChoices):
    PENDING = "pending", _("Waiting")
    PROCESSED = "processed", _("Processed")
    FAILED = "failed", _("Failed")
    REJECTED = "rejected", _("Rejected")
    IGNORED = "ignored", _("Ignored")


class EventKind(models.TextChoices):
    """What an event means, whichever provider sent it (``providers/base.py``)."""

    RING = "ring", _("Ringing")
    ANSWERED = "answered", _("Answered")
    MISSED = "missed", _("Missed")
    #: Not a notification: work queued through ``trubka.core.jobs`` (its name is the action).
    JOB = "job", _("Background job")


class CallEvent(models.Model):
    """One notification as received: the raw body, what was understood, and its processing.

    This table is the queue: workers claim ``pending`` rows whose ``next_attempt_at`` has come.
    ``dedupe_key`` makes a repeated notification a no-op.
    """

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    integration = models.ForeignKey(
        Integration,
        verbose_name=_("UIS account"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="events",
    )
    received_at = models.DateTimeField(_("received"), default=timezone.now, db_index=True)
    #: The provider's own name for the event (or the job's name), as the event log shows it.
    action = models.CharField(_("action"), max_length=40, blank=True)
    #: What the queue and the handling act on (``EventKind``); empty for events not acted on.
    kind = models.CharField(_("kind"), max_length=10, choices=EventKind.choices, blank=True)
    call_id = models.CharField(_("call id"), max_length=100, blank=True, db_index=True)
    dedupe_key = models.CharField(max_length=300, null=True, blank=True, unique=True)
    repeats = models.PositiveIntegerField(_("received again"), default=0)
    method = models.CharField(max_length=10, default="POST")
    content_type = models.CharField(max_length=200, blank=True)
    remote_addr = models.GenericIPAddressField(null=True, blank=True)
    raw_body = models.TextField(_("raw body"), blank=True)
    parsed = models.JSONField(_("understood as"), default=dict, blank=True)
    status = models.CharField(
        _("status"), max_length=20, choices=EventStatus.choices, default=EventStatus.PENDING
    )
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    claimed_until = models.DateTimeField(null=True, blank=True)
    processed_at = models.DateTimeField(_("processed"), null=True, blank=True)
    failed_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(_("last error"), blank=True)

    class Meta:
        verbose_name = _("call event")
        verbose_name_plural = _("call events")
        ordering = ["-received_at", "-id"]
        indexes = [
            models.Index(
                fields=["status", "next_attempt_at"],
                name="event_queue_idx",
                condition=models.Q(status="pending"),
            ),
            # The queue's «an earlier event of this call is still pending» check: without it
            # every claim scans the pending rows once per row (seconds at 8,000 pending).
            models.Index(
                fields=["integration", "call_id", "id"],
                name="event_call_order_idx",
                condition=models.Q(status="pending"),
            ),
            # The worker's claim reads one kind of pending event at a time in arrival order
            # (rings before anything else, jobs in their own lane): each kind is one range
            # here, cut off at the batch size, however long the backlog.
            models.Index(
                fields=["kind", "received_at", "id"],
                name="event_pending_kind_idx",
                condition=models.Q(status="pending"),
            ),
            # ...and «every other notification» (not a ring, not a job) in arrival order.
            models.Index(
                fields=["received_at", "id"],
                name="event_pending_order_idx",
                condition=models.Q(status="pending"),
            ),
            # /healthz counts failed events on every probe.
            models.Index(
                fields=["failed_at"], name="event_failed_idx", condition=models.Q(status="failed")
            ),
        ]

    def __str__(self) -> str:
        return f"{self.action or '?'} {self.call_id} ({self.status})"
