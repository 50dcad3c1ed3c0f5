"""Telephony: the incoming-call popup and call records (okdesk-api notes §2–§3).

``GET /phone_calls`` is a Trubka extension: Okdesk documents no way to read calls back.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db.models import Q
from django.http import HttpRequest
from django.utils import timezone
from ninja import Router
from pydantic import Field, field_validator

from trubka.calls.actions import do_add_recording, do_log_call, do_request_popup
from trubka.calls.models import Direction, PhoneCall
from trubka.core.phones import normalize_phone
from trubka.okdesk_api import shapes
from trubka.okdesk_api.common import (
    ApiError,
    Flexible,
    body_doc,
    page_params,
    parse_datetime,
    unwrap,
)
from trubka.staff.models import Employee
from trubka.tickets.models import Ticket

router = Router(tags=["telephony"])

API_PROVIDER = "api"


class TelephonyMessageIn(Flexible):
    phone: str = Field(min_length=1, max_length=64)
    telephony_numbers: list[str] = Field(min_length=1, max_length=100)
    search_numbers_count: int | None = Field(default=None, ge=1, le=15)

    @field_validator("telephony_numbers", mode="before")
    @classmethod
    def _numbers(cls, value: Any) -> Any:
        # Extensions arrive as ints (ast2okdesk) or strings (employees/list): both are read.
        if isinstance(value, (str, int)) and not isinstance(value, bool):
            value = [value]
        if not isinstance(value, list):
            return value
        numbers = []
        for item in value:
            if isinstance(item, bool) or not isinstance(item, (str, int)):
                raise ValueError("должно быть массивом добавочных номеров")
            text = str(item).strip()
            if not (text.isascii() and text.isdigit() and len(text) <= 10):
                raise ValueError(f"{text[:20]!r} не добавочный номер (1–10 цифр)")
            numbers.append(text)
        return numbers


@router.post(
    "/telephony/messages",
    response={200: dict[str, Any]},
    openapi_extra=body_doc(TelephonyMessageIn),
    summary="Pop up an incoming call for employees by their extension numbers",
)
def telephony_message(request: HttpRequest) -> dict[str, Any]:
    body = unwrap(request, "telephony_message", TelephonyMessageIn)
    # The same path the connector's «wait» takes: a popup request per extension. Matching
    # uses Trubka's configured number of trailing digits; search_numbers_count is accepted.
    popups = do_request_popup(phone=body.phone, extensions=body.telephony_numbers)
    return {
        "phone": body.phone,
        "telephony_numbers": body.telephony_numbers,
        "employees": sorted({p.employee_id for p in popups if p.employee_id}),
    }


class PhoneCallIn(Flexible):
    call_id: str = Field(min_length=1, max_length=100)
    started_at: str | None = Field(default=None, max_length=40)
    finished_at: str | None = Field(default=None, max_length=40)
    duration: int | None = Field(default=None, ge=0, le=2_147_483_647)
    # Left out: a call already recorded keeps its direction; a new one is incoming.
    direction: int | str | None = None
    source_phone: str | None = Field(default=None, max_length=64)
    receiver_phone: str | None = Field(default=None, max_length=64)
    search_numbers_count: int | None = Field(default=None, ge=1, le=15)
    file_url: str | None = Field(default=None, max_length=1000)
    issue_id: int | None = Field(default=None, ge=1, le=2**63 - 1)

    @field_validator("direction", mode="before")
    @classmethod
    def _direction(cls, value: Any) -> Any:
        if value is None:
            return None
        text = str(value).strip().lower()
        if text in {"0", "in", "incoming"}:
            return 0
        if text in {"1", "out", "outgoing"}:
            return 1
        raise ValueError("должен быть 0 (входящий) или 1 (исходящий)")


@router.post(
    "/phone_calls",
    response={200: dict[str, Any]},
    openapi_extra=body_doc(PhoneCallIn, "phone_call"),
    summary="Record a call (merged by call_id)",
)
def create_phone_call(request: HttpRequest) -> dict[str, Any]:
    body = unwrap(request, "phone_call", PhoneCallIn)
    errors: dict[str, list[str]] = {}
    moments: dict[str, datetime | None] = {}
    for name in ("started_at", "finished_at"):
        try:
            moments[name] = parse_datetime(getattr(body, name))
        except ValueError as exc:
            errors[name] = [str(exc)]
    started, finished = moments.get("started_at"), moments.get("finished_at")
    ticket = None
    if body.issue_id is not None:
        ticket = Ticket.objects.filter(pk=body.issue_id).first()
        if ticket is None:
            errors["issue_id"] = ["заявка не найдена"]
    if errors:
        raise ApiError(422, errors)
    if body.direction is None:
        known = PhoneCall.objects.filter(provider=API_PROVIDER, provider_call_id=body.call_id)
        incoming = known.values_list("direction", flat=True).first() != Direction.OUTGOING
    else:
        incoming = body.direction == 0
    client_number = (body.source_phone if incoming else body.receiver_phone) or ""
    our_number = (body.receiver_phone if incoming else body.source_phone) or ""
    our_digits = normalize_phone(our_number).digits
    employee = (
        Employee.objects.filter(extension=our_digits, is_active=True).first()
        if our_digits and len(our_digits) <= 10
        else None
    )
    call = do_log_call(
        provider=API_PROVIDER,
        provider_call_id=body.call_id,
        started_at=started or finished or timezone.now(),
        client_number=client_number,
        direction=Direction.INCOMING if incoming else Direction.OUTGOING,
        our_number=our_number,
        employee=employee,
        finished_at=finished,
        talk_duration=body.duration,
        answered_at=started if body.duration else None,
        ticket=ticket,
        raw={"api": body.model_dump(mode="json")},
    )
    if body.file_url:
        do_add_recording(call, source_url=body.file_url, duration=body.duration)
    return shapes.phone_call(call)


@router.get(
    "/phone_calls",
    response={200: list[dict[str, Any]]},
    summary="List calls (a Trubka extension): newest first, filters and paging",
)
def list_phone_calls(
    request: HttpRequest,
    phone: str | None = None,
    contact_id: int | None = None,
    company_id: int | None = None,
    employee_id: int | None = None,
    missed: bool | None = None,
    direction: int | None = None,
    started_since: str | None = None,
    started_until: str | None = None,
) -> list[dict[str, Any]]:
    page = page_params(request)
    calls = PhoneCall.objects.select_related("employee").prefetch_related("recordings")
    if phone:
        calls = calls.filter(client_match_key=normalize_phone(phone).match_key)
    if contact_id is not None:
        calls = calls.filter(contact_id=contact_id)
    if company_id is not None:
        calls = calls.filter(Q(company_id=company_id) | Q(contact__company_id=company_id))
    if employee_id is not None:
        calls = calls.filter(employee_id=employee_id)
    if missed is not None:
        calls = calls.filter(is_missed=missed)
    if direction is not None:
        if direction not in (0, 1):
            raise ApiError(422, {"direction": ["должен быть 0 или 1"]})
        calls = calls.filter(direction=Direction.INCOMING if direction == 0 else Direction.OUTGOING)
    try:
        since, until = parse_datetime(started_since), parse_datetime(started_until)
    except ValueError as exc:
        raise ApiError(422, {"started_since": [str(exc)]}) from None
    if since:
        calls = calls.filter(started_at__gte=since)
    if until:
        calls = calls.filter(started_at__lte=until)
    calls = calls.order_by("-started_at", "-id")
    offset = (page["number"] - 1) * page["size"]
    return [shapes.phone_call(c) for c in calls[offset : offset + page["size"]]]
