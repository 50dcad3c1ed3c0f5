"""The guide's setup flow (``/okdesk/``) and the telephony settings pages of the desk."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_not_required, permission_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from trubka.connector.actions import (
    AccountNotReady,
    do_connect_account,
    do_disable_account,
    do_enable_account,
    do_rotate_webhook_token,
)
from trubka.connector.forms import IntegrationForm
from trubka.connector.models import CallEvent, EventStatus, Integration, Target
from trubka.connector.providers.uis.client import UisApiError, UisClient, UisEmployee
from trubka.connector.providers.uis.forms import UisKeyForm
from trubka.connector.providers.uis.notification_bodies import TEMPLATES
from trubka.connector.queue.outcome import retry_event
from trubka.core.views import paginate, query_without_page
from trubka.staff.actions import do_create_employee
from trubka.staff.models import Employee

SESSION_KEY = "connector_accounts"


def _is_desk_admin(request: HttpRequest) -> bool:
    return request.user.is_authenticated and request.user.has_perm("connector.change_integration")


def _may_start(request: HttpRequest) -> bool:
    return _is_desk_admin(request) or settings.TRUBKA_CONNECTOR_PUBLIC_SETUP


def _may_manage(request: HttpRequest, integration: Integration) -> bool:
    if _is_desk_admin(request):
        return True
    proven = request.session.get(SESSION_KEY, [])
    return settings.TRUBKA_CONNECTOR_PUBLIC_SETUP and str(integration.uuid) in proven


def webhook_url(request: HttpRequest, integration: Integration) -> str:
    path = reverse("connector:webhook", args=[integration.webhook_token])
    base = settings.TRUBKA_PUBLIC_URL
    return f"{base}{path}" if base else request.build_absolute_uri(path)


@login_not_required
def setup_start(request: HttpRequest) -> HttpResponse:
    """Step 1 of the guide: paste the UIS key; Trubka checks it and learns the account."""
    if not _may_start(request):
        return redirect(f"{reverse('login')}?next={request.path}")
    form = UisKeyForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        key = form.cleaned_data["uis_api_key"]
        try:
            account = UisClient(key).get_account()
        except UisApiError as exc:
            form.add_error("uis_api_key", exc.user_message)
        else:
            existing = Integration.objects.filter(
                provider="uis", account_id=str(account.app_id)
            ).first()
            if (
                existing is not None
                and existing.target == Target.LOCAL
                and not _is_desk_admin(request)
            ):
                # Connected to this desk by its administrator: holding a UIS key of the
                # account is not enough to take it over.
                form.add_error(
                    "uis_api_key",
                    _(
                        "This UIS account is connected to the help desk by its administrator; "
                        "ask them to change its settings."
                    ),
                )
                return render(
                    request,
                    "connector/setup_start.html",
                    {"form": form, "outgoing_ip": settings.TRUBKA_OUTGOING_IP},
                )
            integration, _created = do_connect_account(
                account.app_id,
                name=account.name,
                zone=account.timezone,
                uis_api_key=key,
                key_checked_at=timezone.now(),
                target_if_new=Target.LOCAL if _is_desk_admin(request) else Target.OKDESK,
            )
            proven = set(request.session.get(SESSION_KEY, []))
            proven.add(str(integration.uuid))
            request.session[SESSION_KEY] = sorted(proven)
            messages.success(
                request,
                _("The UIS key works: account %(id)s «%(name)s».")
                % {"id": account.app_id, "name": account.name},
            )
            return redirect("connector:account", uuid=integration.uuid)
    return render(
        request,
        "connector/setup_start.html",
        {"form": form, "outgoing_ip": settings.TRUBKA_OUTGOING_IP},
    )


@login_not_required
def setup_account(request: HttpRequest, uuid: str) -> HttpResponse:
    """Step 2: where the calls go; then the notification URL, bodies and the checklist."""
    integration = get_object_or_404(Integration, uuid=uuid)
    if not _may_manage(request, integration):
        if not request.user.is_authenticated:
            return redirect("connector:start")
        raise PermissionDenied
    form = IntegrationForm(
        request.POST or None, instance=integration, local_allowed=_is_desk_admin(request)
    )
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, _("Settings saved."))
        return redirect("connector:account", uuid=integration.uuid)
    return render(
        request,
        "connector/setup_account.html",
        {
            "integration": integration,
            "form": form,
            "webhook_url": webhook_url(request, integration),
            "templates": TEMPLATES,
            "is_admin": _is_desk_admin(request),
        },
    )


@login_not_required
@require_POST
def setup_toggle(request: HttpRequest, uuid: str, enable: bool) -> HttpResponse:
    integration = get_object_or_404(Integration, uuid=uuid)
    if not _may_manage(request, integration):
        raise PermissionDenied
    try:
        if enable:
            do_enable_account(integration)
        else:
            do_disable_account(integration)
    except AccountNotReady as exc:
        messages.error(request, str(exc))
    else:
        messages.success(
            request,
            _("The integration is enabled.") if enable else _("The integration is disabled."),
        )
    return redirect("connector:account", uuid=integration.uuid)


@login_not_required
@require_POST
def setup_rotate_token(request: HttpRequest, uuid: str) -> HttpResponse:
    integration = get_object_or_404(Integration, uuid=uuid)
    if not _may_manage(request, integration):
        raise PermissionDenied
    do_rotate_webhook_token(integration)
    messages.success(
        request, _("A new notification URL was made; change it in all three UIS notifications.")
    )
    return redirect("connector:account", uuid=integration.uuid)


@permission_required("connector.view_integration", raise_exception=True)
def telephony_index(request: HttpRequest) -> HttpResponse:
    integrations = Integration.objects.all()
    return render(
        request,
        "connector/telephony_index.html",
        {
            "integrations": integrations,
            "failed_count": CallEvent.objects.filter(status=EventStatus.FAILED).count(),
        },
    )


@permission_required("connector.view_callevent", raise_exception=True)
def event_log(request: HttpRequest) -> HttpResponse:
    events = CallEvent.objects.select_related("integration")
    status = request.GET.get("status", "")
    if status in EventStatus.values:
        events = events.filter(status=status)
    action = request.GET.get("action", "").strip()
    if action:
        events = events.filter(action=action)
    call_id = request.GET.get("call_id", "").strip()
    if call_id:
        events = events.filter(call_id=call_id)
    return render(
        request,
        "connector/event_log.html",
        {
            "page": paginate(request, events),
            "statuses": EventStatus.choices,
            "status": status,
            "action": action,
            "call_id": call_id,
            "filters": query_without_page(request),
        },
    )


@permission_required("connector.change_callevent", raise_exception=True)
@require_POST
def event_retry(request: HttpRequest, uuid: str) -> HttpResponse:
    event = get_object_or_404(CallEvent, uuid=uuid)
    if event.status != EventStatus.FAILED:
        messages.error(request, _("Only a failed event can be retried."))
    else:
        retry_event(event)
        messages.success(request, _("The event is queued again."))
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        target = reverse("connector:events")
    return redirect(target)


@permission_required("connector.change_integration", raise_exception=True)
def employee_check(request: HttpRequest, uuid: str) -> HttpResponse:
    """UIS employees against desk employees, matched by extension number."""
    integration = get_object_or_404(Integration, uuid=uuid)
    error = None
    uis_employees: list[UisEmployee] = []
    try:
        uis_employees = UisClient(integration.uis_api_key).get_employees()
    except UisApiError as exc:
        error = exc.user_message
    desk = {e.extension: e for e in Employee.objects.filter(is_active=True).exclude(extension=None)}
    uis_extensions = {e.extension for e in uis_employees if e.extension}
    missing_in_desk = [e for e in uis_employees if e.extension and e.extension not in desk]
    if request.method == "POST" and not error:
        chosen = set(request.POST.getlist("extension"))
        created = 0
        for uis_employee in missing_in_desk:
            if uis_employee.extension in chosen:
                _create_employee_from_uis(uis_employee)
                created += 1
        messages.success(request, _("Employees created: %(n)s.") % {"n": created})
        return redirect("connector:employees", uuid=integration.uuid)
    return render(
        request,
        "connector/employee_check.html",
        {
            "integration": integration,
            "error": error,
            "rows": [
                {"uis": e, "desk": desk.get(e.extension) if e.extension else None}
                for e in uis_employees
            ],
            "missing_in_desk": missing_in_desk,
            "missing_in_uis": [e for ext, e in sorted(desk.items()) if ext not in uis_extensions],
        },
    )


def _create_employee_from_uis(uis_employee: UisEmployee) -> Employee:
    """A desk employee for a UIS one, with no password yet (an administrator sets it)."""
    return do_create_employee(
        username=uis_employee.login or f"ext{uis_employee.extension}",
        first_name=uis_employee.first_name,
        last_name=uis_employee.last_name or uis_employee.full_name,
        patronymic=uis_employee.patronymic,
        email=uis_employee.email,
        extension=uis_employee.extension,
    )
