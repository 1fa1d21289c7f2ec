"""Settings of the broker comparison: the bench process and its worker processes share
them (same SQLite file via ``RESTFLOW_BENCH_RUN_ID``, same Redis cache, broker URLs)."""

from __future__ import annotations

from bench_settings import *  # noqa: F403
from bench_settings import INSTALLED_APPS, REDIS_URL, RESTFLOW_SETTINGS

BASE = REDIS_URL.rstrip("/")
CACHE_URL = f"{BASE}/0"
CELERY_URL = f"{BASE}/1"
RQ_URL = f"{BASE}/2"
DRAMATIQ_URL = f"{BASE}/3"
DJANGO_Q_URL = f"{BASE}/4"

INSTALLED_APPS = [*INSTALLED_APPS, "django_rq", "django_q"]
CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": CACHE_URL}}
RESTFLOW_SETTINGS = {"JWT": RESTFLOW_SETTINGS["JWT"]}

RQ_QUEUES = {"default": {"URL": RQ_URL}}
Q_CLUSTER = {
    "name": "bench",
    "redis": DJANGO_Q_URL,
    "workers": 1,
    "timeout": 30,
    "retry": 60,
    "max_attempts": 1,
    "save_limit": -1,
    "scheduler": False,
    "catch_up": False,
    "poll": 0.05,
    "log_level": "WARNING",
}
