"""UIS's part of the setup page: the key that proves whose UIS account is being connected."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _


class UisKeyForm(forms.Form):
    uis_api_key = forms.CharField(
        label=_("UIS API key"),
        max_length=500,
        strip=True,
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
        help_text=_("The key of a UIS user allowed API access (shown once when created)."),
    )
