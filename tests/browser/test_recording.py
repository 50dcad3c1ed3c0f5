"""A conversation's recording plays on the client's card: length known, seekable, playing.

The guide: «В карточке клиента отображаются записи всех разговоров с ним» and «прослушивание
записей звонков из интерфейса Okdesk».
"""

from __future__ import annotations

import math

import pytest
from django.core.files.base import ContentFile
from playwright.sync_api import expect

from trubka.calls.audio import make_tone_wav
from trubka.calls.models import CallRecording

SECONDS = 6.0

# Waits for an event on the element, failing with the player's error instead of hanging.
AWAIT_EVENT = """
(audio, name, ms) => new Promise((resolve, reject) => {
  const timer = setTimeout(() => reject(new Error(`no ${name} within ${ms} ms`)), ms);
  audio.addEventListener(name, () => { clearTimeout(timer); resolve(); }, { once: true });
  audio.addEventListener("error", () => {
    clearTimeout(timer);
    reject(new Error(`media error ${audio.error && audio.error.code}`));
  }, { once: true });
})
"""

METADATA = f"""
async (audio) => {{
  if (audio.readyState < HTMLMediaElement.HAVE_METADATA) {{
    await ({AWAIT_EVENT})(audio, "loadedmetadata", 15000);
  }}
  const ranges = [];
  for (let i = 0; i < audio.seekable.length; i++) {{
    ranges.push([audio.seekable.start(i), audio.seekable.end(i)]);
  }}
  return {{ duration: audio.duration, seekable: ranges }};
}}
"""

SEEK = f"""
async (audio, to) => {{
  const seeked = ({AWAIT_EVENT})(audio, "seeked", 15000);
  audio.currentTime = to;
  await seeked;
  return audio.currentTime;
}}
"""

PLAY = f"""
async (audio) => {{
  audio.muted = true;
  const from = audio.currentTime;
  await audio.play();
  const playing = !audio.paused;
  if (audio.currentTime <= from) {{
    await ({AWAIT_EVENT})(audio, "timeupdate", 15000);
  }}
  const at = audio.currentTime;
  audio.pause();
  return {{ playing, from, at }};
}}
"""


def test_a_stored_recording_plays_on_the_client_card(desk, uis, caller):
    call = uis.call("79161234567", extension="101")
    uis.ring(call)
    uis.answer(call, duration=int(SECONDS))
    uis.wait_processed()
    recording = CallRecording.objects.get(call__provider_call_id=str(call.call_session_id))
    recording.file.save("call.wav", ContentFile(make_tone_wav(SECONDS)), save=False)
    recording.content_type = "audio/wav"
    recording.save()

    audio_statuses: list[int] = []

    def on_response(response):
        if "/telephony/recordings/" in response.url:
            audio_statuses.append(response.status)

    desk.page.on("response", on_response)
    page = desk.open(f"/clients/contacts/{caller.pk}/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Сидоров Пётр")
    row = page.locator("table.calls tbody tr")
    expect(row).to_have_count(1)
    expect(row).to_contain_text(f"{int(SECONDS)} с")
    expect(row).to_contain_text("Иванов Иван")
    audio = row.locator("audio")
    expect(audio).to_have_attribute("src", f"/settings/telephony/recordings/{recording.uuid}/")

    meta = audio.evaluate(METADATA)
    assert math.isfinite(meta["duration"]), meta
    assert meta["duration"] == pytest.approx(SECONDS, abs=0.05), meta
    assert meta["seekable"], f"the player cannot seek: {meta}"
    assert meta["seekable"][-1][1] == pytest.approx(SECONDS, abs=0.05), meta

    middle = meta["duration"] / 2
    at = audio.evaluate(SEEK, middle)
    assert at == pytest.approx(middle, abs=0.05), at

    played = audio.evaluate(PLAY)
    assert played["playing"], played
    assert played["at"] > played["from"], played
    desk.shot("recording-on-the-card")

    assert 206 in audio_statuses, f"no ranged answer for the recording: {audio_statuses}"
    desk.assert_clean()
