"""The live stream: a page whose stream dropped gets the call that rang meanwhile, and an idle
stream stays open through its heartbeats."""

from __future__ import annotations

import re

import httpx
import pytest
from playwright.sync_api import expect

from browser.conftest import wait_until
from trubka.realtime import views as realtime_views
from trubka.realtime.models import AgentNotice

OFFLINE = re.compile(r"\boffline\b")
STREAM = re.compile(r"/live/stream/")


def test_a_ring_during_a_dropped_stream_pops_up_after_reconnecting(
    desk, uis, caller, settings, trubka_server
):
    settings.TRUBKA_SSE_RETRY_MS = 300  # told to the browser when the stream opens
    # The failures of the cut stream and of the reconnections tried offline are expected.
    desk.expected_console.append(re.compile(r"net::ERR_\w+ \(\S+/live/stream/"))
    page = desk.open("/tickets/")
    live = page.locator("#live-calls")
    expect(live).not_to_have_class(OFFLINE)
    opened = len(desk.stream_requests)

    # The network goes away: the open stream is cut, and reconnecting fails for now.
    desk.context.set_offline(True)
    assert trubka_server.drop_streams() == 1
    expect(live).to_have_class(OFFLINE)

    uis.ring(uis.call("79161234567", extension="101"))
    wait_until(
        lambda: AgentNotice.objects.filter(employee=desk.employee, kind="ring").exists(),
        message="the ring was not stored for the agent",
    )
    expect(page.locator("#live-calls .popup")).to_have_count(0)
    desk.shot("offline-while-it-rings")

    desk.context.set_offline(False)
    popup = page.locator("#live-calls .popup")
    expect(popup.locator(".popup-client")).to_have_text("Сидоров Пётр")
    expect(popup.locator(".popup-phone")).to_have_text("+7 916 123-45-67")
    expect(live).not_to_have_class(OFFLINE)
    card = page.frame_locator("#call-panel iframe")
    expect(card.get_by_role("heading", level=1)).to_have_text("Сидоров Пётр")
    expect(popup).to_have_count(1)
    desk.shot("popup-after-reconnecting")

    # The page was not reloaded: its stream reconnected, saying what it had already seen.
    reconnects = desk.stream_requests[opened:]
    assert reconnects, "the live stream never reconnected"
    assert any(r.header_value("last-event-id") for r in reconnects), [r.headers for r in reconnects]
    desk.assert_clean()


def test_a_ring_while_the_stream_is_answered_with_errors_pops_up_when_it_reopens(
    desk, uis, caller, settings, trubka_server
):
    """EventSource gives up on an error answer (a proxy's 502 during a deploy); popup.js then
    opens a new stream itself, from the id of the stream's opening event: nothing had rung
    yet, and the ring during the gap still pops up."""
    settings.TRUBKA_SSE_RETRY_MS = 300
    desk.expected_console += [
        re.compile(r"net::ERR_\w+ \(\S+/live/stream/"),
        re.compile(r"status of 502 .*\(\S+/live/stream/"),
        re.compile(r"EventSource's response has a MIME type"),
    ]
    page = desk.open("/tickets/")
    live = page.locator("#live-calls")
    expect(live).not_to_have_class(OFFLINE)
    opened = len(desk.stream_requests)
    refused: list[str] = []

    def bad_gateway(route):
        refused.append(route.request.url)
        route.fulfill(status=502, content_type="text/plain", body="Bad Gateway")

    # The server goes away behind its proxy: the stream is cut, reconnecting gets 502s.
    page.route(STREAM, bad_gateway)
    with page.expect_response(lambda r: bool(STREAM.search(r.url)) and r.status == 502):
        assert trubka_server.drop_streams() == 1
    expect(live).to_have_class(OFFLINE)

    uis.ring(uis.call("79161234567", extension="101"))
    wait_until(
        lambda: AgentNotice.objects.filter(employee=desk.employee, kind="ring").exists(),
        message="the ring was not stored for the agent",
    )
    expect(page.locator("#live-calls .popup")).to_have_count(0)

    page.unroute(STREAM, bad_gateway)
    popup = page.locator("#live-calls .popup")
    expect(popup.locator(".popup-client")).to_have_text("Сидоров Пётр")
    expect(popup.locator(".popup-phone")).to_have_text("+7 916 123-45-67")
    expect(live).not_to_have_class(OFFLINE)
    expect(popup).to_have_count(1)
    desk.shot("popup-after-error-answers")

    # The stream that got through was popup.js's own, resuming from the opening event's id
    # (0: this agent had no notice when the page opened).
    assert refused
    reconnects = [r.url for r in desk.stream_requests[opened:]]
    assert any(url.endswith("/live/stream/?last=0") for url in reconnects), reconnects
    desk.assert_clean()


def test_an_idle_stream_stays_open_through_its_heartbeats(desk, trubka_server, monkeypatch):
    """Nothing rings for a while: the stream sends its keep-alive comments and stays open.

    Read over HTTP with the browser's session, with the heartbeat shortened from 15 s so the
    test does not wait; the reads wait for data, not for a fixed time.
    """
    monkeypatch.setattr(realtime_views, "HEARTBEAT_SECONDS", 0.2)
    cookies = {c["name"]: c["value"] for c in desk.context.cookies()}
    pings = 0
    with (
        httpx.Client(base_url=trubka_server.url, cookies=cookies, timeout=10) as http,
        http.stream("GET", "/live/stream/", headers={"Accept": "text/event-stream"}) as stream,
    ):
        assert stream.status_code == 200
        assert stream.headers["content-type"].startswith("text/event-stream")
        try:
            for line in stream.iter_lines():
                if line == ": ping":
                    pings += 1
                    if pings == 3:
                        break
        except httpx.RemoteProtocolError as exc:
            pytest.fail(f"the server broke the idle stream after {pings} heartbeat(s): {exc}")
    assert pings == 3
