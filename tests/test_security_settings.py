"""Security settings: placeholder secrets refused outside DEBUG, secure headers and cookies,
HTTPS-only settings, and the dependency audit script.

Settings are read when ``trubka.settings`` is imported, so the environment-to-settings tests
import it in a fresh Python process with the environment they describe.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from django.test import Client
from django.urls import reverse

from conftest import PASSWORD
from trubka.core.security import check_secret, placeholder_reason
from trubka.env import ConfigurationError

ROOT = Path(__file__).resolve().parent.parent
GOOD_SECRET_KEY = secrets.token_urlsafe(50)


def import_settings(tmp_path: Path, show: str = "", **variables: str):
    """Import the settings in a new process with only ``variables`` of Trubka's set;
    ``show``: an expression printed as JSON afterwards (``s`` is the settings module)."""
    environ = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith("TRUBKA_") and name not in {"DATABASE_URL", "REDIS_URL"}
    }
    environ["TRUBKA_DATA_DIR"] = str(tmp_path / "data")
    environ.update(variables)
    code = "import json, trubka.settings as s"
    if show:
        code += f"; print(json.dumps({show}))"
    return subprocess.run(
        [sys.executable, "-c", code],
        env=environ,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


# --- What counts as a placeholder ------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        "change-me",
        "changeme",
        "Change_Me",
        "secret",
        "your-secret-key",
        "admin",
        "password",
        "django-insecure-" + secrets.token_urlsafe(40),
        "change-me-to-a-long-random-string-of-fifty-characters",
        "your-secret-key-goes-here-and-it-is-long-enough",
        "a" * 50,
        "abab" * 10,
        "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
    ],
)
def test_well_known_placeholders_and_near_constant_values_are_placeholders(value):
    assert placeholder_reason(value) is not None


@pytest.mark.parametrize(
    "value",
    [GOOD_SECRET_KEY, Fernet.generate_key().decode(), "Tr0ub4dor&3-horse-battery", "q7Rx!v"],
)
def test_random_values_and_real_passwords_are_not_placeholders(value):
    assert placeholder_reason(value) is None


def test_a_placeholder_is_refused_outside_debug_naming_the_variable_not_the_value():
    value = "django-insecure-" + secrets.token_urlsafe(40)
    with pytest.raises(ConfigurationError, match="TRUBKA_SECRET_KEY") as refused:
        check_secret("TRUBKA_SECRET_KEY", value, debug=False)
    assert value not in str(refused.value)


def test_a_placeholder_only_warns_in_debug():
    with pytest.warns(UserWarning, match="TRUBKA_ENCRYPTION_KEY"):
        check_secret("TRUBKA_ENCRYPTION_KEY", "change-me", debug=True)


def test_an_empty_secret_is_left_to_its_generated_default():
    check_secret("TRUBKA_ADMIN_PASSWORD", "", debug=False)


# --- Placeholders at start-up ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("TRUBKA_SECRET_KEY", "django-insecure-" + secrets.token_urlsafe(40)),
        ("TRUBKA_SECRET_KEY", "change-me-change-me-change-me-change-me"),
        ("TRUBKA_SECRET_KEY", "x" * 40),
        ("TRUBKA_ENCRYPTION_KEY", "change-me"),
        ("TRUBKA_ENCRYPTION_KEY", "A" * 43 + "="),
        ("TRUBKA_ADMIN_PASSWORD", "admin"),
        ("TRUBKA_ADMIN_PASSWORD", "password"),
        ("TRUBKA_ADMIN_PASSWORD", "changeme"),
    ],
)
def test_a_placeholder_secret_stops_the_settings_outside_debug(tmp_path, variable, value):
    result = import_settings(tmp_path, TRUBKA_DEBUG="false", **{variable: value})

    assert result.returncode != 0
    assert "ConfigurationError" in result.stderr
    assert f"{variable} is not a real secret" in result.stderr


def test_the_refusal_does_not_print_the_secret(tmp_path):
    value = "django-insecure-" + secrets.token_urlsafe(40)
    result = import_settings(tmp_path, TRUBKA_SECRET_KEY=value)

    assert result.returncode != 0
    assert value not in result.stderr + result.stdout


def test_a_placeholder_secret_is_only_a_warning_in_debug(tmp_path):
    result = import_settings(
        tmp_path,
        TRUBKA_DEBUG="true",
        TRUBKA_SECRET_KEY="django-insecure-" + secrets.token_urlsafe(40),
        TRUBKA_ADMIN_PASSWORD="admin",
    )

    assert result.returncode == 0, result.stderr
    assert "TRUBKA_SECRET_KEY is not a real secret" in result.stderr
    assert "TRUBKA_ADMIN_PASSWORD is not a real secret" in result.stderr


def test_real_secrets_start_outside_debug(tmp_path):
    result = import_settings(
        tmp_path,
        TRUBKA_DEBUG="false",
        TRUBKA_SECRET_KEY=GOOD_SECRET_KEY,
        TRUBKA_ENCRYPTION_KEY=Fernet.generate_key().decode(),
        TRUBKA_ADMIN_PASSWORD="Tr0ub4dor&3-horse-battery",
    )

    assert result.returncode == 0, result.stderr
    assert "not a real secret" not in result.stderr


def test_the_embedded_default_starts_with_no_secrets_set(tmp_path):
    result = import_settings(tmp_path, show="s.SECRET_KEY != ''")

    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) is True


# --- Cookies and HTTPS from the environment -------------------------------------------------

SECURITY_SETTINGS = (
    "{k: getattr(s, k, None) for k in ["
    "'SESSION_COOKIE_SECURE', 'CSRF_COOKIE_SECURE', 'SESSION_COOKIE_HTTPONLY', "
    "'CSRF_COOKIE_HTTPONLY', 'SESSION_COOKIE_SAMESITE', 'CSRF_COOKIE_SAMESITE', "
    "'SECURE_HSTS_SECONDS', 'SECURE_PROXY_SSL_HEADER', 'X_FRAME_OPTIONS', "
    "'SECURE_CONTENT_TYPE_NOSNIFF', 'SECURE_REFERRER_POLICY', "
    "'SECURE_CROSS_ORIGIN_OPENER_POLICY', 'TRUBKA_LOGIN_MAX_FAILURES']}"
)


def security_settings(tmp_path: Path, **variables: str) -> dict:
    result = import_settings(tmp_path, show=SECURITY_SETTINGS, **variables)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_the_embedded_default_keeps_plain_http_working(tmp_path):
    assert security_settings(tmp_path) == {
        "SESSION_COOKIE_SECURE": False,
        "CSRF_COOKIE_SECURE": False,
        "SESSION_COOKIE_HTTPONLY": True,
        "CSRF_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "CSRF_COOKIE_SAMESITE": "Lax",
        "SECURE_HSTS_SECONDS": 0,
        "SECURE_PROXY_SSL_HEADER": None,
        "X_FRAME_OPTIONS": "SAMEORIGIN",
        "SECURE_CONTENT_TYPE_NOSNIFF": True,
        "SECURE_REFERRER_POLICY": "same-origin",
        "SECURE_CROSS_ORIGIN_OPENER_POLICY": "same-origin",
        "TRUBKA_LOGIN_MAX_FAILURES": 10,
    }


def test_an_https_deployment_gets_secure_cookies_hsts_and_the_proxys_scheme(tmp_path):
    found = security_settings(
        tmp_path,
        TRUBKA_SECURE_COOKIES="true",
        TRUBKA_HSTS_SECONDS="31536000",
        TRUBKA_TRUST_X_FORWARDED_PROTO="true",
    )

    assert (found["SESSION_COOKIE_SECURE"], found["CSRF_COOKIE_SECURE"]) == (True, True)
    assert found["SECURE_HSTS_SECONDS"] == 31536000
    assert found["SECURE_PROXY_SSL_HEADER"] == ["HTTP_X_FORWARDED_PROTO", "https"]


def test_hsts_without_secure_cookies_is_refused_naming_both_variables(tmp_path):
    result = import_settings(tmp_path, TRUBKA_HSTS_SECONDS="31536000")

    assert result.returncode != 0
    assert "TRUBKA_HSTS_SECONDS needs TRUBKA_SECURE_COOKIES=true" in result.stderr


def test_the_login_failure_limit_is_read_from_the_environment(tmp_path):
    found = security_settings(tmp_path, TRUBKA_LOGIN_MAX_FAILURES="4")

    assert found["TRUBKA_LOGIN_MAX_FAILURES"] == 4


def test_a_login_failure_limit_of_zero_is_refused(tmp_path):
    result = import_settings(tmp_path, TRUBKA_LOGIN_MAX_FAILURES="0")

    assert result.returncode != 0
    assert "TRUBKA_LOGIN_MAX_FAILURES" in result.stderr


# --- Headers and cookies on responses -------------------------------------------------------


def test_every_page_carries_the_security_headers(db):
    response = Client().get(reverse("login"))

    assert response["X-Frame-Options"] == "SAMEORIGIN"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"


def test_plain_http_gets_no_hsts(db):
    assert "Strict-Transport-Security" not in Client().get(reverse("login"))


def test_the_csrf_cookie_is_http_only_and_same_site_lax(db):
    cookie = Client().get(reverse("login")).cookies["csrftoken"]

    assert cookie["httponly"] is True
    assert cookie["samesite"] == "Lax"
    assert not cookie["secure"]


def test_the_session_cookie_is_http_only_and_same_site_lax(agent):
    response = Client().post(reverse("login"), {"username": agent.username, "password": PASSWORD})
    cookie = response.cookies["sessionid"]

    assert cookie["httponly"] is True
    assert cookie["samesite"] == "Lax"


@pytest.fixture
def https(settings):
    """What TRUBKA_SECURE_COOKIES, TRUBKA_HSTS_SECONDS and TRUBKA_TRUST_X_FORWARDED_PROTO set."""
    settings.SESSION_COOKIE_SECURE = True
    settings.CSRF_COOKIE_SECURE = True
    settings.SECURE_HSTS_SECONDS = 31536000
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")


def test_over_https_the_response_carries_hsts(db, https):
    response = Client().get(reverse("login"), secure=True)

    assert response["Strict-Transport-Security"] == "max-age=31536000"


def test_behind_a_trusted_https_proxy_the_response_carries_hsts(db, https):
    response = Client().get(reverse("login"), headers={"x-forwarded-proto": "https"})

    assert response["Strict-Transport-Security"] == "max-age=31536000"


def test_over_https_the_cookies_are_secure(agent, https):
    page = Client().get(reverse("login"), secure=True)
    response = Client().post(
        reverse("login"), {"username": agent.username, "password": PASSWORD}, secure=True
    )

    assert page.cookies["csrftoken"]["secure"] is True
    assert response.cookies["sessionid"]["secure"] is True


# --- The dependency audit (scripts/audit-deps) ----------------------------------------------

AUDIT = ROOT / "scripts" / "audit-deps"
FAKE_PIP_AUDIT = """\
import json, os, sys
from pathlib import Path
args = sys.argv[1:]
Path(os.environ["FAKE_ARGS"]).write_text(json.dumps(args))
report = os.environ.get("FAKE_REPORT", "")
if report:
    Path(args[args.index("--output") + 1]).write_text(report)
sys.stderr.write(os.environ.get("FAKE_STDERR", ""))
sys.exit(int(os.environ.get("FAKE_EXIT", "0")))
"""
VULNERABLE_REPORT = {
    "dependencies": [
        {"name": "django", "version": "5.2.1", "vulns": [
            {"id": "PYSEC-2025-1", "fix_versions": ["5.2.2"], "aliases": ["CVE-2025-0001"],
             "description": "SQL injection in something"}
        ]},
        {"name": "httpx", "version": "0.28.1", "vulns": []},
    ],
    "fixes": [],
}  # fmt: skip
CLEAN_REPORT = {
    "dependencies": [
        {"name": "django", "version": "5.2.19", "vulns": []},
        {"name": "httpx", "version": "0.28.1", "vulns": []},
    ],
    "fixes": [],
}
NOT_FOUND = "Dependency not found on PyPI and could not be audited: {} ({})"
NOTHING_AUDITED_REPORT = {
    "dependencies": [
        {"name": "django", "skip_reason": NOT_FOUND.format("django", "5.2.19")},
        {"name": "httpx", "skip_reason": NOT_FOUND.format("httpx", "0.28.1")},
    ],
    "fixes": [],
}
CONNECTION_TRACEBACK = (
    "Traceback (most recent call last):\n"
    "requests.exceptions.ConnectionError: HTTPSConnectionPool(host='pypi.org', port=443): "
    "Max retries exceeded with url: /pypi/django/5.2.19/json (Caused by NameResolutionError"
    "(\"Failed to resolve 'pypi.org'\"))\n"
)


def run_audit(tmp_path: Path, *, report: dict | None, stderr: str = "", exit_code: int = 0):
    fake = tmp_path / "pip-audit"
    fake.write_text(f"#!{sys.executable}\n{FAKE_PIP_AUDIT}")
    fake.chmod(0o755)
    environ = {
        **os.environ,
        "PIP_AUDIT": str(fake),
        "PYTHON": sys.executable,
        "FAKE_ARGS": str(tmp_path / "args.json"),
        "FAKE_REPORT": json.dumps(report) if report is not None else "",
        "FAKE_STDERR": stderr,
        "FAKE_EXIT": str(exit_code),
    }
    result = subprocess.run(
        ["bash", str(AUDIT)], env=environ, capture_output=True, text=True, timeout=60, check=False
    )
    return result, json.loads((tmp_path / "args.json").read_text())


def test_the_audit_checks_the_hashed_pins_without_pip_resolving_anything(tmp_path):
    _, args = run_audit(tmp_path, report=CLEAN_REPORT)

    assert args[args.index("--requirement") + 1] == "requirements/test.txt"
    assert {"--require-hashes", "--disable-pip"} <= set(args)
    assert args[args.index("--progress-spinner") + 1] == "off"


def test_the_audit_fails_and_lists_known_vulnerabilities(tmp_path):
    result, _ = run_audit(tmp_path, report=VULNERABLE_REPORT, exit_code=1)

    assert result.returncode == 1
    assert "django 5.2.1: PYSEC-2025-1 (CVE-2025-0001)" in result.stdout
    assert "fixed in: 5.2.2" in result.stdout
    assert "audit skipped" not in result.stdout


def test_the_audit_passes_when_nothing_is_known(tmp_path):
    result, _ = run_audit(tmp_path, report=CLEAN_REPORT)

    assert result.returncode == 0
    assert "No known vulnerabilities in 2 pinned package(s)." in result.stdout


def test_an_unreachable_vulnerability_service_skips_the_audit(tmp_path):
    result, _ = run_audit(tmp_path, report=None, stderr=CONNECTION_TRACEBACK, exit_code=1)

    assert result.returncode == 0
    assert "audit skipped: the vulnerability service cannot be reached" in result.stdout


def test_a_service_that_knows_none_of_the_pins_skips_the_audit_rather_than_passing_it(
    tmp_path,
):
    result, _ = run_audit(tmp_path, report=NOTHING_AUDITED_REPORT)

    assert result.returncode == 0
    assert "audit skipped: the vulnerability service knew none of the 2" in result.stdout
    assert "No known vulnerabilities" not in result.stdout


def test_an_audit_that_fails_for_another_reason_fails(tmp_path):
    result, _ = run_audit(
        tmp_path,
        report=None,
        stderr="ERROR:pip_audit._cli:invalid requirements input: requirements/test.txt\n",
        exit_code=1,
    )

    assert result.returncode == 1
    assert "audit skipped" not in result.stdout
    assert "invalid requirements input" in result.stderr
