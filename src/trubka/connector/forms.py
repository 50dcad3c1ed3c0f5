from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from trubka.connector.models import Integration, Target
from trubka.core.addresses import parse_network


class IntegrationForm(forms.ModelForm):
    """Where the account's calls go. Keys left empty keep the saved ones."""

    okdesk_api_key = forms.CharField(
        label=_("Okdesk API key"),
        required=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
        help_text=_(
            "Okdesk: Settings → API → Generate a new key. Leave empty to keep the saved key."
        ),
    )

    class Meta:
        model = Integration
        fields = [
            "target",
            "okdesk_account",
            "okdesk_timezone",
            "shared_url_allowed",
            "allowed_ips",
        ]
        widgets = {
            "target": forms.RadioSelect,
            "allowed_ips": forms.Textarea(attrs={"rows": 2}),
        }
        help_texts = {
            "okdesk_account": _(
                "The name from your Okdesk address bar (yourcompany for "
                "https://yourcompany.okdesk.ru), or the full address of the account."
            )
        }

    def __init__(self, *args: Any, local_allowed: bool = True, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.local_allowed = local_allowed

    def clean_allowed_ips(self) -> str:
        lines = [line.strip() for line in self.cleaned_data["allowed_ips"].split() if line.strip()]
        for line in lines:
            if parse_network(line) is None:
                raise forms.ValidationError(
                    _("%(value)s is not an IP address or network.") % {"value": line}
                )
        return "\n".join(lines)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        target = data.get("target")
        if target == Target.LOCAL and not self.local_allowed:
            self.add_error(
                "target", _("Connecting UIS to this help desk needs a desk administrator.")
            )
        if target == Target.OKDESK:
            if not data.get("okdesk_account"):
                self.add_error("okdesk_account", _("Enter the Okdesk account name."))
            if not data.get("okdesk_api_key") and not self.instance.okdesk_api_key:
                self.add_error("okdesk_api_key", _("Enter the Okdesk API key."))
        if data.get("shared_url_allowed") and not data.get("allowed_ips"):
            self.add_error(
                "allowed_ips",
                _("The shared URL carries no secret: list the addresses UIS sends from."),
            )
        return data

    def save(self, commit: bool = True) -> Integration:
        integration = super().save(commit=False)
        if self.cleaned_data.get("okdesk_api_key"):
            integration.okdesk_api_key = self.cleaned_data["okdesk_api_key"]
        if commit:
            integration.save()
        return integration
