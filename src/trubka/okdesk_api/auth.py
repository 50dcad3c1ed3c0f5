"""``api_token`` authentication for ``/api/v1``, with throttling of wrong keys."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.core.cache import cache
from django.http import HttpRequest
from django.utils import timezone
from ninja.security import APIKeyQuery

from trubka.core.security import client_address
from trubka.okdesk_api.common import ApiError
from trubka.okdesk_api.models import ApiKey, key_digest

FAILURES_ALLOWED = 20
FAILURE_WINDOW_SECONDS = 300
LAST_USED_PRECISION = timedelta(minutes=1)


def _client_key(request: HttpRequest) -> str:
    return f"okdesk-api-failures:{client_address(request)}"


class ApiToken(APIKeyQuery):
    """The key's employee becomes ``request.auth``; revoked, unknown or inactive → 401."""

    param_name = "api_token"

    def authenticate(self, request: HttpRequest, key: str | None) -> Any:
        counter = _client_key(request)
        failures = cache.get(counter, 0)
        if failures >= FAILURES_ALLOWED:
            raise ApiError(429, "слишком много неверных ключей; повторите позже")
        if not key:
            self._fail(counter, failures)
            return None
        api_key = (
            ApiKey.objects.select_related("employee")
            .filter(digest=key_digest(key), revoked_at__isnull=True)
            .first()
        )
        if api_key is None or not api_key.employee.is_active:
            self._fail(counter, failures)
            return None
        now = timezone.now()
        if api_key.last_used_at is None or now - api_key.last_used_at > LAST_USED_PRECISION:
            ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=now)
        return api_key.employee

    @staticmethod
    def _fail(counter: str, failures: int) -> None:
        cache.set(counter, failures + 1, FAILURE_WINDOW_SECONDS)
