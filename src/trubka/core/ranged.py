"""File responses that honour HTTP Range, so an <audio> element can show length and seek."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import IO

from django.http import FileResponse, HttpRequest, HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase

_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")
_CHUNK = 64 * 1024


class _FileSlice:
    """``length`` bytes of ``handle`` from ``start``, in chunks.

    Django calls ``close()`` when the response ends, read to the end or not, so the file is
    closed even when the browser goes away before the first chunk.
    """

    def __init__(self, handle: IO[bytes], start: int, length: int) -> None:
        self.handle, self.start, self.length = handle, start, length

    def __iter__(self) -> Iterator[bytes]:
        self.handle.seek(self.start)
        remaining = self.length
        while remaining > 0:
            chunk = self.handle.read(min(_CHUNK, remaining))
            if not chunk:
                break
            remaining -= len(chunk)
            yield chunk

    def close(self) -> None:
        self.handle.close()


def ranged_file_response(
    request: HttpRequest, handle: IO[bytes], size: int, content_type: str
) -> HttpResponseBase:
    """Answer with the whole file, or with the one byte range the request asks for.

    Several ranges in one request (multipart/byteranges) are answered with the whole file,
    which RFC 9110 allows; browsers ask for a single range when playing media.
    """
    header = request.headers.get("Range", "")
    match = _RANGE.match(header.strip())
    if not match or (not match.group(1) and not match.group(2)):
        response = FileResponse(handle, content_type=content_type)
        response["Accept-Ranges"] = "bytes"
        response["Content-Length"] = str(size)
        return response
    first, last = match.groups()
    if first:
        start = int(first)
        end = min(int(last), size - 1) if last else size - 1
    else:
        start = max(size - int(last), 0)
        end = size - 1
    if start >= size or start > end:
        handle.close()
        refusal = HttpResponse(status=416)
        refusal["Content-Range"] = f"bytes */{size}"
        return refusal
    length = end - start + 1
    streaming = StreamingHttpResponse(
        _FileSlice(handle, start, length), status=206, content_type=content_type
    )
    streaming["Content-Range"] = f"bytes {start}-{end}/{size}"
    streaming["Content-Length"] = str(length)
    streaming["Accept-Ranges"] = "bytes"
    return streaming
