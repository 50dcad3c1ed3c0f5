"""Popups first: rings before anything else, downloads in their own lane, one lookup per ring,
and the worker's exactly-once rules on the way (``connector/queue/``)."""

from __future__ import annotations

import threading
import uuid
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from providers.uis import bodies as uis
from test_call_processing import wait_for
from trubka.calls.archive import ARCHIVE_ACTION
from trubka.calls.models import CallPopup, PhoneCall
from trubka.connector import handling
from trubka.connector.gateways.base import ClientRef
from trubka.connector.gateways.local import LocalDesk
from trubka.connector.models import CallEvent, EventKind, EventStatus, Integration
from trubka.connector.queue import claim, jobs, worker
from trubka.connector.queue.claim import LANE_EVENTS, LANE_JOBS, LANE_RINGS, claim_batch
from trubka.connector.queue.outcome import run_event
from trubka.connector.queue.worker import Worker, drain


def queued(account: Integration, *bodies: str) -> list[CallEvent]:
    for body in bodies:
        assert uis.send(account, body).status_code == 200
    return list(CallEvent.objects.order_by("id"))


def archive_job() -> CallEvent:
    """A queued recording download (what LocalDesk queues for each recording link)."""
    recording = uuid.uuid4()
    return CallEvent.objects.create(
        action=ARCHIVE_ACTION,
        kind=EventKind.JOB,
        dedupe_key=f"{ARCHIVE_ACTION}:{recording}",
        parsed={"recording": str(recording)},
    )


# --- Rings first ------------------------------------------------------------------------


def test_a_ring_is_claimed_before_earlier_notifications_of_other_calls(account, caller):
    history, lost, ring = queued(
        account,
        uis.history(call_session_id=1),
        uis.lost(call_session_id=2),
        uis.wait(call_session_id=3),
    )
    assert claim_batch() == [ring.pk, history.pk, lost.pk]


def test_the_events_lane_takes_rings_first_and_never_a_job(account, caller):
    job = archive_job()
    history, ring = queued(account, uis.history(call_session_id=1), uis.wait(call_session_id=2))[1:]
    assert claim_batch(lane=LANE_EVENTS) == [ring.pk, history.pk]
    assert CallEvent.objects.get(pk=job.pk).claimed_until is None


def test_the_jobs_lane_takes_only_jobs(account, caller):
    queued(account, uis.wait(call_session_id=1), uis.history(call_session_id=2))
    job = archive_job()
    assert claim_batch(lane=LANE_JOBS) == [job.pk]


def test_a_ring_behind_an_earlier_event_of_its_call_is_not_taken_as_a_ring(account, caller):
    # The call's end arrived first: its ring waits for it, rings first or not.
    history, _ring = queued(account, uis.history(), uis.wait())
    assert claim_batch(lane=LANE_RINGS) == []
    assert claim_batch(lane=LANE_EVENTS) == [history.pk]


def test_a_ring_queued_during_a_batch_goes_before_the_rest_of_it(account, caller, monkeypatch):
    queued(account, *(uis.history(call_session_id=n) for n in (1, 2, 3)))
    wake = threading.Event()
    order: list[str] = []
    real_run_event = worker.run_event

    def run_and_ring(event_id: int, **options: object) -> str:
        event = CallEvent.objects.get(pk=event_id)
        order.append(f"{event.action} {event.call_id}")
        status = real_run_event(event_id, **options)  # type: ignore[arg-type]
        if len(order) == 1:
            # A phone rings while the worker is busy with the first of three.
            assert uis.send(account, uis.wait(call_session_id=9)).status_code == 200
            wake.set()
        return status

    monkeypatch.setattr(worker, "run_event", run_and_ring)
    assert drain(lane=LANE_EVENTS, wake=wake) == 4
    assert order == ["history 1", "wait 9", "history 2", "history 3"]


@pytest.fixture
def _sequence_put_back(db):
    """PostgreSQL keeps a sequence's progress when a test's transaction rolls back: after
    8,000 rows the next tests would start at id 8,001, and some count ids. Put it back."""
    yield
    if connection.vendor == "postgresql":
        from django.core.management.color import no_style

        CallEvent.objects.all().delete()
        with connection.cursor() as cursor:
            for sql in connection.ops.sequence_reset_sql(no_style(), [CallEvent]):
                cursor.execute(sql)


@pytest.mark.usefixtures("_sequence_put_back")
def test_claiming_stays_on_the_index_with_a_long_backlog(account):
    """8,000 pending rows: each kind the claim asks for is read in order off an index,
    never sorted whole (the plan says so on both databases)."""
    now = timezone.now()
    CallEvent.objects.bulk_create(
        CallEvent(
            integration=None if n % 4 == 3 else account,
            action=("wait", "history", "lost", ARCHIVE_ACTION)[n % 4],
            kind=("ring", "answered", "missed", "job")[n % 4],
            call_id=f"backlog-{n}",
            received_at=now - timedelta(seconds=8000 - n),
        )
        for n in range(8000)
    )
    with connection.cursor() as cursor:
        cursor.execute(
            "ANALYZE" if connection.vendor == "sqlite" else "ANALYZE connector_callevent"
        )
    sqlite = connection.vendor == "sqlite"
    for lane in (LANE_RINGS, LANE_EVENTS, LANE_JOBS):
        for kind in claim.lane_kinds(lane):
            sql, params = claim.pick_query(now, kind, 20, lock=False)
            with connection.cursor() as cursor:
                cursor.execute(("EXPLAIN QUERY PLAN " if sqlite else "EXPLAIN ") + sql, params)
                plan = " | ".join(str(row[-1] if sqlite else row[0]) for row in cursor.fetchall())
            assert "event_pending_" in plan, (lane, plan)
            assert "FOR ORDER BY" not in plan, (lane, plan)  # SQLite's sort
            assert "Sort" not in plan, (lane, plan)  # PostgreSQL's
    assert len(claim_batch(lane=LANE_EVENTS)) == 20


# --- Downloads in their own lane ----------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_download_in_progress_does_not_hold_up_a_ring(agent, caller, monkeypatch):
    account = Integration.objects.create(account_id=uis.APP_ID, enabled_at=timezone.now())
    downloading, finish = threading.Event(), threading.Event()

    def slow_download(payload: object) -> None:
        downloading.set()
        finish.wait(60)

    monkeypatch.setitem(jobs.JOBS, ARCHIVE_ACTION, slow_download)
    job = archive_job()
    worker = Worker(idle_seconds=30)
    thread = worker.start_thread()
    try:
        assert downloading.wait(20), "the worker never started the download"
        assert uis.send(account, uis.wait()).status_code == 200
        popped = wait_for(lambda: CallPopup.objects.filter(employee=agent).exists())
        download_still_running = not finish.is_set() and thread.is_alive()
    finally:
        finish.set()
        worker.stop()
        thread.join(timeout=30)
    assert (popped, download_still_running) == (True, True)
    assert not thread.is_alive()
    assert CallEvent.objects.get(pk=job.pk).status == EventStatus.PROCESSED


def test_draining_everything_still_runs_jobs(account, caller, monkeypatch):
    ran: list[int] = []
    monkeypatch.setitem(jobs.JOBS, ARCHIVE_ACTION, lambda payload: ran.append(payload["recording"]))
    job = archive_job()
    queued(account, uis.wait())
    assert drain() == 2
    assert ran == [job.parsed["recording"]]


# --- One lookup per ring --------------------------------------------------------------------


def test_a_ring_from_a_known_caller_looks_the_caller_and_the_employee_up_once(
    account, agent, caller, monkeypatch
):
    from trubka.calls import actions
    from trubka.connector.gateways import local

    lookups: list[str] = []
    real_find_caller = local.find_caller

    def counted(raw: str):
        lookups.append(raw)
        return real_find_caller(raw)

    monkeypatch.setattr(local, "find_caller", counted)
    monkeypatch.setattr(actions, "find_caller", counted)
    queued(account, uis.wait())
    (event_id,) = claim_batch()
    with CaptureQueriesContext(connection) as queries:
        assert run_event(event_id, job=False) == EventStatus.PROCESSED
    sql = [query["sql"] for query in queries.captured_queries]
    assert len(lookups) == 1
    assert sum('FROM "clients_phonenumber"' in q for q in sql) == 1
    assert sum('FROM "staff_employee"' in q for q in sql) == 1
    # Was 29 on SQLite and 30 on PostgreSQL (three caller lookups, two employee lookups,
    # a separate INSERT and UPDATE of the new call, nested savepoints).
    assert len(sql) <= 16, "\n".join(sql)
    popup = CallPopup.objects.get()
    assert (popup.employee, popup.contact, popup.call.contact) == (agent, caller, caller)


def test_a_client_ref_for_another_number_is_not_taken_for_the_caller(db, agent, caller):
    """The ref from ensure_client is only trusted for the very number it was made for."""
    from trubka.connector.gateways.base import CallReport

    desk = LocalDesk()
    stranger = desk.ensure_client("+7 903 555-66-77")  # makes a card for another number
    report = CallReport(
        provider="uis:1",
        call_id="one",
        direction="in",
        client_phone=uis.CALLER,
        extension="101",
        client=ClientRef(contact_id=stranger.contact_id, found=stranger.found),
    )
    desk.record_call(report)
    desk.show_popup(report)
    assert (PhoneCall.objects.get().contact, CallPopup.objects.get().contact) == (caller, caller)


def test_a_card_made_between_the_look_ahead_and_the_transaction_is_found_not_doubled(db):
    """SQLite looks the caller up before the write transaction; a number nobody had then is
    looked up again before a card is made."""
    from trubka.clients.actions import do_create_contact
    from trubka.connector.gateways.base import CallReport

    desk = LocalDesk()
    number = "+7 903 555-66-77"
    desk.look_ahead(
        CallReport(provider="uis:1", call_id="one", direction="in", client_phone=number)
    )
    meanwhile = do_create_contact(last_name="Быстров", phones=[("mobile", number)])
    found = desk.ensure_client(number)
    assert (found.contact_id, found.created) == (meanwhile.pk, False)


# --- Exactly once -----------------------------------------------------------------------------


def test_an_event_finished_by_another_worker_meanwhile_leaves_no_trace(
    account, agent, caller, monkeypatch
):
    (event,) = queued(account, uis.wait())
    real_show_popup = LocalDesk.show_popup

    def popup_then_someone_else_finishes(self, report):
        real_show_popup(self, report)
        CallEvent.objects.filter(pk=event.pk).update(status=EventStatus.PROCESSED)

    monkeypatch.setattr(LocalDesk, "show_popup", popup_then_someone_else_finishes)
    (event_id,) = claim_batch()
    assert run_event(event_id) == EventStatus.PROCESSED
    assert (PhoneCall.objects.count(), CallPopup.objects.count()) == (0, 0)
    assert CallEvent.objects.get(pk=event.pk).attempts == 0


def test_an_event_someone_else_has_claimed_is_left_to_them(account, agent, caller):
    (event,) = queued(account, uis.wait())
    CallEvent.objects.filter(pk=event.pk).update(
        claimed_until=timezone.now() + timedelta(minutes=1)
    )
    assert run_event(event.pk, job=False, claimed=False) == EventStatus.PENDING
    assert (PhoneCall.objects.count(), CallEvent.objects.get(pk=event.pk).attempts) == (0, 0)


def test_a_stopping_drain_finishes_the_event_in_hand_and_hands_the_rest_back(
    account, caller, monkeypatch
):
    queued(account, *(uis.history(call_session_id=n) for n in (1, 2, 3)))
    stop = threading.Event()
    real_run_event = worker.run_event

    def run_then_stop(event_id: int, **options: object) -> str:
        stop.set()  # SIGTERM arrives during the first event
        return real_run_event(event_id, **options)  # type: ignore[arg-type]

    monkeypatch.setattr(worker, "run_event", run_then_stop)
    assert drain(stop=stop) == 1
    rest = CallEvent.objects.filter(status=EventStatus.PENDING)
    assert rest.count() == 2
    assert not rest.filter(claimed_until__isnull=False).exists()


class _RemoteDesk:
    """A desk in another system: notes whether a transaction was open at each request."""

    in_process = False

    def __init__(self) -> None:
        self.in_transaction: list[bool] = []

    def _note(self, *args: object) -> ClientRef:
        self.in_transaction.append(connection.in_atomic_block)
        return ClientRef()

    ensure_client = record_call = show_popup = open_missed_call_ticket = _note


@pytest.mark.django_db(transaction=True)
def test_a_remote_desk_is_called_outside_sqlites_write_lock_and_under_postgresqls_row_lock(
    account, agent, monkeypatch
):
    # SQLite has one write lock for the whole database: the desk's HTTP calls must not hold
    # it. PostgreSQL locks only the event's row, which it keeps while the desk works.
    remote = _RemoteDesk()
    monkeypatch.setattr(handling, "gateway_for", lambda integration: remote)
    queued(account, uis.wait())
    assert drain() == 1
    assert remote.in_transaction == [connection.vendor == "postgresql"] * 3
    event = CallEvent.objects.get()
    assert (event.status, event.attempts, event.claimed_until) == (
        EventStatus.PROCESSED,
        1,
        None,
    )
