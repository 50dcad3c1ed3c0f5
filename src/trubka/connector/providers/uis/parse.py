"""Reading UIS HTTP notifications as UIS really sends them.

UIS substitutes each ``{{variable}}`` of a notification template with the JSON encoding of
its value (uis-api notes §1.4), and templates are typed by hand, so real bodies are messy:

- placeholders quoted in the template arrive as ``""value""`` (invalid JSON);
- a variable the event does not have stays as the literal ``{{extension_phone_number}}``,
  or arrives as the bare field name, or ``null``: all of these mean «missing»;
- numbers arrive as strings and strings as numbers;
- ``file_link`` may be one URL or a list; lists may arrive as JSON text;
- the Content-Type is not documented: the body is parsed whatever the header says, as JSON
  first, then as a form; GET notifications carry the fields in the query string, where
  string values keep their JSON quotes.

``read_body`` turns any of these into a plain dict of cleaned values, and
``UisNotification`` gives it types. Unknown fields are kept.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, field_validator

from trubka.connector.providers.base import NotificationError

_PLACEHOLDER = re.compile(r"^\{\{\s*[\w.]*\s*\}\}$")
# A placeholder left unsubstituted outside any string makes the body invalid JSON.
_BARE_PLACEHOLDER = re.compile(r"(?<=[:\[,])(\s*)\{\{\s*[\w.]*\s*\}\}")
# A placeholder written inside quotes in the template: "x": "{{v}}" became "x": ""value"".
_DOUBLE_QUOTED = re.compile(r'(?<=[:\[,])(\s*)""((?:[^"\\]|\\.)*)""(?=\s*[,}\]])')

MAX_BODY_BYTES = 256 * 1024

# When a template is wrong, UIS may put a variable's own name where its value belongs
# (uis-api notes §1.3). The guide's templates rename variables (``"call_id":
# {{call_session_id}}``), so a value equal to any variable's name means «missing».
UIS_VARIABLES = frozenset(
    {
        "app_id",
        "call_session_id",
        "contact_phone_number",
        "extension_phone_number",
        "direction",
        "start_time",
        "file_link",
        "file_duration",
        "noanswered_employee_full_names",
        "notification_time",
        "notification_timestamp",
        "notification_name",
        "notification_mnemonic",
        "virtual_phone_number",
        "employee_full_name",
        "employee_id",
        "employee_ids",
        "leg_id",
        "communication_number",
        "talk_time_duration",
        "wait_time_duration",
        "total_time_duration",
        "record_file_links",
    }
)


def decode(raw: bytes) -> str:
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        # Windows-1251 is the other encoding Russian systems send.
        return raw.decode("cp1251")
    except UnicodeDecodeError:
        raise NotificationError("the body is neither UTF-8 nor Windows-1251 text") from None


def _repair_json(text: str) -> str:
    text = _DOUBLE_QUOTED.sub(r'\1"\2"', text)
    return _BARE_PLACEHOLDER.sub(r"\1null", text)


def _loads_object(text: str) -> dict[str, Any] | None:
    for candidate in (text, _repair_json(text)):
        try:
            value = json.loads(candidate)
        except ValueError:
            continue
        if isinstance(value, dict):
            return value
        raise NotificationError("the body is JSON but not an object: expected {…}")
    return None


def _nest(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    """Form pairs to a dict; ``phone_call[duration]`` becomes ``{"phone_call": {"duration"}}``."""
    result: dict[str, Any] = {}
    for key, value in pairs:
        match = re.fullmatch(r"(\w+)\[(\w+)\]", key)
        if match:
            outer, inner = match.groups()
            nested = result.setdefault(outer, {})
            if isinstance(nested, dict):
                nested[inner] = value
        else:
            result[key] = value
    return result


def _from_text_value(value: str) -> Any:
    """A value from a form or query string: JSON-looking text is decoded, quotes stripped."""
    text = value.strip()
    if text[:1] in "[{" or (len(text) >= 2 and text[0] == text[-1] == '"'):
        try:
            return json.loads(text)
        except ValueError:
            return text.strip('"')
    return text


def read_body(raw: bytes, query: list[tuple[str, str]] | None = None) -> dict[str, Any]:
    """Parse a notification body (any Content-Type) or, when empty, the query string."""
    try:
        return _read_body(raw, query)
    except RecursionError:
        raise NotificationError("the body is nested too deeply to be a notification") from None


def _read_body(raw: bytes, query: list[tuple[str, str]] | None) -> dict[str, Any]:
    if len(raw) > MAX_BODY_BYTES:
        raise NotificationError(f"the body is larger than {MAX_BODY_BYTES // 1024} KiB")
    text = decode(raw).strip()
    data: dict[str, Any] | None = None
    if text:
        data = _loads_object(text)
        if data is None and text[:1] in "{[":
            raise NotificationError(
                "the body looks like JSON but cannot be parsed; check the notification "
                "template for missing commas or quotes"
            )
        if data is None:
            pairs = parse_qsl(text, keep_blank_values=True)
            if not pairs:
                raise NotificationError("the body is neither JSON nor form fields")
            data = {
                k: _from_text_value(v) if isinstance(v, str) else v for k, v in _nest(pairs).items()
            }
            for key, value in list(data.items()):
                if isinstance(value, dict):
                    data[key] = {k: _from_text_value(v) for k, v in value.items()}
    elif query:
        data = _nest(query)
        data = {
            k: (
                {ik: _from_text_value(iv) for ik, iv in v.items()}
                if isinstance(v, dict)
                else _from_text_value(v)
            )
            for k, v in data.items()
        }
    if not data:
        raise NotificationError("the notification is empty")
    return clean(data)


def _clean_value(key: str, value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _clean_value(k, v) for k, v in value.items()}
    if isinstance(value, list):
        items = [_clean_value(key, v) for v in value]
        return [v for v in items if v is not None]
    if isinstance(value, str):
        # NUL cannot be stored in PostgreSQL text; no UIS value contains one.
        text = value.replace("\x00", "").strip()
        while len(text) >= 2 and text[0] == text[-1] == '"':
            text = text[1:-1].strip()
        if not text or text.lower() in {"null", "none", "undefined"}:
            return None
        if _PLACEHOLDER.match(text) or text == key or text in UIS_VARIABLES:
            return None
        return text
    return value


def clean(data: dict[str, Any]) -> dict[str, Any]:
    """Drop placeholder leftovers and stray quotes, keeping every field's name."""
    return {key: _clean_value(key, value) for key, value in data.items()}


def _as_text(value: Any) -> str | None:
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, list):
        return _as_text(value[0]) if value else None
    text = str(value).strip()
    return text or None


def _as_int(value: Any) -> int | None:
    text = _as_text(value)
    if text is None:
        return None
    try:
        return int(float(text.replace(",", ".")))
    except (ValueError, OverflowError):
        raise ValueError(f"{text[:40]!r} is not a number") from None


def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            try:
                return _as_list(json.loads(text))
            except ValueError:
                pass
        return [text] if text else []
    if isinstance(value, list):
        return [t for t in (_as_text(v) for v in value) if t]
    single = _as_text(value)
    return [single] if single else []


_TIME_FORMATS = ("%Y-%m-%d %H:%M:%S.%f", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%d.%m.%Y %H:%M:%S")


def parse_time(value: Any, zone: str) -> datetime | None:
    """A UIS time: local to the account's zone unless it carries an offset; or Unix seconds."""
    text = _as_text(value)
    if text is None:
        return None
    if re.fullmatch(r"\d{9,13}(\.\d+)?", text):
        seconds = float(text)
        if seconds > 1e11:  # milliseconds
            seconds /= 1000
        return datetime.fromtimestamp(seconds, tz=UTC)
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        parsed = None
        for fmt in _TIME_FORMATS:
            try:
                parsed = datetime.strptime(text, fmt)  # noqa: DTZ007 - zone applied below
                break
            except ValueError:
                continue
    if parsed is None:
        raise ValueError(f"{text!r} is not a date and time")
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=ZoneInfo(zone))
    return parsed


class PhoneCallPart(BaseModel):
    """The brief's nested ``phone_call`` object."""

    model_config = ConfigDict(extra="allow")

    duration: int | None = None
    receiver_phone: str | None = None
    source_phone: str | None = None

    @field_validator("duration", mode="before")
    @classmethod
    def _duration(cls, value: Any) -> int | None:
        seconds = _as_int(value)
        # A negative duration is nonsense from a broken template: treat it as unknown.
        return seconds if seconds is None or seconds >= 0 else None

    @field_validator("receiver_phone", "source_phone", mode="before")
    @classmethod
    def _text(cls, value: Any) -> str | None:
        return _as_text(value)


class UisNotification(BaseModel):
    """A notification of the brief's templates (``wait``, ``history``, ``lost``) and others."""

    model_config = ConfigDict(extra="allow")

    action: str | None = None
    app_id: int | None = None
    call_id: str | None = None
    direction: str = "in"
    phone: str | None = None
    extension_phone_number: str | None = None
    started_at: str | None = None
    file_url: list[str] = Field(default_factory=list)
    noanswered_employee_full_names: list[str] = Field(default_factory=list)
    phone_call: PhoneCallPart = Field(default_factory=PhoneCallPart)

    @field_validator("action", mode="before")
    @classmethod
    def _action(cls, value: Any) -> str | None:
        text = _as_text(value)
        return text.lower() if text else None

    @field_validator("app_id", mode="before")
    @classmethod
    def _app_id(cls, value: Any) -> int | None:
        return _as_int(value)

    @field_validator("call_id", "phone", "extension_phone_number", "started_at", mode="before")
    @classmethod
    def _text(cls, value: Any) -> str | None:
        return _as_text(value)

    @field_validator("direction", mode="before")
    @classmethod
    def _direction(cls, value: Any) -> str:
        text = (_as_text(value) or "in").lower()
        if text in {"in", "incoming", "inbound", "0"}:
            return "in"
        if text in {"out", "outgoing", "outbound", "1"}:
            return "out"
        raise ValueError(f"direction {text!r} is neither in nor out")

    @field_validator("file_url", "noanswered_employee_full_names", mode="before")
    @classmethod
    def _list(cls, value: Any) -> list[str]:
        return _as_list(value)

    @field_validator("phone_call", mode="before")
    @classmethod
    def _phone_call(cls, value: Any) -> Any:
        return value if isinstance(value, dict) else {}

    @property
    def client_phone(self) -> str | None:
        return self.phone or self.phone_call.source_phone

    @property
    def extension(self) -> str | None:
        value = self.extension_phone_number or self.phone_call.receiver_phone
        return value if value and value.isascii() and value.isdigit() else None

    @property
    def recording_urls(self) -> list[str]:
        return [u for u in self.file_url if u.startswith(("https://", "http://"))]

    def start_time(self, zone: str) -> datetime | None:
        return parse_time(self.started_at, zone)
