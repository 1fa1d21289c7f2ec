"""One fresh benchmark process: ``python bench_process.py <group> <output.json>``."""

from __future__ import annotations

import importlib
import json
import os
import platform
import sys
import time
from pathlib import Path

GROUPS = {
    "jwt": "bench_jwt",
    "cache": "bench_cache",
    "invalidation": "bench_invalidation",
    "brokers": "bench_brokers",
    "fastpaths": "bench_fastpaths",
    "scaleout": "bench_scaleout",
}


def main(argv: list[str]) -> int:
    group, output = argv[1], Path(argv[2])
    settings_module = "bench_broker_settings" if group == "brokers" else "bench_settings"
    os.environ["DJANGO_SETTINGS_MODULE"] = settings_module
    from bench_env import flush_redis, setup_django

    setup_django()
    flush_redis()
    started = time.perf_counter()
    records = importlib.import_module(GROUPS[group]).run()
    payload = {
        "group": group,
        "pid": os.getpid(),
        "python": platform.python_version(),
        "seconds": time.perf_counter() - started,
        "records": records,
    }
    output.write_text(json.dumps(payload, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
