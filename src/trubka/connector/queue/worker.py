"""The worker: lanes that drain the queue, woken when something is queued.

A worker runs two lanes, each a thread: the *events* lane takes notifications, due rings
before any other, and never takes a job; the *jobs* lane takes only jobs (recording
downloads), so a slow download never sits between two rings. When something new is queued
while the events lane works through a batch, it takes the rings that became due before the
next event of the batch that is not a ring.
"""

from __future__ import annotations

import logging
import threading
from typing import Protocol

from django.db import DatabaseError, close_old_connections, connection
from django.utils import timezone

from trubka.connector.models import EventKind
from trubka.connector.queue.claim import (
    BATCH_SIZE,
    LANE_EVENTS,
    LANE_JOBS,
    LANE_RINGS,
    claim,
    pick,
    release,
    single_writer,
)
from trubka.connector.queue.outcome import run_event
from trubka.connector.queue.wakeup import Listener, events_wakeup, jobs_wakeup, wake_local_lanes
from trubka.ops.heartbeat import Heartbeat

logger = logging.getLogger(__name__)

#: After a wake-up the jobs lane waits this long before it claims, so a burst of
#: notifications costs it one claim, not one each (downloads are not urgent).
JOBS_GATHER_SECONDS = 0.25
#: Before each job the jobs lane waits, at most this long, for its worker's events lane to be
#: idle: downloads take the time notifications leave over, not a share of it.
JOBS_YIELD_SECONDS = 0.5


class _Beats(Protocol):
    def beat(self, processed: int = 0, *, force: bool = False) -> None: ...


def drain(
    limit: int | None = None,
    *,
    heartbeat: _Beats | None = None,
    lane: str | None = None,
    wake: threading.Event | None = None,
    stop: threading.Event | None = None,
    give_way: threading.Event | None = None,
) -> int:
    """Process due events until none is left (or ``limit`` were run); returns the count.

    ``lane`` limits what is taken (see ``claim_batch``). With ``heartbeat``, the worker says
    it is alive between events, so a long backlog does not look like a dead worker to
    /healthz. With ``wake`` (set when something new is queued), rings that became due are
    taken before the rest of a batch that is not rings. With ``stop``, it returns after the
    event in hand once ``stop`` is set, handing the rest of its claims back. With
    ``give_way``, each event first waits up to ``JOBS_YIELD_SECONDS`` for it to be set.

    PostgreSQL claims each batch (``SKIP LOCKED``, a lease); SQLite picks it with plain
    reads and claims only what runs outside a transaction (see ``run_event``).
    """
    claims = not single_writer()
    done = 0

    def take(count: int, of_lane: str | None) -> list[tuple[int, str]]:
        return claim(count, of_lane) if claims else pick(timezone.now(), count, of_lane, lock=False)

    def run(event_id: int, kind: str) -> None:
        nonlocal done
        if give_way is not None:
            give_way.wait(JOBS_YIELD_SECONDS)
        run_event(event_id, job=kind == EventKind.JOB, claimed=claims)
        done += 1
        if heartbeat is not None:
            heartbeat.beat(1)

    while limit is None or done < limit:
        if stop is not None and stop.is_set():
            return done
        batch = take(BATCH_SIZE if limit is None else min(BATCH_SIZE, limit - done), lane)
        if not batch:
            return done
        for n, (event_id, kind) in enumerate(batch):
            if stop is not None and stop.is_set():
                if claims:
                    release([i for i, _k in batch[n:]])
                return done
            # A ring queued meanwhile goes before the rest of this batch (when there is more
            # of it than this one event: after it, the next batch takes rings first anyway).
            if wake is not None and wake.is_set() and kind != EventKind.RING and len(batch) > n + 1:
                wake.clear()
                for ring_id, ring in take(BATCH_SIZE, LANE_RINGS):
                    run(ring_id, ring)
            run(event_id, kind)
    return done


class _SharedHeartbeat:
    """One heartbeat for both lanes of a worker (one worker on /healthz, not two)."""

    def __init__(self, heartbeat: Heartbeat) -> None:
        self._heartbeat = heartbeat
        self._lock = threading.Lock()

    def beat(self, processed: int = 0, *, force: bool = False) -> None:
        with self._lock:
            self._heartbeat.beat(processed, force=force)

    def stop(self) -> None:
        with self._lock:
            self._heartbeat.stop()


class Worker:
    """Drains the queue until stopped; polls every ``idle_seconds`` or when woken.

    ``run`` works the events lane in the calling thread and, with ``jobs`` (the default), the
    jobs lane in a second thread; it listens for wake-ups from other processes when Redis or
    PostgreSQL carries them. Stopping finishes the event in hand in each lane.
    """

    def __init__(self, idle_seconds: float = 1.0, *, jobs: bool = True) -> None:
        self.idle_seconds = idle_seconds
        self.jobs = jobs
        self._stop = threading.Event()
        self.listener: Listener | None = None
        #: Set while the events lane waits for work (tests wait for it).
        self.idle = threading.Event()

    def stop(self) -> None:
        self._stop.set()
        wake_local_lanes()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def run(self) -> None:
        heartbeat = _SharedHeartbeat(Heartbeat())
        heartbeat.beat(force=True)
        jobs_lane: threading.Thread | None = None
        try:
            try:
                self.listener = Listener(wake_local_lanes, self._stop).start()
            except Exception:
                # Wake-ups from other processes are a shortcut; without them it polls.
                logger.exception("cannot listen for wake-ups from other processes; polling")
            if self.jobs:
                jobs_lane = threading.Thread(
                    target=self._lane,
                    args=(LANE_JOBS, jobs_wakeup, heartbeat),
                    name="trubka-worker-jobs",
                    daemon=True,
                )
                jobs_lane.start()
            self._lane(LANE_EVENTS, events_wakeup, heartbeat)
        finally:
            self.stop()
            if jobs_lane is not None:
                jobs_lane.join()
            if self.listener is not None:
                self.listener.join(timeout=5)
            heartbeat.stop()
            close_old_connections()

    def _lane(self, lane: str, wake: threading.Event, heartbeat: _SharedHeartbeat) -> None:
        try:
            while not self._stop.is_set():
                wake.clear()
                try:
                    drain(
                        heartbeat=heartbeat,
                        lane=lane,
                        wake=wake if lane == LANE_EVENTS else None,
                        stop=self._stop,
                        give_way=self.idle if lane == LANE_JOBS else None,
                    )
                    heartbeat.beat()
                except DatabaseError:
                    logger.exception("the worker cannot reach the database; retrying")
                    close_old_connections()
                    self._stop.wait(5)
                    continue
                self._rest(lane, wake)
        finally:
            if lane == LANE_JOBS:
                connection.close()  # this thread's own connection

    def _rest(self, lane: str, wake: threading.Event) -> None:
        """Wait for a wake-up or the next poll."""
        if lane == LANE_EVENTS:
            self.idle.set()
        woken = wake.wait(self.idle_seconds)
        if lane == LANE_EVENTS:
            self.idle.clear()
        if not woken:
            # Idle: let the connection go (CONN_MAX_AGE, the pool). While wake-ups keep
            # coming it is kept, rather than opened again for every drain.
            close_old_connections()
        if woken and lane == LANE_JOBS:
            self._stop.wait(JOBS_GATHER_SECONDS)

    def start_thread(self) -> threading.Thread:
        thread = threading.Thread(target=self.run, name="trubka-worker", daemon=True)
        thread.start()
        return thread
