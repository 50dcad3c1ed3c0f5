from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib.auth.middleware import LoginRequiredMiddleware as DjangoLoginRequired
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase

API_PREFIX = "/api/v1/"


class LoginRequiredMiddleware(DjangoLoginRequired):
    """Every page needs a session, except the API, which authenticates by ``api_token``."""

    def process_view(
        self,
        request: HttpRequest,
        view_func: Callable[..., Any],
        view_args: Any,
        view_kwargs: Any,
    ) -> HttpResponseBase | None:
        if request.path_info.startswith(API_PREFIX):
            return None
        # Checked before Django's own check, which reads the session first: /healthz must
        # answer 503, not fail, while the database is down.
        if not getattr(view_func, "login_required", True):
            return None
        return super().process_view(request, view_func, view_args, view_kwargs)


class OkdeskPathMiddleware:
    """Okdesk clients write ``/api/v1/contacts/`` and ``/api/v1/contacts`` alike; the API's
    routes have no trailing slash, so one is dropped here (a redirect would lose POST bodies)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        path = request.path_info
        if path.startswith(API_PREFIX) and len(path) > len(API_PREFIX) and path.endswith("/"):
            request.path_info = path.rstrip("/")
        return self.get_response(request)
