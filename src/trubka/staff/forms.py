from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth.forms import SetPasswordMixin
from django.utils.translation import gettext_lazy as _

from trubka.staff.models import Employee

EMPLOYEE_FIELDS = [
    "last_name",
    "first_name",
    "patronymic",
    "position",
    "email",
    "phone",
    "extension",
    "popup_auto_open",
    "is_active",
]


class EmployeeForm(forms.ModelForm):
    class Meta:
        model = Employee
        fields = EMPLOYEE_FIELDS
        labels = {
            "is_active": _("Active (may log in and take calls)"),
            "username": _("Login"),
        }

    def clean_extension(self) -> str | None:
        value = (self.cleaned_data.get("extension") or "").strip()
        return value or None


class NewEmployeeForm(SetPasswordMixin, EmployeeForm):
    """A new employee with a login and a password."""

    password1, password2 = SetPasswordMixin.create_password_fields()

    class Meta(EmployeeForm.Meta):
        fields = ["username", *EMPLOYEE_FIELDS]

    def clean(self) -> dict[str, Any]:
        self.validate_passwords()
        return super().clean() or {}

    def _post_clean(self) -> None:
        super()._post_clean()  # type: ignore[misc]
        self.validate_password_for_user(self.instance)

    def save(self, commit: bool = True) -> Employee:
        employee = super().save(commit=False)
        employee = self.set_password_and_save(employee, commit=commit)
        return employee


class MySettingsForm(forms.ModelForm):
    """What an employee may change about themselves."""

    class Meta:
        model = Employee
        fields = ["popup_auto_open"]
