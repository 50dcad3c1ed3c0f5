"""Keeping people out: login throttling, and refusing placeholder secrets at start-up.

Login throttling counts failed logins in Django's cache (as ``okdesk_api.auth`` does for
wrong API keys), per username and per client address. After
``TRUBKA_LOGIN_MAX_FAILURES`` failures within ``LOGIN_WINDOW_SECONDS`` further attempts are
refused without checking the password, until the window passes. A successful login clears
its username's counter.

``settings.py`` imports this module before Django is set up: nothing here may touch the
settings or the app registry at import time.
"""

from __future__ import annotations

import hashlib
import re
import warnings
from functools import cache as memoize
from typing import Any, TypeVar

from django import forms
from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from trubka.env import ConfigurationError

# Placeholder secrets.

# Compared after lower-casing and dropping everything but letters and digits, so
# "Change-Me", "change_me" and "CHANGEME" are one placeholder.
_PLACEHOLDERS = frozenset(
    {
        "admin",
        "admin123",
        "administrator",
        "changeit",
        "changeme",
        "default",
        "example",
        "insecure",
        "letmein",
        "pass",
        "passw0rd",
        "password",
        "password1",
        "password123",
        "qwerty",
        "secret",
        "secretkey",
        "test",
        "trubka",
        "yoursecretkey",
        "yoursecret",
        "yourkey",
        "yourpassword",
    }
)
# Values that begin like a template's hint ("change-me-to-something-long", Django's
# generated "django-insecure-…" development key).
_PLACEHOLDER_PREFIXES = (
    "changeme",
    "changethis",
    "djangoinsecure",
    "insecure",
    "replaceme",
    "yoursecret",
    "yourkey",
    "yourpassword",
)
MIN_DISTINCT_CHARACTERS = 5


def placeholder_reason(value: str) -> str | None:
    """Why ``value`` looks like a placeholder rather than a real secret; None if it does not.

    The reason never repeats the value: it ends up in error messages and logs.
    """
    normalized = re.sub(r"[^0-9a-z]", "", value.lower())
    if normalized in _PLACEHOLDERS:
        return "it is a well-known placeholder"
    if normalized.startswith(_PLACEHOLDER_PREFIXES):
        return "it starts like a placeholder from an example or Django's development key"
    if len(set(value)) < MIN_DISTINCT_CHARACTERS:
        return f"it has fewer than {MIN_DISTINCT_CHARACTERS} different characters"
    return None


_HINTS = {
    "TRUBKA_SECRET_KEY": (
        "set a long random value (python -c 'import secrets; print(secrets.token_urlsafe(50))') "
        "or leave it empty to have one generated"
    ),
    "TRUBKA_ENCRYPTION_KEY": (
        "set a generated key (python -c 'from cryptography.fernet import Fernet; "
        "print(Fernet.generate_key().decode())') or leave it empty to have one generated"
    ),
    "TRUBKA_ADMIN_PASSWORD": "choose a real password or leave it empty to have one generated",
}


def check_secret(name: str, value: str, *, debug: bool) -> None:
    """Refuse a placeholder in ``name`` outside DEBUG; in DEBUG, only warn. Empty is fine
    (each of Trubka's secrets then has a generated default)."""
    if not value:
        return
    reason = placeholder_reason(value)
    if reason is None:
        return
    hint = _HINTS.get(name, "set a long random value")
    message = f"{name} is not a real secret ({reason}); {hint}"
    if debug:
        warnings.warn(f"{message} (accepted only because TRUBKA_DEBUG is on)", stacklevel=2)
        return
    raise ConfigurationError(message)


# The client's address.


def client_address(request: HttpRequest) -> str:
    """The sender's address; behind a reverse proxy (``TRUBKA_TRUST_X_FORWARDED_FOR``), the
    one the proxy saw: the last ``X-Forwarded-For`` entry, the one the proxy added."""
    if settings.TRUBKA_TRUST_X_FORWARDED_FOR:
        forwarded = request.headers.get("X-Forwarded-For", "")
        if forwarded:
            return forwarded.split(",")[-1].strip()
    return str(request.META.get("REMOTE_ADDR") or "")


# Login throttling.

LOGIN_WINDOW_SECONDS = 15 * 60
THROTTLED_MESSAGE = _("Too many failed login attempts. Wait up to 15 minutes, then try again.")


def _username_key(username: str) -> str:
    # Hashed: cache keys must be short and plain whatever was typed; lower-cased so that
    # changing the case of a login does not buy more guesses.
    digest = hashlib.sha256(username.strip().lower().encode()).hexdigest()
    return f"login-failures:user:{digest}"


def _address_key(address: str) -> str:
    return f"login-failures:addr:{hashlib.sha256(address.encode()).hexdigest()}"


def _counters(username: str, address: str) -> list[str]:
    keys = []
    if username.strip():
        keys.append(_username_key(username))
    if address:
        keys.append(_address_key(address))
    return keys


def login_refused(username: str, address: str) -> bool:
    """Whether attempts for this username or from this address are paused."""
    limit = settings.TRUBKA_LOGIN_MAX_FAILURES
    counts = cache.get_many(_counters(username, address))
    return any(count >= limit for count in counts.values())


def login_failed(username: str, address: str) -> None:
    """Count one failed attempt. The window runs from the first failure it counts."""
    for key in _counters(username, address):
        cache.add(key, 0, LOGIN_WINDOW_SECONDS)
        try:
            cache.incr(key)
        except ValueError:  # expired between add and incr
            cache.set(key, 1, LOGIN_WINDOW_SECONDS)


def login_succeeded(username: str) -> None:
    cache.delete(_username_key(username))


class ThrottledLoginMixin:
    """For ``AuthenticationForm`` classes: a paused username or address is refused before the
    password is looked at; failures are counted, and a success clears the username."""

    THROTTLED = "throttled"

    request: HttpRequest | None
    cleaned_data: dict[str, Any]

    def clean(self) -> dict[str, Any]:
        username = str(self.cleaned_data.get("username") or "")
        address = client_address(self.request) if self.request is not None else ""
        if login_refused(username, address):
            raise forms.ValidationError(THROTTLED_MESSAGE, code=self.THROTTLED)
        try:
            cleaned: dict[str, Any] = super().clean()  # type: ignore[misc]
        except forms.ValidationError:
            login_failed(username, address)
            raise
        if username and self.cleaned_data.get("password"):
            login_succeeded(username)
        return cleaned


FormClass = TypeVar("FormClass", bound=type[forms.Form])


@memoize
def throttled(form_class: FormClass) -> FormClass:
    """``form_class`` (an ``AuthenticationForm``) with login throttling.

    A function rather than ready-made classes because Django's authentication forms cannot
    be imported while ``settings.py`` (which imports this module) is being read. For the
    Django admin's login page: ``admin.site.login_form = throttled(AdminAuthenticationForm)``.
    """
    name = f"Throttled{form_class.__name__}"
    return type(name, (ThrottledLoginMixin, form_class), {})  # type: ignore[return-value]
