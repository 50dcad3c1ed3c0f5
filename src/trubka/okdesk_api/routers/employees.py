"""Employees: the list with telephony numbers, and one employee (okdesk-api notes §7).

``telephony_number`` is the employee's extension (a string, as Okdesk's examples show it):
the number ``POST /telephony/messages`` addresses in ``telephony_numbers``.
Paging is keyset, like Okdesk's other ``/list`` endpoints: ``page[size]`` (≤ 100),
``page[from_id]`` and ``page[direction]=reverse|forward`` (reverse, from the largest id, by
default); a page shorter than ``page[size]`` is the last one.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Router, Schema

from trubka.okdesk_api import shapes
from trubka.okdesk_api.common import (
    ERRORS,
    PAGE_DOC,
    ErrorOut,
    keyset,
    not_found,
    page_params,
)
from trubka.staff.models import Employee

router = Router(tags=["employees"])


class NamedRef(Schema):
    id: int
    name: str


class EmployeeOut(Schema):
    id: int
    first_name: str
    last_name: str
    patronymic: str
    position: str
    active: bool
    email: str
    login: str
    phone: str
    telephony_number: str
    comment: str
    groups: list[NamedRef]
    roles: list[NamedRef]


@router.get(
    "/employees/list",
    response={200: list[EmployeeOut], 422: ErrorOut, **ERRORS},
    openapi_extra=PAGE_DOC,
    summary="List employees with their telephony (extension) numbers",
)
def list_employees(
    request: HttpRequest,
    active: bool | None = None,
    telephony_number: str | None = None,
) -> list[dict[str, Any]]:
    page = page_params(request)
    employees = Employee.objects.all()
    if active is not None:
        employees = employees.filter(is_active=active)
    if telephony_number and telephony_number.strip():
        # Extensions are digits only; «+101» or « 101 » name the same one. A value with no
        # digits matches no one (rather than every employee without an extension); an empty
        # value is no filter.
        digits = "".join(ch for ch in telephony_number if ch.isascii() and ch.isdigit())
        employees = employees.filter(extension=digits) if digits else employees.none()
    return [shapes.employee(e) for e in keyset(employees, page)]


@router.get(
    "/employees/{employee_id}",
    response={200: EmployeeOut, 404: ErrorOut, **ERRORS},
    summary="One employee",
)
def get_employee(request: HttpRequest, employee_id: int) -> dict[str, Any]:
    employee = Employee.objects.filter(pk=employee_id).first()
    if employee is None:
        raise not_found("employee")
    return shapes.employee(employee)
