"""Finding the client behind a phone number (the rule in ``trubka.clients.lookup``)."""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Iterator

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from trubka.clients.actions import do_add_phone, do_create_company, do_create_contact
from trubka.clients.lookup import find_caller

FOUR_FORMATS = ["8 (916) 123-45-67", "+7 916 123 45 67", "79161234567", "9161234567"]
OTHER_FORMAT_PAIRS = [(a, b) for a, b in itertools.product(FOUR_FORMATS, repeat=2) if a != b]


@contextlib.contextmanager
def rolled_back() -> Iterator[None]:
    """Run the block in a savepoint that is always rolled back (one hypothesis example)."""
    with transaction.atomic():
        yield
        transaction.set_rollback(True)


@st.composite
def two_renderings(draw: st.DrawFn) -> tuple[str, str]:
    national = "9" + draw(st.text(alphabet="0123456789", min_size=9, max_size=9))
    separators = st.sampled_from(["", " ", "-", ".", "(", ")"])

    def render() -> str:
        prefix = draw(st.sampled_from(["8", "+7", "7", ""]))
        return prefix + "".join(draw(separators) + digit for digit in national)

    return render(), render()


def person(last_name: str, number: str, **fields):
    return do_create_contact(
        first_name="Тест", last_name=last_name, phones=[("work", number)], **fields
    )


# --- Formats -----------------------------------------------------------------------------


@pytest.mark.parametrize(("saved", "searched"), OTHER_FORMAT_PAIRS)
def test_a_contact_saved_in_one_format_is_found_by_another(db, saved, searched):
    contact = person("Сидоров", saved)
    assert find_caller(searched).contact == contact


def test_a_number_typed_with_eight_finds_the_contact_saved_with_plus_seven(db):
    contact = person("Сидоров", "+7 916 123 45 67")
    assert find_caller("8 (916) 123-45-67").contact == contact


@given(two_renderings())
@hypothesis_settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
def test_any_rendering_finds_a_contact_saved_in_any_other_rendering(db, renderings):
    saved, searched = renderings
    with rolled_back():
        contact = person("Сидоров", saved)
        assert find_caller(searched).contact == contact


def test_the_contacts_company_is_returned_with_the_contact(caller, company):
    assert find_caller("+79161234567").company == company


def test_a_companys_own_number_finds_the_company_without_a_contact(caller, company):
    match = find_caller("8 495 123 45 67")
    assert (match.contact, match.company) == (None, company)


# --- Exact E.164 over a shared tail ------------------------------------------------------


def test_an_exact_e164_match_wins_over_a_foreign_number_with_the_same_last_digits(db):
    # +1 916 is Sacramento: its last ten digits equal those of the Moscow mobile +7 916.
    moscow = person("Сидоров", "8 (916) 123-45-67")
    person("Smith", "+1 (916) 123-4567")
    match = find_caller("+7 916 123 45 67")
    assert (match.contact, match.ambiguous) == (moscow, False)


def test_the_foreign_number_is_found_when_the_caller_has_its_country_code(db):
    person("Сидоров", "8 (916) 123-45-67")
    sacramento = person("Smith", "+1 (916) 123-4567")
    assert find_caller("+19161234567").contact == sacramento


# --- Contacts over companies -------------------------------------------------------------


def test_a_contact_is_preferred_to_a_company_with_the_same_number(caller, company):
    do_create_company(name="ООО Лютик", phones=[("work", "+7 916 123-45-67")])
    match = find_caller("9161234567")
    assert (match.contact, match.company) == (caller, company)


# --- Ambiguity ---------------------------------------------------------------------------


def test_two_contacts_with_one_number_are_ambiguous_and_no_contact_is_chosen(db):
    first = person("Сидоров", "8 916 123 45 67", company=do_create_company(name="Альфа"))
    second = person("Петров", "+7 916 123 45 67", company=do_create_company(name="Бета"))
    match = find_caller("79161234567")
    assert (match.ambiguous, match.contact, match.company) == (True, None, None)
    assert set(match.contacts) == {first, second}


def test_two_contacts_of_one_company_sharing_a_number_still_give_the_company(company):
    first = person("Сидоров", "8 916 123 45 67", company=company)
    second = person("Петров", "+7 916 123 45 67", company=company)
    match = find_caller("79161234567")
    assert (match.ambiguous, match.contact, match.company) == (True, None, company)
    assert set(match.contacts) == {first, second}


def test_a_shared_number_of_a_contact_with_a_company_and_one_without_gives_no_company(company):
    person("Сидоров", "8 916 123 45 67", company=company)
    person("Петров", "+7 916 123 45 67")
    match = find_caller("79161234567")
    assert (match.ambiguous, match.contact, match.company) == (True, None, None)


def test_two_companies_with_one_number_are_ambiguous(db):
    alpha = do_create_company(name="Альфа", phones=[("work", "8 (495) 111-22-33")])
    beta = do_create_company(name="Бета", phones=[("work", "+7 495 111 22 33")])
    match = find_caller("4951112233")
    assert (match.ambiguous, match.found, match.company) == (True, False, None)
    assert set(match.companies) == {alpha, beta}


# --- Inactive clients --------------------------------------------------------------------


def test_an_active_contact_wins_over_an_inactive_one_with_the_same_number(db):
    gone = person("Ушедший", "8 916 123 45 67")
    gone.active = False
    gone.save()
    current = person("Текущий", "+7 916 123 45 67")
    match = find_caller("9161234567")
    assert (match.contact, match.ambiguous) == (current, False)


def test_an_inactive_contact_is_found_when_no_active_client_has_the_number(db):
    gone = person("Ушедший", "8 916 123 45 67")
    gone.active = False
    gone.save()
    assert find_caller("9161234567").contact == gone


def test_an_active_company_wins_over_an_inactive_one_with_the_same_number(db):
    closed = do_create_company(name="Закрытая", phones=[("work", "8 (495) 111-22-33")])
    closed.active = False
    closed.save()
    working = do_create_company(name="Работающая", phones=[("work", "+7 495 111 22 33")])
    match = find_caller("4951112233")
    assert (match.company, match.ambiguous) == (working, False)


# --- Nothing found -----------------------------------------------------------------------


def test_an_unknown_number_is_not_found_and_not_ambiguous(caller):
    match = find_caller("+7 999 000-00-00")
    assert (match.found, match.ambiguous, match.contacts, match.companies) == (
        False,
        False,
        [],
        [],
    )


@pytest.mark.parametrize("raw", ["", "   ", "нет номера"])
def test_a_value_without_digits_finds_nobody(caller, raw):
    match = find_caller(raw)
    assert (match.found, match.ambiguous) == (False, False)


# --- Cost --------------------------------------------------------------------------------


@pytest.mark.parametrize("stored", [1, 40])
def test_a_lookup_takes_at_most_two_queries_however_many_clients_share_the_number(
    db, django_assert_max_num_queries, stored
):
    for i in range(stored):
        company = do_create_company(name=f"Компания {i}", phones=[("work", f"+7 495 000-{i:04d}")])
        contact = person(f"Клиент{i}", "+7 916 123 45 67", company=company)
        do_add_phone(contact, f"+7 903 000-{i:04d}")
    with django_assert_max_num_queries(2):
        match = find_caller("8 916 123 45 67")
        names = [(c.name, c.company.name if c.company else "") for c in match.contacts]
        names += [c.name for c in match.companies]
    assert len(match.contacts) == stored
    assert names
