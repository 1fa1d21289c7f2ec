"""Jobs dispatched here run in another process (a worker) that finds the same rules:
stable ids, import of modules it has not loaded, safe fallback for ids it does not
know. One worker process, a shared real Redis cache."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.test import override_settings
from invalidation_testapp.cached import books_with_tag, titles_of_author
from restflow_testbed.plugin import redis_cache_settings

from restflow.caching import CACHE_MISSING

TESTS = Path(__file__).resolve().parent
REPO = TESTS.parents[2]
BOOK = "invalidation_testapp.Book"
TITLES = f"invalidation_testapp.cached.titles_of_author#{BOOK}#0"
LATE = f"invalidation_late_rules.late_titles#{BOOK}#0"
NEWER = "invalidation_testapp.cached.books_with_tag#invalidation_testapp.Tag#5"

pytestmark = [pytest.mark.redis, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def run_worker(url: str, jobs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="restflow_testbed.settings",
        RESTFLOW_TEST_WORKER="1",
        PYTHONPATH=os.pathsep.join([str(REPO / "tests" / "testbed"), str(TESTS)]),
    )
    done = subprocess.run(
        [sys.executable, str(TESTS / "invalidation_worker.py"), url, json.dumps(jobs)],
        env=env, capture_output=True, text=True, timeout=120, check=False,
    )
    assert done.returncode == 0, done.stderr
    reports: list[dict[str, Any]] = json.loads(done.stdout.strip().splitlines()[-1])
    return reports


def test_a_worker_process_resolves_imports_or_safely_replaces_rules(redis_url):
    from invalidation_late_rules import late_titles

    with override_settings(CACHES={"default": redis_cache_settings(redis_url)}):
        for author_id in (1, 2):
            titles_of_author(author_id)
            late_titles(author_id)
            books_with_tag(author_id)
        known, late, newer = run_worker(redis_url, [
            {"rule_ids": [TITLES], "rule_kwargs": {TITLES: {"author_id": 1}}},
            {"rule_ids": [LATE], "rule_kwargs": {LATE: {"author_id": 1}}},
            {"rule_ids": [NEWER], "rule_kwargs": {NEWER: {"tag_id": 1}}},
        ])

        # the id names the same rule there: only author 1's partition went
        assert known == {"known": [TITLES], "logs": []}
        assert titles_of_author.get_cache_only(1) is CACHE_MISSING
        assert titles_of_author.get_cache_only(2) == []

        # a module no app imports: the worker imported it and ran the rule, no warning
        assert late == {"known": [LATE], "logs": []}
        assert late_titles.get_cache_only(1) is CACHE_MISSING
        assert late_titles.get_cache_only(2) == []

        # an id from newer code: warning, and the whole function is dropped instead
        assert newer["known"] == []
        assert any(NEWER in m and "same code" in m for m in newer["logs"])
        assert books_with_tag.get_cache_only(1) is CACHE_MISSING
        assert books_with_tag.get_cache_only(2) is CACHE_MISSING
