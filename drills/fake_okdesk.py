"""A small Okdesk account for the drills: the part of the Okdesk REST API the connector's
``OkdeskCloud`` adapter uses, in memory, on 127.0.0.1, with an outage switch. A helper for
the drills, not a drill.

It answers like the documented API (see the okdesk-api notes): ``GET /contacts/?phone=`` a
root object or ``{}``, ``GET /companies/?phone=`` ``{}``, ``POST /contacts/``, ``POST
/telephony/messages`` (flat body), ``POST /phone_calls/`` (merged by ``call_id``, as Trubka's
own API does), ``GET /issues/count/?opened=true&contact_ids[]=``, ``GET /issues/<id>/``,
``GET``/``POST /issues/<id>/comments/``, ``POST /issues/``. Every request is logged with its
time; every change is logged as a *delivery* with the call it belongs to.

``failing`` decides each request's fate: ``None`` (serve it), ``"503"`` (answer 503 at once)
or ``"hang"`` (answer nothing for ``hang_seconds``, longer than the client waits, then 503).
A failed request changes nothing.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


def key_of(phone: str) -> str:
    return re.sub(r"\D", "", phone or "")[-10:]


@dataclass
class Delivery:
    at: float
    kind: str  # contact, popup, phone_call, issue, comment
    key: str  # the number (contact, popup) or the call id (phone_call) or the issue id
    body: dict[str, Any]


@dataclass
class FakeOkdesk:
    token: str
    failing: Callable[[str, str], str | None] = lambda method, path: None
    hang_seconds: float = 3.0
    contacts: dict[int, dict[str, Any]] = field(default_factory=dict)
    issues: dict[int, dict[str, Any]] = field(default_factory=dict)
    comments: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    phone_calls: dict[str, dict[str, Any]] = field(default_factory=dict)
    phone_call_posts: dict[str, int] = field(default_factory=dict)
    deliveries: list[Delivery] = field(default_factory=list)
    # (time, method, path, status) of every request
    requests: list[tuple[float, str, str, int]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._next_id = 1
        self._server: ThreadingHTTPServer | None = None

    def _id(self) -> int:
        self._next_id += 1
        return self._next_id

    def handle(
        self, method: str, path: str, query: dict[str, list[str]], body: Any
    ) -> tuple[int, Any]:
        if query.get("api_token", [""])[0] != self.token:
            return 401, {"errors": "Неверный api_token"}
        path = "/" + path.strip("/")
        now = time.monotonic()
        with self._lock:
            if method == "GET" and path == "/contacts":
                key = key_of(query.get("phone", [""])[0])
                found = [c for c in self.contacts.values() if c["_key"] == key]
                # Several cards for one number: the oldest, so a duplicate does not cascade.
                return 200, (self._public(found[0]) if found else {})
            if method == "GET" and path == "/companies":
                return 200, {}
            if method == "POST" and path == "/contacts":
                data = dict(body.get("contact") or {})
                number = data.get("mobile_phone") or data.get("phone") or ""
                contact = {"id": self._id(), **data, "company_id": None, "_key": key_of(number)}
                self.contacts[contact["id"]] = contact
                self.deliveries.append(Delivery(now, "contact", contact["_key"], data))
                return 200, self._public(contact)
            if method == "POST" and path == "/telephony/messages":
                self.deliveries.append(Delivery(now, "popup", key_of(body.get("phone")), body))
                return 200, {}
            if method == "POST" and path == "/phone_calls":
                call = dict(body.get("phone_call") or {})
                call_id = str(call.get("call_id"))
                self.phone_calls[call_id] = {**self.phone_calls.get(call_id, {}), **call}
                self.phone_call_posts[call_id] = self.phone_call_posts.get(call_id, 0) + 1
                self.deliveries.append(Delivery(now, "phone_call", call_id, call))
                return 200, {}
            if method == "GET" and path == "/issues/count":
                contact_ids = {int(i) for i in query.get("contact_ids[]", [])}
                return 200, [
                    i["id"]
                    for i in self.issues.values()
                    if i["contact_id"] in contact_ids and i["status"] == "opened"
                ]
            if method == "POST" and path == "/issues":
                data = dict(body.get("issue") or {})
                issue = {"id": self._id(), "status": "opened", "contact_id": None, **data}
                self.issues[issue["id"]] = issue
                self.comments[issue["id"]] = []
                self.deliveries.append(Delivery(now, "issue", str(issue["id"]), data))
                return 200, {"id": issue["id"]}
            found = re.fullmatch(r"/issues/(\d+)(/comments)?", path)
            if found and int(found.group(1)) in self.issues:
                issue_id = int(found.group(1))
                if method == "GET" and not found.group(2):
                    return 200, self.issues[issue_id]
                if method == "GET":
                    return 200, self.comments[issue_id]
                if method == "POST":
                    comment = dict(body.get("comment") or {})
                    self.comments[issue_id].append(comment)
                    self.deliveries.append(Delivery(now, "comment", str(issue_id), comment))
                    return 200, {"id": self._id()}
            return 404, {"errors": f"no route {method} {path}"}

    @staticmethod
    def _public(contact: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in contact.items() if not k.startswith("_")}

    def start(self) -> str:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _serve(self, method: str) -> None:
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                path = parts.path.removeprefix("/api/v1")
                fate = fake.failing(method, path)
                if fate == "hang":
                    time.sleep(fake.hang_seconds)
                if fate is not None:
                    status, answer = 503, {"errors": "Service Unavailable"}
                else:
                    try:
                        body = json.loads(raw) if raw.strip() else {}
                    except ValueError:
                        body = {}
                    status, answer = fake.handle(method, path, parse_qs(parts.query), body)
                fake.requests.append((time.monotonic(), method, path, status))
                data = json.dumps(answer, ensure_ascii=False).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except OSError:
                    pass  # the client gave up (timed out) first

            def do_GET(self) -> None:
                self._serve("GET")

            def do_POST(self) -> None:
                self._serve("POST")

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
