"""Background jobs: work an app queues to run later, in a worker, outside any request.

An app registers its jobs from its ``AppConfig.ready`` (``register``) and queues them with
``enqueue``; the queue that carries them is installed by whoever owns one (the connector's
queue, from its own ``ready``). So an app such as ``calls`` queues a recording download
without importing the connector, and the worker runs every registered job without knowing
the apps that registered them.

A job is a function of its payload (a JSON object). It raises ``TemporaryFailure`` for what
may pass (the worker retries it with backoff) and ``PermanentFailure`` for what never will
(recorded, not retried); anything else is treated as temporary and logged with its trace.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Protocol

Job = Callable[[Mapping[str, Any]], None]

#: Every registered job by name. Tests may swap an entry for the length of a test.
REGISTRY: dict[str, Job] = {}


class TemporaryFailure(Exception):
    """Worth trying again later: network trouble, timeouts, 5xx, rate limits."""


class PermanentFailure(Exception):
    """Trying again will not help."""


class JobQueue(Protocol):
    def __call__(self, name: str, payload: dict[str, Any], *, key: str, group: str) -> bool: ...


_queue: JobQueue | None = None


def register(name: str, job: Job) -> None:
    """Make ``job`` runnable under ``name``; registering a name again replaces it."""
    REGISTRY[name] = job


def install_queue(queue: JobQueue) -> None:
    """Where ``enqueue`` puts jobs (the connector's queue installs itself at start-up)."""
    global _queue
    _queue = queue


def enqueue(name: str, payload: dict[str, Any], *, key: str, group: str = "") -> bool:
    """Queue the job ``name`` with ``payload``, once per ``key`` however often it is asked;
    ``group`` is shown beside it in the event log (e.g. the call it belongs to). Returns
    whether a new job was queued. The workers are woken when the caller's transaction
    commits."""
    if name not in REGISTRY:
        raise LookupError(f"no job {name!r} is registered")
    if _queue is None:
        raise RuntimeError("no job queue is installed (is trubka.connector in INSTALLED_APPS?)")
    return _queue(name, payload, key=key, group=group)
