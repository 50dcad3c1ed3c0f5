from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import NON_FIELD_ERRORS
from django.core.paginator import Page, Paginator
from django.http import HttpRequest, HttpResponse

from trubka.core.security import THROTTLED_MESSAGE, ThrottledLoginMixin, throttled


class LoginView(auth_views.LoginView):
    """The desk's login page, with failed attempts throttled (``trubka.core.security``)."""

    template_name = "registration/login.html"
    redirect_authenticated_user = True

    def get_form_class(self) -> type[AuthenticationForm]:
        return throttled(super().get_form_class())

    def form_invalid(self, form: AuthenticationForm) -> HttpResponse:
        if not form.has_error(NON_FIELD_ERRORS, code=ThrottledLoginMixin.THROTTLED):
            return super().form_invalid(form)
        # Paused: say so instead of «wrong username or password», with a fresh form (the
        # refused one was never checked) that keeps the username typed.
        messages.error(self.request, THROTTLED_MESSAGE)
        fresh = self.get_form_class()(
            self.request, initial={"username": form.data.get("username", "")}
        )
        return self.render_to_response(self.get_context_data(form=fresh), status=429)


def paginate(request: HttpRequest, items: Any, per_page: int = 50) -> Page:
    return Paginator(items, per_page).get_page(request.GET.get("page"))


def query_without_page(request: HttpRequest) -> str:
    """The current query string minus ``page``, for pagination links that keep filters."""
    params = request.GET.copy()
    params.pop("page", None)
    return params.urlencode()
