"""Names of the Redis pub/sub channels (``core/redis_channels.py``): the database number of
``REDIS_URL`` and ``TRUBKA_REDIS_CHANNEL_PREFIX``, for the popups and the wake-ups alike.
No Redis is contacted here."""

from __future__ import annotations

import pytest

from test_server_settings import shown
from trubka.connector.queue import wakeup
from trubka.core.redis_channels import database_number, glob_escape, redis_channel
from trubka.realtime.broker import RedisBroker, employee_channel


@pytest.mark.parametrize(
    ("url", "number"),
    [
        ("redis://127.0.0.1:6379/13", 13),
        ("redis://:secret@redis.example:6380", 0),
        ("redis://redis.example/", 0),
        ("redis://redis.example/0", 0),
        ("rediss://redis.example:6380/4", 4),
        ("redis://redis.example?db=7", 7),
        ("unix:///run/redis/redis.sock?db=3", 3),
    ],
)
def test_the_database_number_is_read_from_the_url(url, number):
    assert database_number(url) == number


def test_a_channel_is_the_prefix_the_stem_and_the_database_number():
    assert redis_channel("redis://127.0.0.1:6379/13", "trubka-wake:", "") == "trubka-wake:13"
    assert redis_channel("redis://127.0.0.1:6379/13", "trubka:", "desk-a:") == "desk-a:trubka:13"


def test_the_prefix_defaults_to_the_setting(settings):
    settings.TRUBKA_REDIS_CHANNEL_PREFIX = "desk-a:"

    assert redis_channel("redis://127.0.0.1:6379/2", "trubka:") == "desk-a:trubka:2"


def test_channels_differ_by_database_number_and_by_prefix():
    names = {
        redis_channel(url, "trubka:", prefix)
        for url in ("redis://h/1", "redis://h/2")
        for prefix in ("", "a", "b:")
    }
    assert len(names) == 6


def test_pattern_characters_of_a_prefix_are_escaped():
    assert glob_escape("desk*a?[b]\\") == "desk\\*a\\?\\[b\\]\\\\"
    assert glob_escape("desk-a:trubka:3:") == "desk-a:trubka:3:"


# --- Popups ---------------------------------------------------------------------------------


def test_the_popup_channels_carry_the_database_number(settings):
    settings.TRUBKA_REDIS_CHANNEL_PREFIX = ""
    broker = RedisBroker("redis://127.0.0.1:6379/11")  # not contacted: publishing connects
    try:
        assert broker.channel_prefix == "trubka:11:"
        assert broker.channel_prefix + employee_channel(7) == "trubka:11:employee:7"
    finally:
        broker._client.close()


def test_the_popup_channels_carry_the_prefix_setting_or_the_one_given(settings):
    settings.TRUBKA_REDIS_CHANNEL_PREFIX = "desk-a:"
    from_setting = RedisBroker("redis://127.0.0.1:6379/11")
    given = RedisBroker("redis://127.0.0.1:6379/11", prefix="desk-b:")
    try:
        assert from_setting.channel_prefix == "desk-a:trubka:11:"
        assert given.channel_prefix == "desk-b:trubka:11:"
    finally:
        from_setting._client.close()
        given._client.close()


# --- Wake-ups -------------------------------------------------------------------------------


def test_the_wakeup_channel_carries_the_database_number_and_the_prefix(settings):
    settings.TRUBKA_REDIS_CHANNEL_PREFIX = ""
    assert wakeup.redis_channel("redis://127.0.0.1:6379/13") == "trubka-wake:13"

    settings.TRUBKA_REDIS_CHANNEL_PREFIX = "desk-a:"
    assert wakeup.redis_channel("redis://127.0.0.1:6379/13") == "desk-a:trubka-wake:13"


def test_wakeups_and_popups_never_share_a_channel_name():
    url = "redis://127.0.0.1:6379/0"
    broker = RedisBroker(url, prefix="")
    try:
        assert not wakeup.redis_channel(url).startswith(broker.channel_prefix)
    finally:
        broker._client.close()


# --- The setting ----------------------------------------------------------------------------


def test_the_prefix_is_empty_unless_set(tmp_path):
    assert shown(tmp_path, "s.TRUBKA_REDIS_CHANNEL_PREFIX") == ""
    assert (
        shown(tmp_path, "s.TRUBKA_REDIS_CHANNEL_PREFIX", TRUBKA_REDIS_CHANNEL_PREFIX=" desk-a: ")
        == "desk-a:"
    )
