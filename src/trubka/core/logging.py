"""Keeping secrets out of log lines.

Webhook tokens travel in URL paths and API keys in query strings, so any line that names a
request (uvicorn's access log, Django's «Not Found: …») could carry one. ``RedactSecrets``
sits on every handler and masks them before anything is written.
"""

from __future__ import annotations

import logging
import re

_PATTERNS = (
    (re.compile(r"(/okdesk/webhook/)[^/\s?\"'#]+"), r"\1[redacted]"),
    (re.compile(r"((?:api_token|access_token|token|key)=)[^&\s\"'#]+", re.I), r"\1[redacted]"),
    (
        re.compile(r"(\"(?:api_token|access_token|uis_api_key|okdesk_api_key)\"\s*:\s*\")[^\"]*"),
        r"\1[redacted]",
    ),
)


def redact(text: str) -> str:
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


class RedactSecrets(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a malformed record is the logging module's business
            return True
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True
