"""UIS as a ``Provider`` (``providers/base.py``): its bodies read into notifications, and its
stored notifications into call reports.

UIS sends whatever the customer pasted into its notification templates, so reading is
liberal (``parse.py``); what still makes a body unusable is refused here, before it is queued.
"""

from __future__ import annotations

import hashlib
from typing import Any

from pydantic import ValidationError

from trubka.connector.gateways.base import CallReport
from trubka.connector.models import CallEvent, Integration
from trubka.connector.providers.base import Notification, NotificationError
from trubka.connector.providers.uis.parse import UisNotification, read_body
from trubka.connector.providers.uis.report import KIND_OF_ACTION, KNOWN_ACTIONS, report_of


def _problem(note: UisNotification, integration: Integration) -> str | None:
    """What makes an understood notification unusable."""
    if not note.action:
        return "the field action is missing"
    if note.action in KNOWN_ACTIONS and not note.call_id:
        return "the field call_id is missing"
    if len(note.action) > 40:
        return "the field action is longer than 40 characters"
    if note.call_id and len(note.call_id) > 100:
        return "the field call_id is longer than 100 characters"
    try:
        note.start_time(integration.timezone)
    except ValueError as exc:
        return f"the field started_at: {exc}"
    return None


def _leg(note: UisNotification, raw: bytes) -> str:
    # A call rings on several extensions (one wait each) and may have several recordings
    # (one history each); a lost call is lost once.
    if note.action == "wait":
        return note.extension or ""
    if note.action == "history":
        return hashlib.sha256("\n".join(sorted(note.file_url)).encode()).hexdigest()[:16]
    if note.action == "lost":
        return ""
    return hashlib.sha256(raw).hexdigest()[:16]


class Uis:
    name = "uis"
    label = "UIS"

    def read(
        self, raw: bytes, query: list[tuple[str, str]], integration: Integration
    ) -> Notification:
        data = read_body(raw, query)
        try:
            note = UisNotification.model_validate(data)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()
            )
            raise NotificationError(problems) from None
        parsed: dict[str, Any] = note.model_dump(mode="json", exclude_defaults=False)
        parsed.update({k: v for k, v in data.items() if k not in parsed})
        action, call_id = (note.action or "")[:40], (note.call_id or "")[:100]
        problem = _problem(note, integration)
        if problem:
            raise NotificationError(problem, action=action, call_id=call_id, parsed=parsed)
        notes = []
        if note.app_id is not None and str(note.app_id) != integration.account_id:
            # Still the token's account (the token decides), but the URL is probably pasted
            # into another UIS account's notifications: say so in the log.
            ours = integration.account_id
            notes.append(f"app_id {note.app_id} in the body differs from the account's {ours}")
        kind = KIND_OF_ACTION.get(note.action or "", "")
        if not kind:
            notes.append(f"unknown action {note.action!r}")
        return Notification(
            action=action,
            kind=kind,
            call_id=call_id,
            leg=_leg(note, raw),
            parsed=parsed,
            notes=tuple(notes),
        )

    def report(self, event: CallEvent) -> CallReport:
        return report_of(event)

    def known_actions(self) -> tuple[str, ...]:
        return KNOWN_ACTIONS


PROVIDER = Uis()
