"""``django.setup()`` cost in fresh processes: restflow's apps vs bare Django vs simplejwt."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
from typing import Any

from bench_harness import Result, make_record

VARIANTS = ("bare", "drf", "restflow", "simplejwt")
# CPU time of the probe's own process: start-up is CPU-bound once bytecode and files are
# cached, and CPU time leaves out the waits for a core that other jobs on a shared
# machine cause (wall time varied by ±20 ms between identical runs).
PROBE = (
    "import time; t = time.process_time(); import django; django.setup(); "
    "print(time.process_time() - t)"
)


def _setup_seconds(variant: str, env: dict[str, str]) -> float:
    out = subprocess.run(
        [sys.executable, "-c", PROBE],
        env={**env, "RESTFLOW_BENCH_STARTUP": variant, "DJANGO_SETTINGS_MODULE": "bench_startup_settings"},
        capture_output=True, text=True, timeout=120, check=True,
    )
    return float(out.stdout.strip().splitlines()[-1])


def run(rounds: int = 30, env: dict[str, str] | None = None) -> list[dict[str, Any]]:
    with tempfile.TemporaryDirectory(prefix="restflow-bench-pyc-") as pycache:
        return _run(rounds, dict(env if env is not None else os.environ), pycache)


def _run(rounds: int, env: dict[str, str], pycache: str) -> list[dict[str, Any]]:
    # Deployed code runs from bytecode caches; without them (PYTHONDONTWRITEBYTECODE, or a
    # venv installed without compiling) every probe would compile Django from source and
    # measure the compiler, ~0.5 s with ±0.1 s of noise. The caches go to a temporary
    # directory, not next to the sources.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = pycache
    for variant in VARIANTS:  # write the bytecode caches and warm the OS file cache
        _setup_seconds(variant, env)
        _setup_seconds(variant, env)
    times: dict[str, list[float]] = {v: [] for v in VARIANTS}
    for round_ in range(rounds):
        # Every other round in reverse order, so a drift of the machine's speed during a
        # round weighs on every variant alike.
        for variant in VARIANTS if round_ % 2 == 0 else VARIANTS[::-1]:
            times[variant].append(_setup_seconds(variant, env))
    result = Result(times=times, loops=dict.fromkeys(VARIANTS, 1))
    record = make_record(
        "startup.django_setup",
        "django.setup() in a fresh process (apps installed)",
        "-",
        result,
        ratios=[("restflow", "bare"), ("restflow", "simplejwt"), ("restflow", "drf")],
        notes="bare = auth, contenttypes, user app; drf = + rest_framework; restflow = + rest_framework, "
        "restflow.authentication, restflow.caching; simplejwt = + rest_framework, simplejwt, its "
        "blacklist app. One fresh interpreter per measurement, bytecode caches written beforehand; the "
        "time is the process's CPU time for import django + setup(). The differences in ms are "
        "the median over rounds of each round's difference (variants run back to back, in "
        "alternating order): identical runs varied by tens of ms on a shared machine, and a "
        "paired median is not pulled by one variant's luckiest or unluckiest run.",
    )
    fastest = {variant: 1000 * min(values) for variant, values in times.items()}
    record["metrics"] = {
        "restflow_minus_bare_ms": _paired_median_ms(times, "restflow", "bare"),
        "restflow_minus_drf_ms": _paired_median_ms(times, "restflow", "drf"),
        "restflow_minus_simplejwt_ms": _paired_median_ms(times, "restflow", "simplejwt"),
        **{f"{variant}_fastest_ms": value for variant, value in fastest.items()},
    }
    record["targets"] = [{"metric": "restflow_minus_bare_ms", "limit": 20.0}]
    return [record]


def _paired_median_ms(times: dict[str, list[float]], a: str, b: str) -> float:
    return 1000 * statistics.median(x - y for x, y in zip(times[a], times[b], strict=True))
