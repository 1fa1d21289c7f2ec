"""Every Python example of the documentation runs (tests/docs/examples.py finds them).

Each block runs in a fresh namespace, inside the test bed's Django set-up, in a
transactional database test, with settings restored afterwards. A block that needs a
restflow distribution this environment does not have is skipped, except when the
session installed everything (``RESTFLOW_TEST_REQUIRE_ALL=1``: tests, tests-postgres,
dist), where it fails like any other broken example.
"""

from __future__ import annotations

import os
from typing import Any

import distcheck
import examples
import pytest
import versioning
from django.core.cache import caches
from django.test.utils import override_settings

EXAMPLES = examples.all_examples()
RUNNABLE = [e for e in EXAMPLES if e.opt_out is None]


def _owner(module: str) -> str | None:
    """The workspace distribution that ships ``module`` (or one of its parents)."""
    for dist in versioning.distributions():
        for shipped in distcheck.modules_of(dist):
            if module == shipped or module.startswith(f"{shipped}."):
                return dist
    return None


def _skip_if_not_installed(exc: ModuleNotFoundError) -> None:
    owner = _owner(exc.name or "")
    if owner is None or distcheck.is_installed(owner):
        return
    if os.environ.get("RESTFLOW_TEST_REQUIRE_ALL") == "1":
        raise AssertionError(f"{owner} should be installed in this session") from exc
    pytest.skip(f"needs {owner}, which this environment does not install")


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("example", RUNNABLE, ids=[e.id for e in RUNNABLE])
def test_example_runs(example: examples.Example, docs_example_counts: dict[str, Any]) -> None:
    code = compile(example.code, str(examples.ROOT / example.path), "exec")
    # compile() numbers lines from the block's first line; shift them to the file's.
    code = code.replace(co_firstlineno=example.line + 1)
    namespace: dict[str, Any] = {"__name__": "docs_example"}
    try:
        with override_settings():
            exec(code, namespace)  # noqa: S102 - running the documentation is the point
    except ModuleNotFoundError as exc:
        _skip_if_not_installed(exc)
        docs_example_counts["failed"] += 1
        raise
    except BaseException:
        docs_example_counts["failed"] += 1
        raise
    finally:
        for cache in caches.all(initialized_only=True):
            cache.clear()
    docs_example_counts["ran"] += 1


def test_documentation_has_examples(docs_example_counts: dict[str, Any]) -> None:
    docs_example_counts["opted_out"] = [f"{e.id} ({e.opt_out})" for e in EXAMPLES if e.opt_out]
    assert RUNNABLE, "no ```python block found in docs/ or the READMEs"


def test_extract_finds_python_blocks_with_their_lines() -> None:
    text = '# T\n\n```python\nx = 1\n```\n\n```toml\n[a]\n```\n\n~~~py title="a.py"\ny = 2\n~~~\n'
    found = examples.extract(text, "doc.md")
    assert [(e.line, e.code) for e in found] == [(3, "x = 1\n"), (11, "y = 2\n")]


def test_extract_dedents_blocks_nested_in_lists_and_admonitions() -> None:
    text = "1. step\n\n    ```python\n    if True:\n        z = 3\n    ```\n"
    (found,) = examples.extract(text, "doc.md")
    assert found.code == "if True:\n    z = 3\n"


def test_extract_honours_a_reasoned_opt_out_for_one_block_only() -> None:
    text = (
        "<!-- not-executed: needs a Celery worker -->\n```python\nimport celery\n```\n\n"
        "```python\nx = 1\n```\n"
    )
    first, second = examples.extract(text, "doc.md")
    assert first.opt_out == "needs a Celery worker"
    assert second.opt_out is None


def test_extract_rejects_an_opt_out_without_reason_and_unclosed_fences() -> None:
    with pytest.raises(ValueError, match="needs a reason"):
        examples.extract("<!-- not-executed: -->\n```python\nx = 1\n```\n", "doc.md")
    with pytest.raises(ValueError, match="never closed"):
        examples.extract("```python\nx = 1\n", "doc.md")


def test_a_longer_fence_may_contain_a_shorter_one() -> None:
    text = "````markdown\n```python\nnot run\n```\n````\n"
    assert examples.extract(text, "doc.md") == []
