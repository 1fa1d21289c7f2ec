"""The first authenticated request of a fresh worker (start-up group).

Each measurement is a new interpreter that boots as a gunicorn worker does
(``django.setup()`` + ``WSGIHandler()``, what ``get_wsgi_application()`` runs) on settings
with the cache and the JWT blacklist in Redis, then serves two JWT-authenticated requests
through the WSGI handler. What restflow leaves for the first request (importing the Redis
client library, resolving settings) shows as the gap between the first and the second.

Run as a script, this module is that probe; :func:`run` drives it.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench_harness import Result, make_record

SETTINGS = "bench_startup_settings"
VARIANT = "restflow_redis"


def _probe() -> None:
    """One fresh worker: boot, then two requests; prints the timings as JSON."""
    cpu, wall = time.process_time(), time.perf_counter()
    import django

    django.setup()
    from django.core.handlers.wsgi import WSGIHandler

    app = WSGIHandler()
    if os.environ.get("RESTFLOW_BENCH_URLCONF_AT_BOOT"):
        from django.urls import get_resolver

        get_resolver().url_patterns  # noqa: B018 -- what docs/installation.md suggests
    boot_cpu, boot_wall = time.process_time() - cpu, time.perf_counter() - wall
    redis_at_boot = "redis" in sys.modules
    timings, cpu_timings = [], []
    for _ in range(2):
        environ = {
            "REQUEST_METHOD": "GET", "PATH_INFO": "/me/", "QUERY_STRING": "",
            "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "8000", "HTTP_HOST": "127.0.0.1",
            "HTTP_AUTHORIZATION": f"Bearer {os.environ['RESTFLOW_BENCH_TOKEN']}",
            "wsgi.url_scheme": "http", "wsgi.input": sys.stdin.buffer, "wsgi.errors": sys.stderr,
        }
        statuses: list[str] = []
        started, cpu = time.perf_counter(), time.process_time()
        body = b"".join(app(environ, lambda status, headers, seen=statuses: seen.append(status)))
        timings.append(time.perf_counter() - started)
        cpu_timings.append(time.process_time() - cpu)
        if not statuses[0].startswith("200"):
            raise SystemExit(f"probe request failed: {statuses[0]} {body[:200]!r}")
    print(json.dumps({"boot_cpu": boot_cpu, "boot_wall": boot_wall, "first": timings[0],
                      "second": timings[1], "first_cpu": cpu_timings[0],
                      "second_cpu": cpu_timings[1], "redis_at_boot": redis_at_boot}))


def _prepare(env: dict[str, str]) -> str:
    """Migrate the probes' database file and mint a token for its user."""
    code = (
        "import django; django.setup()\n"
        "from django.core.management import call_command; call_command('migrate', verbosity=0)\n"
        "from django.contrib.auth import get_user_model\n"
        "from restflow.authentication.tokens import AccessToken\n"
        "user = get_user_model().objects.create_user(username='probe')\n"
        "print(AccessToken.for_user(user))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         timeout=300, check=True)
    return out.stdout.strip().splitlines()[-1]


VARIANTS = {"plain": {}, "urlconf_at_boot": {"RESTFLOW_BENCH_URLCONF_AT_BOOT": "1"}}
"""``plain``: ``get_wsgi_application()`` alone; ``urlconf_at_boot``: and the URLconf
imported at boot too (the ``wsgi.py`` lines of docs/installation.md)."""


def _measure(env: dict[str, str], variant: str) -> dict[str, Any]:
    out = subprocess.run([sys.executable, __file__], env={**env, **VARIANTS[variant]},
                         capture_output=True, text=True, timeout=120, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def run(rounds: int = 20, env: dict[str, str] | None = None) -> list[dict[str, Any]]:
    env = dict(env if env is not None else os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # deployed code runs from bytecode caches
    with tempfile.TemporaryDirectory(prefix="restflow-bench-first-") as tmp:
        env.update({
            "PYTHONPYCACHEPREFIX": str(Path(tmp) / "pyc"),
            "DJANGO_SETTINGS_MODULE": SETTINGS,
            "RESTFLOW_BENCH_STARTUP": VARIANT,
            "RESTFLOW_BENCH_STARTUP_DB": str(Path(tmp) / "db.sqlite3"),
        })
        env["RESTFLOW_BENCH_TOKEN"] = _prepare(env)
        for variant in VARIANTS:  # write the bytecode caches and warm the OS file cache
            _measure(env, variant)
        samples: dict[str, list[dict[str, Any]]] = {variant: [] for variant in VARIANTS}
        for round_ in range(rounds):
            for variant in VARIANTS if round_ % 2 == 0 else list(VARIANTS)[::-1]:
                samples[variant].append(_measure(env, variant))
    times: dict[str, list[float]] = {}
    for variant, runs in samples.items():
        times[f"{variant}.boot"] = [s["boot_cpu"] for s in runs]
        times[f"{variant}.first_request"] = [s["first_cpu"] for s in runs]
        times[f"{variant}.second_request"] = [s["second_cpu"] for s in runs]
        times[f"{variant}.first_request_wall"] = [s["first"] for s in runs]
    record = make_record(
        "startup.first_request",
        "A fresh worker's boot and first two authenticated requests (Redis cache and blacklist)",
        "redis",
        Result(times=times, loops=dict.fromkeys(times, 1)),
        ratios=[(f"{v}.first_request", f"{v}.second_request") for v in VARIANTS],
        notes="One fresh interpreter per measurement, bytecode caches written beforehand. boot = "
        "CPU time of import django + django.setup() + WSGIHandler() (what a gunicorn worker "
        "runs before it accepts connections, or the master once with --preload); "
        "first_request / second_request = CPU time of two GET requests with a JWT through "
        "the WSGI handler (JWTAuthentication, blacklist lookup in Redis, the user query on "
        "SQLite); first_request_wall = the first one's wall time (it also waits for the "
        "machine, the connection to Redis and the database). Django imports the URLconf "
        "(the views, DRF, and through JWTAuthentication PyJWT and cryptography) in the "
        "first request; urlconf_at_boot imports it at boot instead, as "
        "docs/installation.md shows for wsgi.py. Variants alternate, one fresh process per "
        "measurement. Before ready() loaded the cache clients (commit 5d8f2df, same "
        "environment), the plain first request took 87 ms of CPU (50 ms with the URLconf at "
        "boot) and the boot 123 ms; after, 31 ms (8.3 ms) and 183 ms.",
    )
    at_boot = all(s["redis_at_boot"] for runs in samples.values() for s in runs)
    record["facts"] = [{"label": "redis-py imported at boot, not in the first request",
                        "ok": at_boot, "value": at_boot}]
    record["metrics"] = {
        f"{name}_ms": 1000 * statistics.median(values) for name, values in times.items()
    }
    return [record]


if __name__ == "__main__":
    _probe()
