"""``django.setup()`` cost in fresh processes: restflow's apps vs bare Django vs simplejwt."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
from typing import Any

from bench_harness import Result, make_record

VARIANTS = ("bare", "drf", "restflow", "simplejwt")
PROBE = (
    "import time; t = time.perf_counter(); import django; django.setup(); "
    "print(time.perf_counter() - t)"
)


def _setup_seconds(variant: str, env: dict[str, str]) -> float:
    out = subprocess.run(
        [sys.executable, "-c", PROBE],
        env={**env, "RESTFLOW_BENCH_STARTUP": variant, "DJANGO_SETTINGS_MODULE": "bench_startup_settings"},
        capture_output=True, text=True, timeout=120, check=True,
    )
    return float(out.stdout.strip().splitlines()[-1])


def run(rounds: int = 6, env: dict[str, str] | None = None) -> list[dict[str, Any]]:
    env = dict(env if env is not None else os.environ)
    for variant in VARIANTS:  # warm the OS file cache and bytecode
        _setup_seconds(variant, env)
    times: dict[str, list[float]] = {v: [] for v in VARIANTS}
    for _ in range(rounds):
        for variant in VARIANTS:
            times[variant].append(_setup_seconds(variant, env))
    result = Result(times=times, loops=dict.fromkeys(VARIANTS, 1))
    extra_ms = [1000 * (r - b) for r, b in zip(times["restflow"], times["bare"], strict=True)]
    record = make_record(
        "startup.django_setup",
        "django.setup() in a fresh process (apps installed)",
        "-",
        result,
        ratios=[("restflow", "bare"), ("restflow", "simplejwt"), ("restflow", "drf")],
        notes="bare = auth, contenttypes, user app; drf = + rest_framework; restflow = + rest_framework, "
        "restflow.authentication, restflow.caching; simplejwt = + rest_framework, simplejwt, its "
        "blacklist app. One fresh interpreter per measurement; the time covers import django + setup().",
    )
    record["metrics"] = {
        "restflow_minus_bare_ms": statistics.median(extra_ms),
        "restflow_minus_simplejwt_ms": statistics.median(
            1000 * (r - s) for r, s in zip(times["restflow"], times["simplejwt"], strict=True)
        ),
    }
    record["targets"] = [{"metric": "restflow_minus_bare_ms", "limit": 20.0}]
    return [record]
