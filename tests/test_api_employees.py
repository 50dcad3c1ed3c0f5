"""``GET /api/v1/employees/list`` and ``/employees/{id}``: Okdesk's employee objects, with the
extension as ``telephony_number``, filters and keyset paging."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.test import Client

from trubka.okdesk_api.models import ApiKey
from trubka.staff.models import Employee

EMPLOYEE_FIELDS = {
    "id",
    "first_name",
    "last_name",
    "patronymic",
    "position",
    "active",
    "email",
    "login",
    "phone",
    "telephony_number",
    "comment",
    "groups",
    "roles",
}


@pytest.fixture(autouse=True)
def _fresh_throttle():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def token(admin) -> str:
    return ApiKey.issue(admin)[1]


def get(token: str, path: str, **params: object):
    return Client().get(f"/api/v1{path}", {"api_token": token, **params})


def test_the_list_is_a_bare_array_of_okdesk_employee_objects(token, admin, agent, agent2):
    response = get(token, "/employees/list")

    assert response.status_code == 200
    body = response.json()
    assert isinstance(body, list)
    assert {e["id"] for e in body} == {admin.pk, agent.pk, agent2.pk}
    for item in body:
        assert set(item) == EMPLOYEE_FIELDS
    ivanov = next(e for e in body if e["id"] == agent.pk)
    assert ivanov["login"] == "ivanov"
    assert ivanov["last_name"] == "Иванов"
    assert ivanov["first_name"] == "Иван"
    assert ivanov["active"] is True


def test_telephony_number_is_the_extension_as_a_string(token, admin, agent):
    body = get(token, "/employees/list").json()

    by_id = {e["id"]: e for e in body}
    assert by_id[agent.pk]["telephony_number"] == "101"
    # No extension → an empty string, still a string.
    assert by_id[admin.pk]["telephony_number"] == ""


def test_one_employee_by_id(token, agent):
    response = get(token, f"/employees/{agent.pk}")

    assert response.status_code == 200
    assert response.json()["id"] == agent.pk
    assert response.json()["telephony_number"] == "101"
    assert set(response.json()) == EMPLOYEE_FIELDS


def test_an_unknown_employee_is_404_in_okdesk_shape(token):
    response = get(token, "/employees/999999")

    assert response.status_code == 404
    assert "errors" in response.json()


def test_filter_by_telephony_number(token, agent, agent2):
    body = get(token, "/employees/list", telephony_number="102").json()
    assert [e["id"] for e in body] == [agent2.pk]

    assert get(token, "/employees/list", telephony_number="555").json() == []


def test_telephony_number_filter_ignores_formatting(token, agent):
    body = get(token, "/employees/list", telephony_number=" 101 ").json()
    assert [e["id"] for e in body] == [agent.pk]


def test_filter_by_active(token, admin, agent, agent2):
    agent2.is_active = False
    agent2.save()

    active = get(token, "/employees/list", active="true").json()
    inactive = get(token, "/employees/list", active="false").json()
    everyone = get(token, "/employees/list").json()

    assert {e["id"] for e in active} == {admin.pk, agent.pk}
    assert [e["id"] for e in inactive] == [agent2.pk]
    assert inactive[0]["active"] is False
    assert {e["id"] for e in everyone} == {admin.pk, agent.pk, agent2.pk}


def test_a_bad_active_value_is_422(token):
    response = get(token, "/employees/list", active="maybe")

    assert response.status_code == 422
    assert "active" in response.json()["errors"]


@pytest.fixture
def many(db) -> list[Employee]:
    return [
        Employee.objects.create_user(username=f"op{i:02}", extension=str(200 + i)) for i in range(7)
    ]


def test_keyset_paging_reverse_by_default(token, admin, many):
    ids = sorted([admin.pk, *(e.pk for e in many)], reverse=True)

    first = get(token, "/employees/list", **{"page[size]": 3}).json()
    assert [e["id"] for e in first] == ids[:3]

    second = get(
        token, "/employees/list", **{"page[size]": 3, "page[from_id]": first[-1]["id"]}
    ).json()
    assert [e["id"] for e in second] == ids[3:6]


def test_keyset_paging_forward_walks_everyone_once(token, admin, many):
    seen: list[int] = []
    from_id = 0
    while True:
        page = get(
            token,
            "/employees/list",
            **{"page[size]": 3, "page[from_id]": from_id, "page[direction]": "forward"},
        ).json()
        seen += [e["id"] for e in page]
        if len(page) < 3:
            break
        from_id = page[-1]["id"]

    assert seen == sorted([admin.pk, *(e.pk for e in many)])


def test_filters_and_paging_combine(token, many):
    body = get(
        token, "/employees/list", telephony_number="203", **{"page[direction]": "forward"}
    ).json()
    assert [e["telephony_number"] for e in body] == ["203"]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"page[size]": 101}, "size"),
        ({"page[size]": 0}, "size"),
        ({"page[size]": "x"}, "size"),
        ({"page[direction]": "up"}, "direction"),
        ({"page[from_id]": "abc"}, "from_id"),
    ],
)
def test_bad_paging_is_422_nested_under_page(token, params, field):
    response = get(token, "/employees/list", **params)

    assert response.status_code == 422
    assert field in response.json()["errors"]["page"]


def test_page_size_100_is_allowed(token, many):
    assert get(token, "/employees/list", **{"page[size]": 100}).status_code == 200


@pytest.mark.parametrize("path", ["/employees/list", "/employees/1"])
def test_no_key_is_401(db, path):
    response = Client().get(f"/api/v1{path}")

    assert response.status_code == 401
    assert "errors" in response.json()


def test_a_wrong_key_is_401(db):
    response = get("not-a-key", "/employees/list")

    assert response.status_code == 401


def test_trailing_slash_works_too(token, agent):
    response = Client().get("/api/v1/employees/list/", {"api_token": token})

    assert response.status_code == 200
