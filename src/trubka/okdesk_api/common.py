"""What every ``/api/v1`` endpoint shares: Okdesk's body wrappers, formats and errors.

- Create calls accept the documented wrapper (``{"issue": {...}}``) and the bare object too
  (Okdesk, a Rails app, wraps bare JSON itself).
- Datetimes in bodies and filters are read in the account's time zone (TIME_ZONE) from
  ``YYYY-MM-DD HH:MM`` (Okdesk's documented form), ``DD-MM-YYYY HH:MM``, dates alone, and
  ISO 8601 (an explicit offset is respected); output is ISO 8601 with milliseconds and the
  offset, like ``2016-03-15T18:05:17.568+03:00``.
- Errors are Okdesk's shape: ``{"errors": {"field": ["message"]}}`` with 422 for bad input,
  ``{"errors": "message"}`` for 401/403/404/429.
- Keyset paging (``page[size]``, ``page[from_id]``, ``page[direction]``) and its OpenAPI
  description, and the input models several routers take, are here too: routers import
  from this module, never from each other.
"""

from __future__ import annotations

import json
from datetime import datetime, time
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone
from ninja import Schema
from pydantic import BaseModel, ValidationError, field_validator
from pydantic_core import PydanticCustomError

from trubka.clients.models import Company, Contact
from trubka.core.phones import normalize_phone

M = TypeVar("M", bound=BaseModel)


MAX_ID = 2**63 - 1


class ApiError(Exception):
    """An answer in Okdesk's error shape; raise it from any endpoint."""

    def __init__(self, status: int, errors: str | dict[str, Any]) -> None:
        super().__init__(str(errors))
        self.status = status
        self.errors = errors


def not_found(what: str = "record") -> ApiError:
    return ApiError(404, f"{what} not found")


# Okdesk's error answer, as the OpenAPI document declares it (a docstring would go into the
# document too).
class ErrorOut(Schema):
    errors: str | dict[str, Any] | list[Any]


# Declared answers. Issues and employees declare their errors as ``ErrorOut``; contacts and
# companies as a bare JSON object (``ERROR``) with their bodies untyped.
ERRORS: dict[int, Any] = {401: ErrorOut, 429: ErrorOut}
ERROR = dict[str, Any]
ONE = {200: dict[str, Any], 401: ERROR, 422: ERROR, 429: ERROR}
WRITE = {200: dict[str, Any], 401: ERROR, 404: ERROR, 422: ERROR, 429: ERROR}
MANY = {200: list[dict[str, Any]], 401: ERROR, 422: ERROR, 429: ERROR}


# Okdesk answers in Russian; the common validation failures read the way its own do.
_MESSAGES = {
    "missing": "обязателен",
    "string_too_short": "не может быть пустым",
    "string_type": "должно иметь тип string",
    "int_type": "должно иметь тип integer",
    "int_parsing": "должно иметь тип integer",
    "bool_parsing": "должно иметь тип boolean",
    "bool_type": "должно иметь тип boolean",
    "list_type": "должно быть массивом",
    "too_short": "не может быть пустым",
}


def _message(item: Any) -> str:
    kind = item.get("type", "")
    if kind in _MESSAGES:
        return _MESSAGES[kind]
    context = item.get("ctx") or {}
    if kind in {"greater_than_equal", "greater_than"} and "ge" in context:
        return f"должно быть больше или равно {context['ge']}"
    if kind in {"less_than_equal", "less_than"} and "le" in context:
        return f"должно быть меньше или равно {context['le']}"
    message = str(item.get("msg", ""))
    return message.removeprefix("Value error, ")


def field_errors(error: ValidationError) -> dict[str, Any]:
    """Pydantic's errors as Okdesk's ``{"field": ["message"]}`` (nested for nested fields)."""
    result: dict[str, Any] = {}
    for item in error.errors():
        location = [str(part) for part in item["loc"]] or ["base"]
        node = result
        for part in location[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                break
        else:
            node.setdefault(location[-1], []).append(_message(item))
    return result


def read_json(request: HttpRequest) -> dict[str, Any]:
    if not request.body:
        return {}
    try:
        data = json.loads(request.body)
    except ValueError:
        raise ApiError(422, {"base": ["the body is not valid JSON"]}) from None
    if not isinstance(data, dict):
        raise ApiError(422, {"base": ["the body must be a JSON object"]})
    return data


def unwrap(request: HttpRequest, root: str, model: type[M]) -> M:
    """The body's ``root`` object (or the body itself when unwrapped) as ``model``."""
    data = read_json(request)
    inner = data.get(root) if isinstance(data.get(root), dict) else data
    try:
        return model.model_validate(inner)
    except ValidationError as exc:
        raise ApiError(422, field_errors(exc)) from None


def account_zone() -> ZoneInfo:
    return ZoneInfo(settings.TIME_ZONE)


_INPUT_FORMATS = ("%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S", "%d-%m-%Y %H:%M", "%d.%m.%Y %H:%M")
_DATE_FORMATS = ("%Y-%m-%d", "%d-%m-%Y", "%d.%m.%Y")


def parse_datetime(value: str | None) -> datetime | None:
    """A datetime from a body or a filter; naive values are in the account's zone."""
    if value is None or str(value).strip() == "":
        return None
    text = str(value).strip()
    parsed: datetime | None = None
    for fmt in _INPUT_FORMATS:
        try:
            parsed = datetime.strptime(text, fmt)  # noqa: DTZ007 - zone applied below
            break
        except ValueError:
            continue
    if parsed is None:
        for fmt in _DATE_FORMATS:
            try:
                parsed = datetime.combine(datetime.strptime(text, fmt).date(), time.min)  # noqa: DTZ007
                break
            except ValueError:
                continue
    if parsed is None:
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError:
            raise ValueError("неверный формат даты (ожидается ГГГГ-ММ-ДД ЧЧ:ММ)") from None
    if not 1900 <= parsed.year <= 9998:
        raise ValueError("год должен быть между 1900 и 9998")
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=account_zone())
    return parsed


def iso(value: datetime | None) -> str | None:
    """Okdesk's output form: ISO 8601 with milliseconds and the account's offset."""
    if value is None:
        return None
    return timezone.localtime(value, account_zone()).isoformat(timespec="milliseconds")


def int_list(request: HttpRequest, name: str) -> list[int]:
    """A Rails-style array filter: ``name[]=1&name[]=2`` (``name=1,2`` accepted too)."""
    raw = request.GET.getlist(f"{name}[]") or request.GET.getlist(name)
    values: list[int] = []
    for item in raw:
        for part in str(item).split(","):
            part = part.strip()
            if not part:
                continue
            if not part.lstrip("-").isdecimal() or len(part) > 18:
                raise ApiError(422, {name: [f"{part[:20]!r} должно иметь тип integer"]})
            values.append(int(part))
    return values


def str_list(request: HttpRequest, name: str) -> list[str]:
    raw = request.GET.getlist(f"{name}[]") or request.GET.getlist(name)
    return [part.strip() for item in raw for part in str(item).split(",") if part.strip()]


DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 100

# The keyset paging parameters in the OpenAPI document (Python names cannot spell them).
PAGE_DOC: dict[str, Any] = {
    "parameters": [
        {
            "in": "query",
            "name": "page[size]",
            "required": False,
            "schema": {
                "type": "integer",
                "minimum": 1,
                "maximum": MAX_PAGE_SIZE,
                "default": DEFAULT_PAGE_SIZE,
            },
        },
        {
            "in": "query",
            "name": "page[from_id]",
            "required": False,
            "schema": {"type": "integer", "minimum": 0},
            "description": "The page starts after this id (exclusive).",
        },
        {
            "in": "query",
            "name": "page[direction]",
            "required": False,
            "schema": {"type": "string", "enum": ["reverse", "forward"], "default": "reverse"},
            "description": "reverse: descending ids (the default); forward: ascending ids.",
        },
    ]
}


def page_params(
    request: HttpRequest, *, default_size: int = DEFAULT_PAGE_SIZE, max_size: int = MAX_PAGE_SIZE
) -> dict[str, Any]:
    """``page[size]``, ``page[number]``, ``page[from_id]``, ``page[direction]``."""
    errors: dict[str, list[str]] = {}
    size_text = request.GET.get("page[size]", str(default_size))
    number_text = request.GET.get("page[number]", "1")
    from_text = request.GET.get("page[from_id]", "")
    direction = request.GET.get("page[direction]", "reverse")
    size = int(size_text) if size_text.isdecimal() else -1
    if not 1 <= size <= max_size:
        errors["size"] = [f"должно быть от 1 до {max_size}"]
    number = int(number_text) if number_text.isdecimal() and len(number_text) <= 9 else -1
    if number < 1:
        errors["number"] = ["должно быть от 1 до 999999999"]
    if from_text and not from_text.isdecimal():
        errors["from_id"] = ["должно иметь тип integer"]
    if direction not in {"reverse", "forward"}:
        errors["direction"] = ["должен быть одним из: reverse, forward"]
    if errors:
        raise ApiError(422, {"page": errors})
    return {
        "size": size,
        "number": number,
        # Beyond the largest id the database can hold means «from the very end».
        "from_id": min(int(from_text), MAX_ID) if from_text else None,
        "direction": direction,
    }


def _inline_refs(schema: dict[str, Any]) -> dict[str, Any]:
    """Replace pydantic's local ``$defs`` references by the definitions themselves, so a
    body schema can be placed anywhere in the OpenAPI document."""
    definitions = schema.pop("$defs", {})

    def resolve(node: Any) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/$defs/"):
                return resolve(definitions[ref.removeprefix("#/$defs/")])
            return {key: resolve(value) for key, value in node.items()}
        if isinstance(node, list):
            return [resolve(item) for item in node]
        return node

    resolved: dict[str, Any] = resolve(schema)
    return resolved


def body_doc(
    model: type[BaseModel], root: str | None = None, *, required: bool = True
) -> dict[str, Any]:
    """``openapi_extra`` describing a JSON body of ``model``, wrapped in ``root`` or not;
    ``required=False`` for a body that may be left out."""
    schema = _inline_refs(model.model_json_schema())
    schema.pop("title", None)
    if root is not None:
        schema = {
            "anyOf": [
                {"type": "object", "properties": {root: schema}, "required": [root]},
                schema,
            ]
        }
    content = {"application/json": {"schema": schema}}
    return {"requestBody": {"required": required, "content": content}}


class Flexible(BaseModel):
    """Input models accept unknown fields (Okdesk clients send more than Trubka uses) and
    read numbers given as strings and the reverse, the way Okdesk does."""

    model_config = {"extra": "allow", "coerce_numbers_to_str": True}


class CleanInput(Flexible):
    """Strings are trimmed and a NUL character is refused (PostgreSQL cannot store one);
    ``email`` must be an address and ``phone``/``mobile_phone`` must have digits."""

    @field_validator("*", mode="after")
    @classmethod
    def _clean_text(cls, value: Any) -> Any:
        if isinstance(value, str):
            if "\x00" in value:
                raise PydanticCustomError("nul", "не должно содержать символ NUL")
            return value.strip()
        return value

    @field_validator("email", mode="after", check_fields=False)
    @classmethod
    def _check_email(cls, value: str | None) -> str | None:
        if value:
            try:
                validate_email(value)
            except DjangoValidationError:
                raise PydanticCustomError("email", "неверный формат e-mail") from None
        return value

    @field_validator("phone", "mobile_phone", mode="after", check_fields=False)
    @classmethod
    def _check_phone(cls, value: str | None) -> str | None:
        if value and not normalize_phone(value).match_key:
            raise PydanticCustomError("phone", "неверный номер телефона: в нём нет цифр")
        return value


# The body of the archive/restore calls (``PATCH …/activations``); none archives. No
# docstring: pydantic would put it into the OpenAPI document.
class ActivationIn(Flexible):
    active: bool = False


def set_active(request: HttpRequest, root: str, record: Contact | Company) -> None:
    """The archive/restore calls: ``{"active": false}`` or no body archives ``record``,
    ``{"active": true}`` restores it (the body wrapped in ``root`` or bare)."""
    body = unwrap(request, root, ActivationIn)
    record.active = body.active
    with transaction.atomic():
        record.save(update_fields=["active", "updated_at"])


def keyset(rows: QuerySet[Any], page: dict[str, Any]) -> list[Any]:
    """One keyset page: ``reverse`` walks down from ``from_id`` (exclusive) or the largest id,
    ``forward`` walks up from ``from_id`` (exclusive) or the smallest id [doc S2 companies/list].
    """
    from_id = page["from_id"]
    if page["direction"] == "forward":
        if from_id is not None:
            rows = rows.filter(pk__gt=from_id)
        rows = rows.order_by("pk")
    else:
        if from_id is not None:
            rows = rows.filter(pk__lt=from_id)
        rows = rows.order_by("-pk")
    return list(rows[: page["size"]])
