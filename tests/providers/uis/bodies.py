"""Realistic UIS notification bodies for the connector's tests (a helper, not tests).

Every body here is rendered the way UIS fills a notification template (uis-api notes §1.4):
each ``{{variable}}`` is replaced by the JSON encoding of its value, and a variable the event
does not have is left as it is. The templates are the guide's three bodies as
``trubka.connector.providers.uis.notification_bodies`` holds them; ``guide_notifications()``
reads the same three from a verbatim copy of the guide
(``fixtures/okdesk-guide-notifications.txt``) so tests can compare the two.

The files in ``fixtures/`` are these renderings, stored so a reader sees exactly what UIS
sends. ``python tests/providers/uis/bodies.py`` writes them again; ``test_uis_parsing``
checks that they are still what the templates render.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from cryptography.fernet import Fernet

from trubka.connector.providers.uis.notification_bodies import HISTORY_BODY, LOST_BODY, WAIT_BODY
from trubka.connector.providers.uis.simulate import render

FIXTURES_DIR = Path(__file__).parent / "fixtures"
GUIDE = FIXTURES_DIR / "okdesk-guide-notifications.txt"

# One incoming call from the conftest ``caller`` (8 (916) 123-45-67) ringing on extension 101.
APP_ID = 555
CALL_ID = 3141592653
CALLER = "79161234567"
CALLER_E164 = "+79161234567"
CALLER_DISPLAY = "+7 916 123-45-67"
EXTENSION = "101"
START_TIME = "2026-03-01 10:00:00.123456"
RECORDING = "https://app.uiscom.ru/system/media/talk/3141592653/2e675888ded89ed517d5c60e63a2d8c3/"
SECOND_RECORDING = (
    "https://app.uiscom.ru/system/media/talk/3141592653/9b1cb0d2e7f54a6c8d3e2f1a0b9c8d7e/"
)
DURATION = 95
NOT_ANSWERED = ["Иванов Иван", "Петрова Мария"]

# A fixed Fernet key, so tests can read what the database holds.
ENCRYPTION_KEY = Fernet.generate_key().decode()

# The guide's variables the lost-call event does not have: UIS leaves them untouched.
NOT_IN_LOST_CALL = ("extension_phone_number", "file_link", "file_duration")

# Extra variables UIS can substitute (uis-api notes §1.3), added to a copy of the wait body.
EXTRA_FIELDS_TEMPLATE = WAIT_BODY.replace(
    '"direction": {{direction}}\n}',
    '"direction": {{direction}},\n'
    '"notification_name": {{notification_name}},\n'
    '"notification_time": {{notification_time}},\n'
    '"leg_id": {{leg_id}},\n'
    '"employee_id": {{employee_id}},\n'
    '"employee_full_name": {{employee_full_name}},\n'
    '"virtual_phone_number": {{virtual_phone_number}},\n'
    '"is_transfer": {{is_transfer}},\n'
    '"tag_names": {{tag_names}}\n'
    "}",
)

# The same notifications typed as form fields (a form body, or a GET URL's query string).
WAIT_FORM_TEMPLATE = (
    "app_id={{app_id}}&call_id={{call_session_id}}&action=wait"
    "&extension_phone_number={{extension_phone_number}}&phone={{contact_phone_number}}"
    "&direction={{direction}}"
)
HISTORY_FORM_TEMPLATE = (
    "app_id={{app_id}}&action=history&call_id={{call_session_id}}&started_at={{start_time}}"
    "&direction={{direction}}&file_url={{file_link}}&phone_call[duration]={{file_duration}}"
    "&phone_call[receiver_phone]={{extension_phone_number}}"
    "&phone_call[source_phone]={{contact_phone_number}}"
)
LOST_FORM_TEMPLATE = (
    "app_id={{app_id}}&action=lost&call_id={{call_session_id}}&started_at={{start_time}}"
    "&direction={{direction}}"
    "&noanswered_employee_full_names={{noanswered_employee_full_names}}"
    "&phone_call[source_phone]={{contact_phone_number}}"
)


def values(**overrides: Any) -> dict[str, Any]:
    """The values of UIS's variables for the standard call.

    ``None`` is an empty value (UIS writes ``null``); ``ABSENT`` removes the variable, so its
    placeholder stays in the body as UIS leaves it.
    """
    result: dict[str, Any] = {
        "app_id": APP_ID,
        "call_session_id": CALL_ID,
        "contact_phone_number": CALLER,
        "extension_phone_number": EXTENSION,
        "direction": "in",
        "start_time": START_TIME,
        "file_link": RECORDING,
        "file_duration": DURATION,
        "noanswered_employee_full_names": NOT_ANSWERED,
        "notification_name": "Ожидание ответа (okdesk)",
        "notification_time": "2026-03-01 10:00:01.234",
        "leg_id": 771234567,
        "employee_id": 323409,
        "employee_full_name": "Иванов Иван",
        "virtual_phone_number": "74951234567",
        "is_transfer": False,
        "tag_names": None,
    }
    for name, value in overrides.items():
        if value is _ABSENT:
            result.pop(name, None)
        else:
            result[name] = value
    return result


class _Absent:
    def __repr__(self) -> str:
        return "ABSENT"


_ABSENT = _Absent()
ABSENT: Any = _ABSENT  # pass as a value: the event does not have this variable


def wait(**overrides: Any) -> str:
    return render(WAIT_BODY, values(**overrides))


def history(**overrides: Any) -> str:
    return render(HISTORY_BODY, values(**overrides))


def lost(**overrides: Any) -> str:
    """A lost call as UIS sends it: no extension, no recording (those stay ``{{…}}``)."""
    absent = dict.fromkeys(NOT_IN_LOST_CALL, ABSENT)
    return render(LOST_BODY, values(**{**absent, **overrides}))


def quote_placeholders(template: str) -> str:
    """The template as someone types it with quotes around every placeholder."""
    return re.sub(r"(\{\{\w+\}\})", r'"\1"', template)


def build() -> dict[str, bytes]:
    """Every fixture file's name and exact bytes."""
    return {
        "wait.json": wait().encode(),
        "history.json": history().encode(),
        "lost.json": lost(file_link=None, file_duration=None, extension_phone_number=None).encode(),
        "lost_unsubstituted.txt": lost().encode(),
        "wait_quoted_placeholders.txt": render(quote_placeholders(WAIT_BODY), values()).encode(),
        "history_numbers_as_strings.json": history(
            app_id=str(APP_ID), call_session_id=str(CALL_ID), file_duration=str(DURATION)
        ).encode(),
        "history_file_link_list.json": history(file_link=[RECORDING, SECOND_RECORDING]).encode(),
        "history_file_link_json_text.json": history(
            file_link=json.dumps([RECORDING, SECOND_RECORDING])
        ).encode(),
        "wait_form.txt": render(WAIT_FORM_TEMPLATE, values()).encode(),
        "history_form.txt": render(HISTORY_FORM_TEMPLATE, values()).encode(),
        "lost_form.txt": render(LOST_FORM_TEMPLATE, values()).encode(),
        # A GET notification: the query string of the URL (spaces escaped, as HTTP needs).
        "history_query.txt": quote(
            render(HISTORY_FORM_TEMPLATE, values()), safe='=&[]"/:,'
        ).encode(),
        "wait_extra_fields.json": render(EXTRA_FIELDS_TEMPLATE, values()).encode(),
        "lost_cp1251.txt": lost(
            file_link=None, file_duration=None, extension_phone_number=None
        ).encode("cp1251"),
    }


def body(name: str) -> bytes:
    """A stored fixture's bytes."""
    return (FIXTURES_DIR / name).read_bytes()


def text(name: str) -> str:
    return body(name).decode("utf-8")


@dataclass(frozen=True)
class GuideNotification:
    name: str
    event_type: str
    method: str
    body: str


def guide_notifications() -> list[GuideNotification]:
    """The three notifications as the guide lists them: name, event type, method, body."""
    guide = GUIDE.read_text(encoding="utf-8")
    blocks = re.split(r"^\d\) ", guide, flags=re.MULTILINE)[1:]
    found = []
    for block in blocks:
        name = re.search(r"Название уведомления: (.+)", block)
        event_type = re.search(r"^Тип события: (.+)$", block, flags=re.MULTILINE)
        method = re.search(r"^Метод: (.+)$", block, flags=re.MULTILINE)
        text_ = block.split("В тело уведомления вставьте текст:\n", 1)[1]
        text_ = text_.split("\nНастройка завершена.", 1)[0].rstrip("\n")
        assert name
        assert event_type
        assert method
        found.append(
            GuideNotification(
                name=name.group(1).strip(),
                event_type=event_type.group(1).strip(),
                method=method.group(1).strip(),
                body=text_,
            )
        )
    return found


def write() -> None:
    FIXTURES_DIR.mkdir(parents=True, exist_ok=True)
    for name, data in build().items():
        (FIXTURES_DIR / name).write_bytes(data)


if __name__ == "__main__":  # pragma: no cover - regenerates the stored files
    sys.path.insert(0, str(Path(__file__).parents[3] / "src"))
    write()


# --- Test helpers shared by the connector's test modules -----------------------------------


@contextmanager
def fixed_encryption_key(settings: Any) -> Iterator[None]:
    """Encrypt with ``ENCRYPTION_KEY`` (and write no key file) for the duration."""
    from trubka.core.crypto import _fernet

    settings.TRUBKA_ENCRYPTION_KEY = ENCRYPTION_KEY
    _fernet.cache_clear()
    try:
        yield
    finally:
        _fernet.cache_clear()


def webhook_path(integration: Any) -> str:
    return f"/okdesk/webhook/{integration.webhook_token}/"


def send(
    integration: Any,
    data: str | bytes,
    *,
    content_type: str = "application/json",
    client: Any = None,
    **extra: Any,
) -> Any:
    """POST a notification body to the account's webhook URL as UIS does."""
    from django.test import Client

    client = client or Client()
    raw = data.encode() if isinstance(data, str) else data
    return client.generic(
        "POST", webhook_path(integration), raw, content_type=content_type, **extra
    )
