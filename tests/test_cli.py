"""The ``trubka`` command and the first administrator of a new install."""

from __future__ import annotations

import pytest

from trubka.cli import main
from trubka.staff.bootstrap import ensure_admin
from trubka.staff.models import Employee

# --- trubka -------------------------------------------------------------------------------


def test_help_exits_0_and_lists_serve(capsys):
    code = main(["--help"])

    assert code == 0
    assert "serve" in capsys.readouterr().out


def test_no_arguments_prints_the_help(capsys):
    code = main([])

    assert code == 0
    assert "serve" in capsys.readouterr().out


def test_check_runs_djangos_system_check(capsys):
    code = main(["check"])

    assert code == 0
    assert "System check identified no issues" in capsys.readouterr().out


def test_a_dashed_command_name_runs_the_underscored_django_command(db, capsys):
    code = main(["rebuild-phone-keys"])

    assert code == 0
    assert "Updated 0 client numbers and 0 calls." in capsys.readouterr().out


def test_an_unknown_command_is_reported_by_django(capsys):
    with pytest.raises(SystemExit) as exited:
        main(["no-such-command"])

    assert exited.value.code != 0
    assert "no_such_command" in capsys.readouterr().err


# --- ensure_admin -------------------------------------------------------------------------


def test_ensure_admin_creates_a_superuser_with_a_generated_password(db, settings):
    settings.TRUBKA_ADMIN_USERNAME = "admin"
    settings.TRUBKA_ADMIN_PASSWORD = ""

    admin, password = ensure_admin()

    assert admin is not None
    assert password
    stored = Employee.objects.get(username="admin")
    assert stored == admin
    assert stored.is_superuser
    assert stored.is_staff
    assert stored.is_active
    assert stored.check_password(password)


def test_ensure_admin_generates_a_different_password_each_install(db, settings):
    settings.TRUBKA_ADMIN_PASSWORD = ""
    _admin, first = ensure_admin()
    Employee.objects.all().delete()

    _admin, second = ensure_admin()

    assert first != second


def test_ensure_admin_uses_the_configured_username_and_password(db, settings):
    settings.TRUBKA_ADMIN_USERNAME = "chief"
    settings.TRUBKA_ADMIN_PASSWORD = "a-long-configured-password"

    admin, password = ensure_admin()

    assert password is None
    assert admin is not None
    assert admin.username == "chief"
    assert admin.is_superuser
    assert admin.check_password("a-long-configured-password")


def test_ensure_admin_does_nothing_when_a_staff_user_exists(admin, settings):
    settings.TRUBKA_ADMIN_USERNAME = "another"

    result = ensure_admin()

    assert result == (None, None)
    assert list(Employee.objects.all()) == [admin]


def test_ensure_admin_creates_one_when_only_agents_exist(agent, settings):
    settings.TRUBKA_ADMIN_USERNAME = "admin"
    settings.TRUBKA_ADMIN_PASSWORD = ""

    admin, _password = ensure_admin()

    assert admin is not None
    assert Employee.objects.filter(is_superuser=True).get() == admin
