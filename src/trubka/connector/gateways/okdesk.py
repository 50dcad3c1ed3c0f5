"""The ``Gateway`` for an Okdesk cloud account (or any server speaking its API, such as
another Trubka), over Okdesk's REST API with the account's API key.

Shapes and their uncertainties are in the okdesk-api notes; where they are unsure this
adapter is liberal: contact lookups accept a root object, an empty answer or a list; phone
lookups try the usual spellings of a number; an ``errors`` value may be a string, object or
list. Failures: network errors, timeouts, 429 and 5xx are temporary (retried by the worker);
other 4xx are permanent and carry Okdesk's own message. The key travels in the query
string, so no URL is ever put in an error message or a log line.
"""

from __future__ import annotations

import json
import logging
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from django.conf import settings

from trubka.calls.missed_calls import missed_call_texts
from trubka.connector.gateways.base import (
    CallReport,
    ClientRef,
    PermanentDeliveryError,
    TemporaryDeliveryError,
    TicketRef,
    new_client_name,
)
from trubka.core.phones import normalize_phone

logger = logging.getLogger(__name__)


def okdesk_base_url(account: str) -> str:
    """``yourcompany`` → ``https://yourcompany.okdesk.ru``; a full address is kept."""
    text = account.strip().rstrip("/")
    if text.startswith(("http://", "https://")):
        return text.removesuffix("/api/v1")
    return f"https://{text}.okdesk.ru"


def phone_variants(phone: str) -> list[str]:
    """The spellings Okdesk accounts store numbers in, most likely first (notes §9)."""
    normalized = normalize_phone(phone)
    variants = [phone.strip()]
    if normalized.e164:
        digits = normalized.e164[1:]
        variants += [normalized.e164, digits]
        if digits.startswith("7") and len(digits) == 11:
            variants += ["8" + digits[1:], digits[1:]]
    return list(dict.fromkeys(v for v in variants if v))


def _message(body: Any) -> str:
    if isinstance(body, dict):
        errors = body.get("errors", body)
        if isinstance(errors, dict):
            return "; ".join(f"{k}: {v}" for k, v in errors.items())
        return str(errors)
    return str(body)[:300]


class OkdeskCloud:
    in_process = False

    def __init__(
        self,
        account: str,
        api_key: str,
        *,
        zone: str = "Europe/Moscow",
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.base = okdesk_base_url(account) + "/api/v1"
        self.key = api_key
        self.zone = ZoneInfo(zone)
        self.transport = transport

    # HTTP.

    def _request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | list[tuple[str, Any]] | None = None,
        body: dict[str, Any] | None = None,
    ) -> Any:
        query: list[tuple[str, Any]] = list(
            params.items() if isinstance(params, dict) else params or []
        )
        query.append(("api_token", self.key))
        try:
            with httpx.Client(
                timeout=settings.TRUBKA_OKDESK_TIMEOUT, transport=self.transport
            ) as http:
                response = http.request(method, self.base + path, params=query, json=body)
        except httpx.TimeoutException:
            raise TemporaryDeliveryError(f"Okdesk {method} {path}: timed out") from None
        except httpx.HTTPError as exc:
            raise TemporaryDeliveryError(f"Okdesk {method} {path}: {type(exc).__name__}") from None
        try:
            data = response.json() if response.content.strip() else None
        except ValueError:
            data = response.text[:300]
        if response.status_code == 429 or response.status_code >= 500:
            raise TemporaryDeliveryError(
                f"Okdesk {method} {path}: HTTP {response.status_code} {_message(data)}"
            )
        if response.status_code >= 400:
            raise PermanentDeliveryError(
                f"Okdesk {method} {path}: HTTP {response.status_code} {_message(data)}"
            )
        return data

    def _local_time(self, report: CallReport, *, end: bool = False) -> str | None:
        moment = report.started_at
        if moment is None:
            return None
        if end and report.talk_duration:
            moment = moment + timedelta(seconds=report.talk_duration)
        return moment.astimezone(self.zone).strftime("%Y-%m-%d %H:%M")

    # Gateway.

    def _find(self, resource: str, phone: str) -> dict[str, Any] | None:
        for variant in phone_variants(phone):
            found = self._request("GET", f"/{resource}/", params={"phone": variant})
            if isinstance(found, list):
                found = found[0] if len(found) == 1 else None
            if isinstance(found, dict) and found.get("id"):
                return found
        return None

    def ensure_client(self, phone: str) -> ClientRef:
        normalized = normalize_phone(phone)
        if not normalized.match_key:
            return ClientRef()
        contact = self._find("contacts", phone)
        if contact is not None:
            return ClientRef(contact_id=int(contact["id"]), company_id=contact.get("company_id"))
        company = self._find("companies", phone)
        if company is not None:
            return ClientRef(company_id=int(company["id"]))
        if normalized.e164 is None:
            return ClientRef()
        created = self._request(
            "POST",
            "/contacts/",
            body={
                "contact": {
                    "last_name": new_client_name(phone),
                    "first_name": normalized.display,
                    "mobile_phone": normalized.e164,
                }
            },
        )
        if not isinstance(created, dict) or not created.get("id"):
            raise PermanentDeliveryError("Okdesk created a contact but returned no id")
        return ClientRef(contact_id=int(created["id"]), created=True)

    def record_call(self, report: CallReport, *, issue_id: int | None = None) -> None:
        # Okdesk keeps finished calls only; a ringing call is shown by the popup instead. A
        # missed call is posted once, with its ticket, by open_missed_call_ticket.
        if not (report.answered or (report.missed and issue_id is not None)):
            return
        incoming = report.direction != "out"
        extension = report.extension or ""
        call: dict[str, Any] = {
            "call_id": report.call_id,
            "started_at": self._local_time(report),
            "finished_at": self._local_time(report, end=True),
            "duration": report.talk_duration or 0,
            "direction": 0 if incoming else 1,
            "source_phone": report.client_phone if incoming else extension,
            "receiver_phone": extension if incoming else report.client_phone,
            "search_numbers_count": settings.TRUBKA_PHONE_MATCH_DIGITS,
        }
        if report.recording_urls:
            call["file_url"] = report.recording_urls[0]
        if issue_id is not None:
            call["issue_id"] = issue_id
        self._request("POST", "/phone_calls/", body={"phone_call": call})

    def show_popup(self, report: CallReport) -> None:
        if not report.extension or not report.client_phone:
            return
        self._request(
            "POST",
            "/telephony/messages/",
            body={
                "phone": report.client_phone,
                "telephony_numbers": [int(report.extension)],
                "search_numbers_count": settings.TRUBKA_PHONE_MATCH_DIGITS,
            },
        )

    def open_missed_call_ticket(self, report: CallReport) -> TicketRef:
        client = self.ensure_client(report.client_phone) if report.client_phone else ClientRef()
        marker = f"[call {report.call_id}]"
        # The desk's wording, with the time as Okdesk's account reads it (its own zone).
        texts = missed_call_texts(
            client_number=report.client_phone,
            when=self._local_time(report) or "",
            missed_by=report.missed_by,
        )
        title, details = texts.title, texts.details
        open_ticket = self._open_missed_ticket(client, title, marker)
        if open_ticket is not None:
            if marker not in str(open_ticket.get("description", "")) and marker not in (
                self._comments_text(int(open_ticket["id"]))
            ):
                self._comment(int(open_ticket["id"]), f"{texts.repeat_comment} {marker}")
            ticket_id, created = int(open_ticket["id"]), False
        else:
            issue: dict[str, Any] = {"title": title, "description": f"{details} {marker}"}
            if client.contact_id:
                issue["contact_id"] = client.contact_id
            if client.company_id:
                issue["company_id"] = client.company_id
            made = self._request("POST", "/issues/", body={"issue": issue})
            if not isinstance(made, dict) or not made.get("id"):
                raise PermanentDeliveryError("Okdesk created an issue but returned no id")
            ticket_id, created = int(made["id"]), True
        self.record_call(report, issue_id=ticket_id)
        return TicketRef(ticket_id=ticket_id, created=created)

    def _open_missed_ticket(
        self, client: ClientRef, title: str, marker: str
    ) -> dict[str, Any] | None:
        """The client's open missed-call ticket, found through the documented
        ``issues/count?…&opened=true`` (notes §6) and the ticket's title: the one to comment
        on when the desk reuses open tickets, and always the one this very call opened on an
        earlier attempt (its description carries ``marker``), so a retry opens nothing twice."""
        if not (client.contact_id or client.company_id):
            return None
        params: list[tuple[str, Any]] = [("opened", "true")]
        if client.contact_id:
            params.append(("contact_ids[]", client.contact_id))
        else:
            params.append(("company_ids[]", client.company_id))
        ids = self._request("GET", "/issues/count/", params=params) or []
        reuse = settings.TRUBKA_MISSED_CALL_REUSE_OPEN_TICKET
        for issue_id in sorted((int(i) for i in ids), reverse=True):
            issue = self._request("GET", f"/issues/{issue_id}/")
            if not isinstance(issue, dict):
                continue
            own = marker in str(issue.get("description", ""))
            if issue.get("title") == title and (reuse or own):
                return issue
        return None

    def _comments_text(self, issue_id: int) -> str:
        comments = self._request("GET", f"/issues/{issue_id}/comments/") or []
        return json.dumps(comments, ensure_ascii=False)

    def _comment(self, issue_id: int, content: str) -> None:
        # Okdesk documents author_id as required; the key's own employee is who the API acts
        # as, so it is left out and the server's default applies (Trubka uses the key's
        # employee). An account that insists answers 422, recorded as a permanent failure.
        self._request(
            "POST",
            f"/issues/{issue_id}/comments/",
            body={"comment": {"content": content, "public": False}},
        )
