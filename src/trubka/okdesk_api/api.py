"""The Okdesk-compatible REST API at ``/api/v1`` (see README «Okdesk API»)."""

from __future__ import annotations

from django.db import DataError
from django.http import HttpRequest, HttpResponse
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError

from trubka.okdesk_api.auth import ApiToken
from trubka.okdesk_api.common import ApiError

api = NinjaAPI(
    title="Trubka: Okdesk-compatible API",
    version="1",
    description=(
        "The parts of Okdesk's REST API that telephony integrations and scripts use. "
        "Every request carries ?api_token=…"
    ),
    auth=ApiToken(),
    urls_namespace="okdesk_api",
    docs_url="/docs",
)


@api.exception_handler(ApiError)
def _api_error(request: HttpRequest, exc: ApiError) -> HttpResponse:
    return api.create_response(request, {"errors": exc.errors}, status=exc.status)


@api.exception_handler(AuthenticationError)
def _unauthenticated(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    return api.create_response(
        request, {"errors": "неверный или отсутствующий api_token"}, status=401
    )


@api.exception_handler(NinjaValidationError)
def _invalid(request: HttpRequest, exc: NinjaValidationError) -> HttpResponse:
    errors: dict[str, list[str]] = {}
    for item in exc.errors:
        location = [str(p) for p in item.get("loc", ()) if p not in {"query", "body", "path"}]
        errors.setdefault(".".join(location) or "base", []).append(str(item.get("msg", "")))
    return api.create_response(request, {"errors": errors}, status=422)


@api.exception_handler(OverflowError)
@api.exception_handler(DataError)
def _out_of_range(request: HttpRequest, exc: Exception) -> HttpResponse:
    # A number or date beyond what the database stores (SQLite raises OverflowError,
    # PostgreSQL DataError): the client's input, not a server fault.
    return api.create_response(
        request, {"errors": {"base": ["значение вне допустимого диапазона"]}}, status=422
    )


@api.exception_handler(HttpError)
def _http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    return api.create_response(request, {"errors": str(exc)}, status=exc.status_code)


def register_routers() -> None:
    """Mount every router module found in ``routers/`` (each defines ``router``)."""
    import importlib
    import pkgutil

    from trubka.okdesk_api import routers

    for module_info in sorted(pkgutil.iter_modules(routers.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{routers.__name__}.{module_info.name}")
        router = getattr(module, "router", None)
        if router is not None:
            api.add_router(getattr(module, "PREFIX", ""), router)


register_routers()
