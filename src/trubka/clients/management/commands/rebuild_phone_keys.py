"""``trubka rebuild-phone-keys``: recompute stored phone match keys.

Run it after changing TRUBKA_PHONE_MATCH_DIGITS or TRUBKA_PHONE_REGION: the keys of numbers
already stored were computed with the old values, and callers would not be found by them.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand
from django.db import transaction

from trubka.calls.models import PhoneCall
from trubka.clients.models import PhoneNumber
from trubka.core.phones import normalize_phone

BATCH = 2000


class Command(BaseCommand):
    help = "Recompute the match keys of stored client numbers and call numbers."

    def handle(self, *args: Any, **options: Any) -> None:
        changed_numbers = self._rebuild_numbers()
        changed_calls = self._rebuild_calls()
        self.stdout.write(f"Updated {changed_numbers} client numbers and {changed_calls} calls.")

    def _rebuild_numbers(self) -> int:
        changed = 0
        pending: list[PhoneNumber] = []
        for phone in PhoneNumber.objects.only("id", "raw", "e164", "match_key").iterator(BATCH):
            normalized = normalize_phone(phone.raw)
            if (normalized.e164 or "", normalized.match_key) != (phone.e164, phone.match_key):
                phone.e164 = normalized.e164 or ""
                phone.match_key = normalized.match_key
                pending.append(phone)
            if len(pending) >= BATCH:
                changed += self._save(PhoneNumber, pending, ["e164", "match_key"])
        return changed + self._save(PhoneNumber, pending, ["e164", "match_key"])

    def _rebuild_calls(self) -> int:
        changed = 0
        pending: list[PhoneCall] = []
        fields = ["client_e164", "client_match_key"]
        calls = PhoneCall.objects.exclude(client_number="").only("id", "client_number", *fields)
        for call in calls.iterator(BATCH):
            normalized = normalize_phone(call.client_number)
            if (normalized.e164 or "", normalized.match_key) != (
                call.client_e164,
                call.client_match_key,
            ):
                call.client_e164 = normalized.e164 or ""
                call.client_match_key = normalized.match_key
                pending.append(call)
            if len(pending) >= BATCH:
                changed += self._save(PhoneCall, pending, fields)
        return changed + self._save(PhoneCall, pending, fields)

    @staticmethod
    def _save(model: Any, objects: list[Any], fields: list[str]) -> int:
        count = len(objects)
        if objects:
            with transaction.atomic():
                model.objects.bulk_update(objects, fields)
            objects.clear()
        return count
