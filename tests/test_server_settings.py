"""Settings that shape the running server: the PostgreSQL pool and the access log."""

from __future__ import annotations

import json

from test_security_settings import import_settings

PG = "postgres://trubka@127.0.0.1:5432/trubka"
POOL = 's.DATABASES["default"].get("OPTIONS", {}).get("pool")'


def shown(tmp_path, show: str, **variables: str):
    result = import_settings(tmp_path, show=show, **variables)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_postgresql_gets_a_checked_pool_of_ten_by_default(tmp_path):
    pool, checks, age = shown(
        tmp_path,
        f'[{POOL}, s.DATABASES["default"]["CONN_HEALTH_CHECKS"], '
        's.DATABASES["default"]["CONN_MAX_AGE"]]',
        DATABASE_URL=PG,
    )
    assert (pool["max_size"], pool["min_size"], checks, age) == (10, 2, True, 0)


def test_the_pool_size_is_set_and_zero_turns_it_off(tmp_path):
    assert shown(tmp_path, POOL, DATABASE_URL=PG, TRUBKA_DB_POOL_SIZE="25")["max_size"] == 25
    assert shown(tmp_path, POOL, DATABASE_URL=PG, TRUBKA_DB_POOL_SIZE="0") is None


def test_sqlite_has_no_pool(tmp_path):
    assert shown(tmp_path, POOL) is None


def test_a_pool_and_kept_connections_together_stop_with_a_clear_error(tmp_path):
    result = import_settings(tmp_path, DATABASE_URL=PG, TRUBKA_DB_CONN_MAX_AGE="60")
    assert result.returncode != 0
    assert "TRUBKA_DB_CONN_MAX_AGE and TRUBKA_DB_POOL_SIZE exclude each other" in result.stderr
    kept = import_settings(
        tmp_path, DATABASE_URL=PG, TRUBKA_DB_CONN_MAX_AGE="60", TRUBKA_DB_POOL_SIZE="0"
    )
    assert kept.returncode == 0, kept.stderr


ACCESS = 's.LOGGING["loggers"]["uvicorn.access"]["handlers"]'


def test_no_access_line_per_request_unless_asked(tmp_path):
    # uvicorn writes an access line whenever its logger has a handler.
    assert shown(tmp_path, ACCESS) == []
    assert shown(tmp_path, ACCESS, TRUBKA_ACCESS_LOG="true") == ["console"]
