"""natsdash settings, read from the environment (see .env.example).

Bad values stop start-up with ImproperlyConfigured naming the variable.
"""

from pathlib import Path

from natsdash.env import (
    env_bool,
    env_database,
    env_float,
    env_hosts,
    env_http_url,
    env_int,
    env_log_level,
    env_origins,
    env_path,
    env_redis_url,
    env_seconds_map,
    env_secret_key,
    env_str,
)

BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = env_path("DATA_DIR", BASE_DIR / "data")
DATA_DIR.mkdir(parents=True, exist_ok=True)

DEBUG = env_bool("DEBUG", False)
SECRET_KEY = env_secret_key("SECRET_KEY", debug=DEBUG, key_file=DATA_DIR / "secret_key")
ALLOWED_HOSTS = env_hosts("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_origins("CSRF_TRUSTED_ORIGINS", [])
REDIS_URL = env_redis_url("REDIS_URL", "redis://127.0.0.1:6379/0")
LOG_LEVEL = env_log_level("LOG_LEVEL", "INFO")
HEARTBEAT_INTERVAL = env_int("HEARTBEAT_INTERVAL", 5, minimum=1)
# Key for NATS credentials at rest; unset: derived from SECRET_KEY.
FIELD_ENCRYPTION_KEY = env_str("FIELD_ENCRYPTION_KEY", "")

# Polling of NATS monitoring endpoints.
POLL_INTERVAL = env_int("POLL_INTERVAL", 5, minimum=1)
MONITOR_TIMEOUT = env_float("MONITOR_TIMEOUT", 3.0, minimum=0.1)
# History kept: every poll for SAMPLES_RAW_HOURS, then one-minute averages for
# SAMPLES_MINUTE_DAYS, then hourly averages for SAMPLES_HOUR_DAYS; events for EVENTS_DAYS.
# NATS connections for actions, the message browser and the tail.
NATS_CONNECT_TIMEOUT = env_float("NATS_CONNECT_TIMEOUT", 5.0, minimum=0.1)
# Live tail: concurrent tails per user, NATS subscriptions per web process, bytes of each
# payload sent to the browser, messages buffered per viewer, frames per second and messages per frame.
TAIL_MAX_PER_USER = env_int("TAIL_MAX_PER_USER", 5, minimum=1)
TAIL_MAX_SUBSCRIPTIONS = env_int("TAIL_MAX_SUBSCRIPTIONS", 200, minimum=1)
TAIL_PREVIEW_BYTES = env_int("TAIL_PREVIEW_BYTES", 4096, minimum=64)
TAIL_BUFFER_MESSAGES = env_int("TAIL_BUFFER_MESSAGES", 2000, minimum=10)
TAIL_FRAMES_PER_SECOND = 11  # "about ten": one frame per 91 ms at most
TAIL_FRAME_MESSAGES = 2000
# A consumer with pending messages whose ack floor has not moved for this long is stalled.
CONSUMER_STALLED_MINUTES = env_int("CONSUMER_STALLED_MINUTES", 5, minimum=1)
SAMPLES_RAW_HOURS = env_int("SAMPLES_RAW_HOURS", 2, minimum=1)
SAMPLES_MINUTE_DAYS = env_int("SAMPLES_MINUTE_DAYS", 2, minimum=1)
SAMPLES_HOUR_DAYS = env_int("SAMPLES_HOUR_DAYS", 90, minimum=1)
EVENTS_DAYS = env_int("EVENTS_DAYS", 30, minimum=1)

# Health checks and alerts. A check must fail for ALERT_FOR_SECONDS (or its own period in
# ALERT_FOR_SECONDS_BY_CHECK, by check name or family such as "node") before its alert fires,
# and be fine for ALERT_RESOLVE_SECONDS before it resolves. Thresholds: 0 turns a level off.
ALERT_FOR_SECONDS = env_float("ALERT_FOR_SECONDS", 300.0, minimum=0)
ALERT_RESOLVE_SECONDS = env_float("ALERT_RESOLVE_SECONDS", 60.0, minimum=0)
ALERT_FOR_SECONDS_BY_CHECK = env_seconds_map(
    "ALERT_FOR_SECONDS_BY_CHECK", {"node.unreachable": 60.0, "meta.leader": 60.0, "node.restarted": 0.0})
ALERT_HISTORY_DAYS = env_int("ALERT_HISTORY_DAYS", 30, minimum=1)
ALERT_NODE_RESTART_SECONDS = env_float("ALERT_NODE_RESTART_SECONDS", 600.0, minimum=0)
ALERT_NODE_CPU_WARNING = env_float("ALERT_NODE_CPU_WARNING", 80.0, minimum=0)
ALERT_NODE_CPU_CRITICAL = env_float("ALERT_NODE_CPU_CRITICAL", 95.0, minimum=0)
ALERT_NODE_MEMORY_WARNING_MIB = env_float("ALERT_NODE_MEMORY_WARNING_MIB", 2048.0, minimum=0)
ALERT_NODE_MEMORY_CRITICAL_MIB = env_float("ALERT_NODE_MEMORY_CRITICAL_MIB", 4096.0, minimum=0)
ALERT_NODE_CONNECTIONS_WARNING = env_float("ALERT_NODE_CONNECTIONS_WARNING", 80.0, minimum=0)
ALERT_NODE_CONNECTIONS_CRITICAL = env_float("ALERT_NODE_CONNECTIONS_CRITICAL", 95.0, minimum=0)
ALERT_SLOW_CONSUMERS_WARNING = env_float("ALERT_SLOW_CONSUMERS_WARNING", 1.0, minimum=0)
ALERT_SLOW_CONSUMERS_CRITICAL = env_float("ALERT_SLOW_CONSUMERS_CRITICAL", 100.0, minimum=0)
ALERT_SLOW_CONSUMERS_WINDOW = env_float("ALERT_SLOW_CONSUMERS_WINDOW", 300.0, minimum=1)
ALERT_STREAM_LIMIT_WARNING = env_float("ALERT_STREAM_LIMIT_WARNING", 80.0, minimum=0)
ALERT_STREAM_LIMIT_CRITICAL = env_float("ALERT_STREAM_LIMIT_CRITICAL", 95.0, minimum=0)
ALERT_CONSUMER_PENDING_WARNING = env_float("ALERT_CONSUMER_PENDING_WARNING", 1000.0, minimum=0)
ALERT_CONSUMER_PENDING_CRITICAL = env_float("ALERT_CONSUMER_PENDING_CRITICAL", 10000.0, minimum=0)
ALERT_CONSUMER_ACK_PENDING_WARNING = env_float("ALERT_CONSUMER_ACK_PENDING_WARNING", 500.0, minimum=0)
ALERT_CONSUMER_ACK_PENDING_CRITICAL = env_float("ALERT_CONSUMER_ACK_PENDING_CRITICAL", 1000.0, minimum=0)
ALERT_CONSUMER_REDELIVERED_WARNING = env_float("ALERT_CONSUMER_REDELIVERED_WARNING", 100.0, minimum=0)
ALERT_CONSUMER_REDELIVERED_CRITICAL = env_float("ALERT_CONSUMER_REDELIVERED_CRITICAL", 1000.0, minimum=0)
ALERT_ACCOUNT_JETSTREAM_WARNING = env_float("ALERT_ACCOUNT_JETSTREAM_WARNING", 80.0, minimum=0)
ALERT_ACCOUNT_JETSTREAM_CRITICAL = env_float("ALERT_ACCOUNT_JETSTREAM_CRITICAL", 95.0, minimum=0)
# Accounts: seconds between refreshes of every account's JetStream usage and limits. What needs
# attention on the landing page is what the health checks warn about (the ALERT_* warning levels).
ACCOUNT_INFO_INTERVAL = env_int("ACCOUNT_INFO_INTERVAL", 60, minimum=5)

# Notifications of alerts: attempts per delivery (webhooks and NATS subjects), seconds before the
# first retry (doubling after each failed attempt, at most an hour), seconds one attempt may take,
# and the dashboard's address for the links in notifications.
NOTIFY_MAX_ATTEMPTS = env_int("NOTIFY_MAX_ATTEMPTS", 5, minimum=1)
NOTIFY_RETRY_BACKOFF = env_float("NOTIFY_RETRY_BACKOFF", 10.0, minimum=0.1)
NOTIFY_TIMEOUT = env_float("NOTIFY_TIMEOUT", 10.0, minimum=0.1)
NOTIFY_BASE_URL = env_http_url("NOTIFY_BASE_URL", "http://localhost:8000")
# /metrics: per-consumer series (off: consumer figures summed per stream) and the most series
# one metric family may carry (beyond it series are left out and counted in natsdash_metrics_series_dropped).
METRICS_CONSUMER_LABELS = env_bool("METRICS_CONSUMER_LABELS", True)
METRICS_MAX_SERIES = env_int("METRICS_MAX_SERIES", 10000, minimum=1)

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "channels",
    "django_celery_beat",
    "core",
    "clusters",
    "streams",
    "alerts",
    "notifications",
    "metrics",
    "accounts",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "natsdash.urls"
ASGI_APPLICATION = "natsdash.asgi.application"

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
                "alerts.context.firing_count",
            ],
        },
    },
]

DATABASES = {"default": env_database("DATABASE_URL", DATA_DIR / "natsdash.sqlite3")}
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

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = DATA_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)
STATICFILES_DIRS = [BASE_DIR / "static"]
# Serve straight from the source folders when collectstatic has not run
# (the demo and the tests); production images run collectstatic.
WHITENOISE_USE_FINDERS = True

# Redis carries both the Celery broker and the Channels layer.
CHANNEL_LAYERS = {
    "default": {
        "BACKEND": "channels_redis.core.RedisChannelLayer",
        "CONFIG": {"hosts": [REDIS_URL], "prefix": "natsdash"},
    }
}

CELERY_BROKER_URL = REDIS_URL
CELERY_RESULT_BACKEND = REDIS_URL
CELERY_RESULT_EXPIRES = 3600
CELERY_TASK_IGNORE_RESULT = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_BEAT_SCHEDULE = {
    "heartbeat": {"task": "core.tasks.heartbeat", "schedule": float(HEARTBEAT_INTERVAL)},
    # Checks every second which clusters are due (POLL_INTERVAL, or a cluster's own interval).
    "poll-all": {"task": "clusters.tasks.poll_all", "schedule": 1.0, "options": {"expires": 5}},
    "downsample-history": {"task": "clusters.tasks.downsample_history", "schedule": 60.0},
    "refresh-accounts": {"task": "clusters.tasks.refresh_accounts", "schedule": float(ACCOUNT_INFO_INTERVAL),
                         "options": {"expires": ACCOUNT_INFO_INTERVAL}},
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        # Never let a library log connection URLs with credentials at DEBUG.
        "nats": {"level": "WARNING"},
        "httpx": {"level": "WARNING"},
        "httpcore": {"level": "WARNING"},
    },
}

if not DEBUG:
    SESSION_COOKIE_HTTPONLY = True
    X_FRAME_OPTIONS = "DENY"
