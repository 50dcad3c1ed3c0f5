"""IP addresses as Trubka reads them: one parser for every place that checks a sender or a
destination.

An IPv4-mapped IPv6 address (``::ffff:10.0.0.1``) is read as the IPv4 address it stands for,
so a check written for IPv4 (loopback, private, an allow-list) cannot be stepped around by
spelling the same address the other way.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_ip(text: str) -> IPAddress | None:
    """The address ``text`` names, IPv4-mapped IPv6 unwrapped; None when it names none."""
    try:
        ip = ipaddress.ip_address(text.strip())
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    return ip


def parse_network(text: str) -> IPNetwork | None:
    """The network ``text`` names (an address is a network of one); None when it names none."""
    try:
        return ipaddress.ip_network(text.strip(), strict=False)
    except ValueError:
        return None


def in_networks(address: str, networks: Iterable[str]) -> bool:
    """Whether ``address`` is in any of ``networks`` (lines that name no network are skipped)."""
    ip = parse_ip(address)
    if ip is None:
        return False
    return any(
        network is not None and ip.version == network.version and ip in network
        for network in map(parse_network, networks)
    )


def is_loopback(address: str) -> bool:
    ip = parse_ip(address)
    return ip is not None and ip.is_loopback
