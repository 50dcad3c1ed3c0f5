"""The live stream end to end: the real ASGI app on a real port, read like a browser reads it.

Calls ring through the desk's actions (or through the UIS webhook and the worker's
``drain()``) in this test's thread; the stream is read over HTTP from the server's thread. A
message that must *not* arrive is proven absent by a later message that does arrive first,
never by sleeping.
"""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from live_server import LiveServer, SseEvent, SseStream, Streams, session_cookie, wait_until
from providers.uis import bodies as uis
from trubka.calls.actions import do_log_call, do_request_popup
from trubka.calls.models import CallPopup
from trubka.connector.models import Integration
from trubka.connector.queue.worker import drain
from trubka.realtime import views
from trubka.realtime.broker import employee_channel, get_broker
from trubka.realtime.models import AgentNotice
from trubka.realtime.notify import notify_employee
from trubka.tickets.actions import do_create_ticket
from trubka.tickets.models import Ticket

pytestmark = pytest.mark.django_db(transaction=True)

CALLER_NUMBER = "+79161234567"  # the conftest caller's mobile, 8 (916) 123-45-67
CALLER_DISPLAY = "+7 916 123-45-67"
OTHER_NUMBER = "+79990001122"


@pytest.fixture(scope="module")
def server():
    with LiveServer() as live:
        yield live


@pytest.fixture
def streams(server):
    opened = Streams(server.url)
    yield opened
    opened.close_all()


def ring(*extensions: str, phone: str = CALLER_NUMBER, **kwargs) -> list[CallPopup]:
    """A call rings on ``extensions``; the push goes out when this transaction commits."""
    with transaction.atomic():
        return do_request_popup(phone=phone, extensions=list(extensions), **kwargs)


def is_ring(event: SseEvent) -> bool:
    return event.event == "ring"


def notice_ids(employee) -> list[int]:
    return list(AgentNotice.objects.filter(employee=employee).values_list("pk", flat=True))


# --- Who may open a stream ------------------------------------------------------------------


def test_an_anonymous_browser_gets_401_and_no_stream(streams):
    stream = streams.open(None, ready=False)

    assert stream.status_code == 401
    assert not stream.headers.get("content-type", "").startswith("text/event-stream")


def test_a_logged_in_employee_gets_an_event_stream_that_opens_with_a_ready_event(streams, agent):
    stream = streams.open(agent)

    assert stream.status_code == 200
    assert stream.headers["content-type"].startswith("text/event-stream")
    assert stream.headers["cache-control"] == "no-cache"
    assert stream.opening.retry == settings.TRUBKA_SSE_RETRY_MS
    assert stream.opening.event == "ready"
    # With data, so a browser dispatches it and the page learns the id: a block of id and
    # retry alone is never handed to the page's listeners.
    assert stream.opening.data == {"kind": "ready"}
    assert stream.opening.id == "0"  # no notice yet


def test_closing_the_tab_unsubscribes_its_stream(streams, agent):
    channel = employee_channel(agent.pk)
    stream = streams.open(agent)
    assert get_broker().fanout.count(channel) == 1

    stream.close()

    wait_until(lambda: get_broker().fanout.count(channel) == 0, what="unsubscribing")


# --- A call rings ---------------------------------------------------------------------------


def test_a_ring_for_101_reaches_the_agents_stream_with_the_popup(streams, agent, caller):
    ticket = do_create_ticket(title="Не печатает принтер", contact=caller)
    stream = streams.open(agent)

    (popup,) = ring("101")

    event = stream.next()
    (notice,) = AgentNotice.objects.filter(employee=agent)
    assert event.event == "ring"
    assert event.id == str(notice.pk)
    data = event.data
    assert data["kind"] == "ring"
    assert data["popup"] == str(popup.uuid)
    assert data["phone"] == CALLER_DISPLAY
    assert data["extension"] == "101"
    assert data["client"]["name"] == caller.name
    assert data["client"]["company"] == "ООО Ромашка"
    assert data["client"]["url"] == reverse("clients:contact", args=[caller.pk])
    assert data["tickets"] == [
        {
            "id": ticket.pk,
            "title": "Не печатает принтер",
            "url": reverse("tickets:detail", args=[ticket.pk]),
        }
    ]
    assert data["state"] == "ringing"
    assert data["auto_open"] is True


def test_the_ring_says_not_to_open_the_card_when_the_agent_turned_auto_open_off(
    streams, agent, caller
):
    agent.popup_auto_open = False
    agent.save(update_fields=["popup_auto_open"])
    stream = streams.open(agent)

    ring("101")

    assert stream.next().data["auto_open"] is False


def test_a_ring_for_101_does_not_reach_the_employee_of_102(streams, agent, agent2, caller):
    other = streams.open(agent2)
    mine = streams.open(agent)

    ring("101")
    mine.wait_for(is_ring)
    ring("102", phone=OTHER_NUMBER)  # published after the first: arrives after it, if at all

    first = other.next()
    assert first.event == "ring"
    assert first.data["extension"] == "102"
    assert first.data["phone"] == "+7 999 000-11-22"


def test_two_tabs_of_the_same_agent_both_receive_the_ring(streams, agent, caller):
    first_tab = streams.open(agent)
    second_tab = streams.open(agent)

    ring("101")

    one, two = first_tab.next(), second_tab.next()
    assert one.event == two.event == "ring"
    assert one.id == two.id
    assert one.data == two.data


# --- How the call goes on -------------------------------------------------------------------


def test_an_update_follows_when_the_call_is_answered_and_when_it_ends(streams, agent, caller):
    started = timezone.now()
    call_fields = {
        "provider": "test",
        "provider_call_id": "call-1",
        "started_at": started,
        "client_number": CALLER_NUMBER,
    }
    call = do_log_call(**call_fields, employee=agent)
    stream = streams.open(agent)
    ring("101", call=call)
    rung = stream.next()
    assert rung.event == "ring"
    assert rung.data["call"] == str(call.uuid)

    do_log_call(**call_fields, answered_at=started + timedelta(seconds=5))
    answered = stream.next()
    do_log_call(**call_fields, finished_at=started + timedelta(minutes=2), talk_duration=115)
    ended = stream.next()

    assert (answered.event, answered.data["state"]) == ("update", "answered")
    assert answered.data["call"] == str(call.uuid)
    assert answered.data["ticket_url"] is None
    assert (ended.event, ended.data["state"]) == ("update", "ended")
    assert int(rung.id) < int(answered.id) < int(ended.id)


@pytest.fixture
def account(settings):
    with uis.fixed_encryption_key(settings):
        yield Integration.objects.create(account_id=uis.APP_ID, enabled_at=timezone.now())


def post_to_webhook(server: LiveServer, account: Integration, body: str) -> None:
    response = httpx.post(
        server.url + uis.webhook_path(account),
        content=body.encode(),
        headers={"Content-Type": "application/json"},
        timeout=10,
    )
    assert response.status_code == 200, response.text


def test_a_missed_call_through_the_connector_rings_then_updates_with_the_ticket_link(
    server, streams, account, agent, agent2, caller
):
    stream = streams.open(agent)

    post_to_webhook(server, account, uis.wait())
    drain()
    rung = stream.next()
    post_to_webhook(server, account, uis.lost())
    drain()
    with_ticket, before = stream.wait_for(lambda e: e.data.get("ticket_url") is not None)

    ticket = Ticket.objects.get()
    assert rung.event == "ring"
    assert rung.data["phone"] == CALLER_DISPLAY
    assert rung.data["client"]["name"] == caller.name
    assert with_ticket.event == "update"
    assert with_ticket.data["call"] == rung.data["call"]
    assert with_ticket.data["state"] == "missed"
    assert with_ticket.data["ticket"] == ticket.pk
    assert with_ticket.data["ticket_url"] == reverse("tickets:detail", args=[ticket.pk])
    assert all(e.event == "update" and e.data["state"] == "missed" for e in before)


# --- Reconnecting ---------------------------------------------------------------------------


def test_reconnecting_with_last_event_id_replays_exactly_the_missed_notices(
    streams, agent, agent2, caller
):
    first_connection = streams.open(agent)
    ring("101")
    seen = first_connection.next()
    first_connection.close()

    ring("101", phone=OTHER_NUMBER)
    ring("102")  # someone else's: never replayed to this agent
    ring("101")
    missed = notice_ids(agent)[1:]

    again = streams.open(agent, last_event_id=seen.id)
    replayed = [again.next(), again.next()]
    ring("101", phone=OTHER_NUMBER)  # live after the replay
    live = again.next()

    assert again.opening.id == seen.id
    assert [int(e.id) for e in replayed] == missed
    assert [e.data["phone"] for e in replayed] == ["+7 999 000-11-22", CALLER_DISPLAY]
    assert int(live.id) == notice_ids(agent)[-1]


def test_reconnecting_with_the_last_id_in_the_query_string_replays_too(streams, agent, caller):
    ring("101")
    seen = notice_ids(agent)[-1]
    ring("101", phone=OTHER_NUMBER)

    again = streams.open(agent, query=f"last={seen}")

    replayed = again.next()
    assert int(replayed.id) == notice_ids(agent)[-1]
    assert replayed.data["phone"] == "+7 999 000-11-22"


def test_a_ring_during_the_gap_arrives_when_the_stream_reopens_from_its_opening_id(
    streams, agent, caller
):
    """A page that has seen no ring still has an id to reopen from: the opening event's."""
    ring("101")  # before the page opened: not to be shown again
    page = streams.open(agent)
    resume_from = page.opening.id
    page.close()

    ring("101", phone=OTHER_NUMBER)  # while the page is disconnected

    reopened = streams.open(agent, query=f"last={resume_from}")
    missed = reopened.next()
    assert resume_from == str(notice_ids(agent)[0])
    assert reopened.opening.id == resume_from
    assert (missed.event, int(missed.id)) == ("ring", notice_ids(agent)[-1])
    assert missed.data["phone"] == "+7 999 000-11-22"


def test_a_new_connection_without_last_event_id_replays_nothing(streams, agent, caller):
    ring("101")
    ring("101", phone=OTHER_NUMBER)

    fresh = streams.open(agent)
    ring("101")

    first = fresh.next()
    assert fresh.opening.id == str(notice_ids(agent)[1])
    assert int(first.id) == notice_ids(agent)[-1]


def test_a_notice_older_than_the_replay_window_is_not_replayed(streams, agent, caller):
    first_connection = streams.open(agent)
    ring("101")
    seen = first_connection.next()
    first_connection.close()
    ring("101", phone=OTHER_NUMBER)
    ring("101")
    stale, fresh = notice_ids(agent)[1:]
    AgentNotice.objects.filter(pk=stale).update(
        created_at=timezone.now() - views.REPLAY_WINDOW - timedelta(seconds=30)
    )

    again = streams.open(agent, last_event_id=seen.id)

    assert int(again.next().id) == fresh


# --- An idle stream -------------------------------------------------------------------------


def test_an_idle_stream_sends_a_heartbeat_comment(streams, agent, monkeypatch):
    monkeypatch.setattr(views, "HEARTBEAT_SECONDS", 0.2)
    stream = streams.open(agent)

    beat = stream.next(comments=True)

    assert beat.is_comment
    assert beat.comment == "ping"


def test_a_ring_after_a_heartbeat_still_arrives_on_the_same_connection(
    streams, agent, caller, monkeypatch
):
    monkeypatch.setattr(views, "HEARTBEAT_SECONDS", 0.2)
    stream: SseStream = streams.open(agent)
    assert stream.next(comments=True).is_comment

    ring("101")

    assert stream.wait_for(is_ring)[0].data["phone"] == CALLER_DISPLAY


def test_a_push_sent_without_a_transaction_reaches_the_stream_at_once(streams, agent):
    stream = streams.open(agent)

    notice = notify_employee(agent.pk, "ring", {"phone": CALLER_DISPLAY})

    event = stream.next()
    assert event.id == str(notice.pk)
    assert event.data == {"kind": "ring", "phone": CALLER_DISPLAY}


# --- What an open stream holds ---------------------------------------------------------------


@pytest.mark.skipif(
    "pool" not in settings.DATABASES["default"].get("OPTIONS", {}),
    reason="only PostgreSQL has a connection pool a stream could hold on to",
)
def test_open_streams_do_not_hold_the_pooled_connections(server, streams, agent):
    pool_size = settings.DATABASES["default"]["OPTIONS"]["pool"]["max_size"]
    cookie = session_cookie(agent)
    for _ in range(pool_size + 2):  # more tabs than the pool has connections
        streams.open(cookie=cookie)
    # A page that reads the session and the employee: with every connection held by a
    # stream it would wait out the pool's timeout (10 s) and fail.
    page = httpx.get(f"{server.url}{reverse('staff:me')}", headers={"Cookie": cookie}, timeout=8)
    assert page.status_code == 200
