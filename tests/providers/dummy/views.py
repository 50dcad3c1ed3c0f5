from __future__ import annotations

from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from providers.dummy.provider import PROVIDER
from trubka.connector import intake
from trubka.connector.models import Integration
from trubka.core.crypto import token_digest


@csrf_exempt
@login_not_required
def webhook(request: HttpRequest, token: str) -> JsonResponse:
    integration = Integration.objects.filter(
        provider=PROVIDER.name, webhook_token_digest=token_digest(token)
    ).first()
    if integration is None:
        return JsonResponse({"error": "not found"}, status=404)
    return intake.accept(request, integration, request.body, PROVIDER)
