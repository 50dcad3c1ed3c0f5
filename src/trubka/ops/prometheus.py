"""``/metrics`` in Prometheus's terms: Trubka's metric families, filled in at scrape time from
what ``trubka.ops.metrics`` reads, in a registry of their own."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, fields

from django.utils import timezone
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector, CollectorRegistry

from trubka.ops.metrics import (
    Latency,
    counters,
    processing_latency,
    queue_state,
    workers_alive,
)


@dataclass
class Families:
    """Trubka's metric families, empty until filled in."""

    received: CounterMetricFamily
    by_status: CounterMetricFamily
    retries: CounterMetricFamily
    jobs: CounterMetricFamily
    depth: GaugeMetricFamily
    due: GaugeMetricFamily
    oldest: GaugeMetricFamily
    oldest_due: GaugeMetricFamily
    latency: HistogramMetricFamily
    popups: CounterMetricFamily
    alive: GaugeMetricFamily

    @classmethod
    def make(cls, latency: Latency | None = None) -> Families:
        """With ``latency``, the histogram comes filled in (it is built in one go)."""
        return cls(
            received=CounterMetricFamily(
                "trubka_notifications_received",
                "Notifications received, by UIS account and action (purged ones included).",
                labels=["app_id", "action"],
            ),
            by_status=CounterMetricFamily(
                "trubka_notifications",
                "Notifications by processing status.",
                labels=["status"],
            ),
            retries=CounterMetricFamily(
                "trubka_notification_retries",
                "Delivery attempts beyond the first (processed, failed and pending notifications).",
            ),
            jobs=CounterMetricFamily(
                "trubka_jobs",
                "The worker's own jobs (e.g. archiving recordings) by action and status.",
                labels=["action", "status"],
            ),
            depth=GaugeMetricFamily(
                "trubka_queue_depth", "Events waiting to be processed (pending), jobs included."
            ),
            due=GaugeMetricFamily(
                "trubka_queue_due", "Pending events whose time has come (not waiting to retry)."
            ),
            oldest=GaugeMetricFamily(
                "trubka_queue_oldest_age_seconds",
                "Seconds since the oldest pending event was received (0 when none).",
            ),
            oldest_due=GaugeMetricFamily(
                "trubka_queue_oldest_due_wait_seconds",
                "Seconds the longest-waiting due event has waited for a worker (0 when none).",
            ),
            latency=HistogramMetricFamily(
                "trubka_processing_latency_seconds",
                "Received to processed, over notifications processed in the last 15 minutes "
                "(a window snapshot: use histogram_quantile without rate()).",
                buckets=latency.buckets if latency else None,
                sum_value=latency.total_seconds if latency else None,
            ),
            popups=CounterMetricFamily(
                "trubka_popup_deliveries", "Ringing-call popups sent to employees' browsers."
            ),
            alive=GaugeMetricFamily(
                "trubka_workers_alive",
                "Workers heard from within TRUBKA_HEALTH_WORKER_STALE_SECONDS.",
            ),
        )

    def all(self) -> list[Metric]:
        return [getattr(self, field.name) for field in fields(self)]


class TrubkaCollector(Collector):
    """Reads everything at scrape time; a database error propagates to the view."""

    def describe(self) -> Iterable[Metric]:
        # Names only, no queries: registering must not touch the database.
        return Families.make().all()

    def collect(self) -> Iterator[Metric]:
        now = timezone.now()
        counted = counters(now)
        counts = counted.events
        queue = queue_state(now)
        family = Families.make(processing_latency(now))
        for (app_id, action), n in sorted(counts.received.items()):
            family.received.add_metric([app_id, action], n)
        for status, n in sorted(counts.by_status.items()):
            family.by_status.add_metric([status], n)
        family.retries.add_metric([], counts.retries)
        for (action, status), n in sorted(counts.jobs.items()):
            family.jobs.add_metric([action, status], n)
        family.depth.add_metric([], queue.pending)
        family.due.add_metric([], queue.due)
        family.oldest.add_metric([], queue.oldest_pending_seconds or 0.0)
        family.oldest_due.add_metric([], queue.oldest_due_seconds or 0.0)
        family.popups.add_metric([], counted.popups)
        family.alive.add_metric([], workers_alive(now))
        yield from family.all()


# A registry of its own, not prometheus_client's global one: importing this module again
# (tests, autoreload) cannot register the collector twice, and nothing else leaks in.
REGISTRY = CollectorRegistry(auto_describe=False)
REGISTRY.register(TrubkaCollector())
