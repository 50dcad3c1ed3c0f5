"""The webhook's own ASGI lane (``trubka.asgi.application``), in front of Django's middleware.

These requests go through the real ASGI application a server runs (not Django's test
client), so the lane's routing, body reading, Host check, error answer and connection
hand-back are what is tested. The view behind it is tested in depth in test_uis_webhook.py.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import httpx
import pytest

from providers.uis import bodies as uis
from trubka.asgi import application
from trubka.connector import intake
from trubka.connector.models import CallEvent, EventStatus, Integration
from trubka.connector.providers.uis import accounts

pytestmark = pytest.mark.django_db(transaction=True)


def post(path: str, body: str | bytes, *, host: str = "testserver", **kw: Any) -> httpx.Response:
    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=application, client=("195.211.122.10", 40000))
        async with httpx.AsyncClient(transport=transport, base_url=f"http://{host}") as client:
            return await client.post(path, content=body, **kw)

    return asyncio.run(go())


def get(path: str) -> httpx.Response:
    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            return await c.get(path)

    return asyncio.run(go())


def test_a_notification_through_the_lane_is_stored_pending(account):
    body = uis.wait()
    response = post(uis.webhook_path(account), body, headers={"Content-Type": "application/json"})
    assert (response.status_code, response.json()["status"]) == (200, "pending")
    (event,) = CallEvent.objects.all()
    assert (event.status, event.raw_body, event.action, event.remote_addr) == (
        EventStatus.PENDING,
        body,
        "wait",
        "195.211.122.10",
    )
    assert str(event.uuid) == response.json()["event"]
    assert response.headers["content-type"] == "application/json"
    assert response.headers["x-content-type-options"] == "nosniff"


def test_the_same_notification_again_is_a_duplicate_counted_once(account):
    body = uis.wait()
    first = post(uis.webhook_path(account), body)
    second = post(uis.webhook_path(account), body)
    assert (first.json()["status"], second.json()["status"]) == ("pending", "duplicate")
    (event,) = CallEvent.objects.all()
    assert event.repeats == 1


def test_the_same_notification_five_times_at_once_is_stored_once(account):
    body = uis.wait()

    async def go() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            return list(
                await asyncio.gather(
                    *(c.post(uis.webhook_path(account), content=body) for _ in range(5))
                )
            )

    statuses = sorted(r.json()["status"] for r in asyncio.run(go()))
    assert statuses == ["duplicate"] * 4 + ["pending"]
    (event,) = CallEvent.objects.all()
    assert event.repeats == 4


def test_an_unknown_token_is_404_and_stores_nothing(account):
    response = post("/okdesk/webhook/not-a-token/", uis.wait())
    assert (response.status_code, response.json()) == (404, {"error": "not found"})
    assert not CallEvent.objects.exists()


def test_a_bad_body_is_400_and_recorded_as_rejected(account):
    response = post(uis.webhook_path(account), b"{not json")
    assert response.status_code == 400
    (event,) = CallEvent.objects.all()
    assert event.status == EventStatus.REJECTED


def test_the_shared_url_is_served_for_an_allowed_sender(account):
    account.shared_url_allowed = True
    account.allowed_ips = "195.211.122.0/24"
    account.save()
    response = post("/okdesk/webhook/", uis.wait())
    assert (response.status_code, response.json()["status"]) == (200, "pending")
    assert CallEvent.objects.get().integration == account


def test_the_shared_url_refuses_a_sender_outside_the_allow_list(account):
    account.shared_url_allowed = True
    account.allowed_ips = "10.0.0.0/8"
    account.save()
    assert post("/okdesk/webhook/", uis.wait()).status_code == 404
    assert not CallEvent.objects.exists()


def test_disabling_the_account_applies_to_the_next_notification(account):
    post(uis.webhook_path(account), uis.wait(call_session_id="1"))  # the account is now cached
    account.enabled_at = None
    account.save()
    response = post(uis.webhook_path(account), uis.wait(call_session_id="2"))
    assert response.json()["status"] == EventStatus.IGNORED


def test_a_host_outside_allowed_hosts_is_400(account, settings):
    settings.ALLOWED_HOSTS = ["desk.example.ru"]
    response = post(uis.webhook_path(account), uis.wait(), host="evil.example")
    assert response.status_code == 400
    assert not CallEvent.objects.exists()
    ok = post(uis.webhook_path(account), uis.wait(), host="desk.example.ru")
    assert ok.status_code == 200


def test_a_body_over_the_upload_limit_is_413_and_stores_nothing(account, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    response = post(uis.webhook_path(account), b"x" * 1001)
    assert response.status_code == 413
    assert not CallEvent.objects.exists()


def test_a_failure_is_500_so_uis_sends_again_and_is_logged_without_the_token(
    account, monkeypatch, caplog
):
    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("boom")

    monkeypatch.setattr(intake, "accept", broken)
    token = uis.webhook_path(account).rstrip("/").rsplit("/", 1)[-1]
    with caplog.at_level(logging.ERROR):
        response = post(uis.webhook_path(account), uis.wait())
    assert response.status_code == 500
    assert "could not take a notification" in caplog.text
    assert token not in caplog.text
    assert not CallEvent.objects.exists()


def test_every_other_path_goes_to_django():
    assert "database" in get("/healthz").json()  # Django's health report
    login = get("/okdesk/")  # the setup page: Django's login redirect, not the lane's 404
    assert (login.status_code, login.headers["location"].split("?")[0]) == (302, "/accounts/login/")


def test_the_account_cache_never_serves_a_deleted_account(account):
    path = uis.webhook_path(account)
    assert post(path, uis.wait(call_session_id="1")).status_code == 200
    account.delete()
    assert post(path, uis.wait(call_session_id="2")).status_code == 404


def test_a_cached_account_expires(account, monkeypatch):
    token = uis.webhook_path(account).rstrip("/").rsplit("/", 1)[-1]
    assert accounts.by_token(token) == account
    # Another process changes the row behind this one's back: seen once the entry expires.
    Integration.objects.filter(pk=account.pk).update(timezone="Asia/Yekaterinburg")
    assert accounts.by_token(token).timezone == "Europe/Moscow"
    clock = [accounts.time.monotonic() + accounts.CACHE_SECONDS + 1]
    monkeypatch.setattr(accounts.time, "monotonic", lambda: clock[0])
    assert accounts.by_token(token).timezone == "Asia/Yekaterinburg"
