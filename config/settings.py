"""Settings, all from the environment so one build runs anywhere.

DATABASE_URL   database (default: SQLite file db.sqlite3 beside manage.py)
SECRET_KEY     required when DEBUG is off
DEBUG          "1"/"true" turns on debug (default off)
ALLOWED_HOSTS  comma list (default: localhost names)
STOCKROOM_VALUATION      fifo | average (default fifo)
STOCKROOM_THROTTLE_RATE  requests per key, e.g. "1200/min" (default)
STOCKROOM_API_KEY_CACHE_SECONDS  API key lookups cached this long per process (default 5; 0 off)
DB_LOCK_TIMEOUT_MS / DB_STATEMENT_TIMEOUT_MS  PostgreSQL timeouts of request-serving processes
                                               (default 5000 / 30000; 0 off)
"""

import os
import sys
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


DEBUG = env_bool("DEBUG", False)

# `manage.py <command>` other than runserver: a process that serves no requests.
MANAGEMENT_COMMAND = bool(sys.argv) and sys.argv[0].endswith("manage.py") and sys.argv[1:2] != ["runserver"]

SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    # A throwaway key is fine where nothing is served to the world: debug runs, the test suite and
    # management commands. A production server (gunicorn, or runserver without DEBUG) must set one.
    if DEBUG or "pytest" in sys.modules or MANAGEMENT_COMMAND:
        SECRET_KEY = "insecure-development-key-do-not-use-in-production"
    else:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off")

ALLOWED_HOSTS = [
    h.strip()
    for h in os.environ.get("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1],testserver").split(",")
    if h.strip()
]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "accounts",
    "inventory",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "config.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

WSGI_APPLICATION = "config.wsgi.application"

DATABASES = {
    "default": dj_database_url.config(
        default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}",
        conn_max_age=int(os.environ.get("DB_CONN_MAX_AGE", "60")),
        # A reused connection is checked (SELECT 1, about 60 us of CPU) at its first query of each
        # request: a connection PostgreSQL dropped (restart, failover) is replaced unseen instead of
        # failing that request (503 in the APIs, a 500 page in the admin and dashboard).
        conn_health_checks=True,
    )
}
# Milliseconds, 0 = no limit. A request waiting longer for a row lock, or running a statement longer,
# is cancelled: its transaction rolls back and the APIs answer 503 with Retry-After instead of holding a
# worker. Only processes that serve requests get them: management commands (migrate, recount,
# bench_data, apply_count, ...) run and wait as long as their work needs.
DB_LOCK_TIMEOUT_MS = int(os.environ.get("DB_LOCK_TIMEOUT_MS", "5000"))
DB_STATEMENT_TIMEOUT_MS = int(os.environ.get("DB_STATEMENT_TIMEOUT_MS", "30000"))
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql" and not MANAGEMENT_COMMAND:
    timeouts = " ".join(f"-c {name}={ms}" for name, ms in (("lock_timeout", DB_LOCK_TIMEOUT_MS),
                                                            ("statement_timeout", DB_STATEMENT_TIMEOUT_MS)) if ms > 0)
    if timeouts:
        options = DATABASES["default"].setdefault("OPTIONS", {})
        options["options"] = f"{options.get('options', '')} {timeouts}".strip()
# Parameters are bound by PostgreSQL, not spliced into the SQL text, so that psycopg can prepare a
# statement a connection runs often (after DB_PREPARE_THRESHOLD runs; "none" = never, e.g. behind a
# transaction-mode PgBouncer without prepared-statement support): PostgreSQL then skips parsing and
# planning it. A movement POST repeats the same ten statements: measured, its database CPU fell from
# about 2.3 to 1.3 ms (bench/FINDINGS.md). The engine is Django's, with a cursor that survives a
# prepared statement made stale by a migration run elsewhere (config/postgresql/base.py).
DB_PREPARE_THRESHOLD = os.environ.get("DB_PREPARE_THRESHOLD", "5").strip().lower()
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    DATABASES["default"]["ENGINE"] = "config.postgresql"
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        server_side_binding=True,
        prepare_threshold=None if DB_PREPARE_THRESHOLD in ("", "none", "off") else int(DB_PREPARE_THRESHOLD),
    )
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # SQLite serialises writers: take the write lock at BEGIN and wait for it rather than fail.
    DATABASES["default"].setdefault("OPTIONS", {}).update({"timeout": 20, "transaction_mode": "IMMEDIATE"})
    DATABASES["default"]["CONN_MAX_AGE"] = 0

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True

LOGIN_URL = "admin:login"

X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SESSION_COOKIE_HTTPONLY = True
if env_bool("STOCKROOM_HTTPS", False):
    SECURE_SSL_REDIRECT = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = 31536000
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.authentication.ApiKeyAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["accounts.permissions.RolePermission"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_THROTTLE_CLASSES": ["inventory.api.common.ApiKeyRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {"api_key": os.environ.get("STOCKROOM_THROTTLE_RATE", "1200/min")},
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
}

SPECTACULAR_SETTINGS = {
    "TITLE": "stockroom API",
    "DESCRIPTION": "Inventory ledger: Spree-compatible stock API, ledger feed, warehouse inventory API.",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
}

# The API docs carry the version written in pyproject.toml, its one source (config/version.py).
from config.version import project_version  # noqa: E402

SPECTACULAR_SETTINGS["VERSION"] = project_version()

CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# API key lookups are cached per process for this many seconds (0: off); see accounts.models.
STOCKROOM_API_KEY_CACHE_SECONDS = int(os.environ.get("STOCKROOM_API_KEY_CACHE_SECONDS", "5"))

# The most movements one correction (a backdated movement, an edit, a deletion) may repost in a process that
# serves requests: a longer one would hold the item's lock, and every sale of it, past DB_LOCK_TIMEOUT_MS
# (about 20,000 movements a second on 2 cores). Refused with a 422 naming `manage.py correct`, where no limit
# applies. 0 = no limit.
STOCKROOM_MAX_REPOST = int(os.environ.get("STOCKROOM_MAX_REPOST", "100000"))

# Hours the answer to a request sent with an Idempotency-Key is replayed; older records are expired and
# removed by `manage.py purge_idempotency` (docs/operations.md). A positive number (fractions allowed).
STOCKROOM_IDEMPOTENCY_TTL_HOURS = float(os.environ.get("STOCKROOM_IDEMPOTENCY_TTL_HOURS", "24"))
if not 0 < STOCKROOM_IDEMPOTENCY_TTL_HOURS < 24 * 366 * 10:
    raise ImproperlyConfigured("STOCKROOM_IDEMPOTENCY_TTL_HOURS must be a positive number of hours")

STOCKROOM_VALUATION = os.environ.get("STOCKROOM_VALUATION", "fifo").strip().lower()
if STOCKROOM_VALUATION not in {"fifo", "average"}:
    raise ImproperlyConfigured("STOCKROOM_VALUATION must be 'fifo' or 'average'")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "WARNING")},
}
