"""Webhook tokens and API keys never reach a log line."""

from __future__ import annotations

import io
import logging

import pytest

from trubka.core.logging import RedactSecrets, redact

TOKEN = "s3cr3t-T0ken_value"


@pytest.mark.parametrize(
    "line",
    [
        f'127.0.0.1:5000 - "POST /okdesk/webhook/{TOKEN}/ HTTP/1.1" 200',
        f"Not Found: /okdesk/webhook/{TOKEN}/",
        f"GET /api/v1/issues/list?api_token={TOKEN}&page[size]=50",
        f'{{"jsonrpc": "2.0", "params": {{"access_token": "{TOKEN}"}}}}',
    ],
)
def test_a_secret_in_a_log_line_is_masked(line):
    cleaned = redact(line)
    assert TOKEN not in cleaned
    assert "[redacted]" in cleaned


def test_a_line_without_secrets_is_left_as_it_is():
    line = "GET /tickets/?status=open 200"
    assert redact(line) == line


def test_the_filter_masks_secrets_passed_as_arguments():
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactSecrets())
    logger = logging.getLogger("trubka.test.redaction")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        logger.warning("%s %s", "POST", f"/okdesk/webhook/{TOKEN}/")
    finally:
        logger.removeHandler(handler)
    assert TOKEN not in stream.getvalue()
    assert "/okdesk/webhook/[redacted]/" in stream.getvalue()


def test_the_configured_console_handler_redacts():
    from django.conf import settings

    handler = settings.LOGGING["handlers"]["console"]
    assert "redact_secrets" in handler["filters"]
