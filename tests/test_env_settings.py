"""Typed readers of environment variables: defaults, valid values, errors naming the variable."""

from __future__ import annotations

import pytest

from trubka.env import (
    ConfigurationError,
    env_bool,
    env_choice,
    env_int,
    env_list,
    env_parsed,
    env_str,
)

# --- env_str -----------------------------------------------------------------------------


def test_a_missing_string_gives_the_default():
    assert env_str("TRUBKA_X", "fallback", {}) == "fallback"


def test_a_string_is_read_without_surrounding_spaces():
    assert env_str("TRUBKA_X", "fallback", {"TRUBKA_X": "  value "}) == "value"


def test_an_empty_string_gives_the_default():
    assert env_str("TRUBKA_X", "fallback", {"TRUBKA_X": "  "}) == "fallback"


def test_the_process_environment_is_read_when_no_mapping_is_given(monkeypatch):
    monkeypatch.setenv("TRUBKA_TEST_ONLY_VARIABLE", "from-os")
    assert env_str("TRUBKA_TEST_ONLY_VARIABLE", "fallback") == "from-os"


# --- env_bool ----------------------------------------------------------------------------


@pytest.mark.parametrize("default", [True, False])
def test_a_missing_boolean_gives_the_default(default):
    assert env_bool("TRUBKA_FLAG", default, {}) is default


@pytest.mark.parametrize("value", ["1", "true", "True", "YES", "on", " yes "])
def test_true_spellings_read_as_true(value):
    assert env_bool("TRUBKA_FLAG", False, {"TRUBKA_FLAG": value}) is True


@pytest.mark.parametrize("value", ["0", "false", "FALSE", "no", "Off", " no "])
def test_false_spellings_read_as_false(value):
    assert env_bool("TRUBKA_FLAG", True, {"TRUBKA_FLAG": value}) is False


@pytest.mark.parametrize("value", ["maybe", "2", "да", "y"])
def test_a_bad_boolean_raises_an_error_naming_the_variable(value):
    with pytest.raises(ConfigurationError, match="TRUBKA_FLAG"):
        env_bool("TRUBKA_FLAG", False, {"TRUBKA_FLAG": value})


# --- env_int -----------------------------------------------------------------------------


def test_a_missing_integer_gives_the_default():
    assert env_int("TRUBKA_N", 7, {}) == 7


def test_an_empty_integer_gives_the_default():
    assert env_int("TRUBKA_N", 7, {"TRUBKA_N": ""}) == 7


@pytest.mark.parametrize(("value", "expected"), [("42", 42), (" 42 ", 42), ("-3", -3), ("0", 0)])
def test_a_whole_number_is_read(value, expected):
    assert env_int("TRUBKA_N", 7, {"TRUBKA_N": value}) == expected


@pytest.mark.parametrize("value", ["abc", "3.5", "1e3", "ten", "0x10"])
def test_a_bad_integer_raises_an_error_naming_the_variable(value):
    with pytest.raises(ConfigurationError, match="TRUBKA_N"):
        env_int("TRUBKA_N", 7, {"TRUBKA_N": value})


def test_an_integer_below_the_minimum_raises_an_error_naming_the_variable():
    with pytest.raises(ConfigurationError, match="TRUBKA_PHONE_MATCH_DIGITS"):
        env_int("TRUBKA_PHONE_MATCH_DIGITS", 10, {"TRUBKA_PHONE_MATCH_DIGITS": "4"}, minimum=5)


def test_an_integer_above_the_maximum_raises_an_error_naming_the_variable():
    with pytest.raises(ConfigurationError, match="TRUBKA_PHONE_MATCH_DIGITS"):
        env_int("TRUBKA_PHONE_MATCH_DIGITS", 10, {"TRUBKA_PHONE_MATCH_DIGITS": "16"}, maximum=15)


@pytest.mark.parametrize("value", ["5", "15"])
def test_the_minimum_and_maximum_themselves_are_allowed(value):
    environ = {"TRUBKA_N": value}
    assert env_int("TRUBKA_N", 10, environ, minimum=5, maximum=15) == int(value)


# --- env_list ----------------------------------------------------------------------------


def test_a_missing_list_gives_the_default():
    assert env_list("TRUBKA_HOSTS", ["localhost"], {}) == ["localhost"]


def test_a_missing_list_gives_a_copy_of_the_default():
    default = ["localhost"]
    env_list("TRUBKA_HOSTS", default, {}).append("example.ru")
    assert default == ["localhost"]


def test_a_comma_separated_list_is_split_and_trimmed_without_empty_items():
    environ = {"TRUBKA_HOSTS": " desk.example.ru , ,localhost,"}
    assert env_list("TRUBKA_HOSTS", ["*"], environ) == ["desk.example.ru", "localhost"]


def test_an_empty_list_variable_gives_an_empty_list():
    assert env_list("TRUBKA_HOSTS", ["*"], {"TRUBKA_HOSTS": ""}) == []


# --- env_choice --------------------------------------------------------------------------


def test_a_missing_choice_gives_the_default():
    assert env_choice("TRUBKA_LANGUAGE", "ru", {"ru", "en"}, {}) == "ru"


def test_a_valid_choice_is_read():
    assert env_choice("TRUBKA_LANGUAGE", "ru", {"ru", "en"}, {"TRUBKA_LANGUAGE": "en"}) == "en"


@pytest.mark.parametrize("value", ["de", "EN", "ru,en"])
def test_a_value_outside_the_choices_raises_an_error_naming_the_variable(value):
    with pytest.raises(ConfigurationError, match="TRUBKA_LANGUAGE"):
        env_choice("TRUBKA_LANGUAGE", "ru", {"ru", "en"}, {"TRUBKA_LANGUAGE": value})


# --- env_parsed --------------------------------------------------------------------------


def test_a_missing_parsed_value_gives_the_default():
    assert env_parsed("TRUBKA_RATIO", 0.5, float, {}) == 0.5


def test_an_empty_parsed_value_gives_the_default():
    assert env_parsed("TRUBKA_RATIO", 0.5, float, {"TRUBKA_RATIO": " "}) == 0.5


def test_a_parsed_value_goes_through_the_parser():
    assert env_parsed("TRUBKA_RATIO", 0.5, float, {"TRUBKA_RATIO": "0.25"}) == 0.25


def test_a_value_the_parser_rejects_raises_an_error_naming_the_variable():
    with pytest.raises(ConfigurationError, match="TRUBKA_RATIO"):
        env_parsed("TRUBKA_RATIO", 0.5, float, {"TRUBKA_RATIO": "half"})


def test_the_parsers_reason_is_part_of_the_error():
    def region(value: str) -> str:
        if len(value) != 2:
            raise ValueError("a region is two letters")
        return value.upper()

    with pytest.raises(ConfigurationError, match="a region is two letters"):
        env_parsed("TRUBKA_PHONE_REGION", "RU", region, {"TRUBKA_PHONE_REGION": "Russia"})
