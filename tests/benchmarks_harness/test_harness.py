"""The benchmark harness computes what the report claims (no timing assertions)."""

from __future__ import annotations

from typing import Any

import bench_harness
import bench_report
import pytest


def test_paired_ratios_are_round_by_round() -> None:
    assert bench_harness.paired_ratios([2.0, 3.0, 8.0], [1.0, 3.0, 2.0]) == [2.0, 1.0, 4.0]


def test_paired_ratios_reject_unequal_rounds_and_zero_times() -> None:
    with pytest.raises(ValueError, match="same number of rounds"):
        bench_harness.paired_ratios([1.0], [1.0, 2.0])
    with pytest.raises(ValueError, match="not positive"):
        bench_harness.paired_ratios([1.0], [0.0])


def test_result_ratio_is_the_median_of_paired_ratios_not_a_ratio_of_medians() -> None:
    result = bench_harness.Result(
        times={"a": [1.0, 10.0, 3.0], "b": [1.0, 2.0, 6.0]}, loops={"a": 1, "b": 1}
    )
    # per round: 1.0, 5.0, 0.5 -> median 1.0 (a ratio of medians would say 3/2).
    assert result.ratio("a", "b") == 1.0
    assert result.median("a") == 3.0


def test_rounds_alternate_contenders_and_report_time_per_operation() -> None:
    order: list[str] = []

    def factory(name: str) -> bench_harness.BlockFactory:
        def make(n: int) -> Any:
            def block() -> None:
                order.append(name)

            return block

        return make

    contenders = [bench_harness.Contender("a", factory("a")), bench_harness.Contender("b", factory("b"))]
    result = bench_harness.run_rounds(contenders, rounds=3, min_block=0.0, warmup=0)
    # calibration runs each once, then the rounds alternate a b a b a b
    assert order[2:] == ["a", "b"] * 3
    assert result.loops == {"a": 1, "b": 1}
    assert len(result.times["a"]) == len(result.times["b"]) == 3


def test_calibration_grows_the_block_until_it_lasts_long_enough() -> None:
    import time

    def make(n: int) -> Any:
        return lambda: time.sleep(0.001 * n)

    assert bench_harness.calibrate(make, min_block=0.01) >= 10


def _record(ratio: float, limit: float, fact_ok: bool = True) -> dict[str, Any]:
    result = bench_harness.Result(times={"r": [ratio, ratio], "p": [1.0, 1.0]}, loops={"r": 1, "p": 1})
    return bench_harness.make_record(
        "x.y", "title", "locmem", result, ratios=[("r", "p")], targets=[("r", "p", limit)],
        facts=[{"label": "behaves", "ok": fact_ok, "value": None}],
    )


def test_a_row_is_met_only_when_every_target_and_fact_holds() -> None:
    assert bench_report.aggregate([_record(0.8, 1.0)])[0]["status"] == "met"
    assert bench_report.aggregate([_record(1.2, 1.0)])[0]["status"] == "missed"
    assert bench_report.aggregate([_record(0.8, 1.0, fact_ok=False)])[0]["status"] == "missed"


def test_processes_are_aggregated_by_the_median_of_their_ratios() -> None:
    rows = bench_report.aggregate([_record(0.5, 1.0), _record(0.9, 1.0), _record(2.0, 1.0)])
    (row,) = rows
    assert row["processes"] == 3
    assert row["ratios"]["r/p"] == {"median": 0.9, "min": 0.5, "max": 2.0}
    assert row["status"] == "met"
    assert "missed" not in bench_report.markdown_table(rows).split("|")[-2]
