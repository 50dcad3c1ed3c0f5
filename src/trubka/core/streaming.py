"""Blocking byte streams served to an ASGI server piece by piece.

Django consumes a synchronous ``StreamingHttpResponse`` under ASGI by reading it *whole* into a
list before sending anything. ``stream_to`` swaps such a response's body for ``AsyncChunks``,
which reads the blocking iterator in a worker thread a batch at a time, so a large file or a
slow upstream goes to the client as it is read and is never held in memory. Under WSGI (and
in Django's test client) the response is left as it is.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

from asgiref.sync import sync_to_async
from django.core.handlers.asgi import ASGIRequest
from django.http import HttpRequest, StreamingHttpResponse
from django.http.response import HttpResponseBase

#: About how many bytes are read per thread hop.
BATCH = 256 * 1024

_END = object()


def _next_batch(chunks: Iterator[bytes], limit: int = BATCH) -> bytes | object:
    """Up to about ``limit`` bytes from ``chunks`` (one thread hop per batch), or ``_END``."""
    batch: list[bytes] = []
    size = 0
    for chunk in chunks:
        batch.append(chunk)
        size += len(chunk)
        if size >= limit:
            break
    return b"".join(batch) if batch else _END


class AsyncChunks:
    """Serves a blocking iterator of bytes to an ASGI server without gathering it first.

    Django consumes a synchronous ``StreamingHttpResponse`` under ASGI by reading it *whole*
    into a list; this reads it piece by piece in a worker thread instead. ``close`` ends the
    source (a network connection, a file) and may be called more than once.
    """

    def __init__(self, chunks: Iterator[bytes], close: Callable[[], Any]) -> None:
        self._chunks = chunks
        self._close = close
        self._closed = False

    async def __aiter__(self) -> AsyncIterator[bytes]:
        try:
            while True:
                batch = await sync_to_async(_next_batch, thread_sensitive=False)(self._chunks)
                if batch is _END:
                    return
                assert isinstance(batch, bytes)
                yield batch
        finally:
            self.close()

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._close()


def stream_to(
    request: HttpRequest, response: HttpResponseBase, close: Callable[[], Any]
) -> HttpResponseBase:
    """Make a streaming response stream under ASGI too (see ``AsyncChunks``).

    ``close`` ends the response's source; it is also called when the client goes away
    mid-stream, where Django's ASGI handler does not close the response.
    """
    if (
        isinstance(request, ASGIRequest)
        and isinstance(response, StreamingHttpResponse)
        and not response.is_async
    ):
        chunks = iter(response.streaming_content)  # type: ignore[arg-type]
        response.streaming_content = AsyncChunks(chunks, close)
    return response
