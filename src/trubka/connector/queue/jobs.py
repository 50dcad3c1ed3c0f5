"""The queue of ``trubka.core.jobs``: background work rides the event table.

Apps register their jobs in ``trubka.core.jobs`` from their ``ready()`` (``JOBS``) and queue
them with ``jobs.enqueue``, which lands here (installed by ``ConnectorConfig.ready``). A job
is a ``CallEvent`` of kind ``job`` with no account, its name as the action; the jobs lane
runs it outside any transaction (a recording download can take minutes and must not hold
database locks). Providers never report the kind ``job``: a notification naming a job's
action is recorded and ignored.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction

from trubka.connector.models import CallEvent, EventKind
from trubka.connector.queue.wakeup import wake_worker
from trubka.core import jobs

JOBS = jobs.REGISTRY


def enqueue_job(name: str, payload: dict[str, Any], *, key: str, group: str = "") -> bool:
    """One ``CallEvent`` per ``name`` and ``key``; the workers are woken once the caller's
    transaction commits. ``group`` is shown beside it in the event log (its call)."""
    _event, created = CallEvent.objects.get_or_create(
        dedupe_key=f"{name}:{key}",
        defaults={
            "action": name,
            "kind": EventKind.JOB,
            "call_id": group[:100],
            "method": "",
            "parsed": payload,
        },
    )
    if created:
        transaction.on_commit(wake_worker)
    return created
