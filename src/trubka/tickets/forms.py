from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from trubka.clients.models import Company, Contact
from trubka.staff.models import Employee
from trubka.tickets.models import Priority, Source, Status, TicketType


class TicketForm(forms.Form):
    title = forms.CharField(label=_("Title"), max_length=255)
    description = forms.CharField(
        label=_("Description"), required=False, widget=forms.Textarea(attrs={"rows": 5})
    )
    contact = forms.ModelChoiceField(
        label=_("Contact"),
        queryset=Contact.objects.filter(active=True).select_related("company"),
        required=False,
        empty_label=_("— none —"),
    )
    company = forms.ModelChoiceField(
        label=_("Company"),
        queryset=Company.objects.filter(active=True),
        required=False,
        empty_label=_("— none —"),
    )
    assignee = forms.ModelChoiceField(
        label=_("Assignee"),
        queryset=Employee.objects.filter(is_active=True),
        required=False,
        empty_label=_("— nobody —"),
    )
    priority = forms.ChoiceField(label=_("Priority"), choices=Priority.choices, initial="normal")
    type = forms.ChoiceField(label=_("Type"), choices=TicketType.choices)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        contact, company = data.get("contact"), data.get("company")
        if contact and company and contact.company_id and contact.company_id != company.pk:
            self.add_error("company", _("The contact works for %(c)s.") % {"c": contact.company})
        return data


class StatusForm(forms.Form):
    status = forms.ChoiceField(label=_("New status"), choices=Status.choices)
    comment = forms.CharField(
        label=_("Comment"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(self, *args: Any, allowed: list[Status] | None = None, **kwargs: Any) -> None:
        """``allowed`` narrows the offered statuses to the moves the ticket can make."""
        super().__init__(*args, **kwargs)
        if allowed is not None:
            field = self.fields["status"]
            assert isinstance(field, forms.ChoiceField)
            field.choices = [(s.value, s.label) for s in allowed]


class AssignForm(forms.Form):
    assignee = forms.ModelChoiceField(
        label=_("Assignee"),
        queryset=Employee.objects.filter(is_active=True),
        required=False,
        empty_label=_("— nobody —"),
    )


class CommentForm(forms.Form):
    content = forms.CharField(label=_("Comment"), widget=forms.Textarea(attrs={"rows": 3}))
    public = forms.BooleanField(
        label=_("Public (visible to the client)"), required=False, initial=False
    )


class TicketFilterForm(forms.Form):
    """The ticket list's filters, read from the query string."""

    STATUS_OPEN = "open"
    STATUS_ANY = "any"

    q = forms.CharField(label=_("Search"), required=False)
    status = forms.ChoiceField(
        label=_("Status"),
        required=False,
        choices=[
            (STATUS_OPEN, _("Open (opened or in progress)")),
            (STATUS_ANY, _("Any status")),
            *Status.choices,
        ],
    )
    assignee = forms.ModelChoiceField(
        label=_("Assignee"),
        queryset=Employee.objects.all(),
        required=False,
        empty_label=_("Anyone"),
    )
    mine = forms.BooleanField(label=_("Mine"), required=False)
    source = forms.ChoiceField(
        label=_("Source"), required=False, choices=[("", _("Any source")), *Source.choices]
    )
