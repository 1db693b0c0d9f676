"""Test settings: the real settings, with a Redis and files of the test run's own.

Without REDIS_URL the suite starts its own embedded Redis (tests/conftest.py) in var/test, so
a `make run` beside it never shares groups or queues with the tests.
"""

from toc.lib import embedded_redis, env
from toc.settings import *  # noqa: F403
from toc.settings import CHANNEL_LAYER_REDIS_OPTIONS, CHANNEL_LAYERS, DATABASES, VAR_DIR

TEST_VAR_DIR = VAR_DIR / "test"
if not env.get_str("REDIS_URL"):
    REDIS_URL = embedded_redis.url_for(TEST_VAR_DIR)
    CHANNEL_LAYERS["default"]["CONFIG"]["hosts"] = [{"address": REDIS_URL, **CHANNEL_LAYER_REDIS_OPTIONS}]
    CELERY_BROKER_URL = REDIS_URL.replace("unix://", "redis+socket://", 1)
CHANNEL_LAYERS["default"]["CONFIG"]["prefix"] = env.get_str("TOC_CHANNEL_PREFIX", "toc-test")
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["TEST"] = {"NAME": str(TEST_VAR_DIR / "test.sqlite3")}
CELERY_BEAT_SCHEDULE_FILENAME = str(TEST_VAR_DIR / "celerybeat-schedule")
MEDIA_ROOT = TEST_VAR_DIR / "media"
# Fast hashing: the suite creates many users; production keeps Django's default.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# Media in tests goes only to 127.0.0.1 (DESIGN.md's network rule): the engine gathers only
# loopback candidates and drops any remote candidate outside 127.0.0.0/8.
MEDIA_HOST_ADDRESSES = ["127.0.0.1"]
MEDIA_ALLOWED_NETWORKS = ["127.0.0.0/8"]
