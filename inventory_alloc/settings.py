"""Settings for inventory_alloc, read from the environment (12-factor).

Every value that differs between a laptop, CI and AWS Lambda comes from an
environment variable; the defaults give a working local SQLite setup.
"""
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()

DEBUG = env.bool("DJANGO_DEBUG", default=False)
# AWS sets AWS_LAMBDA_FUNCTION_NAME in every Lambda process; Zappa's handler sets STAGE (dev, production).
ON_LAMBDA = bool(env.str("AWS_LAMBDA_FUNCTION_NAME", default=""))

SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="")
_weak_key = len(SECRET_KEY) < 50 or len(set(SECRET_KEY)) < 5 or SECRET_KEY.startswith("django-insecure")
if _weak_key:
    if not DEBUG:
        raise ImproperlyConfigured(
            "DJANGO_SECRET_KEY must be a real secret when DJANGO_DEBUG is off: at least 50 characters, not a "
            "repetition of a few (python3 -c 'import secrets; print(secrets.token_urlsafe(50))')."
        )
    SECRET_KEY = SECRET_KEY or "django-insecure-local-development-only"

ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    # The admin theme (django-unfold), before django.contrib.admin so its templates win. The basic app config
    # leaves the default admin site to BackOfficeAdminConfig (the back office's own site, an Unfold site).
    "unfold.apps.BasicAppConfig",
    "unfold.contrib.filters",
    "unfold.contrib.import_export",
    "inventory_alloc.apps.BackOfficeAdminConfig",  # django.contrib.admin with the back office's site
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework_simplejwt.token_blacklist",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "import_export",
    "stock",
    "orders",
    "allocation",
]

MIDDLEWARE = [
    "inventory_alloc.log.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "inventory_alloc.urls"

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

WSGI_APPLICATION = "inventory_alloc.wsgi.application"

DATABASES = {
    "default": env.db_url("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
# PostgreSQL: a run's hot statements are prepared on a connection from their second use on it, and run
# with generic plans (allocation.sql.execute). Off behind PgBouncer in transaction mode, or where RDS
# Proxy's pinning of a session that prepares matters.
DB_PREPARE = env.bool("DJANGO_DB_PREPARE", default=True)
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("DJANGO_CONN_MAX_AGE", default=0))
    # Client-side cursors for QuerySet.iterator(): a server-side cursor costs a DECLARE,
    # FETCHes and a CLOSE per query, and breaks behind RDS Proxy or PgBouncer pooling.
    DATABASES["default"].setdefault("DISABLE_SERVER_SIDE_CURSORS", True)
    # No request waits without limit: a lock held elsewhere is waited for at most DJANGO_DB_LOCK_TIMEOUT ms
    # (then 409 "busy"), a statement runs at most DJANGO_DB_STATEMENT_TIMEOUT ms (then 503), both inside
    # API Gateway's 29 s. Long work (a queued run on the worker, the commands) lifts the statement limit
    # for itself (allocation.sql.long_statements).
    DB_LOCK_TIMEOUT_MS = env.int("DJANGO_DB_LOCK_TIMEOUT", default=10_000)
    DB_STATEMENT_TIMEOUT_MS = env.int("DJANGO_DB_STATEMENT_TIMEOUT", default=25_000)
    _options = DATABASES["default"].setdefault("OPTIONS", {})
    _options["options"] = (f"{_options.get('options', '')} -c lock_timeout={DB_LOCK_TIMEOUT_MS} "
                           f"-c statement_timeout={DB_STATEMENT_TIMEOUT_MS}"
                           f"{' -c plan_cache_mode=force_generic_plan' if DB_PREPARE else ''}").strip()
elif DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Wait for a writer instead of failing at once with "database is locked"; take the
    # write lock when a transaction begins (no lock upgrade deadlocks between runs);
    # WAL lets the admin read while a run writes.
    options = DATABASES["default"].setdefault("OPTIONS", {})
    options.setdefault("timeout", 20)
    options.setdefault("transaction_mode", "IMMEDIATE")
    options.setdefault("init_command", "PRAGMA journal_mode=WAL;")

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# Internationalisation: English by default, Japanese when the browser asks for it.
LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("ja", "日本語")]
# Our own strings (makemessages writes locale/), then the Japanese the admin theme and import-export lack.
LOCALE_PATHS = [BASE_DIR / "locale", BASE_DIR / "locale" / "theme"]
USE_I18N = True
# The header's language switch (Django's set_language view) keeps the choice in this cookie for a year.
LANGUAGE_COOKIE_AGE = 365 * 24 * 3600
# One date format per language: ISO 2026-12-02 in English, 2026/12/02 in Japanese (inventory_alloc/formats);
# date inputs take that format first and ISO in both. Numbers shown get thousands separators (1,234,567);
# form inputs stay plain (no field has localize=True) and so does the API.
FORMAT_MODULE_PATH = ["inventory_alloc.formats"]
USE_THOUSAND_SEPARATOR = True
NUMBER_GROUPING = 3
THOUSAND_SEPARATOR = ","
USE_TZ = True
# The business time zone: "today", allocation dates and period boundaries use it.
TIME_ZONE = env.str("BUSINESS_TIME_ZONE", default="Asia/Tokyo")
# The currency amounts are in: the back office shows them with its decimals (JPY 0, USD/EUR 2); storage keeps 2.
CURRENCY = env.str("CURRENCY", default="JPY").upper()

STATIC_URL = env.str("DJANGO_STATIC_URL", default="static/")
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "inventory_alloc" / "static"]  # the back office's stylesheet
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
# Serve static files straight from the apps' folders when no collectstatic ran.
WHITENOISE_USE_FINDERS = env.bool("WHITENOISE_USE_FINDERS", default=True)

LOGIN_URL = "admin:login"
LOGIN_REDIRECT_URL = "admin:index"  # after a login without ?next= (the theme's login form posts none)

# --- The admin theme (django-unfold) ----------------------------------------------------------------------
# The header's name, the navigation grouped by task (inventory_alloc.admin_site.navigation: the apps in a clerk's
# order, each model only for users who may see it), the light theme only, and the back office's own stylesheet
# for the pages it draws itself (dashboard, preview, run, period close, pick list).
UNFOLD = {
    "SITE_TITLE": _("Inventory allocation"),
    "SITE_HEADER": _("Inventory allocation"),
    "SITE_SUBHEADER": _("Back office"),
    "SITE_SYMBOL": "inventory_2",
    "THEME": "light",
    "SHOW_HISTORY": True,
    "SHOW_VIEW_ON_SITE": False,
    "SHOW_LANGUAGES": True,
    "COLORS": {
        "primary": {
            "50": "oklch(97.7% .013 236.62)",
            "100": "oklch(95.1% .026 236.824)",
            "200": "oklch(90.1% .058 230.902)",
            "300": "oklch(82.8% .111 230.318)",
            "400": "oklch(74.6% .16 232.661)",
            "500": "oklch(68.5% .169 237.323)",
            "600": "oklch(58.8% .158 241.966)",
            "700": "oklch(50% .134 242.749)",
            "800": "oklch(44.3% .11 240.79)",
            "900": "oklch(39.1% .09 240.876)",
            "950": "oklch(29.3% .066 243.157)",
        },
    },
    "STYLES": ["inventory_alloc.admin_site.stylesheet"],
    "SIDEBAR": {"show_search": False, "show_all_applications": False,
                "navigation": "inventory_alloc.admin_site.navigation"},
}

# --- Logging ----------------------------------------------------------------------
# One JSON line per record on stderr, each with the request's id (inventory_alloc.log); on Lambda CloudWatch
# keeps stderr. Errors (a 500, a failed run) carry their traceback; DJANGO_LOG_LEVEL sets the threshold.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "inventory_alloc.log.RequestIdFilter"}},
    "formatters": {"json": {"()": "inventory_alloc.log.JsonFormatter"}},
    "handlers": {
        "stderr": {"class": "logging.StreamHandler", "stream": "ext://sys.stderr", "formatter": "json",
                   "filters": ["request_id"]},
    },
    "root": {"handlers": ["stderr"], "level": env.str("DJANGO_LOG_LEVEL", default="INFO")},
    "loggers": {
        "django": {"handlers": ["stderr"], "level": env.str("DJANGO_LOG_LEVEL", default="INFO"), "propagate": False},
    },
}

# --- Allocation -------------------------------------------------------------
# Weights of the customer score (percent; they should add up to 100).
ALLOCATION_SCORE_WEIGHTS = {
    "performance": env.float("ALLOCATION_WEIGHT_PERFORMANCE", default=30),
    "payment_frequency": env.float("ALLOCATION_WEIGHT_PAYMENT_FREQUENCY", default=25),
    "credit_adherence": env.float("ALLOCATION_WEIGHT_CREDIT_ADHERENCE", default=25),
    "stock_availability": env.float("ALLOCATION_WEIGHT_STOCK_AVAILABILITY", default=20),
}
# Days of payment history that count for the payment-frequency part of the score.
ALLOCATION_PAYMENT_WINDOW_DAYS = env.int("ALLOCATION_PAYMENT_WINDOW_DAYS", default=90)
# The total-average period: "month" (default) or "year".
ALLOCATION_PERIOD = env.str("ALLOCATION_PERIOD", default="month")
# The most nested rows (an order's lines, an outcome's shortfalls) one API answer carries: a page of such
# objects stops before it passes this (inventory_alloc.pagination.WeightedPagination), so no answer grows
# past a few MB whatever the data (Lambda answers at most 6 MB).
API_MAX_NESTED_ROWS = env.int("API_MAX_NESTED_ROWS", default=10_000)
# Outcomes and results an allocate/ answer lists itself; the rest are at allocation-runs/{id}/outcomes/
# and allocation-results/?run={id}.
API_INLINE_ROWS = env.int("API_INLINE_ROWS", default=1000)
# The most lines one order may hold (API, admin, import): bigger orders are refused with a 400 / form error.
ORDER_MAX_LINES = env.int("ORDER_MAX_LINES", default=1000)
# Rows per statement when a run loads or writes in batches.
ALLOCATION_BATCH_SIZE = env.int("ALLOCATION_BATCH_SIZE", default=5000)

# --- REST API ---------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # External identity provider tokens (RS256, JWKS) first: it ignores anything else.
        "inventory_alloc.authentication.JWKSAuthentication",
        "rest_framework_simplejwt.authentication.JWTAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["allocation.permissions.ModelPermissions"],
    "DEFAULT_PAGINATION_CLASS": "inventory_alloc.pagination.PageNumberPagination",
    # JSON bodies only: a form field is always text, so `"dry_run": "maybe"` could not be told from a
    # typed value; any other content type is a 415.
    "DEFAULT_PARSER_CLASSES": ["inventory_alloc.parsers.JSONParser"],
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
    "PAGE_SIZE": env.int("API_PAGE_SIZE", default=50),
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "inventory_alloc.strict.SearchFilter",
    ],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "inventory_alloc.exceptions.exception_handler",
    # Errors of nested lists keyed by index: {"lines": {"1": {"lot": ["..."]}}}.
    "LIST_SERIALIZER_ERRORS_AS_DICT": True,
    "DEFAULT_THROTTLE_RATES": {"token": env.str("API_TOKEN_THROTTLE", default="10/min")},
    # How many proxies of yours stand in front of the app and append to X-Forwarded-For. 0 (default): the
    # throttle keys on the socket's address (on Lambda the client address API Gateway saw, which Zappa's
    # handler puts in REMOTE_ADDR), never on a header the client writes.
    "NUM_PROXIES": env.int("API_NUM_PROXIES", default=0),
}
# The token throttle counts in this cache, and on Lambda the import preview keeps its file there.
# Local memory needs no server but is per process; on Lambda (many containers) the default is a
# table in the database (created by `migrate`). Any django-environ cache URL works.
CACHES = {
    "default": env.cache_url(
        "DJANGO_CACHE_URL",
        default="dbcache://django_cache" if env.str("AWS_LAMBDA_FUNCTION_NAME", default="") else "locmemcache://inventory-alloc",
    ),
}
# Exports never hand a spreadsheet a live formula (`=HYPERLINK(...)` in a name becomes text, see
# inventory_alloc.admin_base.neutralised), nor fail on a control character in a text.
IMPORT_EXPORT_ESCAPE_FORMULAE_ON_EXPORT = True
IMPORT_EXPORT_ESCAPE_ILLEGAL_CHARS_ON_EXPORT = True
# The services enter every imported row in the history themselves (inventory_alloc.history); import-export's own
# entries would say it twice.
IMPORT_EXPORT_SKIP_ADMIN_LOG = True
if CACHES["default"]["BACKEND"] == "django.core.cache.backends.db.DatabaseCache":
    # The import's preview and confirm are two requests, maybe in two containers: keep the file in the cache.
    IMPORT_EXPORT_TMP_STORAGE_CLASS = "import_export.tmp_storages.CacheStorage"

from datetime import timedelta as _timedelta  # noqa: E402

SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": _timedelta(minutes=env.int("JWT_ACCESS_MINUTES", default=30)),
    "REFRESH_TOKEN_LIFETIME": _timedelta(days=env.int("JWT_REFRESH_DAYS", default=1)),
    "AUTH_HEADER_TYPES": ("Bearer",),
    # A token dies with the password it was issued under (a hash of the password hash is a claim), and a
    # refresh token is spent when used: the answer carries a new one and the old one is blacklisted.
    "CHECK_REVOKE_TOKEN": True,
    "ROTATE_REFRESH_TOKENS": True,
    "BLACKLIST_AFTER_ROTATION": True,
}
# External identity provider (e.g. AWS Cognito): verify RS256 bearer tokens against its JWKS.
JWT_JWKS_URL = env.str("JWT_JWKS_URL", default="")
JWT_ISSUER = env.str("JWT_ISSUER", default="")
JWT_AUDIENCE = env.str("JWT_AUDIENCE", default="")
JWT_USER_CLAIM = env.str("JWT_USER_CLAIM", default="username")

SPECTACULAR_SETTINGS = {
    "TITLE": "inventory-alloc API",
    "DESCRIPTION": "Items, lots, customers, orders and their allocation (FIFO, LIFO, averages, specific, ...).",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "COMPONENT_SPLIT_REQUEST": True,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "PREPROCESSING_HOOKS": ["inventory_alloc.schema.named_routes_only"],
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "inventory_alloc.schema.closed_request_bodies",
        "inventory_alloc.schema.documented_errors",
    ],
    "ENUM_NAME_OVERRIDES": {
        "OrderStatusEnum": "orders.models.OrderStatus",
        "PaymentStatusEnum": "orders.models.PaymentStatus",
        "RunStatusEnum": "allocation.models.RunStatus",
        "EventTypeEnum": "allocation.models.EventType",
        "MethodEnum": "allocation.models.Method",  # a run's method and the methods compared
    },
}

# --- AWS Lambda ---------------------------------------------------------------
# Zappa runs this app on AWS Lambda behind API Gateway (zappa_settings.json, docs/architecture.md).
# A run over more orders than this (all open orders count as their number) is queued and executed by an
# asynchronous task: on Lambda another invocation (allocation.tasks), elsewhere in the same process.
ALLOCATION_ASYNC_THRESHOLD = env.int("ALLOCATION_ASYNC_THRESHOLD", default=5000)
# A run that has not finished this many seconds after it started is taken for dead (its process was
# killed: a Lambda timeout, out of memory) and marked failed; the worker function's timeout is 900 s.
ALLOCATION_RUN_TIMEOUT = env.int("ALLOCATION_RUN_TIMEOUT", default=960)
# The method of the nightly run over every open order (zappa_settings.json "events").
ALLOCATION_NIGHTLY_METHOD = env.str("ALLOCATION_NIGHTLY_METHOD", default="")  # empty: the registry's default method
# Its policy (order_date, priority, customer_score or fair_share); empty: the registry's default policy.
ALLOCATION_NIGHTLY_POLICY = env.str("ALLOCATION_NIGHTLY_POLICY", default="")
# The Lambda function that executes queued runs (a worker stage with a long timeout); empty: this function.
ALLOCATION_WORKER_FUNCTION = env.str("ALLOCATION_WORKER_FUNCTION", default="")

# Admin messages live in the session (the database), not in a cookie: a new webhook secret is shown once
# in a message and must not travel back and forth in the browser's cookie.
MESSAGE_STORAGE = "django.contrib.messages.storage.session.SessionStorage"

# --- Events and webhooks (Standard Webhooks 1.0) -------------------------------------
# A delivery attempt waits this many seconds for the receiver to answer (connect and read), then counts as failed.
WEBHOOK_TIMEOUT = env.float("WEBHOOK_TIMEOUT", default=10)
# Seconds between a failed attempt and the next one (the specification's reference senders' schedule):
# 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h; after the last one fails the delivery is marked failed.
WEBHOOK_RETRY_SCHEDULE = [float(s) for s in env.list(
    "WEBHOOK_RETRY_SCHEDULE", default=["5", "300", "1800", "7200", "18000", "36000", "36000"])]
# An endpoint whose every attempt has failed for this many seconds is disabled, and says why.
WEBHOOK_DISABLE_AFTER = env.int("WEBHOOK_DISABLE_AFTER", default=24 * 3600)
# After a secret is rotated the old one still signs (a second signature) for this many seconds.
WEBHOOK_ROTATION_OVERLAP = env.int("WEBHOOK_ROTATION_OVERLAP", default=24 * 3600)
# Whether endpoint URLs may point at private, loopback or link-local addresses (the VPC, the Lambda metadata
# service): off in a deployment, so an endpoint cannot reach inside; on with DEBUG (a local receiver).
WEBHOOK_ALLOW_PRIVATE = env.bool("WEBHOOK_ALLOW_PRIVATE", default=DEBUG)
# How long one dispatcher pass may take before it stops taking deliveries (inside Lambda's 30 s).
WEBHOOK_PASS_SECONDS = env.float("WEBHOOK_PASS_SECONDS", default=20)
# What is done once a transaction that queued deliveries commits: "auto" (on Lambda an asynchronous
# invocation of the dispatcher, elsewhere one pass in a background thread) or "off" (the scheduled
# pass or `manage.py deliver_events --loop` sends them).
EVENTS_KICK = env.str("EVENTS_KICK", default="auto")

if ON_LAMBDA:
    _database = DATABASES["default"]
    _sqlite_path = Path(str(_database["NAME"])).resolve()
    _scratch = _sqlite_path.is_relative_to("/tmp") and not _sqlite_path.is_relative_to(BASE_DIR)
    if _database["ENGINE"] == "django.db.backends.sqlite3" and not _scratch:
        # The package folder is read-only and every instance would get its own copy: data would vanish.
        raise ImproperlyConfigured(
            f"On AWS Lambda DATABASE_URL must point at PostgreSQL (RDS); got SQLite at {_database['NAME']}. "
            "Only a SQLite file under /tmp is accepted, for throwaway tests."
        )
    if _database["ENGINE"] == "django.db.backends.postgresql":
        # Fail within the request's 30 s when the VPC cannot reach RDS, instead of hanging until the timeout.
        _database.setdefault("OPTIONS", {}).setdefault("connect_timeout", env.int("DJANGO_DB_CONNECT_TIMEOUT", default=5))
    if "DJANGO_ALLOWED_HOSTS" not in env:
        ALLOWED_HOSTS = [f".execute-api.{env.str('AWS_REGION', default='ap-northeast-1')}.amazonaws.com"]
    # API Gateway serves the app under /<stage>/ on its execute-api host, and Zappa passes that prefix as
    # SCRIPT_NAME. Django computes STATIC_URL once, at start-up, so give it the prefix here (WhiteNoise strips
    # FORCE_SCRIPT_NAME again when it matches paths). Behind a custom domain set DJANGO_SCRIPT_NAME to its
    # base path, or to "" when it maps the API at the root.
    FORCE_SCRIPT_NAME = env.str("DJANGO_SCRIPT_NAME", default=f"/{env.str('STAGE', default='')}").rstrip("/") or None
    STATIC_URL = f"{FORCE_SCRIPT_NAME or ''}/static/"

# --- HTTPS ------------------------------------------------------------------------
# Any deployment serves HTTPS only (on Lambda, API Gateway answers on HTTPS only): with DJANGO_SECURE on,
# the default whenever DEBUG is off, plain HTTP is redirected, cookies are sent over HTTPS only and browsers
# are told to use HTTPS (HSTS). Turn it off only for a local HTTP server with DEBUG off (the test suite does).
SECURE = env.bool("DJANGO_SECURE", default=not DEBUG)
if SECURE:
    SECURE_SSL_REDIRECT = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env.int("DJANGO_HSTS_SECONDS", default=31_536_000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("DJANGO_HSTS_INCLUDE_SUBDOMAINS", default=True)
    SECURE_HSTS_PRELOAD = env.bool("DJANGO_HSTS_PRELOAD", default=True)
# Behind a proxy that terminates TLS (API Gateway, a load balancer), X-Forwarded-Proto says the request was
# HTTPS. Trust the header only behind such a proxy, which sets it itself.
if env.bool("DJANGO_PROXY_SSL_HEADER", default=ON_LAMBDA):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
