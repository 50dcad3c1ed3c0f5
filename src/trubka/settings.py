"""Trubka's only settings module: every value comes from the environment (see .env.example).

The defaults run the embedded deployment: SQLite and media under ``./var/``, one process.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import dj_database_url
import phonenumbers

from trubka.env import (
    ConfigurationError,
    env_bool,
    env_choice,
    env_int,
    env_list,
    env_parsed,
    env_str,
)

PACKAGE_DIR = Path(__file__).resolve().parent

DATA_DIR = Path(env_str("TRUBKA_DATA_DIR", "var")).resolve()


def _secret_key() -> str:
    """The signing key: from the environment, else generated once into the data folder.

    A placeholder ("change-me…", Django's "django-insecure-…") is refused unless in DEBUG.
    """
    from trubka.core.security import check_secret

    configured = env_str("TRUBKA_SECRET_KEY", "")
    if configured:
        if len(configured) < 32:
            raise ConfigurationError("TRUBKA_SECRET_KEY must be at least 32 characters long")
        check_secret("TRUBKA_SECRET_KEY", configured, debug=env_bool("TRUBKA_DEBUG", False))
        return configured
    key_file = DATA_DIR / "secret_key"
    if key_file.exists():
        return key_file.read_text().strip()
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(50)
    key_file.write_text(key)
    key_file.chmod(0o600)
    return key


def _zone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError("unknown time zone; use an IANA name such as Europe/Moscow") from None
    return value


def _region(value: str) -> str:
    region = value.upper()
    if region not in phonenumbers.SUPPORTED_REGIONS:
        raise ValueError("unknown phone region; use a two-letter country code such as RU")
    return region


DEBUG = env_bool("TRUBKA_DEBUG", False)
SECRET_KEY = _secret_key()
ALLOWED_HOSTS = env_list("TRUBKA_ALLOWED_HOSTS", ["*"])
CSRF_TRUSTED_ORIGINS = env_list("TRUBKA_CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "trubka.core",
    "trubka.staff",
    "trubka.clients",
    "trubka.tickets",
    "trubka.calls",
    "trubka.connector",
    "trubka.realtime",
    "trubka.okdesk_api",
    "trubka.ops",
    "trubka.demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "trubka.core.middleware.OkdeskPathMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "trubka.core.middleware.LoginRequiredMiddleware",
]

ROOT_URLCONF = "trubka.urls"
WSGI_APPLICATION = "trubka.wsgi.application"
ASGI_APPLICATION = "trubka.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
                "trubka.core.context_processors.embedding",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL", f"sqlite:///{DATA_DIR / 'trubka.sqlite3'}"),
        conn_max_age=env_int("TRUBKA_DB_CONN_MAX_AGE", 0, minimum=0),
    )
}
# PostgreSQL: a pool of open connections per process (psycopg-pool), so a request or an
# event does not pay for a new server connection (a backend start-up costs PostgreSQL more
# CPU than the webhook's INSERT). Pooled connections are checked before they are handed out,
# so a database restart costs no request an error on a stale connection.
DB_POOL_SIZE = env_int("TRUBKA_DB_POOL_SIZE", 10, minimum=0, maximum=1000)
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql" and DB_POOL_SIZE:
    if DATABASES["default"]["CONN_MAX_AGE"]:
        raise ConfigurationError(
            "TRUBKA_DB_CONN_MAX_AGE and TRUBKA_DB_POOL_SIZE exclude each other on PostgreSQL: "
            "set TRUBKA_DB_POOL_SIZE=0 to keep connections by age instead of pooling them"
        )
    # With a pool, Django's health checks become the pool's check on every checkout.
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": min(2, DB_POOL_SIZE),
        "max_size": DB_POOL_SIZE,
        # Longer than any normal wait for a free connection; then the request fails clearly.
        "timeout": 10,
    }
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Tests that run a real server in a thread need a test database every thread can open
    # (a file, not memory); one per test process, so parallel runs do not collide.
    DATABASES["default"]["TEST"] = {
        "NAME": env_str("TRUBKA_TEST_SQLITE_PATH", str(DATA_DIR / f"test-{os.getpid()}.sqlite3"))
    }
    # WAL lets the web threads read while the worker writes; the busy timeout turns brief
    # lock contention into a short wait instead of "database is locked".
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
    }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "staff.Employee"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = env_choice("TRUBKA_LANGUAGE", "ru", {"ru", "en"})
LANGUAGES = [("ru", "Русский"), ("en", "English")]
LOCALE_PATHS = [PACKAGE_DIR / "locale"]
USE_I18N = True
TIME_ZONE = env_parsed("TRUBKA_TIME_ZONE", "Europe/Moscow", _zone)
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = DATA_DIR / "static"
MEDIA_ROOT = Path(env_str("TRUBKA_MEDIA_DIR", str(DATA_DIR / "media"))).resolve()
# Media is never served by URL: recordings go through views that check the session.
MEDIA_URL = "/media-not-served/"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}
WHITENOISE_USE_FINDERS = DEBUG

# Phone numbers: numbers without a country code are read in this region, and callers are
# matched on this many trailing digits (Okdesk's ``search_numbers_count``).
TRUBKA_PHONE_REGION = env_parsed("TRUBKA_PHONE_REGION", "RU", _region)
TRUBKA_PHONE_MATCH_DIGITS = env_int("TRUBKA_PHONE_MATCH_DIGITS", 10, minimum=5, maximum=15)

# The connector (UIS notifications → the help desk).
TRUBKA_ENCRYPTION_KEY = env_str("TRUBKA_ENCRYPTION_KEY", "")
TRUBKA_UIS_DATA_API_URL = env_str("TRUBKA_UIS_DATA_API_URL", "https://dataapi.uiscom.ru/v2.0")
TRUBKA_UIS_TIMEOUT = env_int("TRUBKA_UIS_TIMEOUT", 10, minimum=1, maximum=120)
# The address UIS must whitelist for Data API calls from Trubka (shown on the setup page).
TRUBKA_OUTGOING_IP = env_str("TRUBKA_OUTGOING_IP", "")
# The address UIS reaches Trubka at, for the notification URL shown on the setup page.
# Empty: taken from the browser's request.
TRUBKA_PUBLIC_URL = env_str("TRUBKA_PUBLIC_URL", "").rstrip("/")
# Let anyone holding a UIS key connect their UIS account to an Okdesk cloud account through
# /okdesk/ without logging in (an integrator hosting the connector). Connecting UIS to this
# desk always needs a desk administrator.
TRUBKA_CONNECTOR_PUBLIC_SETUP = env_bool("TRUBKA_CONNECTOR_PUBLIC_SETUP", False)
# Behind a reverse proxy, read the sender's address from X-Forwarded-For (the last entry,
# the one the proxy added). Only turn on when a proxy you run sets that header.
TRUBKA_TRUST_X_FORWARDED_FOR = env_bool("TRUBKA_TRUST_X_FORWARDED_FOR", False)
# Seconds to wait for an Okdesk cloud account's API.
TRUBKA_OKDESK_TIMEOUT = env_int("TRUBKA_OKDESK_TIMEOUT", 10, minimum=1, maximum=120)
TRUBKA_CLAIM_LEASE_SECONDS = env_int("TRUBKA_CLAIM_LEASE_SECONDS", 120, minimum=10, maximum=3600)
# /healthz answers 503 when no worker has been seen for this many seconds while events are
# due, or when a due event has waited longer than TRUBKA_HEALTH_QUEUE_AGE_SECONDS.
TRUBKA_HEALTH_WORKER_STALE_SECONDS = env_int(
    "TRUBKA_HEALTH_WORKER_STALE_SECONDS", 30, minimum=10, maximum=3600
)
TRUBKA_HEALTH_QUEUE_AGE_SECONDS = env_int(
    "TRUBKA_HEALTH_QUEUE_AGE_SECONDS", 300, minimum=10, maximum=86400
)
# /metrics: with a token, scrapers must send «Authorization: Bearer <token>»; without one,
# only loopback addresses (127.0.0.0/8, ::1) may read it.
TRUBKA_METRICS_TOKEN = env_str("TRUBKA_METRICS_TOKEN", "")
if TRUBKA_METRICS_TOKEN and len(TRUBKA_METRICS_TOKEN) < 16:
    raise ConfigurationError("TRUBKA_METRICS_TOKEN must be at least 16 characters long")
# Retries wait BASE·2^(attempt-1) seconds (±20 %), at most MAX.
TRUBKA_BACKOFF_BASE_SECONDS = env_int("TRUBKA_BACKOFF_BASE_SECONDS", 5, minimum=1, maximum=3600)
TRUBKA_BACKOFF_MAX_SECONDS = env_int("TRUBKA_BACKOFF_MAX_SECONDS", 3600, minimum=1, maximum=86400)
TRUBKA_EVENT_MAX_ATTEMPTS = env_int("TRUBKA_EVENT_MAX_ATTEMPTS", 15, minimum=1, maximum=100)
TRUBKA_EMBEDDED_WORKER = env_bool("TRUBKA_EMBEDDED_WORKER", True)
# Retention (``trubka purge``; hourly inside ``trubka serve``): processed, ignored and
# rejected notifications are deleted after this many days, pending and failed ones never;
# live popup notices after this many hours. Calls, tickets and recordings are never purged.
TRUBKA_KEEP_EVENTS_DAYS = env_int("TRUBKA_KEEP_EVENTS_DAYS", 90, minimum=1, maximum=36500)
TRUBKA_KEEP_NOTICES_HOURS = env_int("TRUBKA_KEEP_NOTICES_HOURS", 24, minimum=1, maximum=87600)
# A repeated missed call while the client's missed-call ticket is still open adds a comment
# to that ticket instead of opening another one.
TRUBKA_MISSED_CALL_REUSE_OPEN_TICKET = env_bool("TRUBKA_MISSED_CALL_REUSE_OPEN_TICKET", True)
# Call recordings: played through Trubka (the provider's links are never shown) and copied
# into storage by the worker. Trubka fetches recordings only from these hosts (``*.`` allows
# subdomains), never from private addresses unless allowed, and nothing larger than the cap.
TRUBKA_RECORDING_HOSTS = env_list(
    "TRUBKA_RECORDING_HOSTS",
    [
        "*.uiscom.ru",
        "*.comagic.ru",
        "*.callgear.com",
        "*.callgear.ru",
        "*.novofon.ru",
        "*.novofon.com",
    ],
)
TRUBKA_RECORDING_ALLOW_PRIVATE = env_bool("TRUBKA_RECORDING_ALLOW_PRIVATE", False)
TRUBKA_RECORDING_MAX_BYTES = env_int("TRUBKA_RECORDING_MAX_BYTES", 200 * 1024 * 1024, minimum=1024)
TRUBKA_RECORDING_ARCHIVE = env_bool("TRUBKA_RECORDING_ARCHIVE", True)

# Live popups: Redis pub/sub fans them out across web processes; empty = in this process.
REDIS_URL = env_str("REDIS_URL", "")
# Pub/sub channels are shared by the whole Redis server: their names carry the database
# number of REDIS_URL and this prefix, so installations sharing a server stay apart
# (trubka.core.redis_channels).
TRUBKA_REDIS_CHANNEL_PREFIX = env_str("TRUBKA_REDIS_CHANNEL_PREFIX", "")
# Counters (failed logins and API keys) must be shared by every web process.
if REDIS_URL:
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
    }
# How soon a browser reconnects its live stream after a drop, in milliseconds.
TRUBKA_SSE_RETRY_MS = env_int("TRUBKA_SSE_RETRY_MS", 2000, minimum=100, maximum=60000)

TRUBKA_ADMIN_USERNAME = env_str("TRUBKA_ADMIN_USERNAME", "admin")
TRUBKA_ADMIN_PASSWORD = env_str("TRUBKA_ADMIN_PASSWORD", "")

# Security (see README «Configuration» and DESIGN «Nobody gets in»).
from trubka.core.security import check_secret  # noqa: E402

# Outside DEBUG, placeholder secrets stop the process (TRUBKA_SECRET_KEY: in _secret_key()).
check_secret("TRUBKA_ENCRYPTION_KEY", TRUBKA_ENCRYPTION_KEY, debug=DEBUG)
check_secret("TRUBKA_ADMIN_PASSWORD", TRUBKA_ADMIN_PASSWORD, debug=DEBUG)
check_secret("TRUBKA_METRICS_TOKEN", TRUBKA_METRICS_TOKEN, debug=DEBUG)
# Failed logins allowed per username and per client address within 15 minutes; further
# attempts are refused, the password unchecked, until the window passes.
TRUBKA_LOGIN_MAX_FAILURES = env_int("TRUBKA_LOGIN_MAX_FAILURES", 10, minimum=1, maximum=1000)

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
# No script reads the CSRF cookie: every form carries the token in a hidden field.
CSRF_COOKIE_HTTPONLY = True
CSRF_COOKIE_SAMESITE = "Lax"
# Off by default because the embedded default is plain HTTP on localhost; turn on behind HTTPS.
SESSION_COOKIE_SECURE = env_bool("TRUBKA_SECURE_COOKIES", False)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
# HSTS makes browsers refuse plain HTTP for this host for that many seconds: only for HTTPS
# deployments (it needs TRUBKA_SECURE_COOKIES), and 0 until HTTPS is known to work.
SECURE_HSTS_SECONDS = env_int("TRUBKA_HSTS_SECONDS", 0, minimum=0)
if SECURE_HSTS_SECONDS and not SESSION_COOKIE_SECURE:
    raise ConfigurationError(
        "TRUBKA_HSTS_SECONDS needs TRUBKA_SECURE_COOKIES=true (HSTS is for HTTPS deployments)"
    )
# Behind a reverse proxy that terminates HTTPS and sets X-Forwarded-Proto (and strips it
# from clients): believe it, so Django knows the request was HTTPS.
if env_bool("TRUBKA_TRUST_X_FORWARDED_PROTO", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# The client card opens in a side panel (an iframe) when a call rings.
X_FRAME_OPTIONS = "SAMEORIGIN"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
SECURE_REFERRER_POLICY = "same-origin"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "filters": {"redact_secrets": {"()": "trubka.core.logging.RedactSecrets"}},
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            "filters": ["redact_secrets"],
        }
    },
    "root": {"handlers": ["console"], "level": env_str("TRUBKA_LOG_LEVEL", "INFO").upper()},
    "loggers": {
        # Django's own handlers (a console one under DEBUG, mail to ADMINS) would see
        # request lines before the redacting handler: route Django through ours only.
        "django": {"handlers": ["console"], "level": "INFO", "propagate": False},
        "django.db.backends": {"level": "WARNING"},
        # One line per outbound request is noise; failures are logged by the callers.
        "httpx": {"level": "WARNING"},
        # uvicorn's loggers go through the handler above, so its lines are redacted too.
        # uvicorn writes an access line whenever its logger has a handler: only on request
        # (TRUBKA_ACCESS_LOG, or --verbose), not one line per ring by default.
        "uvicorn.access": {
            "level": "INFO",
            "handlers": ["console"] if env_bool("TRUBKA_ACCESS_LOG", False) else [],
            "propagate": False,
        },
        "uvicorn.error": {"level": "INFO", "handlers": ["console"], "propagate": False},
    },
}
