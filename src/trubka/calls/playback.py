"""Playing a recording Trubka does not hold: the provider's audio streamed to the browser.

``proxy_response`` fetches the recording through the guard (``calls.recordings``), passes the
browser's ``Range`` on and the provider's answer back, a piece at a time, so the browser never
learns the provider's link and the audio is never held whole. ``error_response`` is the short
plain-text answer for a recording that cannot be played.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase

from trubka.calls.models import CallRecording
from trubka.calls.recordings import ProviderStatusError, RecordingError, Upstream, open_recording
from trubka.core.streaming import stream_to

logger = logging.getLogger(__name__)


class _ProxiedBody:
    """The provider's body for a synchronous server (WSGI, the test client)."""

    def __init__(self, upstream: Upstream, recording: CallRecording) -> None:
        self.upstream, self.recording = upstream, recording

    def __iter__(self) -> Iterator[bytes]:
        try:
            yield from self.upstream.iter_bytes()
        except RecordingError as exc:
            # The status line is gone already; the browser sees a short body and stops.
            logger.warning("recording %s: playback cut off: %s", self.recording.uuid, exc)
        finally:
            self.close()

    def close(self) -> None:
        self.upstream.close()


def error_response(error: RecordingError) -> HttpResponse:
    response = HttpResponse(
        str(error.public_message),
        status=error.http_status,
        content_type="text/plain; charset=utf-8",
    )
    response["Cache-Control"] = "no-store"
    return response


def proxy_response(request: HttpRequest, recording: CallRecording) -> HttpResponseBase:
    """Stream the provider's audio of ``recording`` to the browser, passing ``Range`` on.

    Answers 200 or 206 with the provider's ``Content-Type``, ``Content-Length``,
    ``Content-Range`` and ``Accept-Ranges``; 416 as the provider does; 502 when the provider
    fails or the guard refuses; 504 when the provider is too slow. The body is never held
    whole: it goes through in pieces as it arrives.
    """
    try:
        upstream = open_recording(recording.source_url, byte_range=request.headers.get("Range"))
    except RecordingError as exc:
        logger.warning("recording %s: not played: %s", recording.uuid, exc)
        return error_response(exc)
    try:
        status = upstream.status_code
        if status == 416:
            unsatisfiable = HttpResponse(status=416)
            if "content-range" in upstream.headers:
                unsatisfiable["Content-Range"] = upstream.headers["content-range"]
            upstream.close()
            return unsatisfiable
        if status not in (200, 206):
            raise ProviderStatusError(status)
        content_type = upstream.audio_type(recording.content_type)
    except RecordingError as exc:
        upstream.close()
        logger.warning("recording %s: not played: %s", recording.uuid, exc)
        return error_response(exc)
    body = _ProxiedBody(upstream, recording)
    response = StreamingHttpResponse(body, status=status, content_type=content_type)
    for header in ("Content-Length", "Content-Range", "Accept-Ranges", "Content-Encoding"):
        value = upstream.headers.get(header)
        if value:
            response[header] = value
    response["Cache-Control"] = "private, no-store"
    return stream_to(request, response, body.close)
