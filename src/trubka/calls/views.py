from __future__ import annotations

from datetime import datetime, time, timedelta

from django.http import Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404, render
from django.utils import timezone
from django.utils.translation import gettext as _

from trubka.calls.forms import CallFilterForm
from trubka.calls.models import CallRecording, PhoneCall
from trubka.calls.playback import proxy_response
from trubka.calls.recordings import guess_type, safe_audio_type
from trubka.core.phones import normalize_phone
from trubka.core.ranged import ranged_file_response
from trubka.core.streaming import stream_to
from trubka.core.views import paginate, query_without_page


def settings_index(request: HttpRequest) -> HttpResponse:
    return render(request, "calls/settings_index.html")


def _day_start(day: object) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))  # type: ignore[arg-type]


def call_log(request: HttpRequest) -> HttpResponse:
    """Settings → Telephony integration → Phone call list: every call, filtered."""
    form = CallFilterForm(request.GET or None)
    calls = PhoneCall.objects.select_related(
        "employee", "contact", "company", "ticket"
    ).prefetch_related("recordings")
    form.is_valid()
    # A filter with a bad value is dropped alone (and shown as an error); the others apply.
    data = form.cleaned_data if form.is_bound else {}
    if data.get("date_from"):
        calls = calls.filter(started_at__gte=_day_start(data["date_from"]))
    if data.get("date_to"):
        calls = calls.filter(started_at__lt=_day_start(data["date_to"] + timedelta(days=1)))
    if data.get("direction"):
        calls = calls.filter(direction=data["direction"])
    if data.get("missed"):
        calls = calls.filter(is_missed=data["missed"] == "yes")
    if data.get("employee"):
        calls = calls.filter(employee=data["employee"])
    if data.get("phone"):
        calls = calls.filter(client_match_key=normalize_phone(data["phone"]).match_key)
    return render(
        request,
        "calls/log.html",
        {"form": form, "page": paginate(request, calls), "filters": query_without_page(request)},
    )


def recording_audio(request: HttpRequest, uuid: str) -> HttpResponseBase:
    """A recording's audio, to logged-in staff only, with Range support so players can seek.

    The copy Trubka keeps is served when there is one; otherwise the provider's audio is
    streamed through Trubka (``calls.playback.proxy_response``), so the browser never learns the
    provider's link.
    """
    recording = get_object_or_404(CallRecording, uuid=uuid)
    if recording.file:
        try:
            handle = recording.file.open("rb")
        except FileNotFoundError:
            if not recording.source_url:
                raise Http404(_("The recording file is missing from storage.")) from None
        else:
            # Only audio types: a stored file is served under Trubka's own origin.
            content_type = (
                safe_audio_type(recording.content_type)
                or guess_type(recording.file.name)
                or "application/octet-stream"
            )
            response = ranged_file_response(request, handle, recording.file.size, content_type)
            return stream_to(request, response, handle.close)
    if not recording.source_url:
        raise Http404(_("This recording is not stored in Trubka."))
    return proxy_response(request, recording)
