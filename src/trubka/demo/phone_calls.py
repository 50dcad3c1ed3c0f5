"""Demo calls, logged through the call actions, the answered ones with a generated recording."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.core.files.base import ContentFile

from trubka.calls.actions import do_add_recording, do_log_call
from trubka.calls.audio import make_tone_wav
from trubka.calls.models import Direction, PhoneCall
from trubka.demo.base import DeskBase
from trubka.demo.planning import CallPlan
from trubka.demo.seeds import DEMO_PROVIDER, OUR_NUMBER, RECORDING_SAMPLE_RATE, RECORDING_TONES


class CallMaker(DeskBase):
    """Logs a planned call and stores a short tone recording for it when it was answered."""

    def _log_call(self, plan: CallPlan, call_id: str) -> None:
        answered_at = plan.started_at + timedelta(seconds=plan.wait) if plan.answered else None
        our_number = OUR_NUMBER
        if plan.employee is not None and plan.employee.extension:
            our_number = plan.employee.extension
        ticket = plan.ticket.ticket if plan.ticket else None
        call = do_log_call(
            provider=DEMO_PROVIDER,
            provider_call_id=call_id,
            started_at=plan.started_at,
            client_number=plan.number,
            direction=plan.direction,
            our_number=our_number,
            employee=plan.employee,
            answered_at=answered_at,
            finished_at=plan.finished_at,
            wait_duration=plan.wait,
            talk_duration=plan.talk,
            is_missed=plan.direction == Direction.INCOMING and not plan.answered,
            missed_by=plan.missed_by,
            ticket=ticket,
        )
        self.summary.calls.append(call)
        if plan.answered:
            self._record(call, plan.finished_at)

    def _record(self, call: PhoneCall, finished_at: datetime) -> None:
        seconds = round(self.rng.uniform(3, 8), 1)
        audio = make_tone_wav(seconds, self.rng.choice(RECORDING_TONES), RECORDING_SAMPLE_RATE)
        recording = do_add_recording(
            call, duration=max(1, round(seconds)), content_type="audio/wav"
        )
        recording.file.save(f"{call.provider_call_id}.wav", ContentFile(audio), save=False)
        self.saved_files.append(recording.file.name)
        recording.archived_at = self._past(
            finished_at + timedelta(seconds=self.rng.randint(30, 600))
        )
        recording.save(update_fields=["file", "archived_at"])
        self.summary.recordings += 1
        self.summary.recording_bytes += len(audio)
