"""``/api/v1/contacts``: Okdesk's contact search, create, edit, list and archive."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from trubka.clients.actions import do_create_company, do_create_contact
from trubka.clients.models import Contact, PhoneNumber

NAME_REQUIRED = {
    "errors": {
        "first_name": ["обязателен, если не указан last_name"],
        "last_name": ["обязателен, если не указан first_name"],
    }
}


def person(last_name: str, number: str = "", **fields: Any) -> Contact:
    phones = [("work", number)] if number else []
    return do_create_contact(first_name="Тест", last_name=last_name, phones=phones, **fields)


def numbers_of(contact_id: int) -> dict[str, list[str]]:
    kinds: dict[str, list[str]] = {}
    for phone in PhoneNumber.objects.filter(contact_id=contact_id):
        kinds.setdefault(phone.kind, []).append(phone.e164)
    return kinds


# --- Authentication --------------------------------------------------------------------------


def test_a_request_without_api_token_is_401_in_okdesks_shape(caller):
    response = Client().get("/api/v1/contacts", {"phone": "89161234567"})
    assert response.status_code == 401
    assert isinstance(response.json()["errors"], str)


def test_a_request_with_a_wrong_api_token_is_401(caller):
    response = Client().get("/api/v1/contacts", {"phone": "89161234567", "api_token": "nope"})
    assert response.status_code == 401


# --- Search by phone -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "searched",
    [
        "8 (916) 123-45-67",
        "89161234567",
        "+79161234567",
        "+7 916 123 45 67",
        "79161234567",
        "9161234567",
    ],
)
def test_a_contact_is_found_by_phone_in_any_format(api, caller, searched):
    response = api.get("/contacts", {"phone": searched})
    assert response.status_code == 200
    assert response.json()["id"] == caller.pk


def test_a_plus_encoded_as_percent_2b_finds_the_contact(api, caller):
    assert api.raw_get("/contacts?phone=%2B79161234567").json()["id"] == caller.pk


def test_a_plus_sent_unencoded_still_finds_the_contact(api, caller):
    # An unencoded "+" arrives as a space; the digits still match.
    assert api.raw_get("/contacts?phone=+79161234567").json()["id"] == caller.pk


def test_the_answer_is_one_root_object_in_the_contact_shape(api, caller):
    body = api.get("/contacts", {"phone": "89161234567"}).json()
    assert body["name"] == "Сидоров Пётр"
    assert body["mobile_phone"] == "+7 916 123-45-67"
    assert body["company_id"] == caller.company_id


def test_a_trailing_slash_finds_the_contact_too(api, caller):
    assert api.get("/contacts/", {"phone": "89161234567"}).json()["id"] == caller.pk


def test_an_unknown_phone_answers_an_empty_object_with_200(api, caller):
    response = api.get("/contacts", {"phone": "+7 999 000-00-00"})
    assert (response.status_code, response.json()) == (200, {})


def test_a_phone_without_digits_answers_an_empty_object(api, caller):
    assert api.get("/contacts", {"phone": "anonymous"}).json() == {}


def test_a_number_shared_by_two_contacts_answers_an_empty_object(api, caller):
    person("Двойников", "+7 916 123-45-67")
    assert api.get("/contacts", {"phone": "89161234567"}).json() == {}


def test_a_company_number_does_not_find_a_contact(api, company):
    assert api.get("/contacts", {"phone": "+74951234567"}).json() == {}


def test_an_archived_contact_is_found_when_no_active_one_has_the_number(api, caller):
    Contact.objects.filter(pk=caller.pk).update(active=False)
    assert api.get("/contacts", {"phone": "89161234567"}).json()["id"] == caller.pk


# --- Search by id and e-mail ----------------------------------------------------------------


def test_a_contact_is_found_by_id(api, caller):
    assert api.get("/contacts", {"id": caller.pk}).json()["id"] == caller.pk


def test_an_unknown_id_answers_an_empty_object_with_200(api, caller):
    response = api.get("/contacts", {"id": caller.pk + 1000})
    assert (response.status_code, response.json()) == (200, {})


def test_a_non_integer_id_is_a_422_naming_the_parameter(api):
    response = api.get("/contacts", {"id": "abc"})
    assert response.status_code == 422
    assert list(response.json()["errors"]) == ["id"]


def test_a_contact_is_found_by_email_ignoring_case(api):
    contact = person("Почтов", email="pochtov@example.com")
    assert api.get("/contacts", {"email": "PochTov@Example.com"}).json()["id"] == contact.pk


def test_an_empty_email_finds_nobody(api):
    person("Безпочтов")
    assert api.get("/contacts", {"email": ""}).json() == {}


def test_parameters_given_together_must_all_match(api, caller):
    other = person("Другой", "+7 925 000-00-01")
    assert api.get("/contacts", {"phone": "89161234567", "id": other.pk}).json() == {}


def test_an_email_narrows_a_number_shared_by_two_contacts(api, caller):
    twin = person("Двойников", "+7 916 123-45-67", email="twin@example.com")
    params = {"phone": "89161234567", "email": "twin@example.com"}
    assert api.get("/contacts", params).json()["id"] == twin.pk


def test_a_search_without_parameters_is_a_422(api):
    response = api.get("/contacts")
    assert response.status_code == 422
    assert "base" in response.json()["errors"]


# --- Create ------------------------------------------------------------------------------------


def test_a_contact_wrapped_in_contact_is_created(api):
    response = api.post("/contacts", {"contact": {"first_name": "Иван", "last_name": "Петров"}})
    assert response.status_code == 200
    assert Contact.objects.get(pk=response.json()["id"]).name == "Петров Иван"


def test_a_bare_contact_is_created(api):
    response = api.post("/contacts", {"first_name": "Иван", "last_name": "Петров"})
    assert response.status_code == 200
    assert Contact.objects.filter(pk=response.json()["id"]).exists()


def test_the_answer_is_the_created_contact_with_its_composed_name(api):
    body = api.post(
        "/contacts",
        {"contact": {"first_name": "Иван", "last_name": "Петров", "patronymic": "Сергеевич"}},
    ).json()
    assert (body["name"], body["patronymic"]) == ("Петров Иван Сергеевич", "Сергеевич")


def test_every_documented_field_is_stored(api, company):
    body = api.post(
        "/contacts",
        {
            "contact": {
                "first_name": "Иван",
                "last_name": "Петров",
                "email": "ivan@example.com",
                "position": "Менеджер",
                "comment": "Создан из телефонии",
                "company_id": company.pk,
            }
        },
    ).json()
    contact = Contact.objects.get(pk=body["id"])
    assert (contact.email, contact.position, contact.comment, contact.company) == (
        "ivan@example.com",
        "Менеджер",
        "Создан из телефонии",
        company,
    )


def test_phone_is_stored_as_a_work_number_and_mobile_phone_as_a_mobile_one(api):
    body = api.post(
        "/contacts",
        {
            "contact": {
                "last_name": "Петров",
                "phone": "+74957654321",
                "mobile_phone": "89990001122",
            }
        },
    ).json()
    assert numbers_of(body["id"]) == {"work": ["+74957654321"], "mobile": ["+79990001122"]}


def test_a_created_contact_is_found_by_its_number_afterwards(api):
    created = api.post("/contacts", {"contact": {"last_name": "Петров", "phone": "+74957654321"}})
    found = api.get("/contacts", {"phone": "8 495 765-43-21"}).json()
    assert found["id"] == created.json()["id"]


def test_a_last_name_alone_is_enough(api):
    assert api.post("/contacts", {"contact": {"last_name": "Петров"}}).status_code == 200


def test_a_first_name_alone_is_enough(api):
    assert api.post("/contacts", {"contact": {"first_name": "Иван"}}).status_code == 200


def test_a_contact_without_first_and_last_name_is_a_422_in_okdesks_shape(api):
    response = api.post("/contacts", {"contact": {"phone": "+74957654321"}})
    assert (response.status_code, response.json()) == (422, NAME_REQUIRED)


def test_blank_names_count_as_missing(api):
    response = api.post("/contacts", {"contact": {"first_name": "  ", "last_name": ""}})
    assert response.status_code == 422


def test_a_refused_contact_is_not_created(api):
    api.post("/contacts", {"contact": {"phone": "+74957654321"}})
    assert not Contact.objects.exists()


def test_an_unknown_company_id_is_a_422(api):
    response = api.post("/contacts", {"contact": {"last_name": "Петров", "company_id": 999}})
    assert (response.status_code, response.json()) == (
        422,
        {"errors": {"company_id": ["компания не найдена"]}},
    )


def test_unknown_fields_are_accepted_and_ignored(api):
    body = {"contact": {"last_name": "Петров", "custom_parameters": {"x": 1}, "login": "p"}}
    assert api.post("/contacts", body).status_code == 200


def test_numbers_sent_as_json_numbers_and_ids_as_strings_are_read(api, company):
    body = api.post(
        "/contacts",
        {"contact": {"last_name": "Петров", "phone": 74957654321, "company_id": str(company.pk)}},
    ).json()
    assert (body["phone"], body["company_id"]) == ("+7 495 765-43-21", company.pk)


def test_an_invalid_email_is_a_422_naming_the_field(api):
    response = api.post("/contacts", {"contact": {"last_name": "Петров", "email": "not-mail"}})
    assert response.status_code == 422
    assert list(response.json()["errors"]) == ["email"]


def test_a_phone_without_digits_is_a_422_naming_the_field(api):
    response = api.post("/contacts", {"contact": {"last_name": "Петров", "phone": "нет"}})
    assert response.status_code == 422
    assert list(response.json()["errors"]) == ["phone"]


def test_a_name_longer_than_the_column_is_a_422(api):
    response = api.post("/contacts", {"contact": {"last_name": "П" * 151}})
    assert response.status_code == 422
    assert list(response.json()["errors"]) == ["last_name"]


def test_a_nul_character_is_a_422(api):
    response = api.post("/contacts", {"contact": {"last_name": "Пет\u0000ров"}})
    assert response.status_code == 422


def test_a_body_that_is_not_json_is_a_422(api):
    assert api.post("/contacts", raw="{not json").status_code == 422


def test_a_json_array_body_is_a_422(api):
    assert api.post("/contacts", raw="[]").status_code == 422


# --- Edit --------------------------------------------------------------------------------------


def test_patch_changes_only_the_fields_given(api, caller):
    body = api.patch(f"/contacts/{caller.pk}", {"contact": {"position": "Директор"}}).json()
    assert (body["position"], body["name"], body["company_id"]) == (
        "Директор",
        "Сидоров Пётр",
        caller.company_id,
    )


def test_patch_accepts_a_bare_body(api, caller):
    api.patch(f"/contacts/{caller.pk}", {"first_name": "Павел"})
    caller.refresh_from_db()
    assert caller.first_name == "Павел"


def test_patch_mobile_phone_replaces_the_mobile_number(api, caller):
    api.patch(f"/contacts/{caller.pk}", {"contact": {"mobile_phone": "+79990001122"}})
    assert numbers_of(caller.pk) == {"mobile": ["+79990001122"]}


def test_patch_phone_adds_a_work_number_beside_the_mobile_one(api, caller):
    api.patch(f"/contacts/{caller.pk}", {"contact": {"phone": "+74957654321"}})
    assert numbers_of(caller.pk) == {"mobile": ["+79161234567"], "work": ["+74957654321"]}


def test_patch_an_empty_mobile_phone_removes_the_number(api, caller):
    api.patch(f"/contacts/{caller.pk}", {"contact": {"mobile_phone": ""}})
    assert numbers_of(caller.pk) == {}


def test_patch_company_id_null_detaches_the_contact(api, caller):
    body = api.patch(f"/contacts/{caller.pk}", {"contact": {"company_id": None}}).json()
    assert body["company_id"] is None


def test_patch_moves_the_contact_to_another_company(api, caller):
    other = do_create_company(name="ООО Лютик")
    body = api.patch(f"/contacts/{caller.pk}", {"contact": {"company_id": other.pk}}).json()
    assert body["company_id"] == other.pk


def test_patch_clearing_both_names_is_a_422(api, caller):
    response = api.patch(f"/contacts/{caller.pk}", {"first_name": "", "last_name": None})
    assert (response.status_code, response.json()) == (422, NAME_REQUIRED)


def test_patch_to_an_unknown_company_is_a_422_and_changes_nothing(api, caller):
    api.patch(f"/contacts/{caller.pk}", {"position": "Директор", "company_id": 999})
    caller.refresh_from_db()
    assert caller.position == ""


def test_patch_of_an_unknown_contact_is_a_404_with_a_string_error(api):
    response = api.patch("/contacts/999", {"contact": {"position": "Директор"}})
    assert response.status_code == 404
    assert isinstance(response.json()["errors"], str)


# --- Activations -------------------------------------------------------------------------------


def test_active_false_archives_the_contact(api, caller):
    body = api.patch(f"/contacts/{caller.pk}/activations", {"active": False}).json()
    caller.refresh_from_db()
    assert (body["active"], caller.active) == (False, False)


def test_active_true_restores_an_archived_contact(api, caller):
    Contact.objects.filter(pk=caller.pk).update(active=False)
    api.patch(f"/contacts/{caller.pk}/activations", {"contact": {"active": True}})
    caller.refresh_from_db()
    assert caller.active is True


def test_activations_without_a_body_archive_the_contact(api, caller):
    api.patch(f"/contacts/{caller.pk}/activations")
    caller.refresh_from_db()
    assert caller.active is False


def test_activations_of_an_unknown_contact_is_a_404(api):
    assert api.patch("/contacts/999/activations", {"active": False}).status_code == 404


# --- List --------------------------------------------------------------------------------------


@pytest.fixture
def five(db) -> list[int]:
    return [person(f"Клиент{i}").pk for i in range(5)]


def ids(response: Any) -> list[int]:
    return [row["id"] for row in response.json()]


def test_the_list_is_a_bare_json_array_of_contacts(api, five):
    body = api.get("/contacts/list").json()
    assert isinstance(body, list)
    assert {"id", "name", "phone", "mobile_phone"} <= set(body[0])


def test_by_default_the_list_walks_down_from_the_largest_id(api, five):
    assert ids(api.get("/contacts/list")) == sorted(five, reverse=True)


def test_forward_walks_up_from_the_smallest_id(api, five):
    assert ids(api.get("/contacts/list", {"page[direction]": "forward"})) == five


def test_reverse_from_an_id_starts_below_it(api, five):
    response = api.get("/contacts/list", {"page[from_id]": five[3], "page[direction]": "reverse"})
    assert ids(response) == [five[2], five[1], five[0]]


def test_forward_from_an_id_starts_above_it(api, five):
    response = api.get("/contacts/list", {"page[from_id]": five[1], "page[direction]": "forward"})
    assert ids(response) == five[2:]


def test_page_size_limits_the_page(api, five):
    assert ids(api.get("/contacts/list", {"page[size]": 2})) == [five[4], five[3]]


def test_the_default_page_size_is_50(api):
    for i in range(51):
        person(f"Клиент{i}")
    assert len(api.get("/contacts/list").json()) == 50


def test_a_page_size_of_100_is_allowed(api, five):
    assert api.get("/contacts/list", {"page[size]": 100}).status_code == 200


def test_a_page_size_over_100_is_a_422_in_okdesks_nested_shape(api):
    response = api.get("/contacts/list", {"page[size]": 101})
    assert response.status_code == 422
    assert list(response.json()["errors"]) == ["page"]
    assert isinstance(response.json()["errors"]["page"]["size"][0], str)


def test_a_page_size_of_zero_is_a_422(api):
    assert api.get("/contacts/list", {"page[size]": 0}).status_code == 422


def test_an_unknown_direction_is_a_422_naming_it(api):
    response = api.get("/contacts/list", {"page[direction]": "sideways"})
    assert list(response.json()["errors"]["page"]) == ["direction"]


def test_paging_by_the_last_id_visits_every_contact_once(api, five):
    seen: list[int] = []
    params: dict[str, Any] = {"page[size]": 2}
    while True:
        page = ids(api.get("/contacts/list", params))
        seen += page
        if len(page) < 2:
            break
        params["page[from_id]"] = page[-1]
    assert seen == sorted(five, reverse=True)


def test_the_list_phone_filter_lists_every_contact_the_number_could_belong_to(api, caller):
    twin = person("Двойников", "+7 916 123-45-67")
    person("Посторонний", "+7 925 000-00-01")
    response = api.get("/contacts/list", {"phone": "89161234567"})
    assert ids(response) == [twin.pk, caller.pk]


def test_the_list_company_filter_lists_that_companys_contacts(api, caller, five):
    assert ids(api.get("/contacts/list", {"company_id": caller.company_id})) == [caller.pk]


def test_an_id_beyond_the_integer_range_finds_nobody(api, caller):
    assert api.get("/contacts", {"id": 2**70}).json() == {}


def test_patch_of_an_id_beyond_the_integer_range_is_a_404(api):
    assert api.patch(f"/contacts/{2**70}", {"position": "x"}).status_code == 404


def test_a_from_id_beyond_the_integer_range_is_answered(api, five):
    response = api.get("/contacts/list", {"page[from_id]": 2**70})
    assert ids(response) == sorted(five, reverse=True)
