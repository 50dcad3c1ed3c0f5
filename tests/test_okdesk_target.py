"""A connector account whose help desk is «an Okdesk cloud account» delivers UIS's
wait/history/lost to another Trubka instance over its /api/v1: the popup, the call record
and the missed-call ticket appear there."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from django.urls import reverse
from django.utils import timezone

from trubka.connector.models import Integration, Target
from trubka.connector.providers.uis import simulate
from trubka.connector.queue.worker import drain

TRUBKA = [sys.executable, "-m", "trubka.cli"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_in(data_dir: Path, *args: str) -> str:
    env = {**os.environ, "TRUBKA_DATA_DIR": str(data_dir)}
    env.pop("DATABASE_URL", None)
    done = subprocess.run(
        [*TRUBKA, *args], env=env, capture_output=True, text=True, timeout=120, check=True
    )
    return done.stdout.strip()


@pytest.fixture
def other_trubka(tmp_path):
    """A second Trubka with its own database: an employee with extension 101 and a key."""
    data_dir = tmp_path / "other"
    run_in(data_dir, "migrate", "-v0")
    run_in(
        data_dir,
        "shell",
        "-c",
        "from trubka.staff.models import Employee; "
        "Employee.objects.create_user(username='remote', password='x' * 16, extension='101')",
    )
    token = run_in(data_dir, "api-key", "create", "--user", "remote").splitlines()[-1]
    port = free_port()
    env = {**os.environ, "TRUBKA_DATA_DIR": str(data_dir), "TRUBKA_EMBEDDED_WORKER": "false"}
    env.pop("DATABASE_URL", None)
    server = subprocess.Popen(
        [*TRUBKA, "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(f"{base}/accounts/login/", timeout=1)
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise RuntimeError("the second Trubka did not start") from None
                time.sleep(0.2)
        yield {"base": base, "token": token, "data_dir": data_dir}
    finally:
        server.terminate()
        server.wait(timeout=20)


def api(other: dict, path: str, **params) -> object:
    response = httpx.get(
        f"{other['base']}/api/v1{path}", params={**params, "api_token": other["token"]}
    )
    response.raise_for_status()
    return response.json()


@pytest.mark.django_db(transaction=True)
def test_notifications_reach_another_trubka_through_its_okdesk_api(client, other_trubka):
    integration = Integration.objects.create(
        account_id=4242,
        target=Target.OKDESK,
        okdesk_account=other_trubka["base"],
        okdesk_api_key=other_trubka["token"],
        enabled_at=timezone.now(),
    )
    url = reverse("connector:webhook", args=[integration.webhook_token])
    call = simulate.Call(
        app_id=4242,
        call_session_id=998677427,
        contact_phone_number="79035556677",
        extension="101",
        started=timezone.localtime() - timezone.timedelta(minutes=2),
    )
    missed = simulate.Call(
        app_id=4242,
        call_session_id=998677428,
        contact_phone_number="79035556677",
        extension="101",
        started=timezone.localtime() - timezone.timedelta(minutes=1),
    )
    bodies = [
        simulate.wait(call),
        simulate.history(call, duration=61),
        simulate.wait(missed),
        simulate.lost(missed, ["Иванов Иван"]),
    ]
    for body in bodies:
        answer = client.post(url, data=body, content_type="application/json")
        assert answer.status_code == 200, answer.content

    assert drain() == 4

    from trubka.connector.models import CallEvent

    assert set(CallEvent.objects.values_list("status", flat=True)) == {"processed"}
    contact = api(other_trubka, "/contacts", phone="+79035556677")
    assert contact["name"] == "Новый клиент +7 903 555-66-77"
    calls = {c["call_id"]: c for c in api(other_trubka, "/phone_calls")}
    assert calls["998677427"]["duration"] == 61
    assert calls["998677427"]["contact_id"] == contact["id"]
    assert calls["998677428"]["issue_id"] is not None
    issue = api(other_trubka, f"/issues/{calls['998677428']['issue_id']}")
    assert issue["title"] == "Пропущенный звонок от +7 903 555-66-77"
    assert issue["contact"]["id"] == contact["id"]
    popups = run_in(
        other_trubka["data_dir"],
        "shell",
        "-c",
        "import json; from trubka.calls.models import CallPopup; "
        "print(json.dumps([[p.extension, p.employee.username] for p in CallPopup.objects.all()]))",
    )
    assert json.loads(popups.splitlines()[-1]) == [["101", "remote"], ["101", "remote"]]
