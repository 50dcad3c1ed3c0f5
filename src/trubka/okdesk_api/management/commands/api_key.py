"""``trubka api-key create --user LOGIN``: a key for scripts, printed once."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from trubka.okdesk_api.models import ApiKey
from trubka.staff.models import Employee


class Command(BaseCommand):
    help = "Create or list API keys for /api/v1."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser("create", help="create a key and print it once")
        create.add_argument("--user", required=True, help="the employee's login")
        create.add_argument("--name", default="", help="what the key is for")
        sub.add_parser("list", help="list keys (never the keys themselves)")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "list":
            for key in ApiKey.objects.select_related("employee"):
                state = "revoked" if key.revoked_at else "active"
                self.stdout.write(f"{key.prefix}…\t{key.employee.username}\t{state}\t{key.name}")
            return
        employee = Employee.objects.filter(username=options["user"], is_active=True).first()
        if employee is None:
            raise CommandError(f"no active employee with the login {options['user']!r}")
        _key, token = ApiKey.issue(employee, name=options["name"])
        self.stdout.write(token)
