"""A fake UIS Data API (JSON-RPC 2.0, uis-api notes §2) on a real local HTTP server.

``FakeUis`` answers ``get.account`` and ``get.employees`` for the keys it was given, and the
errors UIS puts in the JSON-RPC envelope (``error.data.mnemonic``) for keys told to fail.
Every request is recorded (path, headers, JSON body) so tests can see what the client sent.

Use it as a context manager; ``url`` is the address to put in
``settings.TRUBKA_UIS_DATA_API_URL``. ``closed_port_url()`` is an address nobody listens on.
"""

from __future__ import annotations

import json
import socket
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

# mnemonic → (JSON-RPC code, message), as uis-api notes §2.6 lists them.
ERRORS: dict[str, tuple[int, str]] = {
    "access_token_invalid": (-32001, "Access token is invalid"),
    "access_token_expired": (-32001, "Access token has been expired"),
    "access_token_blocked": (-32001, "Access token has been blocked"),
    "ip_not_whitelisted": (-32003, "Your IP {ip} is not whitelisted"),
    "account_inactive": (-32009, "Account is inactive"),
    "limit_exceeded": (-32029, "Limit exceeded"),
    "method_component_disabled": (-32008, "Method component is disabled"),
}

LIMITS = {
    "day_limit": 10000,
    "day_remaining": 9990,
    "day_reset": 43200,
    "minute_limit": 1000,
    "minute_remaining": 999,
    "minute_reset": 30,
}


@dataclass
class Failure:
    mnemonic: str
    params: dict[str, Any] = field(default_factory=dict)
    http_status: int = 200


@dataclass
class Recorded:
    path: str
    headers: dict[str, str]
    body: Any
    raw: bytes


class FakeUis:
    def __init__(self) -> None:
        self.accounts: dict[str, dict[str, Any]] = {}
        self.employees: dict[str, list[dict[str, Any]]] = {}
        self.failures: dict[str, Failure] = {}
        self.crashing: set[str] = set()
        self.requests: list[Recorded] = []
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # --- what the fake knows ----------------------------------------------------------------

    def add_account(
        self,
        token: str,
        *,
        app_id: int,
        name: str,
        timezone: str = "Europe/Moscow",
        employees: list[dict[str, Any]] | None = None,
    ) -> None:
        self.accounts[token] = {"app_id": app_id, "name": name, "timezone": timezone}
        self.employees[token] = list(employees or [])

    def fail(self, token: str, mnemonic: str, *, http_status: int = 200, **params: Any) -> None:
        """Answer every request with this key with the error ``mnemonic``."""
        self.failures[token] = Failure(mnemonic, params, http_status)

    def crash(self, token: str) -> None:
        """Answer every request with this key with HTTP 500 and an HTML page."""
        self.crashing.add(token)

    # --- the server -------------------------------------------------------------------------

    @property
    def url(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/v2.0"

    def __enter__(self) -> FakeUis:
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._server is not None
        assert self._thread is not None
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def answer(self, request: Any) -> tuple[int, Any]:
        """The HTTP status and JSON (or text) answer to one JSON-RPC request."""
        if not isinstance(request, dict) or request.get("jsonrpc") != "2.0":
            return 200, _error(None, -32600, "invalid_request", "Invalid request")
        rpc_id = request.get("id")
        params = request.get("params") or {}
        token = params.get("access_token") if isinstance(params, dict) else None
        if token in self.crashing:
            return 500, "<html><body><h1>500 Internal Server Error</h1></body></html>"
        if token in self.failures:
            failure = self.failures[token]
            code, message = ERRORS[failure.mnemonic]
            return failure.http_status, _error(
                rpc_id,
                code,
                failure.mnemonic,
                _fill(message, failure.params),
                params=failure.params,
            )
        if token not in self.accounts:
            code, message = ERRORS["access_token_invalid"]
            return 200, _error(rpc_id, code, "access_token_invalid", message)
        method = request.get("method")
        if method == "get.account":
            data: Any = [self.accounts[token]]
        elif method == "get.employees":
            offset = int(params.get("offset") or 0)
            limit = int(params.get("limit") or 1000)
            data = self.employees[token][offset : offset + limit]
        else:
            return 200, _error(rpc_id, -32601, "method_not_found", "Method not found")
        return 200, {
            "jsonrpc": "2.0",
            "id": rpc_id,
            "result": {
                "data": data,
                "metadata": {
                    "api_version": {"current_version_deprecated": False},
                    "total_items": len(data),
                    "limits": LIMITS,
                },
            },
        }


def _fill(message: str, params: dict[str, Any]) -> str:
    """The message with ``{ip}`` filled in (or dropped when the error names no address)."""
    return " ".join(message.replace("{ip}", str(params.get("ip", ""))).split())


def _error(
    rpc_id: Any, code: int, mnemonic: str, message: str, *, params: dict[str, Any] | None = None
) -> dict[str, Any]:
    return {
        "jsonrpc": "2.0",
        "id": rpc_id,
        "error": {
            "code": code,
            "message": message,
            "data": {
                "mnemonic": mnemonic,
                "field": None,
                "value": None,
                "params": params or {},
                "extended_helper": None,
            },
        },
    }


def _handler_for(fake: FakeUis) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length)
            try:
                request = json.loads(raw)
            except ValueError:
                request = None
            fake.requests.append(Recorded(self.path, dict(self.headers.items()), request, raw))
            if request is None:
                status, answer = 200, _error(None, -32700, "parse_error", "Parse error")
            else:
                status, answer = fake.answer(request)
            if isinstance(answer, str):
                payload, content_type = answer.encode(), "text/html"
            else:
                payload, content_type = json.dumps(answer).encode(), "application/json"
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: Any) -> None:
            return  # keep test output clean

    return Handler


def closed_port_url() -> str:
    """An address on this machine where nothing listens (the UIS API being down)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/v2.0"


UIS_EMPLOYEES = [
    {
        "id": 1001,
        "full_name": "Иванов Иван",
        "first_name": "Иван",
        "last_name": "Иванов",
        "patronymic": "",
        "login": "ivanov.uis",
        "email": "ivanov@example.ru",
        "extension": {
            "extension_phone_number": "101",
            "extension_voice_mail_enabled": False,
            "extension_queue_enabled": True,
        },
    },
    {
        "id": 1003,
        "full_name": "Новикова Ольга Петровна",
        "first_name": "Ольга",
        "last_name": "Новикова",
        "patronymic": "Петровна",
        "login": "novikova",
        "email": "novikova@example.ru",
        "extension": {
            "extension_phone_number": "103",
            "extension_voice_mail_enabled": False,
            "extension_queue_enabled": True,
        },
    },
    {
        "id": 1004,
        "full_name": "Соколов Денис",
        "first_name": "Денис",
        "last_name": "Соколов",
        "patronymic": "",
        "login": "sokolov",
        "email": "",
        "extension": {
            "extension_phone_number": "104",
            "extension_voice_mail_enabled": False,
            "extension_queue_enabled": False,
        },
    },
    {
        "id": 1005,
        "full_name": "Без Номера",
        "first_name": "Без",
        "last_name": "Номера",
        "patronymic": "",
        "login": "nonumber",
        "email": "",
        "extension": None,
    },
]
