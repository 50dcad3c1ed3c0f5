"""The OpenAPI schema of ``/api/v1`` is valid, and every operation in it survives generated
requests: no 5xx, and answers match the declared response schemas.

The schema is read from the app itself (Django's WSGI application, in-process), so an
operation added by any router in ``okdesk_api/routers/`` is tested here automatically: one
test per operation (``test_operation[GET /api/v1/...]``), 15 generated requests each (set
``TRUBKA_SCHEMATHESIS_EXAMPLES`` for more), derandomized. Every request carries a valid
``api_token``; the database is reset between operations as in any test.
"""

from __future__ import annotations

import json
import os

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.test import Client
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from trubka.okdesk_api.models import ApiKey
from trubka.wsgi import application

SCHEMA_PATH = "/api/v1/openapi.json"
# A few examples per operation keep the suite fast; raise it for a deeper search.
EXAMPLES = int(os.environ.get("TRUBKA_SCHEMATHESIS_EXAMPLES", "15"))

# Loaded once at collection through the WSGI app (no database needed to build the schema).
schema = schemathesis.openapi.from_wsgi(SCHEMA_PATH, application)


@pytest.fixture
def _keep_the_test_connection():
    """Requests go through the real WSGI app, whose request signals close «old» database
    connections, the test's open transaction included; Django's test client disconnects
    them the same way."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def api_token(admin, _keep_the_test_connection) -> str:
    """An administrator's key: every operation is allowed, so answers are about the data."""
    return ApiKey.issue(admin, name="schemathesis")[1]


def test_the_schema_is_served_and_valid(db):
    response = Client().get(SCHEMA_PATH)

    assert response.status_code == 200
    document = response.json()
    # Validated against the OpenAPI meta-schema of the document's version.
    schemathesis.openapi.from_dict(document).validate()
    assert document["openapi"].startswith("3.")
    assert document["paths"], "no operations in the schema"
    # Every operation is behind api_token, declared as Okdesk's query parameter.
    schemes = document["components"]["securitySchemes"]
    assert {"type": "apiKey", "in": "query", "name": "api_token"}.items() <= next(
        iter(schemes.values())
    ).items()
    for path, operations in document["paths"].items():
        assert path.startswith("/api/v1/"), path
        for method, operation in operations.items():
            assert operation.get("security"), f"{method.upper()} {path} has no security"


def test_the_validation_above_does_reject_a_broken_document(db):
    document = Client().get(SCHEMA_PATH).json()
    document["paths"]["/api/v1/employees/list"]["get"]["responses"] = "none"

    with pytest.raises(Exception, match=r"responses|none"):
        schemathesis.openapi.from_dict(document).validate()


def test_schemathesis_loads_every_operation():
    operations = [result.ok() for result in schema.get_all_operations()]

    assert operations
    labels = {operation.label for operation in operations}
    for expected in (
        "POST /api/v1/telephony/messages",
        "POST /api/v1/phone_calls",
        "GET /api/v1/phone_calls",
        "GET /api/v1/employees/list",
        "GET /api/v1/employees/{employee_id}",
    ):
        assert expected in labels, sorted(labels)


def test_the_schema_document_is_json_serialisable():
    document = schema.raw_schema

    assert json.loads(json.dumps(document)) == document


@pytest.mark.django_db
@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
    ],
)
def test_operation(case, api_token):
    case.call_and_validate(
        params={"api_token": api_token},
        checks=[not_a_server_error, response_schema_conformance],
    )


# --- Edge values schemathesis finds only with luck ------------------------------------------
#
# Integers beyond 64 bits (SQLite and PostgreSQL both refuse them: OverflowError/DataError),
# an OFFSET that overflows, and dates at the ends of the calendar (0001-01-01 in the account's
# zone is before datetime.min in UTC). Every operation must answer them with a 4xx or
# nothing found, never a 5xx. Probed one parameter at a time, for every operation.

HUGE = (2**70, -(2**70), 2**63)
EDGE_DATES = ("0001-01-01 00:00", "01-01-0001", "9999-12-31 23:59", "31-12-9999")
# Okdesk's paging parameters, probed on every GET even where the schema does not declare them.
PAGING_PROBES: tuple[tuple[str, int], ...] = (
    ("page[number]", 2**70),
    ("page[number]", 2**62),
    ("page[from_id]", 2**70),
    ("page[size]", 2**70),
)


def _types(param_schema: dict) -> set[str]:
    """The JSON types a parameter's schema allows (following anyOf/oneOf and array items)."""
    found: set[str] = set()
    for variant in param_schema.get("anyOf", []) + param_schema.get("oneOf", []) + [param_schema]:
        kind = variant.get("type")
        if kind == "array":
            found |= {f"array:{t}" for t in _types(variant.get("items", {}))}
        elif isinstance(kind, str):
            found.add(kind)
    return found


def _operations() -> list[tuple[str, str, dict]]:
    return [
        (method.upper(), path, operation)
        for path, operations in schema.raw_schema["paths"].items()
        for method, operation in operations.items()
    ]


def _probes(method: str, operation: dict) -> list[tuple[str, str, object]]:
    """(where, name, value) for each edge value to try."""
    probes: list[tuple[str, str, object]] = []
    for param in operation.get("parameters", []):
        where, name, kinds = param["in"], param["name"], _types(param.get("schema", {}))
        if where not in ("query", "path"):
            continue
        if kinds & {"integer", "array:integer"}:
            probes += [(where, name, value) for value in HUGE]
        if "string" in kinds and name.endswith(("_since", "_until")):
            probes += [(where, name, value) for value in EDGE_DATES]
    if method == "GET":
        probes += [("query", name, value) for name, value in PAGING_PROBES]
    return probes


@pytest.mark.parametrize(
    ("method", "path", "operation"),
    _operations(),
    ids=[f"{method} {path}" for method, path, _ in _operations()],
)
def test_edge_values_are_no_server_error(method, path, operation, api_token):
    client = Client(raise_request_exception=False)
    path_params = {p["name"]: 1 for p in operation.get("parameters", []) if p["in"] == "path"}
    failures = []
    for where, name, value in _probes(method, operation):
        url = path
        query: dict[str, object] = {"api_token": api_token}
        for param, default in path_params.items():
            url = url.replace("{" + param + "}", str(value if param == name else default))
        if where == "query":
            query[name] = value
        if method == "GET":
            response = client.get(url, query)
        else:
            response = client.generic(
                method, url, "{}", content_type="application/json", query_params=query
            )
        if response.status_code >= 500:
            shown = {k: v for k, v in query.items() if k != "api_token"}
            failures.append(f"{method} {url} {shown} → {response.status_code}")
    assert not failures, "\n".join(failures)
