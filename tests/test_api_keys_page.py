"""«Настройки → API» (/settings/api/) and ``trubka api-key``: keys are shown once, stored
hashed, listed by prefix, revocable; only those allowed may manage them."""

from __future__ import annotations

import hashlib
import io
import re

import pytest
from django.contrib.auth.models import Permission
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import Client
from django.urls import reverse

from conftest import logged_in
from trubka.okdesk_api.models import ApiKey

PAGE = "/settings/api/"
API_URL = "/api/v1/employees/list"


def generate(client: Client, employee_pk: int, name: str = "АТС") -> tuple[str, str]:
    """Generate a key on the page; the token as the page shows it, and the page."""
    response = client.post(PAGE, {"employee": employee_pk, "name": name})
    assert response.status_code == 200
    page = response.content.decode()
    match = re.search(r'id="new-key"[^>]*value="([0-9a-f]{64})"', page)
    assert match, "the new key is not shown on the page"
    return match.group(1), page


def works(token: str) -> bool:
    status = Client().get(API_URL, {"api_token": token}).status_code
    assert status in (200, 401)
    return status == 200


def all_text_columns() -> list[str]:
    """Every text value in every table of the database."""
    values: list[str] = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            description = connection.introspection.get_table_description(cursor, table)
            names = [col.name for col in description]
            quoted = ", ".join(connection.ops.quote_name(n) for n in names)
            cursor.execute(f"SELECT {quoted} FROM {connection.ops.quote_name(table)}")  # noqa: S608
            for row in cursor.fetchall():
                values.extend(str(v) for v in row if v is not None)
    return values


def test_the_page_opens_for_an_admin(admin):
    response = logged_in(admin).get(PAGE)

    assert response.status_code == 200
    assert "/api/v1/" in response.content.decode()


def test_an_admin_generates_a_key_shown_once_and_stored_hashed(admin, agent):
    client = logged_in(admin)

    token, _page = generate(client, agent.pk)

    key = ApiKey.objects.get()
    assert key.employee == agent
    assert key.created_by == admin
    assert key.name == "АТС"
    assert key.digest == hashlib.sha256(token.encode()).hexdigest()
    assert key.prefix == token[:8]
    # The token itself is in no column of any table.
    assert not [v for v in all_text_columns() if token in v]
    # Shown once: the list page does not show it again, only its prefix.
    again = client.get(PAGE).content.decode()
    assert token not in again
    assert f"{token[:8]}…" in again
    assert works(token)


def test_the_listing_shows_the_prefix_and_the_employee_not_the_key(admin, agent):
    _key, token = ApiKey.issue(agent, name="скрипт")

    page = logged_in(admin).get(PAGE).content.decode()

    assert token not in page
    assert token[:8] in page
    assert token[:9] not in page
    assert "скрипт" in page
    assert "Иванов" in page


def test_revoke_stops_the_key(admin, agent):
    key, token = ApiKey.issue(agent)
    assert works(token)
    client = logged_in(admin)

    response = client.post(reverse("api_keys:revoke", args=[key.uuid]))

    assert response.status_code == 302
    key.refresh_from_db()
    assert key.revoked_at is not None
    assert not works(token)
    # Another key of the same employee keeps working.
    _other, other_token = ApiKey.issue(agent)
    assert works(other_token)


def test_revoke_needs_post(admin, agent):
    key, token = ApiKey.issue(agent)

    response = logged_in(admin).get(reverse("api_keys:revoke", args=[key.uuid]))

    assert response.status_code == 405
    assert works(token)


def test_an_agent_without_permission_gets_403(agent, agent2):
    key, token = ApiKey.issue(agent2)
    client = logged_in(agent)

    assert client.get(PAGE).status_code == 403
    assert client.post(PAGE, {"employee": agent.pk}).status_code == 403
    assert client.post(reverse("api_keys:revoke", args=[key.uuid])).status_code == 403
    assert ApiKey.objects.count() == 1
    key.refresh_from_db()
    assert key.revoked_at is None
    assert works(token)


def test_an_agent_granted_the_permissions_may_manage_keys(agent, agent2):
    agent.user_permissions.add(
        Permission.objects.get(codename="add_apikey"),
        Permission.objects.get(codename="change_apikey"),
    )
    client = logged_in(agent)

    token, _page = generate(client, agent2.pk)

    assert works(token)


def test_an_anonymous_visitor_is_sent_to_log_in(db):
    response = Client().get(PAGE)

    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


def test_a_key_cannot_be_made_for_an_inactive_employee(admin, agent):
    agent.is_active = False
    agent.save()

    response = logged_in(admin).post(PAGE, {"employee": agent.pk})

    assert response.status_code == 200
    assert not ApiKey.objects.exists()


# --- trubka api-key ------------------------------------------------------------------------


def test_the_command_prints_a_working_token(agent):
    out = io.StringIO()

    call_command("api_key", "create", "--user", agent.username, stdout=out)

    token = out.getvalue().strip()
    assert re.fullmatch(r"[0-9a-f]{64}", token)
    key = ApiKey.objects.get()
    assert key.employee == agent
    assert key.digest == hashlib.sha256(token.encode()).hexdigest()
    assert works(token)


def test_the_command_rejects_an_unknown_user(db):
    with pytest.raises(CommandError):
        call_command("api_key", "create", "--user", "nobody", stdout=io.StringIO())
    assert not ApiKey.objects.exists()


def test_the_command_lists_keys_without_the_keys(agent):
    _key, token = ApiKey.issue(agent, name="АТС")
    out = io.StringIO()

    call_command("api_key", "list", stdout=out)

    text = out.getvalue()
    assert token not in text
    assert token[:8] in text
    assert "ivanov" in text
