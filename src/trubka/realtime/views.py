"""The live stream: Server-Sent Events, one stream per open tab, messages for its employee."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

from asgiref.sync import sync_to_async
from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.db import connection
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.utils import timezone

from trubka.realtime.broker import employee_channel, get_broker
from trubka.realtime.models import AgentNotice

HEARTBEAT_SECONDS = 15
# A browser that reconnects gets what it missed, but not older than this: a ring from ten
# minutes ago is history, not a call to pick up.
REPLAY_WINDOW = timedelta(minutes=2)
# The opening event's name; never "open" or "error", which EventSource fires itself.
READY_EVENT = "ready"


def _event(message: dict[str, Any]) -> str:
    data = json.dumps({"kind": message["kind"], **message["payload"]}, ensure_ascii=False)
    return f"id: {message['id']}\nevent: {message['kind']}\ndata: {data}\n\n"


def _opening(start: int) -> str:
    """The first event of every stream: where it starts in the employee's notices.

    A real event (it has data, so browsers dispatch it), not a bare ``id:`` line: the page
    learns its resume point even when nothing rings, and a stream it has to open again
    (EventSource gave up after an error answer) asks for what rang since this id.
    """
    data = json.dumps({"kind": READY_EVENT})
    retry = settings.TRUBKA_SSE_RETRY_MS
    return f"retry: {retry}\nid: {start}\nevent: {READY_EVENT}\ndata: {data}\n\n"


async def _missed(employee_id: int, after: int) -> list[dict[str, Any]]:
    since = timezone.now() - REPLAY_WINDOW
    rows = AgentNotice.objects.filter(employee_id=employee_id, id__gt=after, created_at__gte=since)
    return [{"id": n.pk, "kind": n.kind, "payload": n.payload} async for n in rows.order_by("id")]


async def _last_id(employee_id: int) -> int:
    last = await AgentNotice.objects.filter(employee_id=employee_id).order_by("-id").afirst()
    return last.pk if last else 0


@sync_to_async  # thread-sensitive: the thread whose connection the reads above used
def _release_connection() -> None:
    connection.close()


@login_not_required  # answers 401 itself: a redirect to a login page means nothing to EventSource
async def stream(request: HttpRequest) -> HttpResponseBase:
    user = await request.auser()
    if not user.is_authenticated:
        return HttpResponse(status=401)
    employee_id = user.pk
    header = request.headers.get("Last-Event-ID") or request.GET.get("last", "")
    after = int(header) if header.isdecimal() and len(header) <= 18 else None

    async def events() -> AsyncIterator[str]:
        # Where this stream starts is fixed before subscribing, and the backlog is read
        # after: a message committed in between is in the backlog, one committed later is
        # pushed, and one in both goes out once.
        start = after if after is not None else await _last_id(employee_id)
        async with get_broker().subscribe(employee_channel(employee_id)) as queue:
            backlog = await _missed(employee_id, start)
            # The stream stays open for hours and reads nothing more from the database:
            # its connection goes back now (to the pool on PostgreSQL), or a few open tabs
            # would hold every pooled connection of the process.
            await _release_connection()
            yield _opening(start)
            # Ids already sent, so a message both replayed and pushed goes out once. A set,
            # not the highest id: transactions may commit out of id order.
            sent: set[int] = set()
            for message in backlog:
                sent.add(message["id"])
                yield _event(message)
            while True:
                try:
                    message = await asyncio.wait_for(queue.get(), HEARTBEAT_SECONDS)
                except TimeoutError:
                    yield ": ping\n\n"
                    continue
                if message["id"] in sent or message["id"] <= start:
                    continue
                sent.add(message["id"])
                yield _event(message)

    response = StreamingHttpResponse(events(), content_type="text/event-stream")
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"
    return response
