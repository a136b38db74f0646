"""Settings, read from the environment in one place (django-environ).

Every variable is listed and explained in `.env.example`. A malformed value
fails at start-up with ImproperlyConfigured instead of being guessed at.
"""

from datetime import timedelta
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
# MOP_ENV_FILE: another file, or empty for none (CI's `check --deploy` reads no dev .env).
_env_file = Path(environ.Env().str("MOP_ENV_FILE", default=str(BASE_DIR / ".env")))
if str(_env_file) not in ("", ".") and _env_file.is_file():
    # Variables already in the environment win over the file.
    environ.Env.read_env(_env_file, overwrite=False)


def env_secret(name: str, default: str | None = None) -> str | None:
    """Read NAME, or the file named by NAME_FILE (Docker/Kubernetes secrets)."""
    file_var = f"{name}_FILE"
    if env.str(file_var, default=""):
        return Path(env.str(file_var)).read_text().strip()
    return env.str(name, default=default)


def env_bool(name: str, default: bool) -> bool:
    """A boolean that refuses anything but the usual spellings."""
    raw = env.str(name, default="")
    if raw == "":
        return default
    if raw.lower() in {"1", "true", "yes", "on"}:
        return True
    if raw.lower() in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (true/false), not {raw!r}")


DEBUG = env_bool("DJANGO_DEBUG", False)
SECRET_KEY = env_secret("DJANGO_SECRET_KEY")
if not SECRET_KEY:
    raise ImproperlyConfigured("DJANGO_SECRET_KEY is not set (scripts/services.sh writes one into .env)")
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

# HTTPS, by Django's deployment checklist (`check --deploy --fail-level WARNING` runs in CI).
# Secure unless DEBUG: a plain-HTTP setup opts out explicitly (scripts/ write
# DJANGO_SECURE_SSL_REDIRECT=false for 127.0.0.1). Each knob and exception: docs/security.md.
SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", not DEBUG)
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = env_bool("DJANGO_SECURE_COOKIES", not DEBUG)
SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=0 if DEBUG else 365 * 24 * 3600)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
SECURE_HSTS_PRELOAD = env_bool("DJANGO_SECURE_HSTS_PRELOAD", False)
if env_bool("DJANGO_BEHIND_HTTPS_PROXY", False):
    # Only behind a proxy that sets (and strips from clients) X-Forwarded-Proto.
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# W021 (HSTS preload off): preloading binds the whole domain to HTTPS in browsers for good,
# a decision for the domain's owner (DJANGO_SECURE_HSTS_PRELOAD=true), not a portal default.
SILENCED_SYSTEM_CHECKS = ["security.W021"]

INSTALLED_APPS = [
    # Django's admin with the fleet dashboard as its index (portal/home/site.py).
    "portal.home.apps.OpsAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_celery_beat",
    "axes",
    "portal.ops",
    "portal.home.apps.HomeConfig",
    "portal.change",
    "portal.assure",
    "portal.health",
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
    "portal.ops.middleware.AdminToFieldGuard",  # a bad admin _to_field is a 400, not Django's 500
    "axes.middleware.AxesMiddleware",  # last: turns a lockout into its 429 page
]

# Login throttling (django-axes, portal/ops/throttle.py): after MOP_LOGIN_FAILURE_LIMIT failed logins for one
# username from one IP, that pair is refused for MOP_LOGIN_LOCKOUT_MINUTES (the right password too).
AUTHENTICATION_BACKENDS = ["portal.ops.throttle.PortalAxesBackend", "django.contrib.auth.backends.ModelBackend"]
MOP_LOGIN_FAILURE_LIMIT = env.int("MOP_LOGIN_FAILURE_LIMIT", default=5)
MOP_LOGIN_LOCKOUT_MINUTES = env.int("MOP_LOGIN_LOCKOUT_MINUTES", default=15)
AXES_ENABLED = env_bool("MOP_LOGIN_THROTTLE", True)
AXES_FAILURE_LIMIT = MOP_LOGIN_FAILURE_LIMIT
AXES_COOLOFF_TIME = timedelta(minutes=MOP_LOGIN_LOCKOUT_MINUTES)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_ENABLE_ACCESS_FAILURE_LOG = False

ROOT_URLCONF = "portal.urls"
WSGI_APPLICATION = "portal.wsgi.application"

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

DATABASES = {"default": env.db("DATABASE_URL")}
DATABASES["default"].setdefault("OPTIONS", {})["application_name"] = env.str(
    "MOP_APPLICATION_NAME", default="mop-web"
)
DATABASES["default"]["TEST"] = {"NAME": env.str("MOP_TEST_DATABASE", default="mop_test")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = env.str("DJANGO_TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
LOGIN_URL = "admin:login"

# --- The portal's own knobs -------------------------------------------------
# Fernet keys (comma-separated, newest first) that encrypt target passwords at rest.
MOP_FERNET_KEYS = env.list("MOP_FERNET_KEYS", default=[])
# A target's password_env must name a variable under this prefix: the
# portal's own settings (DATABASE_URL, DJANGO_SECRET_KEY, MOP_FERNET_KEYS, ...)
# are refused whatever the prefix says (portal/ops/secrets.py).
MOP_TARGET_PASSWORD_ENV_PREFIX = env.str("MOP_TARGET_PASSWORD_ENV_PREFIX", default="MOP_TARGET_PASSWORD_")
if not MOP_TARGET_PASSWORD_ENV_PREFIX.strip("_"):
    raise ImproperlyConfigured("MOP_TARGET_PASSWORD_ENV_PREFIX must not be empty (default MOP_TARGET_PASSWORD_)")
# CA bundle on web and workers: remote targets left at TLS mode "default" use verify-full with it.
MOP_TARGET_SSLROOTCERT = env.str("MOP_TARGET_SSLROOTCERT", default="")
# Where git-backed Alembic projects are checked out, and SQLite uploads land.
MOP_VAR_DIR = Path(env.str("MOP_VAR_DIR", default=str(BASE_DIR / "var")))
MOP_PROJECT_CACHE = MOP_VAR_DIR / "projects"
# Revision listings by the fingerprint of the scripts, so a new process lists them without importing Alembic.
MOP_LISTING_CACHE = MOP_PROJECT_CACHE / "listings"
MOP_IMPORT_DIR = Path(env.str("MOP_IMPORT_DIR", default=str(MOP_VAR_DIR / "imports")))
# A run whose heartbeat is older than this is declared interrupted by the reaper.
MOP_HEARTBEAT_SECONDS = env.int("MOP_HEARTBEAT_SECONDS", default=5)
MOP_REAPER_STALE_SECONDS = env.int("MOP_REAPER_STALE_SECONDS", default=60)
# A run still queued after this long, whose task no queue or worker holds, is failed by the reaper (dispatch.py).
MOP_REAPER_QUEUED_SECONDS = env.int("MOP_REAPER_QUEUED_SECONDS", default=300)
MOP_DEFAULT_LOCK_TIMEOUT_MS = env.int("MOP_DEFAULT_LOCK_TIMEOUT_MS", default=1000)
MOP_DEFAULT_STATEMENT_TIMEOUT_MS = env.int("MOP_DEFAULT_STATEMENT_TIMEOUT_MS", default=15 * 60 * 1000)
# Lock and activity snapshots: how often beat takes them, how long they are kept.
MOP_SNAPSHOT_INTERVAL_SECONDS = env.int("MOP_SNAPSHOT_INTERVAL_SECONDS", default=300)
MOP_SNAPSHOT_RETENTION_DAYS = env.int("MOP_SNAPSHOT_RETENTION_DAYS", default=30)
# Health snapshots (portal/health): how often beat takes them and how long they are kept, both bounded so a
# typo cannot hammer every target or keep readings forever.
MOP_HEALTH_INTERVAL_SECONDS = env.int("MOP_HEALTH_INTERVAL_SECONDS", default=300)
MOP_HEALTH_RETENTION_DAYS = env.int("MOP_HEALTH_RETENTION_DAYS", default=30)
if not 10 <= MOP_HEALTH_INTERVAL_SECONDS <= 86400:
    raise ImproperlyConfigured("MOP_HEALTH_INTERVAL_SECONDS must be between 10 and 86400")
if not 1 <= MOP_HEALTH_RETENTION_DAYS <= 366:
    raise ImproperlyConfigured("MOP_HEALTH_RETENTION_DAYS must be between 1 and 366 (days of health snapshots kept)")

# --- Celery -------------------------------------------------------------------
# Change control: beat's tick for scheduled starts and missed windows; notification retries and backoff.
MOP_CHANGE_BEAT_SECONDS = env.int("MOP_CHANGE_BEAT_SECONDS", default=1)
MOP_NOTIFY_RETRIES = env.int("MOP_NOTIFY_RETRIES", default=4)
MOP_NOTIFY_BACKOFF_SECONDS = env.int("MOP_NOTIFY_BACKOFF_SECONDS", default=2)

CELERY_BROKER_URL = env.str("REDIS_URL")
# The copy's ranges run as a chord (a group, then finish_copy): chords need a result backend.
# Every other task ignores its result (CELERY_TASK_IGNORE_RESULT), so only chord parts are stored.
CELERY_RESULT_BACKEND = env.str("CELERY_RESULT_BACKEND", default=CELERY_BROKER_URL)
CELERY_RESULT_EXPIRES = env.int("CELERY_RESULT_EXPIRES", default=24 * 3600)
CELERY_TASK_IGNORE_RESULT = True
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_TIMEZONE = TIME_ZONE
# Migrations are not idempotent: early ack, no automatic retry (STYLE.md 5).
CELERY_TASK_ACKS_LATE = False
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=6 * 3600)
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=6 * 3600 - 60)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_TASK_DEFAULT_QUEUE = env.str("MOP_CELERY_QUEUE", default="mop")
CELERY_WORKER_HIJACK_ROOT_LOGGER = False

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("MOP_LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # Alembic's plugin set-up says INFO on every manage.py call. Runs still log their
        # "Running upgrade" lines: the engine raises its own logger to INFO while a run is active.
        "alembic": {"level": "WARNING"},
        # django-axes announces its version at every start, on stderr of every 'ops' command.
        "axes.apps": {"level": "WARNING"},
    },
}

# Rehearsals and drift checks (portal/assure): scratch databases older than this are dropped by the reaper
# (keep it above the longest rehearsal).
MOP_SCRATCH_MAX_AGE_SECONDS = env.int("MOP_SCRATCH_MAX_AGE_SECONDS", default=6 * 3600)
