"""Retention: ``trubka purge`` deletes old notifications and live notices, nothing else."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.apps import apps
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from providers.uis import bodies as uis
from trubka.calls.models import CallPopup, CallRecording, PhoneCall
from trubka.cli import main
from trubka.connector.models import CallEvent, EventStatus
from trubka.connector.queue.outcome import retry_event
from trubka.connector.queue.worker import drain
from trubka.ops.models import MetricsState
from trubka.ops.retention import Purger, purge
from trubka.realtime.models import AgentNotice
from trubka.tickets.models import Ticket

OLD = timedelta(days=91)  # beyond the default 90 days
RECENT = timedelta(days=89)


@pytest.fixture(autouse=True)
def _default_retention(settings):
    settings.TRUBKA_KEEP_EVENTS_DAYS = 90
    settings.TRUBKA_KEEP_NOTICES_HOURS = 24


def event(account, status: str, age: timedelta, action: str = "wait") -> CallEvent:
    return CallEvent.objects.create(
        integration=account,
        action=action,
        kind="ring" if action == "wait" else "",
        status=status,
        received_at=timezone.now() - age,
    )


def notice(employee, age: timedelta, kind: str = "ring") -> AgentNotice:
    row = AgentNotice.objects.create(employee=employee, kind=kind, payload={})
    AgentNotice.objects.filter(pk=row.pk).update(created_at=timezone.now() - age)
    return row


def remaining(rows) -> set[int]:
    model = type(rows[0])
    return set(model.objects.filter(pk__in=[r.pk for r in rows]).values_list("pk", flat=True))


# --- What goes and what stays ---------------------------------------------------------------


def test_settled_notifications_older_than_the_limit_are_deleted(account):
    old = [event(account, status, OLD) for status in ("processed", "ignored", "rejected")]

    report = purge()

    assert report.events == 3
    assert remaining(old) == set()


def test_pending_and_failed_notifications_are_never_deleted_however_old(account):
    kept = [
        event(account, EventStatus.PENDING, timedelta(days=400)),
        event(account, EventStatus.FAILED, timedelta(days=400)),
    ]

    report = purge()

    assert report.events == 0
    assert remaining(kept) == {e.pk for e in kept}
    assert report.failed_kept == 1


def test_notifications_within_the_limit_are_kept(account):
    kept = [event(account, status, RECENT) for status in ("processed", "ignored", "rejected")]

    purge()

    assert remaining(kept) == {e.pk for e in kept}


def test_the_limit_in_days_comes_from_the_setting(account, settings):
    settings.TRUBKA_KEEP_EVENTS_DAYS = 7
    eight_days, six_days = (
        event(account, "processed", timedelta(days=8)),
        event(account, "processed", timedelta(days=6)),
    )

    purge()

    assert remaining([eight_days, six_days]) == {six_days.pk}


def test_the_worker_own_old_jobs_are_deleted_like_notifications(db):
    job = CallEvent.objects.create(
        action="archive_recording",
        kind="job",
        status=EventStatus.PROCESSED,
        received_at=timezone.now() - OLD,
    )

    purge()

    assert not CallEvent.objects.filter(pk=job.pk).exists()


def test_live_notices_older_than_the_limit_are_deleted_and_recent_ones_kept(agent, settings):
    settings.TRUBKA_KEEP_NOTICES_HOURS = 24
    old = [notice(agent, timedelta(hours=25)), notice(agent, timedelta(hours=25), "update")]
    recent = notice(agent, timedelta(hours=23))

    report = purge()

    assert report.notices == 2
    assert remaining([*old, recent]) == {recent.pk}


def test_a_failed_notification_retried_after_the_limit_is_kept_until_it_is_processed(account):
    failed = event(account, EventStatus.FAILED, OLD)
    purge()
    retry_event(failed)

    purge()

    failed.refresh_from_db()
    assert failed.status == EventStatus.PENDING


# --- Nothing else is touched ----------------------------------------------------------------


def test_nothing_references_a_notification_or_a_live_notice_by_foreign_key():
    """Deleting them cascades nowhere and protects nothing. A new foreign key to either must
    say what purging does to its rows (and this test must then be changed with it)."""
    pointing = [
        f"{model.__name__}.{field.name}"
        for model in apps.get_models()
        for field in model._meta.get_fields()
        if field.is_relation and field.concrete and field.related_model in (CallEvent, AgentNotice)
    ]
    assert pointing == []


def test_calls_tickets_recordings_and_popups_stay_when_their_notifications_are_purged(
    account, agent, agent2, caller, admin_client_ru
):
    # An answered call with its recording, and a missed call with its ticket.
    for body in (
        uis.wait(),
        uis.history(),
        uis.wait(call_session_id=uis.CALL_ID + 1),
        uis.lost(call_session_id=uis.CALL_ID + 1),
    ):
        assert uis.send(account, body).status_code == 200
    drain()
    assert not CallEvent.objects.filter(integration=account).exclude(status="processed").exists()
    CallEvent.objects.update(received_at=timezone.now() - OLD)
    before = {
        model: set(model.objects.values_list("pk", flat=True))
        for model in (PhoneCall, CallRecording, Ticket, CallPopup)
    }
    assert all(before.values()), before

    report = purge()

    assert report.events >= 4
    assert not CallEvent.objects.filter(integration=account).exists()
    assert {model: set(model.objects.values_list("pk", flat=True)) for model in before} == before
    ticket = Ticket.objects.get()
    for url in (
        reverse("calls:log"),
        reverse("tickets:detail", args=[ticket.pk]),
        reverse("clients:contact", args=[caller.pk]),
        reverse("connector:events"),
    ):
        assert admin_client_ru.get(url).status_code == 200, url


# --- How it deletes -------------------------------------------------------------------------


def test_rows_are_deleted_in_batches_of_ids(account):
    old = [event(account, "processed", OLD) for _ in range(5)]

    with CaptureQueriesContext(connection) as queries:
        report = purge(batch=2)

    deletes = [
        q["sql"] for q in queries if q["sql"].startswith('DELETE FROM "connector_callevent"')
    ]
    assert report.events == 5
    assert len(deletes) == 3  # 2 + 2 + 1
    assert remaining(old) == set()


def test_a_dry_run_counts_and_deletes_nothing(account, agent):
    old = [event(account, "processed", OLD), event(account, "ignored", OLD)]
    old_notice = notice(agent, timedelta(days=2))

    report = purge(dry_run=True)

    assert (report.events, report.notices, report.dry_run) == (2, 1, True)
    assert remaining(old) == {e.pk for e in old}
    assert AgentNotice.objects.filter(pk=old_notice.pk).exists()


def test_purging_again_finds_nothing_more(account, agent):
    event(account, "processed", OLD)
    notice(agent, timedelta(days=2))
    purge()

    again = purge()

    assert (again.events, again.notices) == (0, 0)


def test_deleted_rings_are_remembered_for_the_popup_counter(agent):
    notice(agent, timedelta(days=2))
    notice(agent, timedelta(days=2))
    notice(agent, timedelta(days=2), "update")

    purge()

    assert MetricsState.objects.get().ring_notices_purged == 2


# --- The command ----------------------------------------------------------------------------


def test_the_purge_command_says_what_it_deleted(account, agent, capsys):
    event(account, "processed", OLD)
    event(account, "failed", OLD)
    notice(agent, timedelta(days=2))

    call_command("purge")

    out = capsys.readouterr().out
    assert "Deleted 1 processed, ignored or rejected notifications received before" in out
    assert "(older than 90 days)" in out
    assert "Deleted 1 live notices created before" in out
    assert "Kept 1 failed notifications older than 90 days" in out


def test_trubka_purge_dry_run_says_what_it_would_delete(account, capsys):
    event(account, "processed", OLD)

    # (Django closes the connection after a command run this way: no query after it.)
    code = main(["purge", "--dry-run"])

    assert code == 0
    assert "Would delete 1 processed, ignored or rejected notifications" in capsys.readouterr().out


# --- Inside trubka serve --------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_the_purge_thread_purges_when_it_starts_and_stops_when_told(agent):
    from live_server import wait_until

    old = notice(agent, timedelta(days=2))
    purger = Purger()
    thread = purger.start_thread()
    try:
        wait_until(lambda: purger.runs >= 1, what="the first purge")
    finally:
        purger.stop()
        thread.join(10)

    assert not thread.is_alive()
    assert not AgentNotice.objects.filter(pk=old.pk).exists()
