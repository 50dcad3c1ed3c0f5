"""The webhook's own lane: the two UIS URLs answered in front of Django's middleware.

UIS posts every ring, answer and hang-up of every connected account here, so this is the
path that decides how many calls one server can take. Through Django's full stack a
notification pays for the session, locale, CSRF, authentication, message and static-file
layers (none of which a token-authenticated JSON endpoint uses) and, because some of them
are sync-only, for several hops between the event loop and threads. Here it pays for one
hop: the body is read on the event loop, then one thread runs the very same view functions
(``views.webhook`` / ``views.shared_webhook``) and the connection goes back (to the pool on
PostgreSQL) before the answer is sent.

What the skipped layers would have done and still matters is done here: the Host header is
checked against ``ALLOWED_HOSTS``, a body larger than ``DATA_UPLOAD_MAX_MEMORY_SIZE`` is
refused, answers carry ``X-Content-Type-Options: nosniff``, and a failure is logged and
answered 500 so that UIS sends the notification again. Every other path goes to Django.
"""

from __future__ import annotations

import io
import logging
import re
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from asgiref.sync import sync_to_async
from django.conf import settings
from django.core.exceptions import DisallowedHost
from django.core.handlers.asgi import ASGIRequest
from django.db import close_old_connections, connection
from django.http import HttpResponse, JsonResponse

from trubka.connector.providers.uis import views

logger = logging.getLogger(__name__)

# The shapes Django's own ASGIHandler is typed with.
Scope = dict[str, Any]
Receive = Callable[[], Awaitable[Mapping[str, Any]]]
Send = Callable[[Mapping[str, Any]], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

# /okdesk/webhook/ (the guide's shared URL) and /okdesk/webhook/<token>/, as in connector/urls.
WEBHOOK_PATH = re.compile(r"/okdesk/webhook/(?:(?P<token>[^/]+)/)?")


class _Disconnected(Exception):
    pass


class _TooLarge(Exception):
    pass


async def _read_body(receive: Receive, limit: int | None) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise _Disconnected
        chunk = message.get("body", b"")
        size += len(chunk)
        if limit is not None and size > limit:
            raise _TooLarge
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def _answer(scope: Scope, body: bytes, token: str | None) -> HttpResponse:
    """Runs in a worker thread: the view, with the database connection handed back after."""
    close_old_connections()
    try:
        request = ASGIRequest(scope, io.BytesIO(body))
        try:
            request.get_host()
        except DisallowedHost:
            return JsonResponse({"error": "this host name is not served here"}, status=400)
        if token is None:
            return views.shared_webhook(request)
        return views.webhook(request, token)
    except Exception:
        # The trace goes through the redacting log handler: the token never reaches it.
        logger.exception("the webhook could not take a notification")
        return JsonResponse({"error": "internal error, send it again"}, status=500)
    finally:
        # Always, whatever CONN_MAX_AGE says: this thread serves other requests next, and a
        # pooled connection must go back to the pool now, not when the thread ends.
        connection.close()


async def _send(send: Send, response: HttpResponse) -> None:
    headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in response.items()]
    headers.append((b"x-content-type-options", b"nosniff"))
    await send({"type": "http.response.start", "status": response.status_code, "headers": headers})
    await send({"type": "http.response.body", "body": response.content})


def with_webhook_lane(django_app: ASGIApp) -> ASGIApp:
    """Wrap Django's ASGI application: webhook requests here, everything else to Django."""
    answer = sync_to_async(_answer, thread_sensitive=False)

    async def application(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            path = scope["path"]
            root = scope.get("root_path", "")
            if root and path.startswith(root):
                path = path[len(root) :]
            match = WEBHOOK_PATH.fullmatch(path)
            if match is not None:
                try:
                    body = await _read_body(receive, settings.DATA_UPLOAD_MAX_MEMORY_SIZE)
                except _Disconnected:
                    return
                except _TooLarge:
                    too_large = JsonResponse({"error": "the body is too large"}, status=413)
                    await _send(send, too_large)
                    return
                await _send(send, await answer(scope, body, match["token"]))
                return
        await django_app(scope, receive, send)

    return application
