"""Small, real audio made locally: stand-in call recordings for demo data and tests.

Only the standard library is used (``wave``, ``array``, ``math``); nothing is downloaded.
The result is a complete WAV file (RIFF header included) that browsers play as is.
"""

from __future__ import annotations

import io
import math
import sys
import wave
from array import array

# A phone-like pattern: short beeps separated by short pauses, the pitch stepping through a
# major arpeggio so a recording sounds like a signal rather than one flat tone.
BEEP_SECONDS = 0.35
PAUSE_SECONDS = 0.15
FADE_SECONDS = 0.01
PITCH_STEPS = (1.0, 1.25, 1.5, 1.25)
AMPLITUDE = 0.3
_FULL_SCALE = 32767


def make_tone_wav(seconds: float, frequency: float = 440, sample_rate: int = 8000) -> bytes:
    """Return a mono 16-bit PCM WAV file of ``seconds`` of beeps and pauses.

    The file holds exactly ``round(seconds * sample_rate)`` frames at ``sample_rate`` Hz.
    Beeps of 0.35 s alternate with 0.15 s of silence; the first beep is at ``frequency`` Hz
    and the following ones step through 1, 5/4, 3/2 and 5/4 of it. Each beep fades in and
    out over 10 ms so it does not click. The same arguments always give the same bytes.

    Raises ValueError when ``seconds`` is negative or not finite, ``sample_rate`` is not
    positive, or ``frequency`` is not positive or so high that its highest step (3/2 of it)
    reaches the Nyquist frequency, ``sample_rate / 2``: 8 kHz audio allows up to 2666 Hz.
    """
    if not math.isfinite(seconds) or seconds < 0:
        raise ValueError(f"seconds must be a finite number >= 0, not {seconds!r}")
    if sample_rate <= 0:
        raise ValueError(f"sample_rate must be positive, not {sample_rate!r}")
    highest = sample_rate / 2 / max(PITCH_STEPS)
    if not (0 < frequency < highest):
        raise ValueError(
            f"frequency must be above 0 and below {highest:g} Hz at {sample_rate} Hz "
            f"sampling, not {frequency!r}"
        )
    total = round(seconds * sample_rate)
    samples = array("h", bytes(2 * total))  # silence, filled with beeps below
    beep = max(1, round(BEEP_SECONDS * sample_rate))
    period = beep + max(1, round(PAUSE_SECONDS * sample_rate))
    fade = max(1, round(FADE_SECONDS * sample_rate))
    peak = AMPLITUDE * _FULL_SCALE
    envelope = [min(1.0, (n + 1) / fade, (beep - n) / fade) for n in range(beep)]
    beeps = [
        array(
            "h",
            (
                round(peak * e * math.sin(2 * math.pi * frequency * pitch * n / sample_rate))
                for n, e in enumerate(envelope)
            ),
        )
        for pitch in PITCH_STEPS
    ]
    for index, start in enumerate(range(0, total, period)):
        length = min(beep, total - start)
        samples[start : start + length] = beeps[index % len(beeps)][:length]
    if sys.byteorder == "big":
        samples.byteswap()  # WAV samples are little-endian
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(sample_rate)
        out.writeframes(samples.tobytes())
    return buffer.getvalue()
