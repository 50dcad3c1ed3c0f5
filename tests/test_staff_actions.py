"""Creating an employee: one action for the desk's imports (the UIS employee check uses it)."""

from __future__ import annotations

import pytest

from trubka.staff.actions import do_create_employee
from trubka.staff.models import Employee

pytestmark = pytest.mark.django_db


def test_an_employee_is_created_without_a_usable_password():
    employee = do_create_employee(
        username="Ivanov", first_name="Иван", last_name="Иванов", extension="101"
    )
    stored = Employee.objects.get(pk=employee.pk)
    assert (stored.username, stored.first_name, stored.last_name, stored.extension) == (
        "ivanov",
        "Иван",
        "Иванов",
        "101",
    )
    assert not stored.has_usable_password()


def test_a_taken_username_gets_the_next_free_number():
    Employee.objects.create_user(username="ext101", password="x" * 16)
    Employee.objects.create_user(username="ext1012", password="x" * 16)
    first = do_create_employee(username="ext101")
    second = do_create_employee(username="EXT101")
    assert (first.username, second.username) == ("ext1013", "ext1014")
