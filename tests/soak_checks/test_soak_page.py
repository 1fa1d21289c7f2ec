"""The rig's section of docs/benchmarks.md is replaced in place and survives ``nox -s bench``."""

from __future__ import annotations

import sys
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(TESTS / "soak"), str(TESTS / "benchmarks")]

import bench_docs  # noqa: E402
import soak_page  # noqa: E402


def test_a_section_is_appended_once_then_replaced_in_place() -> None:
    page = soak_page.put_section("# Benchmarks\n\nbench tables\n", "load", "first load figures")
    assert page.count(soak_page.HEADING) == 1
    assert "first load figures" in page
    page = soak_page.put_section(page, "soak", "soak figures")
    page = soak_page.put_section(page, "load", "second load figures")
    assert "first load figures" not in page
    assert page.index("second load figures") < page.index("soak figures")
    assert page.count(soak_page.HEADING) == 1


def test_a_rewrite_by_the_bench_session_keeps_the_rig_sections() -> None:
    assert bench_docs.KEPT_HEADING == soak_page.HEADING
    old = soak_page.put_section("# Benchmarks\n\nold bench tables\n", "load", "load figures")
    new = "# Benchmarks\n\nnew bench tables\n" + bench_docs.kept_tail(old)
    assert "old bench tables" not in new
    assert "new bench tables" in new
    assert "load figures" in new
    assert bench_docs.kept_tail("# Benchmarks\n\nno rig section\n") == ""
