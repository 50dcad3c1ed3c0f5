"""``/healthz`` for load balancers and orchestrators, ``/metrics`` for Prometheus.

Neither needs a session. ``/healthz`` tells anyone whether this instance can do its job and
reveals nothing secret (database errors are named by their type only; the details go to the
log). ``/metrics`` answers a scraper holding ``TRUBKA_METRICS_TOKEN`` or, without a token
configured, only requests from this machine.
"""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.db import DatabaseError, connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe
from prometheus_client.exposition import choose_encoder

from trubka.core.addresses import is_loopback
from trubka.core.crypto import same_secret
from trubka.core.security import client_address
from trubka.ops import metrics, prometheus

logger = logging.getLogger(__name__)


# /healthz


def _round(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds, 1)


def health() -> tuple[int, dict[str, Any]]:
    """The HTTP status and the report.

    ``down`` (503): the database cannot be reached; or events are due and no worker has been
    heard from within ``TRUBKA_HEALTH_WORKER_STALE_SECONDS``; or a due event has waited longer
    than ``TRUBKA_HEALTH_QUEUE_AGE_SECONDS``. ``degraded`` (200): working, but events have
    failed for good, or no worker is alive while nothing is due. ``ok`` (200) otherwise.
    """
    report: dict[str, Any] = {
        "status": "down",
        "database": {"ok": False},
        "workers": [],
        "worker_ok": False,
        "queue": {
            "pending": None,
            "due": None,
            "oldest_pending_seconds": None,
            "oldest_due_seconds": None,
            "failed": None,
        },
        "problems": [],
    }
    problems: list[str] = report["problems"]
    now = timezone.now()
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
        report["database"] = {"ok": True}
        queue = metrics.queue_state(now)
        failed = metrics.failed_count()
        alive = metrics.workers_alive(now)
        workers = metrics.recent_workers(now)
    except DatabaseError as exc:
        # The message can name hosts and users: the log gets it, the answer only the type.
        logger.warning("healthz: database error: %s", exc)
        report["database"] = {"ok": False, "error": type(exc).__name__}
        problems.append("the database cannot be reached")
        return 503, report

    stale = settings.TRUBKA_HEALTH_WORKER_STALE_SECONDS
    max_wait = settings.TRUBKA_HEALTH_QUEUE_AGE_SECONDS
    report["workers"] = [
        {
            "name": worker.name,
            "seen_seconds_ago": _round(worker.seen_seconds_ago),
            "processed": worker.processed,
        }
        for worker in workers
    ]
    report["worker_ok"] = alive > 0
    report["queue"] = {
        "pending": queue.pending,
        "due": queue.due,
        "oldest_pending_seconds": _round(queue.oldest_pending_seconds),
        "oldest_due_seconds": _round(queue.oldest_due_seconds),
        "failed": failed,
    }

    down = False
    if not alive:
        problems.append(f"no worker seen in the last {stale} s")
        down = queue.due > 0
    if queue.oldest_due_seconds is not None and queue.oldest_due_seconds > max_wait:
        problems.append(f"an event has waited more than {max_wait} s for a worker")
        down = True
    if failed:
        problems.append(f"{failed} event(s) failed and will not be retried")
    if down:
        report["status"] = "down"
        return 503, report
    report["status"] = "degraded" if problems else "ok"
    return 200, report


@login_not_required
@require_safe
@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    status, report = health()
    return JsonResponse(report, status=status, json_dumps_params={"ensure_ascii": False})


# /metrics


def _refusal(request: HttpRequest) -> HttpResponse | None:
    """Why this request may not read the metrics; None when it may."""
    token = settings.TRUBKA_METRICS_TOKEN
    if token:
        scheme, _, credentials = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() == "bearer" and same_secret(credentials.strip(), token):
            return None
        response = HttpResponse("A bearer token is required.\n", status=401)
        response["WWW-Authenticate"] = 'Bearer realm="trubka-metrics"'
        return response
    if is_loopback(client_address(request)):
        return None
    return HttpResponse(
        "Metrics are served to this machine only; set TRUBKA_METRICS_TOKEN to scrape remotely.\n",
        status=403,
    )


@login_not_required
@require_safe
@never_cache
def metrics_view(request: HttpRequest) -> HttpResponse:
    refusal = _refusal(request)
    if refusal is not None:
        refusal["Content-Type"] = "text/plain; charset=utf-8"
        return refusal
    encoder, content_type = choose_encoder(request.headers.get("Accept", ""))
    try:
        body = encoder(prometheus.REGISTRY)
    except DatabaseError as exc:
        logger.warning("metrics: database error: %s", exc)
        return HttpResponse(
            "The database cannot be reached.\n",
            status=503,
            content_type="text/plain; charset=utf-8",
        )
    return HttpResponse(body, content_type=content_type)
