from __future__ import annotations

import json
from typing import Any

from trubka.connector.gateways.base import CallReport, PermanentDeliveryError
from trubka.connector.models import CallEvent, EventKind, Integration
from trubka.connector.providers.base import Notification, NotificationError

KINDS = {"ring": EventKind.RING, "answer": EventKind.ANSWERED, "miss": EventKind.MISSED}


class Dummy:
    name = "dummy"
    label = "Dummy PBX"

    def read(
        self, raw: bytes, query: list[tuple[str, str]], integration: Integration
    ) -> Notification:
        try:
            data: Any = json.loads(raw)
        except ValueError:
            raise NotificationError("the body is not JSON") from None
        if not isinstance(data, dict) or not data.get("event") or not data.get("call"):
            raise NotificationError("event and call are required")
        event = str(data["event"])
        return Notification(
            action=event,
            kind=KINDS.get(event, ""),
            call_id=str(data["call"]),
            leg=str(data.get("to", "")),
            parsed=data,
        )

    def report(self, event: CallEvent) -> CallReport:
        assert event.integration is not None
        data = event.parsed
        if not data.get("from"):
            raise PermanentDeliveryError("the event has no caller")
        return CallReport(
            provider=event.integration.provider_key,
            call_id=event.call_id,
            direction="in",
            client_phone=str(data["from"]),
            extension=str(data.get("to") or "") or None,
            started_at=event.received_at,
            talk_duration=data.get("talk"),
            answered=event.kind == EventKind.ANSWERED,
            missed=event.kind == EventKind.MISSED,
            raw=data,
        )

    def known_actions(self) -> tuple[str, ...]:
        return tuple(KINDS)


PROVIDER = Dummy()
