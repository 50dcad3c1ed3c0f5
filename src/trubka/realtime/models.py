from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class AgentNotice(models.Model):
    """One message pushed to one employee's browsers (a ringing call, its updates).

    The id is the Server-Sent Events id: a browser that reconnects with ``Last-Event-ID``
    gets what it missed from this table, so a ringing call is not lost to a brief drop.
    """

    employee = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notices"
    )
    kind = models.CharField(max_length=30)
    payload = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("live notice")
        verbose_name_plural = _("live notices")
        ordering = ["id"]
        indexes = [models.Index(fields=["employee", "id"]), models.Index(fields=["kind"])]

    def __str__(self) -> str:
        return f"{self.kind} → {self.employee_id}"
