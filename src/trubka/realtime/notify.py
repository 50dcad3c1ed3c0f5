"""Sending live messages to employees' browsers."""

from __future__ import annotations

import logging
from typing import Any

from django.db import transaction

from trubka.realtime.broker import employee_channel, get_broker
from trubka.realtime.models import AgentNotice

logger = logging.getLogger(__name__)


def notify_employee(employee_id: int, kind: str, payload: dict[str, Any]) -> AgentNotice:
    """Store the message and push it once the surrounding transaction commits.

    The stored row is what a reconnecting browser replays; the push is what makes it fast.
    A push that fails (Redis down) is logged, and the browser still gets the message when
    its stream reconnects.
    """
    notice = AgentNotice.objects.create(employee_id=employee_id, kind=kind, payload=payload)
    message = {"id": notice.pk, "kind": kind, "payload": payload}

    def push() -> None:
        get_broker().publish(employee_channel(employee_id), message)

    transaction.on_commit(push, robust=True)
    return notice
