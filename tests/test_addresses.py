"""One reading of IP addresses for every sender and destination check."""

from __future__ import annotations

import pytest

from trubka.core.addresses import in_networks, is_loopback, parse_ip


@pytest.mark.parametrize(
    ("text", "expected"),
    [("10.0.0.1", "10.0.0.1"), ("::ffff:10.0.0.1", "10.0.0.1"), (" ::1 ", "::1"), ("nope", None)],
)
def test_an_address_is_read_with_ipv4_mapped_ipv6_unwrapped(text, expected):
    ip = parse_ip(text)
    assert (str(ip) if ip else None) == expected


def test_an_ipv4_allow_list_also_matches_the_mapped_spelling():
    networks = ["195.211.122.0/24", "not a network", "2001:db8::/32"]
    assert in_networks("::ffff:195.211.122.7", networks)
    assert in_networks("2001:db8::1", networks)
    assert not in_networks("195.211.123.7", networks)
    assert not in_networks("garbage", networks)


def test_the_mapped_loopback_is_loopback():
    assert is_loopback("::ffff:127.0.0.1")
    assert not is_loopback("8.8.8.8")
