"""The chart of ``load --steps``: each build's p99 and achieved throughput against the
offered rate, side by side, with each build's closed-loop saturation marked."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from matplotlib.figure import Figure

LIMIT_MS = 100.0  # the p99 (from schedule) a rate must stay under to count as sustained


@dataclass(frozen=True)
class Curve:
    """One build's steps: offered tasks/s, achieved req/s, p99 from schedule (ms)."""

    offered: list[float]
    rps: list[float]
    p99: list[float]
    saturation: float  # req/s of the closed-loop run


def figure(curves: dict[str, Curve], title: str = "") -> Figure:
    """Two panels: p99 from schedule (log scale) and achieved req/s, both against the
    offered rate; a dotted line per build at its closed-loop saturation."""
    from matplotlib.figure import Figure
    from matplotlib.ticker import FuncFormatter

    fig = Figure(figsize=(11, 4.5))
    latency, throughput = fig.subplots(1, 2)
    top = max(max([*c.offered, c.saturation]) for c in curves.values()) * 1.1
    for index, (name, curve) in enumerate(curves.items()):
        colour = f"C{index}"
        latency.plot(curve.offered, [max(p, 1.0) for p in curve.p99], "o-", color=colour, label=name)
        throughput.plot(curve.offered, curve.rps, "o-", color=colour, label=name)
        mark = f"{name} closed-loop saturation ({curve.saturation:.0f} req/s)"
        latency.axvline(curve.saturation, color=colour, linestyle=":", label=mark)
        throughput.axhline(curve.saturation, color=colour, linestyle=":", label=mark)
    latency.axhline(LIMIT_MS, color="black", linestyle="--", label=f"{LIMIT_MS:.0f} ms")
    latency.set_yscale("log")
    plain = FuncFormatter(lambda value, _: f"{value:g}")  # 20, 50, 100 ms, not 2 x 10^1
    latency.yaxis.set_major_formatter(plain)
    values = [max(p, 1.0) for c in curves.values() for p in c.p99] + [LIMIT_MS]
    if max(values) / min(values) < 10:  # less than a decade: label the minor ticks too
        latency.yaxis.set_minor_formatter(plain)
    latency.set_ylabel("p99 from schedule (ms, log scale)")
    latency.set_title("tail latency")
    throughput.plot([0, top], [0, top], color="grey", linewidth=0.8, label="achieved = offered")
    throughput.set_ylabel("achieved req/s")
    throughput.set_title("throughput")
    for ax in (latency, throughput):
        ax.set_xlabel("offered load (tasks/s)")
        ax.set_xlim(0, top)
        ax.grid(True, which="major", alpha=0.3)
        ax.legend(fontsize=7)
    if title:
        fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    return fig


def draw(curves: dict[str, Curve], out: Path, title: str = "") -> Figure:
    """Write the chart to ``out`` (PNG) and return its figure."""
    fig = figure(curves, title)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110, format="png")
    return fig
