"""Names of the Redis pub/sub channels Trubka uses.

Redis keeps keys per database number, but pub/sub channels are shared by the whole server:
a message published while connected to database 2 reaches the subscribers connected to
database 5. So every channel name carries what tells one Trubka installation from another
on the same server:

- the database number of ``REDIS_URL`` (installations on their own numbers never meet);
- ``TRUBKA_REDIS_CHANNEL_PREFIX`` (empty by default), for installations that share one
  database number, or a Redis server where the numbers are not free to choose.

A channel is ``<prefix><stem><db>``: ``trubka-wake:3`` wakes the workers of the
installation on database 3, ``trubka:3:employee:7`` (stem ``trubka:`` and ``:`` before the
popup channel) carries the popups of employee 7 there.
"""

from __future__ import annotations

import re

from django.conf import settings

_GLOB_SPECIAL = re.compile(r"([*?\[\]\\])")


def database_number(url: str) -> int:
    """The database number of the Redis URL ``url`` (path or ``?db=``; 0 when absent)."""
    import redis

    return int(redis.connection.parse_url(url).get("db", 0) or 0)


def redis_channel(url: str, stem: str, prefix: str | None = None) -> str:
    """``<prefix><stem><db>``: the channel ``stem`` of the installation using ``url``.

    ``prefix`` defaults to ``TRUBKA_REDIS_CHANNEL_PREFIX``.
    """
    if prefix is None:
        prefix = settings.TRUBKA_REDIS_CHANNEL_PREFIX
    return f"{prefix}{stem}{database_number(url)}"


def glob_escape(text: str) -> str:
    """``text`` as a literal inside a ``PSUBSCRIBE`` pattern (a prefix may hold ``*`` or ``[``)."""
    return _GLOB_SPECIAL.sub(r"\\\1", text)
