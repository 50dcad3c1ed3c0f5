"""Realistic UIS notifications for a running Trubka, so anyone can watch it work without a PBX.

Bodies are rendered from the guide's own templates the way UIS fills them: each
``{{variable}}`` replaced by the JSON encoding of its value, and variables the event does not
have left as they are (``{{extension_phone_number}}``), as UIS does.
"""

from __future__ import annotations

import json
import random
import re
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx

from trubka.connector.providers.uis.notification_bodies import HISTORY_BODY, LOST_BODY, WAIT_BODY

_VARIABLE = re.compile(r"\{\{(\w+)\}\}")


def render(template: str, values: dict[str, Any]) -> str:
    """Fill a notification template as UIS does."""

    def substitute(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in values:
            return match.group(0)
        return json.dumps(values[name], ensure_ascii=False)

    return _VARIABLE.sub(substitute, template)


@dataclass
class Call:
    app_id: int
    call_session_id: int
    contact_phone_number: str
    extension: str
    started: datetime
    direction: str = "in"

    def values(self, **extra: Any) -> dict[str, Any]:
        return {
            "app_id": self.app_id,
            "call_session_id": self.call_session_id,
            "contact_phone_number": self.contact_phone_number,
            "extension_phone_number": self.extension,
            "direction": self.direction,
            "start_time": self.started.strftime("%Y-%m-%d %H:%M:%S.%f"),
            **extra,
        }


def wait(call: Call) -> str:
    return render(WAIT_BODY, call.values())


def history(call: Call, duration: int = 95) -> str:
    link = (
        f"https://app.uiscom.ru/system/media/talk/{call.call_session_id}/{secrets.token_hex(16)}/"
    )
    return render(HISTORY_BODY, call.values(file_link=link, file_duration=duration))


def lost(call: Call, not_answered: list[str]) -> str:
    values = call.values(noanswered_employee_full_names=not_answered)
    # A lost call has no recording and no talking extension: UIS leaves those untouched.
    values.pop("extension_phone_number")
    return render(LOST_BODY, values)


Scenario = Callable[[Call, "Options"], Iterator[str]]


@dataclass
class Options:
    not_answered: list[str]


def scenario_answered(call: Call, options: Options) -> Iterator[str]:
    yield wait(call)
    yield history(call)


def scenario_missed(call: Call, options: Options) -> Iterator[str]:
    yield wait(call)
    yield lost(call, options.not_answered)


def scenario_out_of_order(call: Call, options: Options) -> Iterator[str]:
    yield history(call)
    yield wait(call)


def scenario_duplicates(call: Call, options: Options) -> Iterator[str]:
    body = wait(call)
    for _ in range(5):
        yield body
    yield history(call)


def scenario_quirks(call: Call, options: Options) -> Iterator[str]:
    # Placeholders quoted by hand in the template arrive as ""value"".
    yield wait(call).replace('"direction": "in"', '"direction": ""in""')
    yield history(call)


SCENARIOS: dict[str, Scenario] = {
    "answered": scenario_answered,
    "missed": scenario_missed,
    "unknown-caller": scenario_answered,
    "out-of-order": scenario_out_of_order,
    "duplicates": scenario_duplicates,
    "quirks": scenario_quirks,
}


def uis_number(phone: str) -> str:
    """A number as UIS writes ``contact_phone_number``: digits with the country code."""
    digits = re.sub(r"[^0-9]", "", phone)
    if len(digits) == 11 and digits.startswith("8"):
        return "7" + digits[1:]
    if len(digits) == 10:
        return "7" + digits
    return digits


def random_mobile(rng: random.Random) -> str:
    return "79" + "".join(str(rng.randint(0, 9)) for _ in range(9))


def run(
    url: str,
    scenario: str,
    *,
    app_id: int,
    phone: str | None,
    extension: str,
    zone: str,
    not_answered: list[str],
    say: Callable[[str], None] = print,
    transport: httpx.BaseTransport | None = None,
) -> int:
    """Send the scenario's notifications in order; returns how many were not accepted."""
    rng = random.Random()  # noqa: S311 - test data, not secrets
    if scenario == "unknown-caller" or not phone:
        phone = random_mobile(rng)
    call = Call(
        app_id=app_id,
        call_session_id=rng.randint(10**9, 10**10),
        contact_phone_number=uis_number(phone),
        extension=extension,
        started=datetime.now(ZoneInfo(zone)) - timedelta(seconds=5),
    )
    failures = 0
    with httpx.Client(timeout=10, transport=transport) as http:
        for body in SCENARIOS[scenario](call, Options(not_answered=not_answered)):
            found = re.search(r'"action":\s*"(\w+)"', body)
            action = found.group(1) if found else "?"
            response = http.post(
                url, content=body.encode(), headers={"Content-Type": "application/json"}
            )
            caller = f"+{call.contact_phone_number}"
            answer = f"{response.status_code} {response.text}"
            say(f"{action:<8} call {call.call_session_id} from {caller} → {answer}")
            if response.status_code != 200:
                failures += 1
    return failures
