"""The three UIS notifications of the guide, exactly as it lists them."""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _


@dataclass(frozen=True)
class NotificationTemplate:
    name: str
    event_type: str
    event_type_label: Promise
    body: str


WAIT_BODY = """{
"app_id":{{app_id}},
"call_id":{{call_session_id}},
"action": "wait",
"extension_phone_number": {{extension_phone_number}},
"phone": {{contact_phone_number}},
"direction": {{direction}}
}"""

HISTORY_BODY = """{
"app_id":{{app_id}},
"action": "history",
"call_id": {{call_session_id}},
"started_at": {{start_time}},
"direction": {{direction}},
"file_url": {{file_link}},
"phone_call": {
"duration": {{file_duration}},
"receiver_phone": {{extension_phone_number}},
"source_phone": {{contact_phone_number}}
}
}"""

LOST_BODY = """{
"app_id":{{app_id}},
"action": "lost",
"call_id": {{call_session_id}},
"started_at": {{start_time}},
"direction": {{direction}},
"file_url": {{file_link}},
"noanswered_employee_full_names": {{noanswered_employee_full_names}},
"phone_call": {
"duration": {{file_duration}},
"receiver_phone": {{extension_phone_number}},
"source_phone": {{contact_phone_number}}
}
}"""

# The notification and event names are the ones UIS shows, so they stay in Russian.
TEMPLATES = (
    NotificationTemplate(
        "Ожидание ответа (okdesk)", "Ожидание ответа", _("Waiting for an answer"), WAIT_BODY
    ),
    NotificationTemplate(
        "Записанный разговор (okdesk)",
        "Записанный разговор",
        _("Recorded conversation"),
        HISTORY_BODY,
    ),
    NotificationTemplate(
        "Потерянный звонок (okdesk)", "Потерянный звонок", _("Lost call"), LOST_BODY
    ),
)
