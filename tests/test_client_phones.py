"""Clients' phone numbers, names and search text."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from trubka.clients.actions import do_add_phone, do_create_company, do_create_contact
from trubka.clients.models import Company, Contact, PhoneNumber

# --- Adding numbers ----------------------------------------------------------------------


def test_an_added_number_is_stored_as_typed_and_normalised(caller):
    phone = do_add_phone(caller, "8 (903) 555-12-34", kind=PhoneNumber.Kind.MOBILE)
    phone.refresh_from_db()
    assert (phone.raw, phone.e164, phone.match_key, phone.contact) == (
        "8 (903) 555-12-34",
        "+79035551234",
        "9035551234",
        caller,
    )


def test_an_added_internal_number_is_stored_without_e164(caller):
    phone = do_add_phone(caller, "101")
    phone.refresh_from_db()
    assert (phone.e164, phone.match_key) == ("", "101")


def test_a_number_added_to_a_company_belongs_to_the_company(company):
    phone = do_add_phone(company, "+7 495 765-43-21")
    phone.refresh_from_db()
    assert (phone.company, phone.contact) == (company, None)


def test_adding_a_number_the_contact_already_has_returns_it_instead_of_a_duplicate(caller):
    existing = caller.phones.get()
    again = do_add_phone(caller, "+7 916 123 45 67")
    assert again.pk == existing.pk
    assert caller.phones.count() == 1


def test_adding_a_number_the_company_already_has_returns_it_instead_of_a_duplicate(company):
    existing = company.phones.get()
    again = do_add_phone(company, "84951234567")
    assert again.pk == existing.pk
    assert company.phones.count() == 1


def test_two_contacts_may_have_the_same_number(caller):
    other = do_create_contact(first_name="Анна", phones=[("mobile", "+7 916 123 45 67")])
    assert PhoneNumber.objects.filter(match_key="9161234567").count() == 2
    assert other.phones.count() == 1


def test_adding_a_number_without_digits_is_refused(caller):
    with pytest.raises(ValidationError):
        do_add_phone(caller, "нет номера")
    assert caller.phones.count() == 1


# --- Ownership ---------------------------------------------------------------------------


def test_a_number_cannot_belong_to_a_contact_and_a_company_at_once(caller, company):
    phone = PhoneNumber(raw="+7 903 555-12-34", contact=caller, company=company)
    with pytest.raises(IntegrityError), transaction.atomic():
        phone.save()


def test_a_number_must_belong_to_a_contact_or_a_company(db):
    phone = PhoneNumber(raw="+7 903 555-12-34")
    with pytest.raises(IntegrityError), transaction.atomic():
        phone.save()


# --- Validation --------------------------------------------------------------------------


@pytest.mark.parametrize("raw", ["", "   ", "нет номера", "+()-"])
def test_a_number_without_digits_is_rejected_on_the_raw_field(caller, raw):
    phone = PhoneNumber(raw=raw, contact=caller)
    with pytest.raises(ValidationError) as caught:
        phone.clean()
    assert "raw" in caught.value.message_dict


def test_a_number_with_digits_passes_validation(caller):
    PhoneNumber(raw="8 (903) 555-12-34", contact=caller).clean()


# --- Names -------------------------------------------------------------------------------


@pytest.mark.parametrize("fields", [{}, {"patronymic": "Петрович"}, {"email": "a@example.ru"}])
def test_a_contact_without_first_or_last_name_is_rejected_by_the_database(db, fields):
    with pytest.raises(IntegrityError), transaction.atomic():
        Contact.objects.create(**fields)


@pytest.mark.parametrize("fields", [{"first_name": "Пётр"}, {"last_name": "Сидоров"}])
def test_a_first_or_a_last_name_alone_is_enough_for_a_contact(db, fields):
    assert Contact.objects.create(**fields).pk is not None


# --- Search text -------------------------------------------------------------------------


def test_a_contacts_search_text_is_lower_cased_with_its_cyrillic_name(db):
    contact = do_create_contact(first_name="Сергей", last_name="Иванов", patronymic="Ильич")
    assert contact.search_text == "иванов сергей ильич"


def test_a_lower_case_search_finds_a_contact_by_a_capitalised_cyrillic_name(db):
    ivanov = do_create_contact(first_name="Сергей", last_name="Иванов")
    do_create_contact(first_name="Павел", last_name="Петров")
    assert list(Contact.objects.filter(search_text__contains="иванов")) == [ivanov]


def test_a_contacts_search_text_includes_its_company_name(caller):
    assert "ооо ромашка" in caller.search_text


def test_a_companys_search_text_is_lower_cased(db):
    company = do_create_company(name="ООО «Ромашка»", additional_name="Ромашка-Сервис")
    assert company.search_text == "ооо «ромашка» ромашка-сервис"


def test_a_lower_case_search_finds_a_company_by_a_capitalised_cyrillic_name(db):
    romashka = do_create_company(name="ООО Ромашка")
    do_create_company(name="АО Лютик")
    assert list(Company.objects.filter(search_text__contains="ромашка")) == [romashka]
