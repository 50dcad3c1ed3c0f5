"""The archive: the provider's audio of a recording copied into Trubka's storage.

Recording links may expire (see ``calls.recordings``), so with ``TRUBKA_RECORDING_ARCHIVE``
every new link is queued for the worker (``queue_archive``, a ``trubka.core.jobs`` job named
``ARCHIVE_ACTION``), which downloads the audio through the guard (``archive_recording``). A
stored copy is what playback prefers.
"""

from __future__ import annotations

import logging
import tempfile
import time
import uuid
from collections.abc import Mapping
from typing import Any

from django.conf import settings
from django.core.files import File
from django.utils import timezone

from trubka.calls.models import CallRecording
from trubka.calls.recordings import (
    ProviderStatusError,
    RecordingError,
    RecordingUnavailable,
    extension_for,
    open_recording,
)
from trubka.core import jobs
from trubka.core.jobs import PermanentFailure, TemporaryFailure

logger = logging.getLogger(__name__)

#: The name of the archive job (``trubka.core.jobs``), registered in ``CallsConfig.ready``.
ARCHIVE_ACTION = "archive_recording"

#: An archive download must end within this, well inside the worker's 5-minute claim.
ARCHIVE_DEADLINE_SECONDS = 240.0


def is_stored(recording: CallRecording) -> bool:
    """Whether Trubka holds the audio of ``recording`` in its storage."""
    return bool(recording.file) and recording.file.storage.exists(recording.file.name)


def archive_recording(recording: CallRecording) -> None:
    """Copy the provider's audio of ``recording`` into its ``file``; a stored one is kept.

    Sets ``content_type`` and ``archived_at``. The audio is spooled to a temporary file while
    it arrives (never held in memory) and saved to storage only once complete. Raises
    ``TemporaryFailure`` for what may pass (network trouble, timeouts, HTTP 5xx, 408,
    429) and ``PermanentFailure`` for what will not (HTTP 4xx, a refused link, too big,
    not audio). Downloads can take long: call it outside a database transaction.
    """
    if is_stored(recording):
        return
    if not recording.source_url:
        raise PermanentFailure("the recording has no provider link to archive from")
    deadline = time.monotonic() + ARCHIVE_DEADLINE_SECONDS
    try:
        with open_recording(recording.source_url) as upstream:
            if upstream.status_code != 200:
                raise ProviderStatusError(upstream.status_code)
            content_type = upstream.audio_type(recording.content_type)
            with tempfile.TemporaryFile() as spool:
                size = 0
                for chunk in upstream.iter_bytes(deadline=deadline):
                    spool.write(chunk)
                    size += len(chunk)
                if size == 0:
                    raise RecordingUnavailable("the provider sent an empty recording")
                spool.seek(0)
                name = "recording" + extension_for(content_type, recording.source_url)
                recording.file.save(name, File(spool), save=False)
    except RecordingError as exc:
        error = TemporaryFailure if exc.temporary else PermanentFailure
        raise error(f"archiving recording {recording.uuid}: {exc}") from None
    recording.content_type = content_type
    recording.archived_at = timezone.now()
    recording.save(update_fields=["file", "content_type", "archived_at"])
    logger.info("recording %s archived (%s bytes)", recording.uuid, size)


def archive_queued(parsed: Mapping[str, Any]) -> None:
    """Run a queued archive job: ``parsed`` is ``{"recording": "<uuid>"}``."""
    try:
        key = uuid.UUID(str(parsed.get("recording", "")))
    except ValueError:
        raise PermanentFailure("the archive job names no recording") from None
    recording = CallRecording.objects.filter(uuid=key).first()
    if recording is None:
        raise PermanentFailure(f"the recording {key} no longer exists")
    archive_recording(recording)


def queue_archive(recording: CallRecording) -> bool:
    """Queue the archiving of ``recording`` when ``TRUBKA_RECORDING_ARCHIVE`` is on.

    One job per recording, however often it is asked for; the worker runs it with
    ``archive_queued`` (registered in ``CallsConfig.ready``). Returns whether a job was
    queued now.
    """
    if not settings.TRUBKA_RECORDING_ARCHIVE or not recording.source_url:
        return False
    if is_stored(recording):
        return False
    return jobs.enqueue(
        ARCHIVE_ACTION,
        {"recording": str(recording.uuid)},
        key=str(recording.uuid),
        group=recording.call.provider_call_id,
    )
