"""Settings → API: API keys for employees (generated, shown once, revocable)."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from trubka.okdesk_api.models import ApiKey
from trubka.staff.models import Employee


class NewKeyForm(forms.Form):
    employee = forms.ModelChoiceField(
        label=gettext_lazy("Employee"), queryset=Employee.objects.filter(is_active=True)
    )
    name = forms.CharField(label=gettext_lazy("Description"), max_length=200, required=False)


@permission_required("okdesk_api.add_apikey", raise_exception=True)
def key_list(request: HttpRequest) -> HttpResponse:
    form = NewKeyForm(request.POST or None)
    new_token = None
    if request.method == "POST" and form.is_valid():
        _key, new_token = ApiKey.issue(
            form.cleaned_data["employee"],
            name=form.cleaned_data["name"],
            created_by=request.user,
        )
        form = NewKeyForm()
    keys = ApiKey.objects.select_related("employee")
    return render(
        request,
        "okdesk_api/keys.html",
        {
            "form": form,
            "keys": keys,
            "new_token": new_token,
            "api_base": request.build_absolute_uri("/api/v1/"),
        },
    )


@permission_required("okdesk_api.change_apikey", raise_exception=True)
@require_POST
def key_revoke(request: HttpRequest, uuid: str) -> HttpResponse:
    key = get_object_or_404(ApiKey, uuid=uuid)
    if key.revoked_at is None:
        key.revoked_at = timezone.now()
        key.save(update_fields=["revoked_at"])
        messages.success(request, _("The key %(prefix)s… is revoked.") % {"prefix": key.prefix})
    return redirect("api_keys:list")
