from __future__ import annotations

import hashlib
import secrets
import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

TOKEN_PREFIX_LENGTH = 8


def key_digest(token: str) -> str:
    # Keys are 256-bit random strings, so a fast hash is enough: there is nothing to guess.
    return hashlib.sha256(token.encode()).hexdigest()


class ApiKey(models.Model):
    """An ``api_token`` for ``/api/v1``, acting as its employee. Shown once, stored hashed."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    employee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("employee"),
        on_delete=models.CASCADE,
        related_name="api_keys",
    )
    name = models.CharField(_("description"), max_length=200, blank=True)
    prefix = models.CharField(_("key starts with"), max_length=TOKEN_PREFIX_LENGTH)
    digest = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)

    class Meta:
        verbose_name = _("API key")
        verbose_name_plural = _("API keys")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.employee})"

    @classmethod
    def issue(
        cls, employee: object, *, name: str = "", created_by: object = None
    ) -> tuple[ApiKey, str]:
        """Create a key; returns it with the token, which is not stored and not shown again."""
        token = secrets.token_hex(32)
        key = cls.objects.create(
            employee=employee,
            name=name,
            prefix=token[:TOKEN_PREFIX_LENGTH],
            digest=key_digest(token),
            created_by=created_by,
        )
        return key, token

    @property
    def active(self) -> bool:
        return self.revoked_at is None
