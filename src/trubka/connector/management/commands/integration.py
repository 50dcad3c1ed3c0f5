"""``trubka integration add|list|enable|disable``: scripted setup of connected UIS accounts."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from trubka.connector.actions import (
    AccountNotReady,
    do_connect_account,
    do_disable_account,
    do_enable_account,
)
from trubka.connector.models import Integration, Target
from trubka.connector.providers.uis.client import UisApiError, UisClient

# How to supply, from the command line, what enabling found missing.
HINTS = {
    "okdesk": "set the Okdesk account and API key with `trubka integration add`",
    "uis_key": "check the UIS key with `trubka integration add --uis-key`",
}


def webhook_url_for(integration: Integration, base_url: str) -> str:
    return base_url.rstrip("/") + reverse("connector:webhook", args=[integration.webhook_token])


class Command(BaseCommand):
    help = "Connect, list, enable or disable UIS accounts."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        add = sub.add_parser("add", help="connect a UIS account (or update a connected one)")
        add.add_argument("--uis-key", default="", help="the UIS API key")
        add.add_argument("--app-id", type=int, help="the UIS account id (read from the key)")
        add.add_argument("--name", default="", help="account name (read from the key)")
        add.add_argument("--timezone", default="", help="IANA zone (read from the key)")
        add.add_argument(
            "--skip-key-check",
            action="store_true",
            help="do not ask UIS (offline use); needs --app-id",
        )
        add.add_argument("--target", choices=[t.value for t in Target], default=Target.LOCAL)
        add.add_argument("--okdesk-account", default="")
        add.add_argument("--okdesk-key", default="")
        add.add_argument("--disabled", action="store_true", help="save without enabling")
        add.add_argument("--base-url", default="", help="address UIS reaches Trubka at")
        listing = sub.add_parser("list", help="list connected UIS accounts")
        listing.add_argument("--base-url", default="")
        for name in ("enable", "disable"):
            toggle = sub.add_parser(name, help=f"{name} a connected UIS account")
            toggle.add_argument("--app-id", type=int, required=True)

    def handle(self, *args: Any, **options: Any) -> None:
        getattr(self, f"_{options['action']}")(options)

    def _base_url(self, options: dict[str, Any]) -> str:
        return options.get("base_url") or settings.TRUBKA_PUBLIC_URL or "http://127.0.0.1:8000"

    @transaction.atomic
    def _add(self, options: dict[str, Any]) -> None:
        key = options["uis_key"]
        app_id, name, zone = options["app_id"], options["name"], options["timezone"]
        checked = None
        if options["skip_key_check"]:
            if app_id is None:
                raise CommandError("--skip-key-check needs --app-id")
        else:
            if not key:
                raise CommandError("give --uis-key, or --app-id with --skip-key-check")
            try:
                account = UisClient(key).get_account()
            except UisApiError as exc:
                raise CommandError(exc.user_message) from None
            if app_id is not None and app_id != account.app_id:
                raise CommandError(f"the key belongs to UIS account {account.app_id}, not {app_id}")
            app_id, checked = account.app_id, timezone.now()
            name, zone = name or account.name, zone or account.timezone
        if options["target"] == Target.OKDESK and not (
            options["okdesk_account"] and options["okdesk_key"]
        ):
            raise CommandError("--target okdesk needs --okdesk-account and --okdesk-key")
        integration, created = do_connect_account(
            app_id,
            name=name,
            zone=zone,
            uis_api_key=key,
            key_checked_at=checked,
            target=options["target"],
            okdesk_account=options["okdesk_account"],
            okdesk_api_key=options["okdesk_key"],
        )
        if options["disabled"]:
            do_disable_account(integration)
        elif not integration.enabled:
            self._enable_account(integration)
        self.stdout.write(f"{'Connected' if created else 'Updated'} {integration}.")
        self.stdout.write(
            f"Notification URL: {webhook_url_for(integration, self._base_url(options))}"
        )

    def _list(self, options: dict[str, Any]) -> None:
        integrations = Integration.objects.all()
        if not integrations:
            self.stdout.write("No UIS account is connected.")
        for integration in integrations:
            state = "enabled" if integration.enabled else "disabled"
            self.stdout.write(
                f"{integration.account_id}\t{integration.name or '-'}\t{integration.target}\t"
                f"{state}\t"
                f"{webhook_url_for(integration, self._base_url(options))}"
            )

    def _toggle(self, app_id: int, enable: bool) -> None:
        integration = Integration.objects.filter(provider="uis", account_id=str(app_id)).first()
        if integration is None:
            raise CommandError(f"UIS account {app_id} is not connected")
        if enable:
            self._enable_account(integration)
        else:
            do_disable_account(integration)
        self.stdout.write(f"{integration}: {'enabled' if enable else 'disabled'}.")

    @staticmethod
    def _enable_account(integration: Integration) -> None:
        """Enable by the rule of ``trubka.connector.actions``; the operator vouches for the
        account id, so an unchecked UIS key (``--skip-key-check``) is no obstacle here."""
        try:
            do_enable_account(integration, vouched=True)
        except AccountNotReady as exc:
            hint = HINTS.get(exc.missing)
            raise CommandError(f"{exc} ({hint})" if hint else str(exc)) from None

    def _enable(self, options: dict[str, Any]) -> None:
        self._toggle(options["app_id"], True)

    def _disable(self, options: dict[str, Any]) -> None:
        self._toggle(options["app_id"], False)
