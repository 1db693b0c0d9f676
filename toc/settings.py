"""TOC settings.

Everything comes from the environment (README, "Configuration"); without any variables set,
TOC runs in its embedded default: SQLite and a private Redis in the data folder (TOC_VAR_DIR),
local provider backends, no external servers.
"""

from pathlib import Path
from typing import Any

import dj_database_url

from toc.lib import embedded_redis, env

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env.get_str("TOC_VAR_DIR", str(BASE_DIR / "var"))).resolve()

DEBUG = env.get_bool("DEBUG", False)
SECRET_KEY = env.get_str("SECRET_KEY") or env.embedded_secret_key(VAR_DIR)
ALLOWED_HOSTS = env.get_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env.get_list("CSRF_TRUSTED_ORIGINS", [])
PUBLIC_URL = env.get_str("PUBLIC_URL", "http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "channels",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "lucide",
    "allauth",
    "allauth.account",
    "allauth.socialaccount",
    "allauth.socialaccount.providers.openid_connect",
    "toc.lib",
    "toc.accounts",
    "toc.presence",
    "toc.directory",
    "toc.realtime",
    "toc.media",
    "toc.calls",
    "toc.voicemail",
    "toc.chat",
    "toc.sms",
    "toc.selfcare",
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
    "django_htmx.middleware.HtmxMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "toc.lib.middleware.ContentSecurityPolicyMiddleware",
]

ROOT_URLCONF = "toc.urls"
ASGI_APPLICATION = "toc.asgi.application"

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

# Database: PostgreSQL in production (DATABASE_URL), SQLite in the data folder otherwise.
DATABASE_URL = env.get_str("DATABASE_URL", f"sqlite:///{VAR_DIR / 'toc.sqlite3'}")
DATABASES: dict[str, dict[str, Any]] = {
    "default": dict(dj_database_url.parse(DATABASE_URL, conn_max_age=env.get_int("DB_CONN_MAX_AGE", 0)))
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Web, worker and beat share the file: WAL lets readers run beside the one writer, and
    # IMMEDIATE transactions queue writers behind a busy timeout instead of failing.
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test.sqlite3")}
else:
    # A small pool per process: a new PostgreSQL connection per call costs more than the
    # query (docs/performance.md). Never combine with DB_CONN_MAX_AGE > 0 (Django refuses).
    if env.get_int("DB_POOL_MAX_SIZE", 4) > 0:
        DATABASES["default"]["OPTIONS"] = {
            "pool": {"min_size": 1, "max_size": env.get_int("DB_POOL_MAX_SIZE", 4), "timeout": 10}
        }
    DATABASES["default"]["TEST"] = {"NAME": env.get_str("TOC_TEST_DATABASE_NAME", "test_toc")}

# Redis: channel layer and Celery broker. Without REDIS_URL the private embedded Redis.
REDIS_URL = env.get_str("REDIS_URL") or embedded_redis.url_for(VAR_DIR)
# channels_redis waits for messages with a blocking pop of up to 5 s. redis-py 8 gives every
# read a 5 s socket timeout by default, which aborts idle receives (every quiet socket would
# drop every few seconds) and, on Python 3.11, can swallow the cancellation of a closing
# consumer. Reads block as channels_redis expects; connecting still times out.
# redis-py's pools refuse a 101st concurrent connection (MaxConnectionsError): a mass
# disconnect (a web restart, 100+ sockets leaving at once) needs more room than that.
CHANNEL_LAYER_REDIS_OPTIONS: dict[str, Any] = {
    "socket_timeout": None,
    "socket_connect_timeout": 5,
    "max_connections": env.get_int("REDIS_MAX_CONNECTIONS", 1000),
}
CHANNEL_LAYERS: dict[str, dict[str, Any]] = {
    "default": {
        "BACKEND": "channels_redis.core.RedisChannelLayer",
        "CONFIG": {
            "hosts": [{"address": REDIS_URL, **CHANNEL_LAYER_REDIS_OPTIONS}],
            "prefix": env.get_str("TOC_CHANNEL_PREFIX", "toc"),
            "capacity": 500,
            "expiry": 30,
        },
    }
}
CELERY_BROKER_URL = REDIS_URL.replace("unix://", "redis+socket://", 1) if REDIS_URL.startswith("unix://") else REDIS_URL
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Celery's Django fix-up otherwise closes the database connections, and with them the
# PostgreSQL pool, around every task of a prefork child: a new connection per task (bench/sms.py
# measured 1,160 connections for 200 texts, and 6x the PostgreSQL CPU). Reuse them instead.
CELERY_DB_REUSE_MAX = env.get_int("CELERY_DB_REUSE_MAX", 1000)
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
CELERY_BEAT_SCHEDULE = {
    "expire-presences": {"task": "toc.presence.tasks.expire_presences", "schedule": 15.0},
    "sweep-stale-connections": {
        "task": "toc.presence.tasks.sweep_stale_connections",
        "schedule": 60.0,
    },
    "sweep-calls": {"task": "toc.calls.tasks.sweep_calls", "schedule": 5.0},
    "sweep-voicemail-email": {"task": "toc.voicemail.tasks.sweep_voicemail_email", "schedule": 60.0},
    "sweep-unsent-chat-attachments": {"task": "toc.chat.tasks.sweep_unsent_attachments", "schedule": 3600.0},
    "clear-expired-sessions": {"task": "toc.accounts.tasks.clear_expired_sessions", "schedule": 3600.0},
    "sweep-sms": {
        "task": "toc.sms.tasks.sweep",
        "schedule": float(env.get_int("SMS_SWEEP_SECONDS", 15)),
    },
}

# E-mail (voicemail to e-mail). The embedded default writes each e-mail as a file in
# var/sent-mail instead of sending it; set EMAIL_BACKEND and EMAIL_HOST... for real delivery.
EMAIL_BACKEND = env.get_str("EMAIL_BACKEND", "django.core.mail.backends.filebased.EmailBackend")
EMAIL_FILE_PATH = str(VAR_DIR / "sent-mail")
EMAIL_HOST = env.get_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env.get_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = env.get_str("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env.get_str("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = env.get_bool("EMAIL_USE_TLS", False)
EMAIL_TIMEOUT = 20
DEFAULT_FROM_EMAIL = env.get_str("DEFAULT_FROM_EMAIL", "TOC <voicemail@localhost>")

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "accounts:after_login"

# Sessions: "keep me signed in" keeps the cookie this long; otherwise it ends with the browser.
SESSION_COOKIE_AGE = env.get_int("SESSION_COOKIE_AGE", 60 * 60 * 24 * 30)
SESSION_COOKIE_SECURE = env.get_bool("SECURE_COOKIES", False)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SESSION_COOKIE_SAMESITE = "Lax"
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# Password login throttling: failures before slowing down, and the lock that follows.
LOGIN_FAILURES_BEFORE_DELAY = env.get_int("LOGIN_FAILURES_BEFORE_DELAY", 3)
LOGIN_FAILURES_BEFORE_LOCK = env.get_int("LOGIN_FAILURES_BEFORE_LOCK", 10)
LOGIN_LOCK_SECONDS = env.get_int("LOGIN_LOCK_SECONDS", 15 * 60)

# SSO through django-allauth's openid_connect provider, one app per organisation.
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*"]
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_EMAIL_VERIFICATION = "none"
SOCIALACCOUNT_ADAPTER = "toc.accounts.sso.OrganisationSocialAccountAdapter"
# allauth only runs SSO: its own sign-up, password and e-mail pages under /accounts/ stay off
# (people are created by their organisation; password login is the wizard's).
SOCIALACCOUNT_ONLY = True
SOCIALACCOUNT_LOGIN_ON_GET = False
SOCIALACCOUNT_STORE_TOKENS = False
SOCIALACCOUNT_EMAIL_AUTHENTICATION = False

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "rest_framework.authentication.TokenAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": [
        "rest_framework.permissions.IsAuthenticated",
        "toc.accounts.access.IsOrganisationMember",
    ],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "toc.lib.api.exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    # Scoped throttles (throttle_scope on a view), counted in Django's default cache. Discovery
    # is public and names the organisation of an SSO domain: limited per client address.
    # Client addresses for throttling come from REMOTE_ADDR (daphne --proxy-headers sets it
    # behind a proxy), never from a client-supplied X-Forwarded-For.
    "NUM_PROXIES": 0,
    "DEFAULT_THROTTLE_RATES": {
        "discovery": env.get_str("DISCOVERY_THROTTLE_RATE", "60/minute"),
    },
}
SPECTACULAR_SETTINGS = {
    "TITLE": "TOC API",
    "DESCRIPTION": "The REST API the TOC communicator uses. Live events arrive on /ws/events/.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "ENUM_NAME_OVERRIDES": {
        "ChatConversationKindEnum": ["direct", "group"],
        "ChatMessageKindEnum": ["message", "event"],
        "ChatAttachmentKindEnum": ["file", "image", "voice"],
        "SmsDirectionEnum": ["outbound", "inbound"],
    },
}

LANGUAGE_CODE = "en-ca"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
PHONE_DEFAULT_REGION = env.get_str("PHONE_DEFAULT_REGION", "CA")

STATIC_URL = "/static/"
STATIC_ROOT = Path(env.get_str("STATIC_ROOT", str(VAR_DIR / "static")))
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
STATICFILES_DIRS = [("web", BASE_DIR / "web"), BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG
MEDIA_ROOT = VAR_DIR / "media"

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Live events: how often the client pings, and when a silent connection counts as gone.
REALTIME_HEARTBEAT_SECONDS = env.get_int("REALTIME_HEARTBEAT_SECONDS", 25)
REALTIME_GROUP_REFRESH_SECONDS = env.get_int("REALTIME_GROUP_REFRESH_SECONDS", 3600)
REALTIME_STALE_AFTER_SECONDS = env.get_int("REALTIME_STALE_AFTER_SECONDS", 90)

# Calls and media (docs/calls.md). ICE_SERVERS: comma-separated stun:/turn: URLs for browsers;
# TURN entries get time-limited credentials from TURN_SECRET (coturn's use-auth-secret).
ICE_SERVERS = env.get_list("ICE_SERVERS", [])
TURN_SECRET = env.get_str("TURN_SECRET")
TURN_CREDENTIAL_SECONDS = env.get_int("TURN_CREDENTIAL_SECONDS", 6 * 60 * 60)
MEDIA_ALLOWED_NETWORKS = env.get_list("MEDIA_ALLOWED_NETWORKS", ["0.0.0.0/0", "::/0"])
MEDIA_HOST_ADDRESSES = env.get_list("MEDIA_HOST_ADDRESSES", [])
MEDIA_WORKER_CAPACITY = env.get_int("MEDIA_WORKER_CAPACITY", 12)
MEDIA_WORKER_HEARTBEAT_SECONDS = env.get_int("MEDIA_WORKER_HEARTBEAT_SECONDS", 2)
MEDIA_WORKER_DEAD_AFTER_SECONDS = env.get_int("MEDIA_WORKER_DEAD_AFTER_SECONDS", 10)
CALL_RECONNECT_GRACE_SECONDS = env.get_int("CALL_RECONNECT_GRACE_SECONDS", 10)
CALL_SIGNALLING_RATE = env.get_int("CALL_SIGNALLING_RATE", 20)
CALL_SIGNALLING_BURST = env.get_int("CALL_SIGNALLING_BURST", 60)
CALL_MAX_LIVE_PER_USER = env.get_int("CALL_MAX_LIVE_PER_USER", 2)
VOICEMAIL_MAX_MESSAGE_SECONDS = env.get_int("VOICEMAIL_MAX_MESSAGE_SECONDS", 180)
VOICEMAIL_MAX_GREETING_SECONDS = env.get_int("VOICEMAIL_MAX_GREETING_SECONDS", 60)
CHAT_MAX_ATTACHMENT_BYTES = env.get_int("CHAT_MAX_ATTACHMENT_BYTES", 100 * 1024 * 1024)
CHAT_MAX_GROUP_MEMBERS = env.get_int("CHAT_MAX_GROUP_MEMBERS", 1000)
CHAT_UNSENT_ATTACHMENT_HOURS = env.get_int("CHAT_UNSENT_ATTACHMENT_HOURS", 24)

# SMS/MMS (docs/sms.md). Twilio carries messages when both credentials are set; otherwise the
# local backend keeps them, marked "not sent". Webhook signatures are checked against PUBLIC_URL.
TWILIO_ACCOUNT_SID = env.get_str("TWILIO_ACCOUNT_SID")
TWILIO_AUTH_TOKEN = env.get_str("TWILIO_AUTH_TOKEN")
TWILIO_API_BASE_URL = env.get_str("TWILIO_API_BASE_URL")
SMS_CARRIER_TIMEOUT_SECONDS = env.get_int("SMS_CARRIER_TIMEOUT_SECONDS", 10)
SMS_HANDOVER_LEASE_SECONDS = env.get_int("SMS_HANDOVER_LEASE_SECONDS", 60)
SMS_MILLISECONDS_PER_MESSAGE = env.get_int("SMS_MILLISECONDS_PER_MESSAGE", 1000)
SMS_MAX_ATTEMPTS = env.get_int("SMS_MAX_ATTEMPTS", 8)
SMS_MAX_MMS_BYTES = env.get_int("SMS_MAX_MMS_BYTES", 5 * 1024 * 1024)
SMS_PUBLIC_MEDIA_HOURS = env.get_int("SMS_PUBLIC_MEDIA_HOURS", 72)
SMS_SWEEP_SECONDS = env.get_int("SMS_SWEEP_SECONDS", 15)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.get_str("LOG_LEVEL", "INFO")},
}
