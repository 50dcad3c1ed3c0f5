"""How a provider's webhook stores a notification: once, raw body kept, answered at once.

Provider-neutral: the provider's view authenticates the request and calls ``accept`` with its
``Provider``, which reads the body (``providers/base.py``). Nothing here waits on the help
desk or on the provider; the worker does the rest, woken as the row goes in.
"""

from __future__ import annotations

from typing import Any

from django.db.models import F
from django.db.models.constants import OnConflict
from django.http import HttpRequest, JsonResponse

from trubka.connector.models import CallEvent, EventStatus, Integration
from trubka.connector.providers.base import NotificationError, Provider
from trubka.connector.queue.wakeup import wake_worker
from trubka.core.security import client_address


def query_pairs(request: HttpRequest) -> list[tuple[str, str]]:
    return [(k, v) for k in request.GET for v in request.GET.getlist(k)]


def decode_for_storage(raw: bytes) -> str:
    """The body as text for the event log, whatever it is: never raises."""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            # Windows-1251 is the other encoding Russian systems send.
            text = raw.decode("cp1251")
        except UnicodeDecodeError:
            text = raw.decode("utf-8", errors="replace")
    # NUL cannot be stored in PostgreSQL text.
    return text.replace("\x00", "\\u0000")


def without_nul(value: Any) -> Any:
    """PostgreSQL's jsonb refuses NUL anywhere, keys included: drop it (no provider value has
    one that matters)."""
    if isinstance(value, str):
        return value.replace("\x00", "")
    if isinstance(value, dict):
        return {without_nul(str(k)): without_nul(v) for k, v in value.items()}
    if isinstance(value, list):
        return [without_nul(v) for v in value]
    return value


def _event(
    request: HttpRequest, integration: Integration | None, raw: bytes, **fields: Any
) -> CallEvent:
    return CallEvent(
        integration=integration,
        method=(request.method or "POST")[:10],
        content_type=(request.content_type or "")[:200],
        remote_addr=client_address(request) or None,
        raw_body=decode_for_storage(raw),
        **fields,
    )


def store(
    request: HttpRequest, integration: Integration | None, raw: bytes, **fields: Any
) -> CallEvent:
    event = _event(request, integration, raw, **fields)
    event.save(force_insert=True)
    return event


def store_once(event: CallEvent) -> bool:
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


def _rejected(
    request: HttpRequest, integration: Integration, raw: bytes, error: NotificationError
) -> JsonResponse:
    fields = {k: v for k, v in error.fields.items() if k in ("action", "call_id", "parsed")}
    if "parsed" in fields:
        fields["parsed"] = without_nul(fields["parsed"])
    event = store(
        request, integration, raw, status=EventStatus.REJECTED, last_error=str(error), **fields
    )
    return JsonResponse({"error": str(error), "event": str(event.uuid)}, status=400)


def accept(
    request: HttpRequest, integration: Integration, raw: bytes, provider: Provider
) -> JsonResponse:
    """Record the notification for ``integration`` and answer; a bad body is recorded too,
    as rejected (400). A repeat of a stored notification changes nothing but its count."""
    try:
        note = provider.read(raw, query_pairs(request), integration)
    except NotificationError as exc:
        return _rejected(request, integration, raw, exc)
    notes = list(note.notes)
    fields: dict[str, Any] = {
        "action": note.action[:40],
        "kind": note.kind,
        "call_id": note.call_id[:100],
        "parsed": without_nul(note.parsed),
    }
    if not note.kind:
        # Answer 200 so the provider does not retry a notification Trubka will never act on.
        fields["status"] = EventStatus.IGNORED
    elif not integration.enabled:
        fields["status"] = EventStatus.IGNORED
        notes.append("the integration is disabled")
    fields["last_error"] = "; ".join(notes)
    key = f"{integration.pk}:{note.action}:{note.call_id}:{note.leg}"
    event = _event(request, integration, raw, dedupe_key=key, **fields)
    if not store_once(event):
        counted = CallEvent.objects.filter(dedupe_key=key).update(repeats=F("repeats") + 1)
        if not counted:  # neither stored nor there: never answer 200 for a lost notification
            raise RuntimeError("the notification was neither stored nor found as a repeat")
        return JsonResponse({"status": "duplicate"})
    if event.status == EventStatus.PENDING:
        wake_worker()
    return JsonResponse({"status": event.status, "event": str(event.uuid)})
