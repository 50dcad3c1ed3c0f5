"""Fault drill «the same notification five times concurrently → one effect», on PostgreSQL.

Five threads POST the very same UIS body at the same moment, over real HTTP, to the webhook
of a live server (the ASGI app under uvicorn, each request in its own thread and database
connection). One notification is queued, counted as received four more times, and processing
it has one effect. The rest of the drills (worker killed, help desk down, database cut, 10,000
mixed notifications) are the scripts in ``drills/``.
"""

from __future__ import annotations

import threading

import httpx
import pytest
from django.conf import settings as django_settings

from live_server import LiveServer
from providers.uis import bodies as uis
from trubka.calls.models import CallPopup, CallRecording, PhoneCall
from trubka.clients.models import Contact
from trubka.connector.models import CallEvent, EventStatus
from trubka.connector.queue.worker import drain
from trubka.tickets.models import Source, Ticket

TIMES = 5
UNKNOWN_CALLER = "79035550101"


def _postgres_problem() -> str | None:
    database = django_settings.DATABASES["default"]
    if database["ENGINE"] != "django.db.backends.postgresql":
        return (
            "needs PostgreSQL (concurrent writers on row locks): runs in the PostgreSQL lane, "
            "DATABASE_URL=postgres://… (scripts/test-lanes does when a server is reachable)"
        )
    try:
        import psycopg

        psycopg.connect(
            dbname="postgres",
            host=database.get("HOST") or None,
            port=database.get("PORT") or None,
            user=database.get("USER") or None,
            password=database.get("PASSWORD") or None,
            connect_timeout=3,
        ).close()
    except Exception as exc:
        where = f"{database.get('HOST')}:{database.get('PORT')}"
        return f"PostgreSQL at {where} is not reachable: {exc}"
    return None


_problem = _postgres_problem()
pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(_problem is not None, reason=_problem or ""),
]


@pytest.fixture
def server():
    with LiveServer() as live:
        yield live


def post_together(url: str, bodies: list[str]) -> list[httpx.Response]:
    """POST each body from its own thread, all released at once; the answers in order."""
    barrier = threading.Barrier(len(bodies))
    answers: list[httpx.Response | BaseException | None] = [None] * len(bodies)

    def sender(n: int) -> None:
        try:
            with httpx.Client(timeout=30) as http:
                barrier.wait(timeout=10)
                answers[n] = http.post(
                    url, content=bodies[n].encode(), headers={"Content-Type": "application/json"}
                )
        except BaseException as exc:  # handed to the test thread
            answers[n] = exc

    threads = [threading.Thread(target=sender, args=(n,)) for n in range(len(bodies))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    failed = [a for a in answers if not isinstance(a, httpx.Response)]
    assert not failed, failed
    return answers  # type: ignore[return-value]


BODIES = {
    "wait": lambda: uis.wait(contact_phone_number=UNKNOWN_CALLER),
    "history": lambda: uis.history(contact_phone_number=UNKNOWN_CALLER),
    "lost": lambda: uis.lost(contact_phone_number=UNKNOWN_CALLER),
}


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("action", list(BODIES))
def test_the_same_notification_five_times_at_once_is_queued_once(server, account, action):
    answers = post_together(server.url + uis.webhook_path(account), [BODIES[action]()] * TIMES)

    assert [a.status_code for a in answers] == [200] * TIMES
    assert sorted(a.json()["status"] for a in answers) == ["duplicate"] * (TIMES - 1) + ["pending"]
    (event,) = CallEvent.objects.all()
    assert (event.action, event.status, event.repeats) == (
        action,
        EventStatus.PENDING,
        TIMES - 1,
    )


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("action", list(BODIES))
def test_the_same_notification_five_times_at_once_has_one_effect(server, account, agent, action):
    post_together(server.url + uis.webhook_path(account), [BODIES[action]()] * TIMES)

    assert drain() == 1
    assert set(CallEvent.objects.values_list("status", flat=True)) == {EventStatus.PROCESSED}
    assert drain() == 0
    (call,) = PhoneCall.objects.all()
    (contact,) = Contact.objects.all()
    assert contact.from_unknown_call_at is not None
    assert call.contact == contact
    expected = {
        # (popups, recordings, missed-call tickets)
        "wait": (1, 0, 0),
        "history": (0, 1, 0),
        "lost": (0, 0, 1),
    }[action]
    assert (
        CallPopup.objects.filter(call=call).count(),
        CallRecording.objects.filter(call=call).count(),
        Ticket.objects.filter(source=Source.MISSED_CALL).count(),
    ) == expected


@pytest.mark.django_db(transaction=True)
def test_a_call_and_its_loss_five_times_each_at_once_have_one_effect_each(server, account, agent):
    """A ringing call and its loss, each five times, all ten requests at once."""
    answers = post_together(
        server.url + uis.webhook_path(account), [BODIES["wait"](), BODIES["lost"]()] * TIMES
    )

    assert [a.status_code for a in answers] == [200] * 2 * TIMES
    assert sorted(CallEvent.objects.values_list("action", "repeats")) == [
        ("lost", TIMES - 1),
        ("wait", TIMES - 1),
    ]
    assert drain() == 2
    assert PhoneCall.objects.count() == 1
    assert Contact.objects.count() == 1
    assert CallPopup.objects.count() <= 1  # none when the lost one was processed first
    (ticket,) = Ticket.objects.filter(source=Source.MISSED_CALL)
    assert ticket.comments.count() == 0
