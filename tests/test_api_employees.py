"""``GET /api/v1/employees/list`` and ``/employees/{id}``: Okdesk's employee objects, with the
extension as ``telephony_number``, filters and keyset paging."""

from __future__ import annotations

import pytest
from django.test import Client

from api_helpers import Api
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


def test_the_list_is_a_bare_array_of_okdesk_employee_objects(admin_api, admin, agent, agent2):
    response = admin_api.get("/employees/list")

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


def test_telephony_number_is_the_extension_as_a_string(admin_api, admin, agent):
    body = admin_api.get("/employees/list").json()

    by_id = {e["id"]: e for e in body}
    assert by_id[agent.pk]["telephony_number"] == "101"
    # No extension → an empty string, still a string.
    assert by_id[admin.pk]["telephony_number"] == ""


def test_one_employee_by_id(admin_api, agent):
    response = admin_api.get(f"/employees/{agent.pk}")

    assert response.status_code == 200
    assert response.json()["id"] == agent.pk
    assert response.json()["telephony_number"] == "101"
    assert set(response.json()) == EMPLOYEE_FIELDS


def test_an_unknown_employee_is_404_in_okdesk_shape(admin_api):
    response = admin_api.get("/employees/999999")

    assert response.status_code == 404
    assert "errors" in response.json()


def test_filter_by_telephony_number(admin_api, agent, agent2):
    body = admin_api.get("/employees/list", {"telephony_number": "102"}).json()
    assert [e["id"] for e in body] == [agent2.pk]

    assert admin_api.get("/employees/list", {"telephony_number": "555"}).json() == []


def test_telephony_number_filter_ignores_formatting(admin_api, agent):
    body = admin_api.get("/employees/list", {"telephony_number": " 101 "}).json()
    assert [e["id"] for e in body] == [agent.pk]


def test_filter_by_active(admin_api, admin, agent, agent2):
    agent2.is_active = False
    agent2.save()

    active = admin_api.get("/employees/list", {"active": "true"}).json()
    inactive = admin_api.get("/employees/list", {"active": "false"}).json()
    everyone = admin_api.get("/employees/list").json()

    assert {e["id"] for e in active} == {admin.pk, agent.pk}
    assert [e["id"] for e in inactive] == [agent2.pk]
    assert inactive[0]["active"] is False
    assert {e["id"] for e in everyone} == {admin.pk, agent.pk, agent2.pk}


def test_a_bad_active_value_is_422(admin_api):
    response = admin_api.get("/employees/list", {"active": "maybe"})

    assert response.status_code == 422
    assert "active" in response.json()["errors"]


@pytest.fixture
def many(db) -> list[Employee]:
    return [
        Employee.objects.create_user(username=f"op{i:02}", extension=str(200 + i)) for i in range(7)
    ]


def test_keyset_paging_reverse_by_default(admin_api, admin, many):
    ids = sorted([admin.pk, *(e.pk for e in many)], reverse=True)

    first = admin_api.get("/employees/list", {"page[size]": 3}).json()
    assert [e["id"] for e in first] == ids[:3]

    params = {"page[size]": 3, "page[from_id]": first[-1]["id"]}
    second = admin_api.get("/employees/list", params).json()
    assert [e["id"] for e in second] == ids[3:6]


def test_keyset_paging_forward_walks_everyone_once(admin_api, admin, many):
    seen: list[int] = []
    from_id = 0
    while True:
        params = {"page[size]": 3, "page[from_id]": from_id, "page[direction]": "forward"}
        page = admin_api.get("/employees/list", params).json()
        seen += [e["id"] for e in page]
        if len(page) < 3:
            break
        from_id = page[-1]["id"]

    assert seen == sorted([admin.pk, *(e.pk for e in many)])


def test_filters_and_paging_combine(admin_api, many):
    params = {"telephony_number": "203", "page[direction]": "forward"}
    body = admin_api.get("/employees/list", params).json()
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
def test_bad_paging_is_422_nested_under_page(admin_api, params, field):
    response = admin_api.get("/employees/list", params)

    assert response.status_code == 422
    assert field in response.json()["errors"]["page"]


def test_page_size_100_is_allowed(admin_api, many):
    assert admin_api.get("/employees/list", {"page[size]": 100}).status_code == 200


@pytest.mark.parametrize("path", ["/employees/list", "/employees/1"])
def test_no_key_is_401(db, path):
    response = Client().get(f"/api/v1{path}")

    assert response.status_code == 401
    assert "errors" in response.json()


def test_a_wrong_key_is_401(db):
    response = Api("not-a-key").get("/employees/list")

    assert response.status_code == 401


def test_trailing_slash_works_too(admin_api, agent):
    response = admin_api.get("/employees/list/")

    assert response.status_code == 200
