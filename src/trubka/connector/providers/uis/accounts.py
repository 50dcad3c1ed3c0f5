"""Which connected UIS account a notification belongs to, without a query per notification.

The webhook is the hottest path in Trubka (every ring, answer and hang-up of every account),
and the account behind a token changes rarely. So each process keeps the accounts it found
for ``CACHE_SECONDS``, loaded with only the columns the webhook reads (the encrypted API keys
are neither fetched nor decrypted here).

Staleness is bounded: a change saved in this process (the setup page, ``trubka integration``)
clears the cache at once through ``post_save``/``post_delete``; another process sees it
within ``CACHE_SECONDS``. So a disabled account or a rotated token can take notifications
for up to two more seconds on other web processes — they are recorded like any other and
processed (or ignored) by the worker under the account's current state. Misses are never
cached: a token that just started to exist is found on its first notification.
"""

from __future__ import annotations

import threading
import time

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from trubka.connector.models import Integration
from trubka.core.crypto import same_secret, token_digest

CACHE_SECONDS = 2.0
# What accept() and the shared URL's checks read; anything else loads on access.
HOT_FIELDS = (
    "id",
    "provider",
    "account_id",
    "timezone",
    "webhook_token_digest",
    "shared_url_allowed",
    "allowed_ips",
    "enabled_at",
)

_lock = threading.Lock()
_by_key: dict[str, tuple[float, Integration]] = {}


def _cached(key: str) -> Integration | None:
    with _lock:
        hit = _by_key.get(key)
    if hit is None or hit[0] < time.monotonic():
        return None
    return hit[1]


def _remember(key: str, integration: Integration) -> Integration:
    with _lock:
        if len(_by_key) > 10_000:  # a bound, whatever is thrown at the webhook
            _by_key.clear()
        _by_key[key] = (time.monotonic() + CACHE_SECONDS, integration)
    return integration


def by_token(token: str) -> Integration | None:
    """The account whose notification URL carries ``token``, or None."""
    digest = token_digest(token)
    key = f"token:{digest}"
    integration = _cached(key)
    if integration is None:
        found = Integration.objects.only(*HOT_FIELDS).filter(webhook_token_digest=digest).first()
        if found is None:
            return None
        integration = _remember(key, found)
    # The lookup is by digest; compare in constant time all the same.
    return integration if same_secret(integration.webhook_token_digest, digest) else None


def by_shared_url(app_id: int) -> Integration | None:
    """The account ``app_id`` if it accepts the guide's shared URL, or None."""
    key = f"shared:{app_id}"
    integration = _cached(key)
    if integration is None:
        found = (
            Integration.objects.only(*HOT_FIELDS)
            .filter(provider="uis", account_id=str(app_id), shared_url_allowed=True)
            .first()
        )
        if found is None:
            return None
        integration = _remember(key, found)
    return integration


def forget_all() -> None:
    with _lock:
        _by_key.clear()


@receiver(post_save, sender=Integration, dispatch_uid="uis-accounts-forget-on-save")
@receiver(post_delete, sender=Integration, dispatch_uid="uis-accounts-forget-on-delete")
def _account_changed(**_kwargs: object) -> None:
    forget_all()
