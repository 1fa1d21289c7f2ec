"""The workload's mix: the async summary view runs under uvicorn only, the gunicorn mix is
the one of earlier runs, and the locustfile takes every weight from the one table."""

from __future__ import annotations

import argparse
import ast
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

SOAK = Path(__file__).resolve().parents[1] / "soak"
sys.path.insert(0, str(SOAK))

import soak_mix  # noqa: E402

# What the page said of the mixes before the async view existed (gunicorn keeps it).
EARLIER = {
    "read": "`read` (weights: book list 25, book detail 40, authors 10, my reviews 5, rating 5, "
    "PATCH of a book's price 6, login 1, refresh with rotation 3, logout (blacklist the refresh "
    "token, then sign in again) 1: about 90% reads).",
    "write": "`write` (weights: book list 25, book detail 40, authors 10, my reviews 5, rating 5, "
    "PATCH of a book's price 90, login 1, refresh with rotation 3, logout (blacklist the refresh "
    "token, then sign in again) 1: about half the tasks are writes).",
}


@pytest.mark.parametrize("mix", ["read", "write"])
def test_the_uvicorn_mix_reads_the_async_summary(mix: str) -> None:
    weights = soak_mix.weights(mix, "uvicorn")
    assert weights["book_summary"] == 20
    assert weights["book_detail"] + weights["book_summary"] == 40  # taken from the detail
    assert "book summary (the async view) 20" in soak_mix.describe(mix, "uvicorn")


@pytest.mark.parametrize("mix", ["read", "write"])
def test_the_gunicorn_mix_is_the_earlier_one_without_the_async_summary(mix: str) -> None:
    assert soak_mix.weights(mix, "gunicorn")["book_summary"] == 0
    assert soak_mix.describe(mix, "gunicorn") == EARLIER[mix]


@pytest.mark.parametrize("server", ["gunicorn", "uvicorn"])
def test_reads_stay_about_nine_tenths_of_the_read_mix(server: str) -> None:
    tasks = soak_mix.tasks("read", server)
    reads = sum(t.weight for t in tasks if t.read)
    assert reads == 85  # of 96: the earlier mix's share
    assert round(reads / sum(t.weight for t in tasks), 2) == 0.89


def test_an_unknown_mix_is_refused() -> None:
    with pytest.raises(ValueError, match="mix 'reads'"):
        soak_mix.tasks("reads", "gunicorn")


def _locust_weights() -> dict[str, str]:
    """Each CatalogueUser task of the locustfile and the ``@task(...)`` it is declared with.

    Read from the source: Locust is not installed in the test environment."""
    tree = ast.parse((SOAK / "locustfile.py").read_text(encoding="utf-8"))
    user = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "CatalogueUser")
    found = {}
    for method in user.body:
        if not isinstance(method, ast.FunctionDef):
            continue
        for decorator in method.decorator_list:
            if isinstance(decorator, ast.Call) and getattr(decorator.func, "id", None) == "task":
                found[method.name] = ast.unparse(decorator.args[0])
    return found


def test_the_locustfile_takes_each_mix_weight_from_the_table() -> None:
    source = (SOAK / "locustfile.py").read_text(encoding="utf-8")
    table = next(line for line in source.splitlines() if line.startswith("WEIGHTS = "))
    assert 'os.environ.get("RESTFLOW_SOAK_SERVER")' in table  # what soak_run passes to Locust
    declared = _locust_weights()
    for name in soak_mix.weights("read", "uvicorn"):
        assert declared.get(name) == f"WEIGHTS['{name}']", name
    # The soak-only races are the only tasks weighed outside the mix.
    assert set(declared) - set(soak_mix.weights("read", "uvicorn")) == {"race", "replay"}


def _mix_line(server: str) -> str:
    import soak_run

    args = argparse.Namespace(
        server=server, workers=4 if server == "gunicorn" else 2, mix="read", users=16, rate=None,
        steps=None, seconds=60, rounds=2, max_requests=40_000, pbkdf2=False,
    )  # fmt: skip
    section = soak_run.load_section({}, args, datetime(2026, 12, 5, tzinfo=UTC))
    return next(line for line in section.splitlines() if line.startswith("Mix: "))


def test_the_page_names_the_async_view_when_uvicorn_serves_it() -> None:
    line = _mix_line("uvicorn")
    assert "book detail 20, book summary (the async view) 20," in line
    assert "uvicorn with 2 ASGI workers (restflow serves the book summary from an async view" in line
    assert "the views are sync" not in line


def test_the_page_keeps_the_earlier_mix_under_gunicorn() -> None:
    line = _mix_line("gunicorn")
    assert line.startswith(f"Mix: {EARLIER['read']} gunicorn with 4 sync workers, PostgreSQL")
    assert "summary" not in line
