"""The UIS webhook: authenticate, then hand the body to ``connector.intake``. Nothing else.

The request never waits on the help desk or on UIS: processing happens in the worker. In a
running server the two webhook URLs are answered by ``trubka.connector.providers.uis.asgi``
in front of Django's middleware (the same view functions, one thread hop, no session,
locale or static-file layers); Django's URLconf routes them here too, for the test client and
for any server that mounts Django alone.
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from pydantic import ValidationError

from trubka.connector import intake
from trubka.connector.providers.base import NotificationError
from trubka.connector.providers.uis import accounts
from trubka.connector.providers.uis.parse import UisNotification, read_body
from trubka.connector.providers.uis.provider import PROVIDER
from trubka.core.security import client_address

NOT_FOUND = {"error": "not found"}


@csrf_exempt
@login_not_required
def webhook(request: HttpRequest, token: str) -> JsonResponse:
    """``/okdesk/webhook/<token>/``: the token names the connected UIS account."""
    integration = accounts.by_token(token)
    if integration is None:
        return JsonResponse(NOT_FOUND, status=404)
    return intake.accept(request, integration, request.body, PROVIDER)


@csrf_exempt
@login_not_required
def shared_webhook(request: HttpRequest) -> JsonResponse:
    """``/okdesk/webhook/``, the guide's URL: routed by ``app_id``, and only for accounts that
    allow it from the sender's address. Anything else is a 404 that reveals nothing."""
    raw = request.body
    try:
        note = UisNotification.model_validate(read_body(raw, intake.query_pairs(request)))
    except (NotificationError, ValidationError):
        return JsonResponse(NOT_FOUND, status=404)
    integration = accounts.by_shared_url(note.app_id) if note.app_id is not None else None
    if integration is None or not integration.sender_allowed(client_address(request)):
        return JsonResponse(NOT_FOUND, status=404)
    return intake.accept(request, integration, raw, PROVIDER)
