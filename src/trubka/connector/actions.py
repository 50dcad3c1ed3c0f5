"""State changes of connected UIS accounts, shared by the setup pages (``/okdesk/``) and
``trubka integration``.

When an account may be enabled (``account_problem``):

- its calls go to an Okdesk cloud account: that account's address and API key are both
  needed, or nothing could be delivered there;
- its calls go to this desk: nothing else is needed;
- either way, the account's UIS key must have been checked with UIS (``key_checked_at``).
  The check is what shows that the UIS account id is the connecting person's own (the
  guide's shared URL finds the account by that id alone), and what gave the account its
  name and time zone. The server's operator at the command line may vouch for the id
  instead (``trubka integration add --skip-key-check``, for offline use): a command run
  with the server's own rights proves nothing more by a key, so commands pass
  ``vouched=True``.

A refusal is an ``AccountNotReady`` whose ``message`` the page and the command both show.
"""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from trubka.connector.models import Integration, Target


class AccountNotReady(Exception):
    """The account may not be enabled yet: ``message`` says what to do, ``missing`` names what
    is missing (``"okdesk"``: the Okdesk account or its key; ``"uis_key"``: a checked UIS
    key), for a caller to add its own way of supplying it."""

    def __init__(self, missing: str, message: str | Promise) -> None:
        super().__init__(message)
        self.missing = missing
        self.message = message

    def __str__(self) -> str:
        return str(self.message)


def account_problem(integration: Integration, *, vouched: bool = False) -> AccountNotReady | None:
    """Why ``integration`` may not be enabled, or None when it may (the module's rule)."""
    if integration.target == Target.OKDESK and not (
        integration.okdesk_account and integration.okdesk_api_key
    ):
        return AccountNotReady("okdesk", _("Enter the Okdesk account name and API key first."))
    if not (vouched or integration.key_checked_at):
        return AccountNotReady("uis_key", _("Check the UIS key first."))
    return None


@transaction.atomic
def do_connect_account(
    app_id: int,
    *,
    name: str = "",
    zone: str = "",
    uis_api_key: str = "",
    key_checked_at: datetime | None = None,
    target: str | None = None,
    target_if_new: str = Target.LOCAL,
    okdesk_account: str = "",
    okdesk_api_key: str = "",
) -> tuple[Integration, bool]:
    """Connect the UIS account ``app_id``, or update the connected one; returns it and whether
    it is new. Empty values keep what the account has; ``target`` None keeps the help desk of
    a connected account and sends a new one to ``target_if_new``. Enabling is separate
    (``do_enable_account``): a new account is not enabled."""
    integration, created = Integration.objects.select_for_update().get_or_create(
        provider="uis", account_id=str(app_id), defaults={"target": target_if_new}
    )
    integration.name = name or integration.name
    integration.timezone = zone or integration.timezone
    if uis_api_key:
        integration.uis_api_key = uis_api_key
    integration.key_checked_at = key_checked_at or integration.key_checked_at
    if target is not None:
        integration.target = target
    if okdesk_account:
        integration.okdesk_account = okdesk_account
    if okdesk_api_key:
        integration.okdesk_api_key = okdesk_api_key
    integration.save()
    return integration, created


def do_enable_account(integration: Integration, *, vouched: bool = False) -> None:
    """Enable ``integration`` from now on; raise ``AccountNotReady`` when it may not be
    (``vouched``: see the module's docstring)."""
    problem = account_problem(integration, vouched=vouched)
    if problem is not None:
        raise problem
    integration.enabled_at = timezone.now()
    integration.save(update_fields=["enabled_at", "updated_at"])


def do_disable_account(integration: Integration) -> None:
    integration.enabled_at = None
    integration.save(update_fields=["enabled_at", "updated_at"])


def do_rotate_webhook_token(integration: Integration) -> str:
    """Give ``integration`` a new notification URL; the old one stops working. Returns the new
    token."""
    token = integration.rotate_token()
    integration.save()
    return token
