"""The rig's own measurements: percentiles from the schedule, merged recordings."""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "soak"))

import soak_checks
import soak_measure
from soak_checks import Read, ServerError, Write


def test_percentiles_are_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]  # 1..100 ms
    assert soak_measure.percentile(values, 0.50) == 50.0
    assert soak_measure.percentile(values, 0.99) == 99.0
    assert soak_measure.percentile([7.0], 0.99) == 7.0
    assert soak_measure.percentile([], 0.99) == 0.0


def test_latency_from_the_schedule_is_read_from_the_locust_file(tmp_path: Path) -> None:
    path = tmp_path / "latency.json"
    path.write_text(json.dumps([5.0] * 98 + [300.0, 900.0]))
    assert soak_measure.scheduled_latency(path) == {"p50_sched": 5.0, "p99_sched": 300.0, "max_sched": 900.0}
    assert soak_measure.scheduled_latency(tmp_path / "missing.json") == {}


def test_the_phases_of_a_run_are_judged_together() -> None:
    first = soak_checks.Recording(writes=[Write("book:1", 5, 10.0)], errors=[ServerError(500, "/x")])
    second = soak_checks.Recording(reads=[Read("book:1", 4, 20.0)])
    merged = soak_checks.Recording.merge([first, second])
    assert (len(merged.writes), len(merged.reads), len(merged.errors)) == (1, 1, 1)
    assert len(soak_checks.stale_reads(merged.writes, merged.reads, 1.0)) == 1
    assert first.reads == []  # the parts are left as they were


def test_key_shapes_hide_what_varies_between_keys() -> None:
    shape = soak_measure.shape_of
    assert shape("rig-restflow-1a2b3c:1:restflow:bl:9f86d081884c7d65") == "rig-restflow-*:*:restflow:bl:*"
    assert shape("celery-task-meta-42") == "celery-task-meta-*"
