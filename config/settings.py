"""Settings, all from the environment so one build runs anywhere.

DATABASE_URL   database (default: SQLite file db.sqlite3 beside manage.py)
SECRET_KEY     required when DEBUG is off
DEBUG          "1"/"true" turns on debug (default off)
ALLOWED_HOSTS  comma list (default: localhost names)
STOCKROOM_VALUATION      fifo | average (default fifo)
STOCKROOM_THROTTLE_RATE  requests per key, e.g. "1200/min" (default)
STOCKROOM_API_KEY_CACHE_SECONDS  API key lookups cached this long (default 5; 0 off)
STOCKROOM_HTTPS          "1": served over HTTPS only (secure cookies, HSTS with subdomains and preload)
STOCKROOM_PUBLIC_API_DOCS  "1": /api/schema/ and /api/docs/ open to anyone (default: signed-in callers)
STOCKROOM_CURRENCY       ISO 4217 code money is shown in on the staff pages (default USD, the demo data's)
REDIS_URL      Redis for the cache shared by every process (default none: a cache per process)
STOCKROOM_AUTH_FAILURE_RATE  credential failures per client address (default "60/min")
STOCKROOM_NUM_PROXIES  proxies appending to X-Forwarded-For in front (default none: REMOTE_ADDR)
STOCKROOM_LOGIN_FAILURE_LIMIT  wrong admin passwords per address before a 15-minute lockout (default 10)
DB_LOCK_TIMEOUT_MS / DB_STATEMENT_TIMEOUT_MS  PostgreSQL timeouts of request-serving processes
                                               (default 5000 / 30000; 0 off)
DATABASE_REPLICA_URL  a streaming replica the read-only API families read from (config/replica.py)

Every value is parsed and checked by config/env.py: a bad one stops start-up with one line naming it.
"""

import sys
from datetime import timedelta
from pathlib import Path

from config.env import Env

BASE_DIR = Path(__file__).resolve().parent.parent

env = Env()

DEBUG = env.bool("DEBUG", False)

# `manage.py <command>` other than runserver: a process that serves no requests.
MANAGEMENT_COMMAND = bool(sys.argv) and sys.argv[0].endswith("manage.py") and sys.argv[1:2] != ["runserver"]

SECRET_KEY = env.str("SECRET_KEY", "")
if not SECRET_KEY:
    # A throwaway key is fine where nothing is served to the world: debug runs, the test suite and
    # management commands. A production server (make serve, or runserver without DEBUG) must set one.
    if DEBUG or "pytest" in sys.modules or MANAGEMENT_COMMAND:
        SECRET_KEY = "insecure-development-key-do-not-use-in-production"
    else:
        env.errors.append("SECRET_KEY is not set: a server with DEBUG off needs one (a long random string).")

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1],testserver")

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
    "config.csp.ContentSecurityPolicyMiddleware",
    "config.nul.RefuseNulMiddleware",
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
    "default": env.database(
        "DATABASE_URL",
        default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}",
        conn_max_age=env.int("DB_CONN_MAX_AGE", 60, unit="seconds"),
        # A reused connection is checked at its first query of each request: a connection PostgreSQL
        # dropped (restart, failover) is replaced unseen instead of failing that request (503 in the APIs,
        # a 500 page in the admin and dashboard). On PostgreSQL the check asks SELECT 1 only when the server
        # has written to the idle connection, as it does when it ends one (config/postgresql).
        conn_health_checks=True,
    ) or {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}  # a bad URL: env.check() stops below
}
# Milliseconds, 0 = no limit. A request waiting longer for a row lock, or running a statement longer,
# is cancelled: its transaction rolls back and the APIs answer 503 with Retry-After instead of holding a
# worker. Only processes that serve requests get them: management commands (migrate, recount,
# bench_data, apply_count, ...) run and wait as long as their work needs.
DB_LOCK_TIMEOUT_MS = env.int("DB_LOCK_TIMEOUT_MS", 5000, unit="milliseconds")
DB_STATEMENT_TIMEOUT_MS = env.int("DB_STATEMENT_TIMEOUT_MS", 30000, unit="milliseconds")
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
DB_PREPARE_THRESHOLD = env.optional_int("DB_PREPARE_THRESHOLD", 5, off=("none", "off"), unit="runs")
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    DATABASES["default"]["ENGINE"] = "config.postgresql"
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        server_side_binding=True,
        prepare_threshold=DB_PREPARE_THRESHOLD,
    )
# A streaming replica (DATABASE_REPLICA_URL, PostgreSQL): the read-only families read it (config/replica.py). It
# gets the primary's engine and options (timeouts, prepared statements) and, under test, reads the test
# database as the primary streams it there (MIRROR only renames the database; host and port stay the replica's).
REPLICA = env.database("DATABASE_REPLICA_URL", default=None,
                       conn_max_age=DATABASES["default"].get("CONN_MAX_AGE", 0), conn_health_checks=True)
if REPLICA is not None:
    if DATABASES["default"]["ENGINE"] != "config.postgresql" or REPLICA["ENGINE"] != "django.db.backends.postgresql":
        env.errors.append("DATABASE_REPLICA_URL is set but is not valid: a replica needs DATABASE_URL and "
                          "DATABASE_REPLICA_URL both postgres:// (a PostgreSQL streaming replica).")
    else:
        REPLICA.update(ENGINE="config.postgresql", OPTIONS=dict(DATABASES["default"].get("OPTIONS", {})),
                       TEST={"MIRROR": "default"})
        DATABASES["replica"] = REPLICA
        DATABASE_ROUTERS = ["config.replica.ReplicaRouter"]
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
if env.bool("STOCKROOM_HTTPS", False):
    SECURE_SSL_REDIRECT = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = 31536000
    # check --deploy's W005/W021: every subdomain is HTTPS-only too, and browsers may ship the rule preloaded.
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# Content-Security-Policy of every response (config/csp.py). Every script is served from our origin (Swagger
# UI's start-up script too: the split view); inline styles stay allowed for the <style> blocks and style
# attributes of DRF's and Swagger UI's templates. Django 6.0 reads this same setting.
SECURE_CSP = {
    "default-src": ["'self'"],
    "script-src": ["'self'"],
    "style-src": ["'self'", "'unsafe-inline'"],
    "img-src": ["'self'", "data:"],
    "font-src": ["'self'", "data:"],
    "object-src": ["'none'"],
    "base-uri": ["'self'"],
    "form-action": ["'self'"],
    "frame-ancestors": ["'none'"],
}

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.authentication.ApiKeyAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["accounts.permissions.RolePermission"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_THROTTLE_CLASSES": ["inventory.api.common.ApiKeyRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {"api_key": env.rate("STOCKROOM_THROTTLE_RATE", "1200/min")},
    # DRF's parsers, refusing JSON nested too deep and NUL characters (inventory/api/common/parsers.py).
    "DEFAULT_PARSER_CLASSES": [
        "inventory.api.common.parsers.JSONParser",
        "inventory.api.common.parsers.FormParser",
        "inventory.api.common.parsers.MultiPartParser",
    ],
    # DRF's negotiation with a short cut for JSON clients (inventory/api/common/negotiation.py).
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": "inventory.api.common.negotiation.ContentNegotiation",
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

# /api/schema/ and /api/docs/ are for signed-in callers (an API key or a staff session) unless this opens them
# to anyone (inventory/api/common/docs.py).
STOCKROOM_PUBLIC_API_DOCS = env.bool("STOCKROOM_PUBLIC_API_DOCS", False)

# The API docs carry the version written in pyproject.toml, its one source (config/version.py).
from config.version import project_version  # noqa: E402

SPECTACULAR_SETTINGS["VERSION"] = project_version()

CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# Shared state across processes and hosts (docs/operations.md, Redis): with REDIS_URL, the cache (throttle
# counters, API key lookups, admin login failures) is Redis, through django-redis for IGNORE_EXCEPTIONS: a
# Redis that goes away reads as an empty cache (key lookups go to the database, throttles and the login
# lockout fail open, logged) instead of failing every request. Without it, each process has its own.
REDIS_URL = env.str("REDIS_URL", "")
if REDIS_URL:
    from config.cache import redis_caches  # noqa: E402

    CACHES = redis_caches(REDIS_URL)
# Requests refused for their credentials (a wrong key, no key) per client address before they get 429.
STOCKROOM_AUTH_FAILURE_RATE = env.rate("STOCKROOM_AUTH_FAILURE_RATE", "60/min")
# Proxies in front that append to X-Forwarded-For: the client address of throttles and the login lockout.
# 0 (the default): none, the client address is REMOTE_ADDR.
if STOCKROOM_NUM_PROXIES := env.int("STOCKROOM_NUM_PROXIES", 0, unit="proxies"):
    REST_FRAMEWORK["NUM_PROXIES"] = STOCKROOM_NUM_PROXIES
# Admin login: django-axes locks an address out after this many wrong passwords, for the cool-off time.
# Its store is Redis with REDIS_URL, else the database (shared by every process either way).
INSTALLED_APPS.append("axes")
MIDDLEWARE.append("axes.middleware.AxesMiddleware")
AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend", "django.contrib.auth.backends.ModelBackend"]
AXES_HANDLER = ("accounts.lockout.FailOpenAxesCacheHandler" if REDIS_URL
                else "axes.handlers.database.AxesDatabaseHandler")
AXES_FAILURE_LIMIT = env.int("STOCKROOM_LOGIN_FAILURE_LIMIT", 10, minimum=1, unit="attempts")
AXES_COOLOFF_TIME = timedelta(minutes=15)
AXES_LOCKOUT_PARAMETERS = ["ip_address"]
AXES_RESET_ON_SUCCESS = True
AXES_CLIENT_IP_CALLABLE = "accounts.throttles.client_address"
AXES_ENABLE_ADMIN = False  # its tables are internals, and empty with Redis
AXES_VERBOSE = False

# API key lookups are cached for this many seconds (0: off), in Redis with REDIS_URL; see accounts.models.
STOCKROOM_API_KEY_CACHE_SECONDS = env.int("STOCKROOM_API_KEY_CACHE_SECONDS", 5, unit="seconds")

# The most movements one correction (a backdated movement, an edit, a deletion) may repost in a process that
# serves requests: a longer one would hold the item's lock, and every sale of it, past DB_LOCK_TIMEOUT_MS
# (about 20,000 movements a second on 2 cores). Refused with a 422 naming `manage.py correct`, where no limit
# applies. 0 = no limit.
STOCKROOM_MAX_REPOST = env.int("STOCKROOM_MAX_REPOST", 100000, unit="movements")

# Hours the answer to a request sent with an Idempotency-Key is replayed; older records are expired and
# removed by `manage.py purge_idempotency` (docs/operations.md). A positive number (fractions allowed).
STOCKROOM_IDEMPOTENCY_TTL_HOURS = env.positive_number("STOCKROOM_IDEMPOTENCY_TTL_HOURS", 24, maximum=24 * 366 * 10,
                                                      unit="hours")

STOCKROOM_VALUATION = env.choice("STOCKROOM_VALUATION", "fifo", ("fifo", "average"))

# The currency every stored amount is in (one per installation), shown with money on the staff pages.
# The default is the demo catalogue's: its prices are the Spree sample store's, in US dollars (seed_demo).
STOCKROOM_CURRENCY = env.currency("STOCKROOM_CURRENCY", "USD")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.log_level("LOG_LEVEL", "WARNING")},
}

# Django refuses a query string or form with more fields than this (a 400 in the family's envelope). Raised
# from Django's 1,000 on purpose: a `q[x_in][]` list may carry MAX_LIST_VALUES (500) values, and a search
# may combine two of them with paging and sorting. The front (make serve) caps a URI at 32 KB first.
DATA_UPLOAD_MAX_NUMBER_FIELDS = 2000

# Every variable above has been read: stop here, naming each bad one (config/env.py).
env.check()
