"""The UIS webhook: authenticate, parse, store the raw event, answer. Nothing else.

The request never waits on the help desk or on UIS: processing happens in the worker. In a
running server the two webhook URLs are answered by ``trubka.connector.providers.uis.asgi``
in front of Django's middleware (the same view functions, one thread hop, no session,
locale or static-file layers); Django's URLconf routes them here too, for the test client and
for any server that mounts Django alone.
"""

from __future__ import annotations

import hashlib
import logging
from typing import Any

from django.contrib.auth.decorators import login_not_required
from django.db.models import F
from django.db.models.constants import OnConflict
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from pydantic import ValidationError

from trubka.connector.models import CallEvent, EventStatus, Integration
from trubka.connector.processing import KNOWN_ACTIONS, wake_worker
from trubka.connector.providers.uis import accounts
from trubka.connector.providers.uis.parse import (
    NotificationError,
    UisNotification,
    decode_for_storage,
    read_body,
)
from trubka.core.security import client_address

logger = logging.getLogger(__name__)

NOT_FOUND = {"error": "not found"}


def _query_pairs(request: HttpRequest) -> list[tuple[str, str]]:
    return [(k, v) for k in request.GET for v in request.GET.getlist(k)]


def _dedupe_key(integration: Integration, note: UisNotification, raw: bytes) -> str:
    if note.action == "wait":
        leg = note.extension or ""
    elif note.action == "history":
        leg = hashlib.sha256("\n".join(sorted(note.file_url)).encode()).hexdigest()[:16]
    elif note.action == "lost":
        leg = ""
    else:
        leg = hashlib.sha256(raw).hexdigest()[:16]
    return f"{integration.pk}:{note.action}:{note.call_id}:{leg}"


def _event(
    request: HttpRequest, integration: Integration | None, raw: bytes, **fields: object
) -> CallEvent:
    return CallEvent(
        integration=integration,
        method=(request.method or "POST")[:10],
        content_type=(request.content_type or "")[:200],
        remote_addr=client_address(request) or None,
        raw_body=decode_for_storage(raw),
        **fields,
    )


def _store(
    request: HttpRequest, integration: Integration | None, raw: bytes, **fields: object
) -> CallEvent:
    event = _event(request, integration, raw, **fields)
    event.save(force_insert=True)
    return event


def _store_once(event: CallEvent) -> bool:
    """Insert ``event`` unless one with its ``dedupe_key`` is stored; True if it went in.

    One autocommit statement, ``INSERT … ON CONFLICT DO NOTHING RETURNING id`` (``INSERT OR
    IGNORE`` on SQLite): no transaction, no savepoint, no IntegrityError round trip. It is
    ``QuerySet._insert``, what ``bulk_create(ignore_conflicts=True)`` runs, called directly
    because only it says whether the row went in (tests pin both outcomes on both databases).
    """
    fields = [f for f in CallEvent._meta.concrete_fields if not f.primary_key]
    rows = CallEvent.objects._insert(  # type: ignore[attr-defined]
        [event],
        fields=fields,
        returning_fields=[CallEvent._meta.pk],
        on_conflict=OnConflict.IGNORE,
    )
    # One row asked for: Django answers [row], and [None] when the conflict skipped it.
    if not rows or rows[0] is None:
        return False
    event.pk = rows[0][0]
    event._state.adding = False
    return True


def _without_nul(value: Any) -> Any:
    """PostgreSQL's jsonb refuses NUL anywhere, keys included: drop it (no UIS value has one)."""
    if isinstance(value, str):
        return value.replace("\x00", "")
    if isinstance(value, dict):
        return {_without_nul(str(k)): _without_nul(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_without_nul(v) for v in value]
    return value


def _problem(note: UisNotification, integration: Integration) -> str | None:
    """What makes an understood notification unusable, checked before it is queued."""
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


def accept(request: HttpRequest, integration: Integration, raw: bytes) -> JsonResponse:
    """Record the notification and answer; a bad body is recorded too, as rejected."""
    try:
        data = read_body(raw, _query_pairs(request))
        note = UisNotification.model_validate(data)
    except NotificationError as exc:
        event = _store(request, integration, raw, status=EventStatus.REJECTED, last_error=str(exc))
        return JsonResponse({"error": str(exc), "event": str(event.uuid)}, status=400)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()
        )
        event = _store(request, integration, raw, status=EventStatus.REJECTED, last_error=problems)
        return JsonResponse({"error": problems, "event": str(event.uuid)}, status=400)
    parsed = note.model_dump(mode="json", exclude_defaults=False)
    parsed.update({k: v for k, v in data.items() if k not in parsed})
    parsed = _without_nul(parsed)
    fields: dict[str, object] = {
        "action": (note.action or "")[:40],
        "call_id": (note.call_id or "")[:100],
        "parsed": parsed,
    }
    problem = _problem(note, integration)
    if problem:
        event = _store(
            request, integration, raw, status=EventStatus.REJECTED, last_error=problem, **fields
        )
        return JsonResponse({"error": problem, "event": str(event.uuid)}, status=400)
    notes = []
    if note.app_id is not None and note.app_id != integration.app_id:
        # Still the token's account (the token decides), but the URL is probably pasted into
        # another UIS account's notifications: say so in the log.
        notes.append(
            f"app_id {note.app_id} in the body differs from the account's {integration.app_id}"
        )
    if note.action not in KNOWN_ACTIONS:
        # Answer 200 so UIS does not retry a notification Trubka will never act on.
        fields["status"] = EventStatus.IGNORED
        notes.append(f"unknown action {note.action!r}")
    elif not integration.enabled:
        fields["status"] = EventStatus.IGNORED
        notes.append("the integration is disabled")
    fields["last_error"] = "; ".join(notes)
    key = _dedupe_key(integration, note, raw)
    event = _event(request, integration, raw, dedupe_key=key, **fields)
    if not _store_once(event):
        counted = CallEvent.objects.filter(dedupe_key=key).update(repeats=F("repeats") + 1)
        if not counted:  # neither stored nor there: never answer 200 for a lost notification
            raise RuntimeError("the notification was neither stored nor found as a repeat")
        return JsonResponse({"status": "duplicate"})
    if event.status == EventStatus.PENDING:
        wake_worker()
    return JsonResponse({"status": event.status, "event": str(event.uuid)})


@csrf_exempt
@login_not_required
def webhook(request: HttpRequest, token: str) -> JsonResponse:
    """``/okdesk/webhook/<token>/``: the token names the connected UIS account."""
    integration = accounts.by_token(token)
    if integration is None:
        return JsonResponse(NOT_FOUND, status=404)
    return accept(request, integration, request.body)


@csrf_exempt
@login_not_required
def shared_webhook(request: HttpRequest) -> JsonResponse:
    """``/okdesk/webhook/``, the guide's URL: routed by ``app_id``, and only for accounts that
    allow it from the sender's address. Anything else is a 404 that reveals nothing."""
    raw = request.body
    try:
        note = UisNotification.model_validate(read_body(raw, _query_pairs(request)))
    except (NotificationError, ValidationError):
        return JsonResponse(NOT_FOUND, status=404)
    integration = accounts.by_shared_url(note.app_id) if note.app_id is not None else None
    if integration is None or not integration.sender_allowed(client_address(request)):
        return JsonResponse(NOT_FOUND, status=404)
    return accept(request, integration, raw)
