"""Settings shared by every run mode, read from the environment.

The embedded default (no DATABASE_URL, no REDIS_URL) keeps everything under ./var/ so
`make run` needs no services; production and tests point at PostgreSQL and Redis.
"""

from __future__ import annotations

import os
from pathlib import Path

import dj_database_url
import django_stubs_ext
from django.core.exceptions import ImproperlyConfigured

from config.logging import logging_config
from config.settings.environment import BASE_DIR, DEBUG, VAR_DIR, env_bool, env_int
from contract.request_id import install_log_record_factory

# Lets admin and other generic classes be subscripted for type checking at runtime.
django_stubs_ext.monkeypatch()

# Background work (Celery queues, routes, worker sizes, beat) and what a browser meets (sign-in,
# sessions, security headers, mail, static files): modules of their own, read into this one.
from config.settings.web import *  # noqa: E402, F403
from config.settings.workers import *  # noqa: E402, F403

SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY is required when DEBUG is off.")
    SECRET_KEY = "dev-only-insecure-key-never-use-in-production"  # noqa: S105

ALLOWED_HOSTS = [
    h.strip() for h in os.environ.get("ALLOWED_HOSTS", "localhost,127.0.0.1").split(",") if h
]

INSTALLED_APPS = [
    # Django's admin, its index the operators' overview (monitoring.site).
    "monitoring.apps.OperationsAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_ratelimit",
    "django_htmx",
    "csp",
    "axes",
    "accounts",
    "webhooks",
    "handles",
    "messaging",
    "monitoring",
]

MIDDLEWARE = [
    "contract.request_id.RequestIdMiddleware",
    # Counts every answer by route and status for /metrics (a few microseconds, no I/O).
    "contract.metrics.RequestMetricsMiddleware",
    "contract.request_limits.RequestSizeLimitMiddleware",
    "contract.limits.BodySizeLimitMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Last: it answers a locked-out login before the view runs.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
APPEND_SLASH = False

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

# --- database -------------------------------------------------------------------------
DATABASE_URL = os.environ.get("DATABASE_URL", "")


def _prepare_threshold(value: str) -> int | None:
    """psycopg's `prepare_threshold`: executions before a statement is prepared, None never."""
    return None if value.strip().lower() in {"", "off", "none", "false"} else int(value)


if DATABASE_URL:
    # Every process borrows its connections from a pool of its own (psycopg's, through Django):
    # a request or task takes one at its first query and gives it back when it ends, so a
    # process never holds more than DB_POOL_MAX connections however many threads it runs, and
    # a thread with no database work to do (a long-poll, a webhook attempt) holds none.
    # docs/operations.md ("Database connections") adds them up for a deployment.
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=0)}
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
        # Django's backend, but a pooled connection that PostgreSQL closed while it sat in the
        # pool (a restart) is replaced before it is handed out (config/postgresql/base.py).
        DATABASES["default"]["ENGINE"] = "config.postgresql"
        DATABASES["default"]["OPTIONS"] = {
            **DATABASES["default"].get("OPTIONS", {}),
            "pool": {
                "min_size": env_int("DB_POOL_MIN", 1),
                "max_size": env_int("DB_POOL_MAX", 4),
                # A thread that finds every connection taken waits this long, then its request
                # is a 503 (never a connection beyond the bound).
                "timeout": float(env_int("DB_POOL_TIMEOUT", 5)),
                "num_workers": 1,
            },
            # Parameters travel apart from the SQL (psycopg's server-side binding), so a
            # statement a connection has run DB_PREPARE_THRESHOLD times is prepared there: its
            # parse and plan are not paid again (half of PostgreSQL's CPU per send). Off
            # ("off") behind a pooler that cannot carry prepared statements (docs/operations.md).
            "server_side_binding": True,
            "prepare_threshold": _prepare_threshold(os.environ.get("DB_PREPARE_THRESHOLD", "5")),
        }
        # Not psycopg's check on every checkout: it costs a query per request and, after a
        # restart, backs off for seconds between the dead connections it finds (requests
        # failing long after PostgreSQL is back). The backend's look at the socket replaces it.
        DATABASES["default"]["CONN_HEALTH_CHECKS"] = False
else:
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(VAR_DIR / "switchboard.sqlite3"),
            "OPTIONS": {
                # Several processes (web, worker, beat) share one file: WAL and an
                # immediate write lock keep them from tripping over each other.
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            },
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- cache and broker -------------------------------------------------------------------
REDIS_URL = os.environ.get("REDIS_URL", "")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "config.redis_cache.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "sb",
        }
    }
    CELERY_BROKER_URL = REDIS_URL
    # Redis's own transport with one fix (config/broker.py): a worker survives losing Redis.
    CELERY_BROKER_TRANSPORT = "config.broker:Transport"
    CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, object] = {"visibility_timeout": 3600}
else:
    # Embedded mode: a cache shared by the processes of one machine, and a broker made of
    # files. Good for a demo; production sets REDIS_URL.
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(VAR_DIR / "cache"),
        }
    }
    _broker_dir = VAR_DIR / "broker"
    for _sub in ("queue", "processed", "control"):
        (_broker_dir / _sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_URL = "filesystem://"
    # kombu's file transport, writing each message whole (config/embedded_broker.py).
    CELERY_BROKER_TRANSPORT = "config.embedded_broker:Transport"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "processed_folder": str(_broker_dir / "processed"),
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
    }
    # The file cache is shared across processes but its increments are not atomic, so
    # rate limits are approximate in embedded mode (documented); ratelimit says so too.
    SILENCED_SYSTEM_CHECKS = ["django_ratelimit.E003"]

# Django's own RedisCache increments atomically; django-ratelimit only lists django-redis.
SILENCED_SYSTEM_CHECKS = [*globals().get("SILENCED_SYSTEM_CHECKS", []), "django_ratelimit.W001"]


# A JSON body over 1 MiB is refused with 413 before it is read.
DATA_UPLOAD_MAX_MEMORY_SIZE = 1024 * 1024

# --- REST framework and OpenAPI --------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["accounts.auth.ApiKeyAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["accounts.auth.HasActiveAccount"],
    "DEFAULT_THROTTLE_CLASSES": ["accounts.ratelimit.ApiKeyRateThrottle"],
    "DEFAULT_PARSER_CLASSES": ["contract.parsers.StrictJSONParser"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "EXCEPTION_HANDLER": "contract.error_handling.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "contract.schema.SwitchboardAutoSchema",
    "UNAUTHENTICATED_USER": None,
    "DEFAULT_VERSIONING_CLASS": None,
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Switchboard API",
    "DESCRIPTION": (
        "Send and receive iMessage, SMS and WhatsApp messages through the numbers assigned "
        "to your account. Every response carries `request_id` (body) and `X-Request-Id` "
        "(header); every error is `{error, message, request_id}`."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # ReDoc is served from our static files (drf-spectacular-sidecar), never from a CDN.
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # A PATCH body is what its serializer says (`name` of a rename is required), not a copy
    # with every field made optional: our inputs are never partial.
    "COMPONENT_SPLIT_PATCH": False,
    "SCHEMA_PATH_PREFIX": r"/(device/)?v1",
    "ENUM_NAME_OVERRIDES": {
        "ChannelEnum": "messaging.api.serializers.CHANNELS",
        "RequestedChannelEnum": "messaging.api.serializers.REQUESTED_CHANNELS",
        "ReactionTypeEnum": "messaging.api.serializers.REACTION_TYPES",
        "WebhookEventTypeEnum": "webhooks.api.serializers.EVENT_CHOICES",
        "HealthStateEnum": "handles.api.serializers.HEALTH_STATES",
        "HealthLevelEnum": "handles.api.serializers.HEALTH_LEVELS",
        "HealthReasonCodeEnum": "handles.api.serializers.HEALTH_REASON_CODES",
    },
    "POSTPROCESSING_HOOKS": ["drf_spectacular.hooks.postprocess_schema_enums"],
}

# --- Switchboard --------------------------------------------------------------------
SWITCHBOARD_DEFAULT_RATE_LIMIT = env_int("SWITCHBOARD_DEFAULT_RATE_LIMIT", 120)
SWITCHBOARD_FAILED_AUTH_PER_MINUTE = env_int("SWITCHBOARD_FAILED_AUTH_PER_MINUTE", 30)
# How long a web process remembers an API key it authenticated (docs/api.md, 0: never).
SWITCHBOARD_API_KEY_CACHE_SECONDS = env_int("SWITCHBOARD_API_KEY_CACHE_SECONDS", 5)
SWITCHBOARD_IDEMPOTENCY_TTL_HOURS = 24
SWITCHBOARD_IDEMPOTENCY_LOCK_SECONDS = 120
SWITCHBOARD_ALLOW_PRIVATE_WEBHOOK_URLS = env_bool("SWITCHBOARD_ALLOW_PRIVATE_WEBHOOK_URLS", False)
SWITCHBOARD_DEVICE_OFFLINE_AFTER = env_int("SWITCHBOARD_DEVICE_OFFLINE_AFTER", 60)
SWITCHBOARD_SYNC_ACTION_TIMEOUT = env_int("SWITCHBOARD_SYNC_ACTION_TIMEOUT", 10)
SWITCHBOARD_MESSAGE_TTL_HOURS = env_int("SWITCHBOARD_MESSAGE_TTL_HOURS", 24)
SWITCHBOARD_ATTACHMENT_MAX_BYTES = env_int("SWITCHBOARD_ATTACHMENT_MAX_BYTES", 100 * 1024 * 1024)
# Operators (docs/operations.md, "Metrics" and "The overview"): /metrics answers only with
# `Authorization: Bearer <this>` and is a 404 while it is unset. The overview's queue card lists
# handles with more queued messages than QUEUE_DEPTH or one older than QUEUE_AGE_MINUTES; each
# card shows at most OVERVIEW_ROWS rows.
SWITCHBOARD_METRICS_TOKEN = os.environ.get("SWITCHBOARD_METRICS_TOKEN", "")
SWITCHBOARD_OVERVIEW_QUEUE_DEPTH = env_int("SWITCHBOARD_OVERVIEW_QUEUE_DEPTH", 100)
SWITCHBOARD_OVERVIEW_QUEUE_AGE_MINUTES = env_int("SWITCHBOARD_OVERVIEW_QUEUE_AGE_MINUTES", 10)
SWITCHBOARD_OVERVIEW_ROWS = env_int("SWITCHBOARD_OVERVIEW_ROWS", 20)
# Line health (docs/compliance.md, "Line health", says why each default): a handle's state from
# its last `outcomes` outbound outcomes and what its new contacts did in the contact window. Each
# signal is [at_risk, critical]; rates are judged on at least `min_outcomes` outcomes (or iMessage
# attempts) and `min_contacts` new contacts. Failure and opt-out rates follow what SMS platforms
# enforce against carrier filtering (8% / 12.5% errors, 2% / 3% opt-outs); the rest are ours.
SWITCHBOARD_LINE_HEALTH = {
    "outcomes": env_int("SWITCHBOARD_LINE_HEALTH_OUTCOMES", 100),
    "min_outcomes": 20,
    "min_contacts": 20,
    "contact_window_hours": 7 * 24,
    "unanswered_grace_hours": 24,
    "failure_rate": [0.08, 0.125],
    "not_registered_rate": [0.30, 0.50],
    "device_errors": [5, 10],
    "opt_out_rate": [0.02, 0.03],
    "unanswered_rate": [0.85, 0.95],
}

# Attachments go through Django's storage API: local disk by default; point STORAGES at an
# S3-compatible backend (django-storages) in production.
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", VAR_DIR / "media"))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
RATELIMIT_USE_CACHE = "default"
RATELIMIT_ENABLE = True
# --- the client's address (docs/operations.md, "Behind a proxy") ----------------------------
# Unset: the socket's address. Behind a reverse proxy: the request.META key the proxy writes the
# client address to (HTTP_X_REAL_IP, HTTP_X_FORWARDED_FOR), and how many proxies append to it.
SWITCHBOARD_CLIENT_IP_HEADER = os.environ.get("SWITCHBOARD_CLIENT_IP_HEADER") or None
SWITCHBOARD_TRUSTED_PROXIES = env_int("SWITCHBOARD_TRUSTED_PROXIES", 1)
# One function answers for django-ratelimit, django-axes and our failed-auth counters.
RATELIMIT_IP_META_KEY = "contract.client_ip.client_ip"
AXES_CLIENT_IP_CALLABLE = "contract.client_ip.client_ip"

# --- logging: one JSON object a line, with the request id --------------------------------
LOG_LEVEL = os.environ.get("LOG_LEVEL", "INFO")
install_log_record_factory()
# Secrets are redacted by every handler; SWITCHBOARD_LOG_DIR adds a file per process there.
LOGGING = logging_config(level=LOG_LEVEL, log_dir=os.environ.get("SWITCHBOARD_LOG_DIR") or None)
