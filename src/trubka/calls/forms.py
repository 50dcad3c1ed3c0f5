from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from trubka.calls.models import Direction
from trubka.staff.models import Employee


class CallFilterForm(forms.Form):
    date_from = forms.DateField(
        label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = forms.DateField(
        label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    direction = forms.ChoiceField(
        label=_("Direction"), required=False, choices=[("", _("Any")), *Direction.choices]
    )
    missed = forms.ChoiceField(
        label=_("Missed"),
        required=False,
        choices=[("", _("All calls")), ("yes", _("Missed only")), ("no", _("Answered only"))],
    )
    employee = forms.ModelChoiceField(
        label=_("Employee"),
        queryset=Employee.objects.all(),
        required=False,
        empty_label=_("Anyone"),
    )
    phone = forms.CharField(label=_("Number"), required=False)
