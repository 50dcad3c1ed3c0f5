"""/metrics: Prometheus text computed from the database, for loopback or a bearer token."""

from __future__ import annotations

from datetime import timedelta
from unittest import mock

import pytest
from django.db import OperationalError, connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from trubka.calls.archive import ARCHIVE_ACTION
from trubka.connector.models import CallEvent, EventStatus, Integration
from trubka.connector.queue.outcome import retry_event
from trubka.ops import tally
from trubka.ops.metrics import LATENCY_BUCKETS
from trubka.ops.models import MetricsState, UnsettledEvent, WorkerHeartbeat
from trubka.ops.prometheus import REGISTRY
from trubka.ops.retention import purge
from trubka.realtime.models import AgentNotice

TOKEN = "scrape-token-0123456789abcdef"
FIRST_APP, SECOND_APP = 111, 222


@pytest.fixture(autouse=True)
def _no_token(settings):
    settings.TRUBKA_METRICS_TOKEN = ""


def scrape(**extra):
    return Client().get("/metrics", **extra)


def samples(response) -> dict[tuple[str, frozenset], float]:
    """Every sample of a successful scrape by (name, labels)."""
    assert response.status_code == 200, response.content
    text = response.content.decode()
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(found, name: str, **labels: str) -> float:
    return found[(name, frozenset(labels.items()))]


@pytest.fixture
def busy_desk(db, agent):
    """Two UIS accounts' notifications in every status, two workers, three notices."""
    now = timezone.now()
    first = Integration.objects.create(account_id=FIRST_APP, enabled_at=now)
    second = Integration.objects.create(account_id=SECOND_APP, enabled_at=now)

    def event(integration, action, status, *, attempts=0, **fields):
        return CallEvent.objects.create(
            integration=integration, action=action, status=status, attempts=attempts, **fields
        )

    received = now - timedelta(minutes=2)
    # Processed in the last 15 minutes, in 0.3 s and 4 s: the latency histogram.
    event(
        first,
        "wait",
        EventStatus.PROCESSED,
        attempts=1,
        received_at=received,
        processed_at=received + timedelta(seconds=0.3),
    )
    event(
        first,
        "wait",
        EventStatus.PROCESSED,
        attempts=3,
        received_at=received,
        processed_at=received + timedelta(seconds=4),
    )
    # Processed an hour ago: counted, but outside the latency window.
    event(
        first,
        "history",
        EventStatus.PROCESSED,
        attempts=1,
        received_at=now - timedelta(hours=1, seconds=1),
        processed_at=now - timedelta(hours=1),
    )
    event(first, "history", EventStatus.FAILED, attempts=15)
    event(first, "hangup", EventStatus.IGNORED)
    event(
        second,
        "lost",
        EventStatus.PENDING,
        attempts=2,
        next_attempt_at=now + timedelta(minutes=5),
        received_at=now - timedelta(minutes=10),
    )
    event(second, "lost", EventStatus.PENDING, received_at=now - timedelta(seconds=30))
    event(second, "", EventStatus.REJECTED)
    # The worker's own job: in the queue, not a notification.
    event(None, ARCHIVE_ACTION, EventStatus.PENDING, received_at=now - timedelta(seconds=20))

    for name, seconds_ago in (("alive:1:1", 2), ("gone:2:1", 3600)):
        WorkerHeartbeat.objects.create(
            name=name,
            started_at=now - timedelta(hours=2),
            seen_at=now - timedelta(seconds=seconds_ago),
        )
    for kind in ("ring", "ring", "call_update"):
        AgentNotice.objects.create(employee=agent, kind=kind, payload={})


# --- What is reported ----------------------------------------------------------------------


def test_notifications_received_are_counted_by_account_and_action(busy_desk):
    found = samples(scrape())
    received = {
        (labels["app_id"], labels["action"]): count
        for (name, labels_set), count in found.items()
        if name == "trubka_notifications_received_total"
        for labels in [dict(labels_set)]
    }
    assert received == {
        ("111", "wait"): 2,
        ("111", "history"): 2,
        ("111", "other"): 1,
        ("222", "lost"): 2,
        ("222", "none"): 1,
    }


def test_notifications_are_counted_by_status(busy_desk):
    found = samples(scrape())
    by_status = {
        status: value(found, "trubka_notifications_total", status=status)
        for status in ("processed", "failed", "pending", "rejected", "ignored")
    }
    assert by_status == {"processed": 3, "failed": 1, "pending": 2, "rejected": 1, "ignored": 1}


def test_retries_are_the_attempts_beyond_the_first(busy_desk):
    # processed 0 + 2 + 0, failed 14, pending 1 + 0
    assert value(samples(scrape()), "trubka_notification_retries_total") == 17


def test_the_queue_counts_pending_and_due_events_jobs_included(busy_desk):
    found = samples(scrape())
    assert (value(found, "trubka_queue_depth"), value(found, "trubka_queue_due")) == (3, 2)


def test_the_queue_age_is_the_oldest_pending_event(busy_desk):
    found = samples(scrape())
    assert value(found, "trubka_queue_oldest_age_seconds") >= 600
    assert 30 <= value(found, "trubka_queue_oldest_due_wait_seconds") < 600


def test_jobs_are_counted_apart_from_notifications(busy_desk):
    found = samples(scrape())
    assert value(found, "trubka_jobs_total", action=ARCHIVE_ACTION, status="pending") == 1


def test_processing_latency_covers_the_last_15_minutes(busy_desk):
    found = samples(scrape())
    buckets = {
        bound: value(found, "trubka_processing_latency_seconds_bucket", le=str(float(bound)))
        for bound in LATENCY_BUCKETS
    }
    assert buckets == {
        0.05: 0,
        0.1: 0,
        0.25: 0,
        0.5: 1,
        1.0: 1,
        2.5: 1,
        5.0: 2,
        10.0: 2,
        30.0: 2,
        60.0: 2,
        300.0: 2,
    }
    assert value(found, "trubka_processing_latency_seconds_bucket", le="+Inf") == 2
    assert value(found, "trubka_processing_latency_seconds_count") == 2
    assert value(found, "trubka_processing_latency_seconds_sum") == pytest.approx(4.3)


def test_popup_deliveries_count_ring_notices_only(busy_desk):
    assert value(samples(scrape()), "trubka_popup_deliveries_total") == 2


def test_only_workers_seen_recently_are_alive(busy_desk):
    assert value(samples(scrape()), "trubka_workers_alive") == 1


def test_an_empty_desk_reports_zeros(db):
    found = samples(scrape())
    assert (
        value(found, "trubka_queue_depth"),
        value(found, "trubka_notifications_total", status="pending"),
        value(found, "trubka_processing_latency_seconds_count"),
        value(found, "trubka_workers_alive"),
    ) == (0, 0, 0, 0)


def test_invented_actions_share_one_label(db):
    account = Integration.objects.create(account_id=FIRST_APP)
    for n in range(5):
        CallEvent.objects.create(
            integration=account, action=f"made-up-{n}", status=EventStatus.IGNORED
        )
    found = samples(scrape())
    assert value(found, "trubka_notifications_received_total", app_id="111", action="other") == 5


def test_openmetrics_is_served_to_a_scraper_that_asks_for_it(db):
    response = scrape(HTTP_ACCEPT="application/openmetrics-text; version=1.0.0")
    assert response["Content-Type"].startswith("application/openmetrics-text")
    assert response.content.rstrip().endswith(b"# EOF")


def test_the_collector_registry_is_trubkas_own(db):
    from prometheus_client import REGISTRY as GLOBAL

    assert REGISTRY is not GLOBAL
    assert "trubka_queue_depth" not in {family.name for family in GLOBAL.collect()}


def test_metrics_answer_503_when_the_database_is_unreachable(db):
    with mock.patch.object(connection, "cursor", side_effect=OperationalError("gone")):
        response = scrape()
    assert response.status_code == 503


# --- Cheap at millions of rows, and steady across purges ------------------------------------

COUNTERS = (
    "trubka_notifications_received_total",
    "trubka_notifications_total",
    "trubka_notification_retries_total",
    "trubka_jobs_total",
    "trubka_popup_deliveries_total",
)


def counters(found) -> dict:
    return {key: n for key, n in found.items() if key[0] in COUNTERS}


def fold_everything() -> None:
    """Fold every row, as if the scrape came after the rows had time to settle."""
    tally.fold_all(timezone.now() + tally.SETTLE_AFTER + timedelta(seconds=1))


def test_a_scrape_never_reads_the_whole_notification_table(busy_desk):
    with CaptureQueriesContext(connection) as queries:
        samples(scrape())

    reads = [q["sql"] for q in queries if q["sql"].startswith("SELECT")]
    on_events = [sql for sql in reads if 'FROM "connector_callevent"' in sql]
    assert on_events
    unbounded = [sql for sql in on_events if " WHERE " not in sql]
    assert unbounded == []


def test_counters_are_the_same_once_rows_are_folded(busy_desk):
    before = counters(samples(scrape()))

    fold_everything()

    assert MetricsState.objects.get().events_folded_through >= 8
    assert counters(samples(scrape())) == before


def test_folding_twice_counts_nothing_twice(busy_desk):
    before = counters(samples(scrape()))

    fold_everything()
    fold_everything()

    assert counters(samples(scrape())) == before


def test_a_scrape_folds_once_many_rows_wait(busy_desk, monkeypatch):
    CallEvent.objects.update(received_at=timezone.now() - timedelta(hours=2))
    before = counters(samples(scrape()))  # 9 rows wait: fewer than FOLD_FROM
    assert not MetricsState.objects.filter(events_folded_through__gt=0).exists()
    monkeypatch.setattr(tally, "FOLD_FROM", 2)

    after = counters(samples(scrape()))

    assert MetricsState.objects.get().events_folded_through == CallEvent.objects.latest("id").pk
    assert after == before


def test_rows_that_settle_after_being_folded_move_to_their_new_status(busy_desk):
    fold_everything()
    pending = CallEvent.objects.filter(integration__isnull=False, status="pending")
    failed = CallEvent.objects.get(status="failed")
    pending.update(status=EventStatus.PROCESSED, attempts=1, processed_at=timezone.now())
    retry_event(failed)
    CallEvent.objects.filter(pk=failed.pk).update(status=EventStatus.PROCESSED, attempts=1)

    found = samples(scrape())
    fold_everything()  # the stragglers are folded in now
    folded = samples(scrape())

    by_status = {
        status: value(found, "trubka_notifications_total", status=status)
        for status in ("processed", "failed", "pending", "rejected", "ignored")
    }
    assert by_status == {"processed": 6, "failed": 0, "pending": 0, "rejected": 1, "ignored": 1}
    assert counters(folded) == counters(found)
    assert not UnsettledEvent.objects.exists()


def test_counters_do_not_go_down_when_old_rows_are_purged(busy_desk, agent, settings):
    settings.TRUBKA_KEEP_EVENTS_DAYS = 1
    settings.TRUBKA_KEEP_NOTICES_HOURS = 1
    CallEvent.objects.update(received_at=timezone.now() - timedelta(days=2))
    AgentNotice.objects.update(created_at=timezone.now() - timedelta(hours=2))
    before = counters(samples(scrape()))

    report = purge()

    assert (report.events, report.notices) == (5, 3)  # the pending and the failed stay
    assert counters(samples(scrape())) == before


def test_the_popup_counter_goes_on_from_purged_rings(busy_desk, agent):
    AgentNotice.objects.update(created_at=timezone.now() - timedelta(days=2))
    purge()
    AgentNotice.objects.create(employee=agent, kind="ring", payload={})

    assert value(samples(scrape()), "trubka_popup_deliveries_total") == 3


def test_a_deleted_accounts_folded_notifications_stay_counted(busy_desk):
    fold_everything()
    Integration.objects.get(account_id=FIRST_APP).delete()

    found = samples(scrape())

    assert value(found, "trubka_notifications_received_total", app_id="111", action="wait") == 2


@pytest.mark.django_db(transaction=True)
def test_a_scrape_outside_a_transaction_reads_its_snapshot_and_leaves_none_open(agent):
    """On PostgreSQL the counts are read in a read-only REPEATABLE READ transaction."""
    account = Integration.objects.create(account_id=FIRST_APP)
    for status in (EventStatus.PROCESSED, EventStatus.PROCESSED, EventStatus.PENDING):
        CallEvent.objects.create(integration=account, action="wait", status=status)

    with CaptureQueriesContext(connection) as queries:
        found = samples(scrape())

    assert value(found, "trubka_notifications_total", status="processed") == 2
    assert value(found, "trubka_queue_depth") == 1
    snapshot = [q for q in queries if "REPEATABLE READ" in q["sql"]]
    assert len(snapshot) == (1 if connection.vendor == "postgresql" else 0)
    assert not connection.in_atomic_block
    CallEvent.objects.create(integration=account, action="lost")  # not left read-only
    assert value(samples(scrape()), "trubka_queue_depth") == 2


# --- Who may read them ---------------------------------------------------------------------


def test_metrics_need_no_session_from_this_machine(db):
    assert scrape(REMOTE_ADDR="127.0.0.1").status_code == 200


@pytest.mark.parametrize("address", ["127.0.0.1", "127.8.9.10", "::1", "::ffff:127.0.0.1"])
def test_metrics_are_served_to_loopback_addresses_without_a_token(db, address):
    assert scrape(REMOTE_ADDR=address).status_code == 200


@pytest.mark.parametrize("address", ["203.0.113.9", "10.0.0.5", "::ffff:10.0.0.5", "2001:db8::1"])
def test_metrics_are_refused_to_other_addresses_without_a_token(db, address):
    assert scrape(REMOTE_ADDR=address).status_code == 403


def test_a_client_behind_a_local_proxy_is_not_loopback(db, settings):
    settings.TRUBKA_TRUST_X_FORWARDED_FOR = True
    response = scrape(REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="203.0.113.9")
    assert response.status_code == 403


def test_metrics_are_refused_without_the_token_when_one_is_set(db, settings):
    settings.TRUBKA_METRICS_TOKEN = TOKEN
    response = scrape(REMOTE_ADDR="127.0.0.1")
    assert (response.status_code, response["WWW-Authenticate"]) == (
        401,
        'Bearer realm="trubka-metrics"',
    )


@pytest.mark.parametrize(
    "authorization",
    [f"Bearer {TOKEN}x", f"Bearer {TOKEN[:-1]}", f"Basic {TOKEN}", TOKEN, "Bearer "],
)
def test_metrics_are_refused_with_a_wrong_token(db, settings, authorization):
    settings.TRUBKA_METRICS_TOKEN = TOKEN
    assert scrape(HTTP_AUTHORIZATION=authorization).status_code == 401


def test_metrics_are_served_with_the_token_from_anywhere(db, settings):
    settings.TRUBKA_METRICS_TOKEN = TOKEN
    response = scrape(REMOTE_ADDR="203.0.113.9", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert response.status_code == 200
    assert "trubka_queue_depth" in {
        family.name for family in text_string_to_metric_families(response.content.decode())
    }
