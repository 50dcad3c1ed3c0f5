"""The UIS Data API (JSON-RPC 2.0) calls the connector makes: ``get.account``,
``get.employees``.

Errors come back in the JSON-RPC envelope, with HTTP 200 or not (undocumented, so both are
read); ``error.data.mnemonic`` says what went wrong and ``UisApiError.user_message`` tells a
person what to do about it, in the desk's language.
"""

from __future__ import annotations

import itertools
import logging
from dataclasses import dataclass
from typing import Any

import httpx
from django.conf import settings
from django.utils.translation import gettext as _

logger = logging.getLogger(__name__)
_ids = itertools.count(1)


class UisApiError(Exception):
    """UIS refused a request or could not be reached."""

    def __init__(self, mnemonic: str, message: str, *, ip: str | None = None) -> None:
        super().__init__(f"{mnemonic}: {message}")
        self.mnemonic = mnemonic
        self.message = message
        self.ip = ip

    @property
    def user_message(self) -> str:
        outgoing_ip = self.ip or settings.TRUBKA_OUTGOING_IP
        if self.mnemonic in {"access_token_invalid", "auth_error"}:
            return _(
                "UIS does not accept this key. Check that it was copied whole; if it was "
                "deleted, create a new one in UIS: Account → User management → API access."
            )
        if self.mnemonic == "access_token_expired":
            return _("This UIS key has expired. Create a new permanent key in UIS.")
        if self.mnemonic == "access_token_blocked":
            return _("This UIS key is blocked. Unblock it or create a new one in UIS.")
        if self.mnemonic == "ip_not_whitelisted":
            if outgoing_ip:
                return _(
                    "The IP address is not in the UIS whitelist. Add %(ip)s in UIS: "
                    "Account → Security rules and settings → API tab."
                ) % {"ip": outgoing_ip}
            return _(
                "The IP address is not in the UIS whitelist. Add this server's outgoing "
                "address in UIS: Account → Security rules and settings → API tab."
            )
        if self.mnemonic == "account_inactive":
            return _("The UIS account is inactive. Activate it in UIS and try again.")
        if self.mnemonic in {"method_component_disabled", "forbidden"}:
            return _(
                "The key's user has no access to the Data API. Enable the «API Базовый» "
                "option in UIS (Tariffs and options) and allow the user API access."
            )
        if self.mnemonic == "limit_exceeded":
            return _("The UIS API limit is used up for now. Try again in a few minutes.")
        if self.mnemonic == "unreachable":
            return _("UIS cannot be reached right now (%(why)s). Try again later.") % {
                "why": self.message
            }
        return _("UIS answered with an error: %(message)s") % {"message": self.message}


@dataclass(frozen=True)
class UisAccount:
    app_id: int
    name: str
    timezone: str


@dataclass(frozen=True)
class UisEmployee:
    id: int
    full_name: str
    first_name: str
    last_name: str
    patronymic: str
    login: str
    email: str
    extension: str | None


class UisClient:
    def __init__(
        self,
        access_token: str,
        *,
        base_url: str | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self._token = access_token
        self._url = base_url or settings.TRUBKA_UIS_DATA_API_URL
        self._transport = transport

    def _call(self, method: str, params: dict[str, Any] | None = None) -> Any:
        payload = {
            "jsonrpc": "2.0",
            "id": next(_ids),
            "method": method,
            "params": {"access_token": self._token, **(params or {})},
        }
        try:
            with httpx.Client(
                timeout=settings.TRUBKA_UIS_TIMEOUT, transport=self._transport
            ) as http:
                response = http.post(
                    self._url,
                    json=payload,
                    headers={"Content-Type": "application/json; charset=UTF-8"},
                )
        except httpx.HTTPError as exc:
            # The key is in the body, never in the URL, so the error text cannot leak it.
            logger.warning("UIS %s: %s", method, type(exc).__name__)
            raise UisApiError("unreachable", type(exc).__name__) from None
        try:
            body = response.json()
        except ValueError:
            raise UisApiError(
                "unreachable", f"HTTP {response.status_code} without a JSON body"
            ) from None
        if not isinstance(body, dict):
            raise UisApiError("unreachable", "an answer that is not a JSON-RPC object")
        error = body.get("error")
        if error:
            data = error.get("data") or {}
            mnemonic = data.get("mnemonic") or str(error.get("code", "error"))
            message = str(error.get("message", ""))
            ip = None
            if mnemonic == "ip_not_whitelisted":
                params_ = data.get("params") or {}
                ip = params_.get("ip") if isinstance(params_, dict) else None
            raise UisApiError(mnemonic, message, ip=ip)
        if response.status_code >= 400:
            raise UisApiError("unreachable", f"HTTP {response.status_code}")
        result = body.get("result") or {}
        return result.get("data")

    def get_account(self) -> UisAccount:
        data = self._call("get.account")
        row = data[0] if isinstance(data, list) and data else data
        if not isinstance(row, dict) or "app_id" not in row:
            raise UisApiError("unexpected_answer", "get.account returned no account")
        return UisAccount(
            app_id=int(row["app_id"]),
            name=str(row.get("name") or ""),
            timezone=str(row.get("timezone") or "Europe/Moscow"),
        )

    def get_employees(self) -> list[UisEmployee]:
        employees: list[UisEmployee] = []
        offset = 0
        while True:
            data = self._call(
                "get.employees",
                {
                    "fields": [
                        "id",
                        "full_name",
                        "first_name",
                        "last_name",
                        "patronymic",
                        "login",
                        "email",
                        "extension",
                    ],
                    "limit": 1000,
                    "offset": offset,
                },
            )
            rows = data if isinstance(data, list) else []
            for row in rows:
                extension = (row.get("extension") or {}).get("extension_phone_number")
                employees.append(
                    UisEmployee(
                        id=int(row.get("id") or 0),
                        full_name=str(row.get("full_name") or ""),
                        first_name=str(row.get("first_name") or ""),
                        last_name=str(row.get("last_name") or ""),
                        patronymic=str(row.get("patronymic") or ""),
                        login=str(row.get("login") or ""),
                        email=str(row.get("email") or ""),
                        extension=str(extension) if extension else None,
                    )
                )
            if len(rows) < 1000:
                return employees
            offset += 1000
