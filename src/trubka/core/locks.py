"""Serialising work on one thing across workers, until the transaction ends."""

from __future__ import annotations

from django.db import connection


def lock_for_transaction(key: str) -> None:
    """Hold a lock named ``key`` until the current transaction commits or rolls back.

    PostgreSQL: a transaction-level advisory lock, so two workers handling the same phone
    number (two calls from one new caller at once) take turns instead of both creating a
    card. SQLite needs none: its write transactions (IMMEDIATE) already run one at a time.
    """
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", [key])
