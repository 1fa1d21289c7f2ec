"""Report how many documentation examples ran (see test_examples.py)."""

from __future__ import annotations

from typing import Any

import pytest

_COUNTS = pytest.StashKey[dict[str, Any]]()


def _counts(config: pytest.Config) -> dict[str, Any]:
    return config.stash.setdefault(_COUNTS, {"ran": 0, "failed": 0, "opted_out": []})


@pytest.fixture
def docs_example_counts(request: pytest.FixtureRequest) -> dict[str, Any]:
    return _counts(request.config)


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    counts = config.stash.get(_COUNTS, None)
    if counts is None:
        return
    terminalreporter.write_sep("-", "documentation examples")
    terminalreporter.write_line(
        f"docs examples: {counts['ran']} ran, {counts['failed']} failed, {len(counts['opted_out'])} opted out"
    )
    for where in counts["opted_out"]:
        terminalreporter.write_line(f"  not executed: {where}")
