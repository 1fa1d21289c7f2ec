"""A worker process for the tests: runs one job read from argv against a Redis cache.

    python invalidation_worker.py <redis url> '<json list of jobs>'

Each job is ``{"rule_ids": [...], "rule_kwargs": {...}}``, exactly what a dispatcher
carries. Prints a JSON report per job (rule ids known after it ran, restflow log records
of WARNING and above) on the last line of stdout.
"""

from __future__ import annotations

import json
import logging
import sys


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def main() -> None:
    import django

    django.setup()
    from django.test import override_settings
    from restflow_testbed.plugin import redis_cache_settings

    from restflow.caching.registry import CacheRegister
    from restflow.caching.tasks import run_cache_rules

    url, jobs = sys.argv[1], json.loads(sys.argv[2])
    reports = []
    with override_settings(CACHES={"default": redis_cache_settings(url)}):
        for job in jobs:
            collect = _Collect()
            logging.getLogger("restflow").addHandler(collect)
            run_cache_rules(job["rule_ids"], job["rule_kwargs"], dispatcher_name="test-worker")
            logging.getLogger("restflow").removeHandler(collect)
            known = [rule_id for rule_id in job["rule_ids"] if CacheRegister.get_rule(rule_id)]
            reports.append({"known": known, "logs": collect.messages})
    print(json.dumps(reports))


if __name__ == "__main__":
    main()
