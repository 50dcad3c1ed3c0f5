"""``/api/v1/companies``: Okdesk's company search, create, edit, list and archive."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.test import Client

from trubka.clients.actions import do_create_company, do_create_contact
from trubka.clients.models import Company, PhoneNumber

MOSCOW = ZoneInfo("Europe/Moscow")


def firm(name: str, number: str = "", **fields: Any) -> Company:
    phones = [("work", number)] if number else []
    return do_create_company(name=name, phones=phones, **fields)


def numbers_of(company: Company) -> dict[str, list[str]]:
    kinds: dict[str, list[str]] = {}
    for phone in PhoneNumber.objects.filter(company=company):
        kinds.setdefault(phone.kind, []).append(phone.e164)
    return kinds


def ids(response: Any) -> list[int]:
    return [row["id"] for row in response.json()]


# --- Authentication --------------------------------------------------------------------------


def test_a_request_without_api_token_is_401(company):
    response = Client().get("/api/v1/companies", {"name": "ООО Ромашка"})
    assert response.status_code == 401
    assert isinstance(response.json()["errors"], str)


# --- Search ------------------------------------------------------------------------------------


def test_a_company_is_found_by_its_exact_name(api, company):
    assert api.get("/companies", {"name": "ООО Ромашка"}).json()["id"] == company.pk


def test_the_name_is_matched_ignoring_case_in_any_alphabet(api, company):
    assert api.get("/companies", {"name": "ооо РОМАШКА"}).json()["id"] == company.pk


def test_a_company_is_found_by_its_additional_name(api):
    found = firm("ООО Лютик", additional_name="Лютик-Сервис")
    assert api.get("/companies", {"name": "лютик-сервис"}).json()["id"] == found.pk


def test_a_part_of_the_name_does_not_find_the_company(api, company):
    assert api.get("/companies", {"name": "Ромашка"}).json() == {}


def test_the_answer_is_one_root_object_in_the_company_shape(api, company, caller):
    body = api.get("/companies", {"name": "ООО Ромашка"}).json()
    assert (body["phone"], body["contacts"]) == (
        "+7 495 123-45-67",
        [{"id": caller.pk, "name": "Сидоров Пётр"}],
    )


def test_two_companies_with_the_name_answer_an_empty_object(api, company):
    firm("ООО Ромашка")
    assert api.get("/companies", {"name": "ООО Ромашка"}).json() == {}


@pytest.mark.parametrize(
    "searched", ["+7 (495) 123-45-67", "84951234567", "+74951234567", "74951234567", "4951234567"]
)
def test_a_company_is_found_by_phone_in_any_format(api, company, searched):
    assert api.get("/companies", {"phone": searched}).json()["id"] == company.pk


def test_a_plus_encoded_as_percent_2b_finds_the_company(api, company):
    assert api.raw_get("/companies?phone=%2B7(495)123-45-67").json()["id"] == company.pk


def test_a_contacts_number_does_not_find_the_contacts_company(api, caller):
    assert api.get("/companies", {"phone": "89161234567"}).json() == {}


def test_an_unknown_phone_answers_an_empty_object_with_200(api, company):
    response = api.get("/companies", {"phone": "+7 999 000-00-00"})
    assert (response.status_code, response.json()) == (200, {})


def test_a_company_is_found_by_id(api, company):
    assert api.get("/companies", {"id": company.pk}).json()["id"] == company.pk


def test_an_unknown_id_answers_an_empty_object(api, company):
    assert api.get("/companies", {"id": company.pk + 1000}).json() == {}


def test_name_and_phone_given_together_must_both_match(api, company):
    firm("ООО Лютик", "+7 495 000-00-01")
    params = {"name": "ООО Лютик", "phone": "+74951234567"}
    assert api.get("/companies", params).json() == {}


def test_a_crm_1c_id_finds_nothing_as_trubka_keeps_none(api, company):
    assert api.get("/companies", {"crm_1c_id": "35067c4b23a8"}).json() == {}


def test_a_search_without_parameters_is_a_422(api):
    response = api.get("/companies")
    assert response.status_code == 422
    assert "base" in response.json()["errors"]


def test_search_string_finds_a_company_by_a_part_of_its_name(api, company):
    assert api.get("/companies", {"search_string": "ромаш"}).json()["id"] == company.pk


def test_search_string_ignores_the_other_parameters(api, company):
    params = {"search_string": "ромаш", "id": company.pk + 1000, "phone": "+79990000000"}
    assert api.get("/companies", params).json()["id"] == company.pk


def test_search_string_prefers_the_exact_name(api):
    firm("Ромашка-2")
    exact = firm("Ромашка")
    assert api.get("/companies", {"search_string": "ромашка"}).json()["id"] == exact.pk


def test_search_string_prefers_an_active_company_then_the_oldest(api):
    archived = firm("Ромашка Север", active=False)
    older = firm("Ромашка Юг")
    firm("Ромашка Запад")
    assert archived.pk < older.pk
    assert api.get("/companies", {"search_string": "ромашка"}).json()["id"] == older.pk


def test_search_string_does_not_look_at_the_email(api):
    firm("ООО Лютик", email="romashka@example.com")
    assert api.get("/companies", {"search_string": "romashka"}).json() == {}


def test_a_search_string_nothing_contains_answers_an_empty_object(api, company):
    assert api.get("/companies", {"search_string": "лютик"}).json() == {}


# --- Create ------------------------------------------------------------------------------------


def test_a_company_wrapped_in_company_is_created(api):
    response = api.post("/companies", {"company": {"name": "ООО Лютик"}})
    assert response.status_code == 200
    assert Company.objects.get(pk=response.json()["id"]).name == "ООО Лютик"


def test_a_bare_company_is_created(api):
    response = api.post("/companies", {"name": "ООО Лютик"})
    assert Company.objects.filter(pk=response.json()["id"]).exists()


def test_every_documented_field_is_stored(api):
    fields = {
        "name": "ООО Лютик",
        "additional_name": "Лютик-Сервис",
        "email": "info@lutik.example",
        "site": "https://lutik.example",
        "address": "г. Москва, ул. Полевая, 1",
        "comment": "Создана из API",
    }
    body = api.post("/companies", {"company": fields}).json()
    assert {key: body[key] for key in fields} == fields


def test_the_phone_is_stored_as_a_work_number(api):
    body = api.post("/companies", {"company": {"name": "ООО Лютик", "phone": "84957654321"}})
    assert numbers_of(Company.objects.get(pk=body.json()["id"])) == {"work": ["+74957654321"]}


def test_a_created_company_is_found_by_its_number_afterwards(api):
    created = api.post("/companies", {"company": {"name": "ООО Лютик", "phone": "84957654321"}})
    found = api.get("/companies", {"phone": "+7 495 765-43-21"}).json()
    assert found["id"] == created.json()["id"]


def test_a_company_without_a_name_is_a_422_naming_the_field(api):
    response = api.post("/companies", {"company": {"phone": "84957654321"}})
    assert response.status_code == 422
    assert list(response.json()["errors"]) == ["name"]


def test_a_blank_name_is_a_422(api):
    response = api.post("/companies", {"company": {"name": "   "}})
    assert (response.status_code, list(response.json()["errors"])) == (422, ["name"])


def test_an_invalid_email_is_a_422_naming_the_field(api):
    response = api.post("/companies", {"company": {"name": "ООО Лютик", "email": "nope"}})
    assert (response.status_code, list(response.json()["errors"])) == (422, ["email"])


def test_unknown_fields_are_accepted_and_ignored(api):
    body = {"company": {"name": "ООО Лютик", "coordinates": [55.7, 37.6], "category_code": "vip"}}
    assert api.post("/companies", body).status_code == 200


# --- Edit --------------------------------------------------------------------------------------


def test_patch_changes_only_the_fields_given(api, company):
    body = api.patch(f"/companies/{company.pk}", {"company": {"site": "https://r.example"}})
    assert (body.json()["site"], body.json()["name"]) == ("https://r.example", "ООО Ромашка")


def test_patch_renames_the_company(api, company):
    api.patch(f"/companies/{company.pk}", {"name": "ООО Ромашка-Плюс"})
    company.refresh_from_db()
    assert company.name == "ООО Ромашка-Плюс"


def test_patch_phone_replaces_the_work_number(api, company):
    body = api.patch(f"/companies/{company.pk}", {"company": {"phone": "+74957654321"}}).json()
    assert (body["phone"], numbers_of(company)) == ("+7 495 765-43-21", {"work": ["+74957654321"]})


def test_patch_an_empty_phone_removes_the_work_number(api, company):
    api.patch(f"/companies/{company.pk}", {"company": {"phone": ""}})
    assert numbers_of(company) == {}


def test_patch_a_blank_name_is_a_422_and_changes_nothing(api, company):
    response = api.patch(f"/companies/{company.pk}", {"name": "", "site": "https://r.example"})
    company.refresh_from_db()
    assert (response.status_code, company.site) == (422, "")


def test_patch_of_an_unknown_company_is_a_404_with_a_string_error(api):
    response = api.patch("/companies/999", {"company": {"site": "https://r.example"}})
    assert response.status_code == 404
    assert isinstance(response.json()["errors"], str)


# --- Activations -------------------------------------------------------------------------------


def test_active_false_archives_the_company(api, company):
    body = api.patch(f"/companies/{company.pk}/activations", {"active": False}).json()
    company.refresh_from_db()
    assert (body["active"], company.active) == (False, False)


def test_active_true_restores_an_archived_company(api, company):
    Company.objects.filter(pk=company.pk).update(active=False)
    api.patch(f"/companies/{company.pk}/activations", {"company": {"active": True}})
    company.refresh_from_db()
    assert company.active is True


def test_activations_without_a_body_archive_the_company(api, company):
    api.patch(f"/companies/{company.pk}/activations")
    company.refresh_from_db()
    assert company.active is False


def test_activations_of_an_unknown_company_is_a_404(api):
    assert api.patch("/companies/999/activations", {"active": False}).status_code == 404


# --- List --------------------------------------------------------------------------------------


@pytest.fixture
def five(db) -> list[int]:
    return [firm(f"Фирма {i}").pk for i in range(5)]


def created_on(company_id: int, moment: datetime) -> None:
    Company.objects.filter(pk=company_id).update(created_at=moment)


def test_the_list_is_a_bare_json_array_of_companies(api, five):
    body = api.get("/companies/list").json()
    assert isinstance(body, list)
    assert {"id", "name", "phone", "active"} <= set(body[0])


def test_by_default_the_list_walks_down_from_the_largest_id(api, five):
    assert ids(api.get("/companies/list")) == sorted(five, reverse=True)


def test_forward_from_an_id_walks_up_from_above_it(api, five):
    params = {"page[from_id]": five[1], "page[direction]": "forward", "page[size]": 2}
    assert ids(api.get("/companies/list", params)) == [five[2], five[3]]


def test_reverse_from_an_id_walks_down_from_below_it(api, five):
    params = {"page[from_id]": five[2]}
    assert ids(api.get("/companies/list", params)) == [five[1], five[0]]


def test_a_page_size_over_100_is_a_422_in_okdesks_nested_shape(api):
    response = api.get("/companies/list", {"page[size]": 101})
    assert response.status_code == 422
    assert list(response.json()["errors"]["page"]) == ["size"]


def test_the_name_filter_lists_the_companies_of_exactly_that_name(api, five):
    assert ids(api.get("/companies/list", {"name": "фирма 3"})) == [five[3]]


def test_the_additional_name_filter_lists_the_companies_with_it(api, five):
    found = firm("ООО Лютик", additional_name="Лютик-Сервис")
    assert ids(api.get("/companies/list", {"additional_name": "Лютик-Сервис"})) == [found.pk]


def test_created_since_leaves_out_older_companies(api, five):
    created_on(five[0], datetime(2019, 5, 24, 23, 59, tzinfo=MOSCOW))
    created_on(five[1], datetime(2019, 5, 25, 0, 0, tzinfo=MOSCOW))
    for pk in five[2:]:
        created_on(pk, datetime(2018, 1, 1, tzinfo=MOSCOW))
    response = api.get("/companies/list", {"created_since": "2019-05-25"})
    assert ids(response) == [five[1]]


def test_created_until_given_as_a_date_takes_in_the_whole_day(api, five):
    created_on(five[0], datetime(2019, 5, 25, 23, 59, tzinfo=MOSCOW))
    created_on(five[1], datetime(2019, 5, 26, 0, 0, tzinfo=MOSCOW))
    response = api.get("/companies/list", {"created_until": "2019-05-25"})
    assert ids(response) == [five[0]]


def test_created_until_with_a_time_ends_at_that_minute(api, five):
    created_on(five[0], datetime(2019, 5, 25, 12, 0, tzinfo=MOSCOW))
    created_on(five[1], datetime(2019, 5, 25, 12, 1, tzinfo=MOSCOW))
    response = api.get("/companies/list", {"created_until": "2019-05-25 12:00"})
    assert ids(response) == [five[0]]


def test_created_dates_are_read_in_the_accounts_time_zone(api, five):
    # 2019-05-25 00:30 in Moscow is 2019-05-24 21:30 UTC.
    created_on(five[0], datetime(2019, 5, 25, 0, 30, tzinfo=MOSCOW))
    for pk in five[1:]:
        created_on(pk, datetime(2019, 5, 24, 23, 0, tzinfo=MOSCOW))
    assert ids(api.get("/companies/list", {"created_since": "2019-05-25"})) == [five[0]]


def test_a_created_since_that_is_no_date_is_a_422_naming_it(api):
    response = api.get("/companies/list", {"created_since": "вчера"})
    assert (response.status_code, list(response.json()["errors"])) == (422, ["created_since"])


def test_a_category_filter_lists_nothing_as_trubka_has_no_categories(api, five):
    assert api.get("/companies/list", {"category_ids[]": 3}).json() == []


def test_a_category_filter_for_companies_without_one_lists_them_all(api, five):
    assert len(api.get("/companies/list", {"category_ids[]": 0}).json()) == 5


def test_the_list_shows_archived_companies_too(api, five):
    Company.objects.filter(pk=five[0]).update(active=False)
    assert five[0] in ids(api.get("/companies/list"))


def test_a_company_listed_shows_its_contacts(api, company):
    do_create_contact(first_name="Ольга", last_name="Лютикова", company=company)
    (row,) = api.get("/companies/list").json()
    assert [c["name"] for c in row["contacts"]] == ["Лютикова Ольга"]
