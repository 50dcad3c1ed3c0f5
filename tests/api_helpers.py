"""A test client for the Okdesk-compatible API: every request goes to ``/api/v1`` signed
with ``?api_token=``, as Okdesk's clients send it. The ``api`` (the agent's key) and
``admin_api`` (the administrator's) fixtures in conftest.py hand one out."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from django.test import Client

Params = Mapping[str, Any] | Sequence[tuple[str, Any]]


class Api:
    """Paths are relative to ``/api/v1`` (``api.get("/contacts", {"phone": ...})``)."""

    def __init__(self, token: str) -> None:
        self.client = Client()
        self.token = token

    def get(self, path: str, params: Params | None = None) -> Any:
        """``params`` as a dict, or as pairs to repeat a name (``status_codes[]``)."""
        pairs = list(params.items()) if isinstance(params, Mapping) else list(params or [])
        return self.client.get(f"/api/v1{path}", [("api_token", self.token), *pairs])

    def raw_get(self, path_and_query: str) -> Any:
        """A GET whose query string is sent exactly as written (for ``+`` and ``%2B``)."""
        return self.client.get(f"/api/v1{path_and_query}&api_token={self.token}")

    def send(self, method: str, path: str, body: Any = None, raw: str | None = None) -> Any:
        """``body`` is sent as JSON (none: an empty body); ``raw`` exactly as written."""
        data = raw if raw is not None else ("" if body is None else json.dumps(body))
        return self.client.generic(
            method,
            f"/api/v1{path}?api_token={self.token}",
            data,
            content_type="application/json",
        )

    def post(self, path: str, body: Any = None, raw: str | None = None) -> Any:
        return self.send("POST", path, body, raw)

    def patch(self, path: str, body: Any = None, raw: str | None = None) -> Any:
        return self.send("PATCH", path, body, raw)
