"""The fragments of docs/quickstart.md that cannot run alone are the demo's real code.

They are fenced as Python but opted out of tests/docs/test_examples.py with the reason
``excerpt of docs/example/<file>``; here each one must appear in that file, in order,
where ``# ...`` lines mark the parts left out. The demo itself is tested by
test_tour.py, so the quickstart shows code that runs.
"""

from __future__ import annotations

import re
from pathlib import Path

import examples
import pytest

ROOT = Path(__file__).resolve().parents[2]
QUICKSTART = ROOT / "docs" / "quickstart.md"
_EXCERPT = re.compile(r"^excerpt of (docs/example/\S+?),")
EXCERPTS = [
    e
    for e in examples.extract(QUICKSTART.read_text(encoding="utf-8"), "docs/quickstart.md")
    if e.opt_out and _EXCERPT.match(e.opt_out)
]


def _chunks(code: str) -> list[str]:
    chunks, current = [], []
    for text in code.splitlines():
        if text.strip() == "# ...":
            chunks.append("\n".join(current))
            current = []
        else:
            current.append(text)
    chunks.append("\n".join(current))
    return [chunk.strip("\n") for chunk in chunks if chunk.strip()]


def test_the_quickstart_quotes_the_demo() -> None:
    assert len(EXCERPTS) >= 5, "the quickstart lost its excerpts of the demo"
    quoted = {_EXCERPT.match(e.opt_out or "")[1] for e in EXCERPTS}  # type: ignore[index]
    assert {"docs/example/catalogue/views.py", "docs/example/catalogue/services.py"} <= quoted


@pytest.mark.parametrize("excerpt", EXCERPTS, ids=[e.id for e in EXCERPTS])
def test_excerpt_matches_the_demo_file(excerpt: examples.Example) -> None:
    match = _EXCERPT.match(excerpt.opt_out or "")
    assert match
    source = (ROOT / match[1]).read_text(encoding="utf-8")
    position = 0
    for chunk in _chunks(excerpt.code):
        found = source.find(chunk, position)
        assert found >= 0, f"{excerpt.id}: not in {match[1]} (after offset {position}):\n{chunk}"
        position = found + len(chunk)
