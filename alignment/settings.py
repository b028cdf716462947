"""Settings for Alignment: one module, driven by the environment, with an embedded default.

DEBUG is off unless DJANGO_DEBUG=1 (`make run` and the tests set it, through alignment/settings_dev.py): with
DEBUG off the development secret key is refused, so a deploy that forgets its environment fails at start.
In development the site runs on a SQLite file, Celery tasks run in-process and e-mail goes to the console.
Production sets DJANGO_SECRET_KEY, DATABASE_URL (PostgreSQL) and CELERY_BROKER_URL (Redis).
"""

import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
from csp.constants import NONCE, NONE, SELF
from django.core.exceptions import ImproperlyConfigured
from kombu import Queue

BASE_DIR = Path(__file__).resolve().parent.parent
DEFAULT_SECRET_KEY = "django-insecure-alignment-development-key-do-not-use-in-production"


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    return default if value is None or value == "" else value.strip().lower() in ("1", "true", "yes", "on")


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("DJANGO_DEBUG", False)
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", DEFAULT_SECRET_KEY)
if not DEBUG and SECRET_KEY == DEFAULT_SECRET_KEY:
    raise ImproperlyConfigured("DJANGO_SECRET_KEY must be set when DJANGO_DEBUG is off.")

ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]" if DEBUG else "")
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "alignment",
    "sla",
    "leads",
    "feedback",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "template_partials",
    "django_tables2",
    "django_filters",
    "csp",
    "axes",
]

# Login throttling (django-axes): after AXES_FAILURE_LIMIT wrong passwords for one user name from one address,
# that pair is locked out for AXES_COOLOFF_TIME, even with the right password (a clear page says so, status 429).
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = int(os.environ.get("AXES_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = timedelta(minutes=int(os.environ.get("AXES_COOLOFF_MINUTES", "15")))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_RESET_ON_SUCCESS = True
AXES_VERBOSE = False

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "alignment.errors.DatabaseUnavailableMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "leads.intake.cors.WriteKeyCorsMiddleware",  # browsers posting events from the origins a write key allows
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "alignment.preferences.UserPreferenceMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "axes.middleware.AxesMiddleware",  # last: it turns a lockout raised by authenticate() into the lockout page
]

ROOT_URLCONF = "alignment.urls"
WSGI_APPLICATION = "alignment.wsgi.application"
ASGI_APPLICATION = "alignment.asgi.application"

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
                "alignment.context_processors.csp_nonce",
                "alignment.roles.roles_context",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.config(
        default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}",
        conn_max_age=int(os.environ.get("DATABASE_CONN_MAX_AGE", "60")),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # The set-based criteria queries are large; PostgreSQL's JIT spends more compiling them than it saves.
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault("options", "-c jit=off")
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Wait for a lock instead of failing at once: the dev server, beat and the two workers `make run` starts may
    # write together. IMMEDIATE takes the write lock when a transaction begins, so a transaction that read first
    # never fails with "database is locked" when it then writes (it waits its turn like the others).
    DATABASES["default"].setdefault("OPTIONS", {}).update(timeout=20, transaction_mode="IMMEDIATE")
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = os.environ.get("DJANGO_LANGUAGE_CODE", "en-gb")
# The UI languages: the switcher offers these; a user's own choice (UserPreference) wins over the browser's.
LANGUAGES = [("en-gb", "English"), ("ja", "日本語")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = os.environ.get("DJANGO_TIME_ZONE", "Europe/London")
USE_I18N = True
USE_TZ = True
USE_THOUSAND_SEPARATOR = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}
MEDIA_ROOT = Path(os.environ.get("DJANGO_MEDIA_ROOT", BASE_DIR / "media"))

# E-mail: console by default; set EMAIL_URL-style pieces in production.
EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "25"))
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "alignment@localhost")

# Celery: with no broker configured, tasks run in-process so the embedded default works end to end.
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "")
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", not CELERY_BROKER_URL)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_RESULT_BACKEND = os.environ.get("CELERY_RESULT_BACKEND") or None
# A task is acknowledged once it has run, and redelivered when its worker dies (leads.jobs resumes jobs).
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": int(os.environ.get("CELERY_VISIBILITY_TIMEOUT", "3600"))
}
JOB_LEASE_SECONDS = int(os.environ.get("JOB_LEASE_SECONDS", "60"))
JOB_MAX_ATTEMPTS = int(os.environ.get("JOB_MAX_ATTEMPTS", "5"))
CELERY_TIMEZONE = TIME_ZONE
# `manage.py runall` (what `make run` starts) sets CELERY_BROKER_URL=filesystem:// for its children: kombu's
# filesystem transport keeps the queue as files under CELERY_BROKER_DIR, so a real worker and beat run the
# schedule below with no Redis. Tests and plain `runserver` keep the eager default above.
if CELERY_BROKER_URL.startswith("filesystem://"):
    _broker_dir = Path(os.environ.get("CELERY_BROKER_DIR", BASE_DIR / "var" / "broker"))
    for _folder in ("queue", "processed", "control"):
        (_broker_dir / _folder).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "processed_folder": str(_broker_dir / "processed"),
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
    }
# Scoring workers (leads/scoring/demands.py): leads per transaction, seconds a run keeps taking batches before it
# hands over to the next queued task, and how long a waiting lead may sit before beat queues a run for it.
# Events that may fire a trigger are scored by runs on `hot` (hot leads only), for a worker kept for it (`-Q hot`,
# as `make run` starts one); the other workers take `celery` (a worker with no `-Q` takes both).
CELERY_TASK_QUEUES = (Queue("celery", routing_key="celery"), Queue("hot", routing_key="hot"))
CELERY_TASK_DEFAULT_QUEUE = "celery"
SCORING_BATCH = int(os.environ.get("SCORING_BATCH", "50"))
SCORING_HOT_BATCH = int(os.environ.get("SCORING_HOT_BATCH", "10"))
SCORING_TASK_SECONDS = float(os.environ.get("SCORING_TASK_SECONDS", "0.5"))
SCORING_STALE_SECONDS = int(os.environ.get("SCORING_STALE_SECONDS", "30"))
SLA_SCAN_SECONDS = float(os.environ.get("SLA_SCAN_SECONDS", "60"))
CELERY_BEAT_SCHEDULE = {
    "worker-heartbeat": {"task": "alignment.tasks.worker_heartbeat", "schedule": 60.0},
    "leads-rescore-aged": {"task": "leads.tasks.leads_rescore_aged", "schedule": 300.0},
    "leads-sla-breach-scan": {"task": "leads.tasks.sla_breach_scan", "schedule": SLA_SCAN_SECONDS},
    "outbox-sweep": {"task": "alignment.outbox.outbox_sweep_task", "schedule": 60.0},
    "leads-scoring-sweep": {"task": "leads.tasks.scoring_sweep", "schedule": 30.0},
    "leads-hot-notices-sweep": {"task": "leads.tasks.hot_notices_sweep", "schedule": 60.0},
    "leads-jobs-watchdog": {"task": "leads.tasks.jobs_watchdog", "schedule": 30.0},
    "feedback-cycles-repair": {"task": "feedback.tasks.cycles_repair", "schedule": 600.0},
    "leads-activity-partitions": {"task": "leads.tasks.activity_partitions_maintain", "schedule": 6 * 3600.0},
}
# Activities partitioned by month on PostgreSQL (leads/partitions.py): partitions made this many months ahead,
# and, when set, how many whole months before the current one are kept (older months are dropped; unset: none).
ACTIVITY_PARTITIONS_AHEAD = int(os.environ.get("ACTIVITY_PARTITIONS_AHEAD", "1"))
ACTIVITY_RETENTION_MONTHS = int(os.environ.get("ACTIVITY_RETENTION_MONTHS", "0")) or None

# The notification outbox (alignment/outbox.py): tries per message before it is shown as failed, the first
# retry's wait (doubling each time), and how long a due message waits for its own task before the sweeper sends it.
OUTBOX_MAX_ATTEMPTS = int(os.environ.get("OUTBOX_MAX_ATTEMPTS", "10"))
OUTBOX_BACKOFF_SECONDS = int(os.environ.get("OUTBOX_BACKOFF_SECONDS", "30"))
OUTBOX_STALE_SECONDS = int(os.environ.get("OUTBOX_STALE_SECONDS", "30"))
# Inbound webhooks (leads/intake/inbound.py): Mautic's webhook secret, and the generic JSON endpoint's secret
# (Standard Webhooks "whsec_..." or any string). An endpoint whose secret is empty answers 404.
INBOUND_MAUTIC_SECRET = os.environ.get("INBOUND_MAUTIC_SECRET", "")
INBOUND_GENERIC_SECRET = os.environ.get("INBOUND_GENERIC_SECRET", "")

# Event API (Segment's HTTP Tracking API at /v1/...): Segment's size limits, and back-pressure: past
# INGEST_MAX_CONCURRENT requests at once in one process, or a database lock wait over INGEST_LOCK_TIMEOUT_MS
# (PostgreSQL), the API answers 429 with Retry-After so clients retry instead of losing events.
INGEST_MAX_CONCURRENT = int(os.environ.get("INGEST_MAX_CONCURRENT", "8"))
INGEST_LOCK_TIMEOUT_MS = int(os.environ.get("INGEST_LOCK_TIMEOUT_MS", "3000"))
INGEST_RETRY_AFTER_SECONDS = int(os.environ.get("INGEST_RETRY_AFTER_SECONDS", "2"))
# Per write key: at most INGEST_RATE_LIMIT requests (django-ratelimit's "600/m" form); past it, 429 + Retry-After.
INGEST_RATE_LIMIT = os.environ.get("INGEST_RATE_LIMIT", "600/m")
# The counters live in the cache: set CACHE_URL (redis://...) in production so every process shares them; a cache
# outage lets requests through (RATELIMIT_FAIL_OPEN) rather than refusing every event.
CACHE_URL = os.environ.get("CACHE_URL", "")
CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": CACHE_URL}
    if CACHE_URL
    else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
}
RATELIMIT_FAIL_OPEN = True
INGEST_MAX_MESSAGE_BYTES = int(os.environ.get("INGEST_MAX_MESSAGE_BYTES", str(32 * 1024)))
# RudderStack's clients batch up to 4 MB (Segment's 500 KB); a larger limit only costs memory per request.
INGEST_MAX_BATCH_BYTES = int(os.environ.get("INGEST_MAX_BATCH_BYTES", str(4 * 1024 * 1024)))
DATABASE_RETRY_AFTER_SECONDS = int(os.environ.get("DATABASE_RETRY_AFTER_SECONDS", "5"))
DATA_UPLOAD_MAX_MEMORY_SIZE = max(
    INGEST_MAX_BATCH_BYTES + 64 * 1024, 2_621_440
)  # Django refuses bigger bodies

# Notifications: hot leads and SLA breaches go by e-mail and to this Slack-compatible incoming webhook.
NOTIFY_WEBHOOK_URL = os.environ.get("NOTIFY_WEBHOOK_URL", "")
SITE_URL = os.environ.get("SITE_URL", "http://127.0.0.1:8000")

# Content Security Policy: no inline script or style; htmx's own indicator styles are switched off in base.html.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "connect-src": [SELF],
        "font-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "frame-ancestors": [NONE],
        "form-action": [SELF],
    }
}

# Production hardening (DJANGO_DEBUG=0). Behind a TLS-terminating proxy set DJANGO_SECURE_PROXY_SSL_HEADER=1.
SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", not DEBUG)
SESSION_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_SECURE = not DEBUG
SECURE_HSTS_SECONDS = int(os.environ.get("DJANGO_SECURE_HSTS_SECONDS", "0" if DEBUG else "31536000"))
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = not DEBUG
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
if env_bool("DJANGO_SECURE_PROXY_SSL_HEADER", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

DJANGO_TABLES2_TEMPLATE = "tables/htmx.html"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("DJANGO_LOG_LEVEL", "INFO")},
    "loggers": {"celery": {"level": os.environ.get("CELERY_LOG_LEVEL", "WARNING")}},
}

# How often the queue page refreshes itself (seconds); tests shorten it to see a new hot lead arrive.
QUEUE_POLL_SECONDS = 15
