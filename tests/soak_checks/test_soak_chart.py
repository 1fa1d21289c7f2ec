"""The ``load --steps`` chart: two panels drawn from the step table, written as a PNG."""

from __future__ import annotations

import sys
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(TESTS / "soak")]

import soak_chart  # noqa: E402

STEPS = {
    "restflow": soak_chart.Curve(
        offered=[10, 20, 40], rps=[10.4, 20.9, 41.2], p99=[24, 31, 88], saturation=120.5
    ),
    "peers": soak_chart.Curve(
        offered=[10, 20, 40], rps=[10.5, 20.7, 33.0], p99=[60, 140, 2900], saturation=41.0
    ),
}


def test_the_chart_is_a_png_with_a_latency_and_a_throughput_panel(tmp_path: Path) -> None:
    out = tmp_path / "benchmarks" / "load-gunicorn-steps.png"
    fig = soak_chart.draw(STEPS, out, title="Load (steps)")

    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    latency, throughput = fig.axes
    assert latency.get_yscale() == "log"
    assert throughput.get_yscale() == "linear"
    assert fig.get_suptitle() == "Load (steps)"

    lines = {line.get_label(): line for line in latency.get_lines()}
    assert list(lines["peers"].get_xdata()) == [10, 20, 40]
    assert list(lines["peers"].get_ydata()) == [60, 140, 2900]
    assert list(lines["100 ms"].get_ydata()) == [100.0, 100.0]  # the sustained-p99 line
    # each build's closed-loop saturation: a vertical line (latency), a horizontal one (req/s)
    assert list(lines["restflow closed-loop saturation (120 req/s)"].get_xdata()) == [120.5, 120.5]
    achieved = {line.get_label(): line for line in throughput.get_lines()}
    assert list(achieved["restflow"].get_ydata()) == [10.4, 20.9, 41.2]
    assert list(achieved["peers closed-loop saturation (41 req/s)"].get_ydata()) == [41.0, 41.0]
    assert "achieved = offered" in achieved
    # the x axis reaches past every step and every saturation mark
    assert latency.get_xlim()[1] > 120.5


def test_a_zero_p99_stays_drawable_on_the_log_scale(tmp_path: Path) -> None:
    curve = soak_chart.Curve(offered=[5], rps=[5.0], p99=[0.0], saturation=9.0)
    fig = soak_chart.draw({"restflow": curve}, tmp_path / "one.png")
    (line,) = [ln for ln in fig.axes[0].get_lines() if ln.get_label() == "restflow"]
    assert list(line.get_ydata()) == [1.0]
