"""Named actions on employees; views, imports and commands call these."""

from __future__ import annotations

from trubka.staff.models import Employee


def free_username(base: str) -> str:
    """``base`` (lower-cased), or ``base2``, ``base3``… when it is taken."""
    base = base.lower()
    username, suffix = base, 1
    while Employee.objects.filter(username=username).exists():
        suffix += 1
        username = f"{base}{suffix}"
    return username


def do_create_employee(
    *,
    username: str,
    first_name: str = "",
    last_name: str = "",
    patronymic: str = "",
    email: str = "",
    extension: str | None = None,
) -> Employee:
    """An employee with no password yet (an administrator sets one); ``username`` is made
    unique with a number when it is taken."""
    employee = Employee(
        username=free_username(username),
        first_name=first_name,
        last_name=last_name,
        patronymic=patronymic,
        email=email,
        extension=extension,
    )
    employee.set_unusable_password()
    employee.save()
    return employee
