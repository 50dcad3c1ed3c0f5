from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class WorkerHeartbeat(models.Model):
    """The last sign of life of one worker (a ``trubka worker`` process or the thread inside
    ``trubka serve``); ``/healthz`` reads these."""

    name = models.CharField(max_length=200, unique=True)
    started_at = models.DateTimeField()
    seen_at = models.DateTimeField(db_index=True)
    processed = models.PositiveBigIntegerField(default=0)

    class Meta:
        verbose_name = _("worker heartbeat")
        verbose_name_plural = _("worker heartbeats")
        ordering = ["-seen_at"]

    def __str__(self) -> str:
        return self.name


class EventTally(models.Model):
    """Notifications (and the worker's jobs) already counted for ``/metrics``, by label.

    Only settled rows (processed, ignored, rejected: their status never changes again) are
    folded in here, in order of id up to ``MetricsState.events_folded_through``. A scrape
    adds these sums to the few rows it still counts, and ``trubka purge`` deletes only rows
    folded in, so the counters neither cost a pass over the whole table nor go down when
    old rows are deleted. See ``trubka.ops.tally``.
    """

    # The UIS account's app_id as the metric shows it ("unknown" for a deleted account);
    # empty for the worker's own jobs.
    app_id = models.CharField(max_length=20, blank=True)
    action = models.CharField(max_length=40)  # the metric's label, not the raw action
    status = models.CharField(max_length=20)
    events = models.PositiveBigIntegerField(default=0)
    retries = models.PositiveBigIntegerField(default=0)  # attempts beyond the first

    class Meta:
        verbose_name = _("counted notifications")
        verbose_name_plural = _("counted notifications")
        constraints = [
            models.UniqueConstraint(
                fields=["app_id", "action", "status"], name="event_tally_labels_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.app_id or 'job'} {self.action} {self.status}: {self.events}"


class MetricsState(models.Model):
    """One row: how far the notifications are folded into ``EventTally``, and how many
    ringing-call notices ``trubka purge`` has deleted (the popup counter goes on from them)."""

    events_folded_through = models.BigIntegerField(default=0)
    ring_notices_purged = models.PositiveBigIntegerField(default=0)

    class Meta:
        verbose_name = _("metrics state")
        verbose_name_plural = _("metrics state")

    def __str__(self) -> str:
        return f"folded through {self.events_folded_through}"


class UnsettledEvent(models.Model):
    """A notification at or below the fold mark that was still pending or failed when the
    mark passed it: counted live until it settles, then folded in."""

    event_id = models.BigIntegerField(primary_key=True)

    class Meta:
        verbose_name = _("unsettled notification")
        verbose_name_plural = _("unsettled notifications")

    def __str__(self) -> str:
        return str(self.event_id)
