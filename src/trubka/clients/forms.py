from __future__ import annotations

from typing import Any

from django import forms
from django.forms import BaseInlineFormSet, inlineformset_factory
from django.utils.translation import gettext_lazy as _

from trubka.clients.models import Company, Contact, PhoneNumber
from trubka.core.phones import normalize_phone


class ContactForm(forms.ModelForm):
    class Meta:
        model = Contact
        fields = [
            "last_name",
            "first_name",
            "patronymic",
            "company",
            "position",
            "email",
            "comment",
            "active",
        ]
        widgets = {"comment": forms.Textarea(attrs={"rows": 3})}

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not data.get("first_name") and not data.get("last_name"):
            raise forms.ValidationError(_("Enter a first name or a last name."))
        return data


class CompanyForm(forms.ModelForm):
    class Meta:
        model = Company
        fields = ["name", "additional_name", "email", "site", "address", "comment", "active"]
        widgets = {"comment": forms.Textarea(attrs={"rows": 3})}


class PhoneFormSetBase(BaseInlineFormSet):
    """The numbers of one client; the same number twice on one card is refused."""

    def clean(self) -> None:
        super().clean()
        seen: dict[str, str] = {}
        for form in self.forms:
            if not form.cleaned_data or form.cleaned_data.get("DELETE"):
                continue
            raw = form.cleaned_data.get("raw", "")
            key = normalize_phone(raw).match_key
            if key in seen:
                form.add_error(
                    "raw", _("This number is already on the card as %(n)s.") % {"n": seen[key]}
                )
            seen[key] = raw


def _phone_formset(parent: type[Contact] | type[Company]) -> Any:
    return inlineformset_factory(
        parent,
        PhoneNumber,
        formset=PhoneFormSetBase,
        fields=["kind", "raw"],
        extra=2,
        can_delete=True,
        widgets={"raw": forms.TextInput(attrs={"placeholder": "+7 916 123-45-67"})},
    )


ContactPhoneFormSet = _phone_formset(Contact)
CompanyPhoneFormSet = _phone_formset(Company)


class FillInForm(forms.Form):
    """A new contact for an unknown number."""

    last_name = forms.CharField(label=_("Last name"), max_length=150, required=False)
    first_name = forms.CharField(label=_("First name"), max_length=150, required=False)
    patronymic = forms.CharField(label=_("Patronymic"), max_length=150, required=False)
    company = forms.ModelChoiceField(
        label=_("Company"),
        queryset=Company.objects.filter(active=True),
        required=False,
        empty_label=_("— none —"),
    )
    position = forms.CharField(label=_("Position"), max_length=255, required=False)
    email = forms.EmailField(label=_("E-mail"), required=False)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not data.get("first_name") and not data.get("last_name"):
            raise forms.ValidationError(_("Enter a first name or a last name."))
        return data
