"""Normalising phone numbers: one E.164 form and one match key for every way a number is typed."""

from __future__ import annotations

import pytest
from django.conf import settings as django_settings
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from trubka.core.phones import normalize_phone

# The same Moscow mobile number in the four formats people type it in.
FOUR_FORMATS = ["8 (916) 123-45-67", "+7 916 123 45 67", "79161234567", "9161234567"]

SEPARATORS = st.sampled_from(["", " ", "-", ".", "(", ")", " (", ") ", "  "])
PREFIXES = st.sampled_from(["8", "+7", "7", ""])


def russian_mobile_numbers() -> st.SearchStrategy[str]:
    """Ten national digits of a Russian mobile number: 9XXXXXXXXX."""
    return st.text(alphabet="0123456789", min_size=9, max_size=9).map(lambda rest: "9" + rest)


@st.composite
def renderings(draw: st.DrawFn, national: str) -> str:
    """``national`` written with one of the usual prefixes and random separators."""
    prefix = draw(PREFIXES)
    parts = [prefix] if prefix else []
    for digit in national:
        if parts:
            parts.append(draw(SEPARATORS))
        parts.append(digit)
    return "".join(parts)


@st.composite
def numbers_with_a_rendering(draw: st.DrawFn) -> tuple[str, str]:
    national = draw(russian_mobile_numbers())
    return national, draw(renderings(national))


# --- The four common formats -------------------------------------------------------------


@pytest.mark.parametrize("typed", FOUR_FORMATS)
def test_each_common_russian_format_gives_the_e164_form(typed):
    assert normalize_phone(typed).e164 == "+79161234567"


@pytest.mark.parametrize("typed", FOUR_FORMATS)
def test_each_common_russian_format_gives_the_ten_digit_match_key(typed):
    assert normalize_phone(typed).match_key == "9161234567"


def test_the_double_zero_international_prefix_is_read_as_a_plus():
    assert normalize_phone("00 7 916 123 45 67").e164 == "+79161234567"


def test_the_double_zero_prefix_keeps_a_foreign_country_code():
    assert normalize_phone("00380 44 123 4567").e164 == "+380441234567"


def test_the_number_is_kept_as_typed_without_surrounding_spaces():
    assert normalize_phone("  8 (916) 123-45-67 ").raw == "8 (916) 123-45-67"


# --- Internal numbers and extensions -----------------------------------------------------


@pytest.mark.parametrize("extension", ["101", "1", "2045"])
def test_a_short_internal_number_has_no_e164_form(extension):
    assert normalize_phone(extension).e164 is None


@pytest.mark.parametrize("extension", ["101", "1", "2045"])
def test_a_short_internal_number_is_matched_by_its_digits(extension):
    assert normalize_phone(extension).match_key == extension


def test_a_short_internal_number_is_displayed_as_its_digits():
    assert normalize_phone("101").display == "101"


def test_an_extension_written_after_a_number_is_kept_apart_from_the_match_key():
    phone = normalize_phone("+7 916 123-45-67 доб. 123")
    assert (phone.e164, phone.match_key, phone.extension) == ("+79161234567", "9161234567", "123")


# --- Empty and garbage input -------------------------------------------------------------


@pytest.mark.parametrize("garbage", ["", "   ", "abc", "+", "нет номера", "()-.", "\x00", None])
def test_input_without_digits_yields_an_empty_match_key(garbage):
    phone = normalize_phone(garbage)
    assert (phone.e164, phone.match_key) == (None, "")


@given(st.text())
@hypothesis_settings(max_examples=300, deadline=None)
def test_normalising_arbitrary_text_never_raises(text):
    normalize_phone(text)


# --- Foreign numbers ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "e164"),
    [
        ("+380 44 123 4567", "+380441234567"),
        ("+1 212 555-0123", "+12125550123"),
        ("+49 30 12345678", "+493012345678"),
    ],
)
def test_a_foreign_number_keeps_its_country_code(typed, e164):
    assert normalize_phone(typed).e164 == e164


# --- Display -----------------------------------------------------------------------------


@pytest.mark.parametrize("typed", FOUR_FORMATS)
def test_a_russian_number_is_displayed_in_international_format(typed):
    assert normalize_phone(typed).display == "+7 916 123-45-67"


# --- Properties --------------------------------------------------------------------------


@given(numbers_with_a_rendering())
@hypothesis_settings(max_examples=200, deadline=None)
def test_every_rendering_of_a_russian_mobile_number_gives_its_e164_form(case):
    national, rendering = case
    assert normalize_phone(rendering).e164 == "+7" + national


@given(numbers_with_a_rendering())
@hypothesis_settings(max_examples=200, deadline=None)
def test_every_rendering_of_a_russian_mobile_number_gives_its_ten_digit_match_key(case):
    national, rendering = case
    assert normalize_phone(rendering).match_key == national


@given(st.data())
@hypothesis_settings(max_examples=100, deadline=None)
def test_two_renderings_of_one_number_share_e164_and_match_key(data):
    national = data.draw(russian_mobile_numbers())
    first = normalize_phone(data.draw(renderings(national)))
    second = normalize_phone(data.draw(renderings(national)))
    assert (first.e164, first.match_key) == (second.e164, second.match_key)


@given(st.text())
@hypothesis_settings(max_examples=300, deadline=None)
def test_the_match_key_is_the_last_digits_up_to_the_configured_length(text):
    phone = normalize_phone(text)
    expected_length = min(len(phone.digits), django_settings.TRUBKA_PHONE_MATCH_DIGITS)
    assert len(phone.match_key) == expected_length
    assert phone.digits.endswith(phone.match_key)


@pytest.mark.parametrize("length", [5, 7, 10, 11, 15])
def test_changing_the_match_digits_setting_changes_the_match_key_length(settings, length):
    settings.TRUBKA_PHONE_MATCH_DIGITS = length
    key = normalize_phone("+7 916 123-45-67").match_key
    assert key == "79161234567"[-length:]
