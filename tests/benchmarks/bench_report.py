"""Aggregate per-process records; write the Markdown table, the JSON and the charts."""

from __future__ import annotations

import json
import statistics
from collections import defaultdict
from pathlib import Path
from typing import Any


def _spread(values: list[float]) -> dict[str, float]:
    return {"median": statistics.median(values), "min": min(values), "max": max(values)}


def aggregate(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per comparison: medians over processes of each process's medians."""
    by_id: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for record in records:
        by_id[record["comparison"]].append(record)
    rows = []
    for comparison, group in by_id.items():
        first = group[0]
        row: dict[str, Any] = {
            "comparison": comparison,
            "title": first["title"],
            "backend": first["backend"],
            "processes": len(group),
            "notes": first.get("notes", ""),
            "counts": first.get("counts", {}),
            "params": first.get("params", {}),
        }
        if "median_s" in first:
            row["median_s"] = {
                name: _spread([r["median_s"][name] for r in group]) for name in first["median_s"]
            }
            row["ratios"] = {
                name: _spread([r["ratios"][name]["median"] for r in group]) for name in first["ratios"]
            }
        if "metrics" in first:
            row["metrics"] = {
                name: _spread([r["metrics"][name] for r in group]) for name in first["metrics"]
            }
        row["facts"] = [
            {**fact, "ok": all(r["facts"][i]["ok"] for r in group)} for i, fact in enumerate(first["facts"])
        ]
        row["checks"] = _checks(row, first["targets"])
        row["status"] = _status(row)
        rows.append(row)
    return rows


def _checks(row: dict[str, Any], targets: list[dict[str, Any]]) -> list[dict[str, Any]]:
    checks = []
    for target in targets:
        if "ratio" in target:
            value = row["ratios"][target["ratio"]]["median"]
            label = f"{target['ratio'].replace('/', ' / ')} ≤ {target['limit']:g}x"
        else:
            value = row["metrics"][target["metric"]]["median"]
            label = f"{target['metric']} ≤ {target['limit']:g}"
        checks.append({"label": label, "value": value, "limit": target["limit"],
                       "ok": value <= target["limit"], "kind": "ratio" if "ratio" in target else "metric"})
    return checks


def _status(row: dict[str, Any]) -> str:
    verdicts = [c["ok"] for c in row["checks"]] + [f["ok"] for f in row["facts"]]
    if not verdicts:
        return "info"
    return "met" if all(verdicts) else "missed"


# --------------------------------------------------------------------------- Markdown


def _time(seconds: float) -> str:
    if seconds >= 1:
        return f"{seconds:.2f} s"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.2f} ms"
    return f"{seconds * 1e6:.1f} µs"


def _counts(counts: dict[str, float]) -> str:
    keep = ("sql", "cache_calls", "redis_roundtrips", "function_runs")
    parts = [f"{k.replace('_', ' ')} {v:g}" for k, v in counts.items() if k in keep and v]
    return ", ".join(parts) or "none"


def markdown_table(rows: list[dict[str, Any]]) -> str:
    lines = [
        "| Comparison | Backend | Median per operation (all contenders) "
        "| Ratios (median of processes, [min-max]) | Counts per operation | Target | Status |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        times = "<br>".join(
            f"{name}: {_time(v['median'])}" for name, v in row.get("median_s", {}).items()
        ) or "<br>".join(f"{name}: {v['median']:.3g}" for name, v in row.get("metrics", {}).items())
        ratios = "<br>".join(
            f"{name}: **{v['median']:.2f}x** [{v['min']:.2f}-{v['max']:.2f}]"
            for name, v in row.get("ratios", {}).items()
        ) or "-"
        counts = "<br>".join(f"{name}: {_counts(c)}" for name, c in row["counts"].items()) or "-"
        target = "<br>".join(
            [f"{c['label']} ({'met' if c['ok'] else 'missed'}: {c['value']:.3g})" for c in row["checks"]]
            + [f"{f['label']} ({'met' if f['ok'] else 'missed'})" for f in row["facts"]]
        ) or "(reported only)"
        lines.append(
            f"| {row['title']} | {row['backend']} | {times} | {ratios} | {counts} | {target} | "
            f"**{row['status']}** |"
        )
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- charts


def charts(rows: list[dict[str, Any]], out: Path) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    written = []
    by_prefix: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        by_prefix[row["comparison"].split(".")[0]].append(row)
    for prefix, group in by_prefix.items():
        bars = [(_bar_label(r, c), c["value"], c["limit"], c["ok"])
                for r in group for c in r["checks"] if c["kind"] == "ratio" or "ratio" in c["label"]]
        if not bars:
            continue
        fig, ax = plt.subplots(figsize=(max(6, 1.4 * len(bars)), 4.5))
        xs = range(len(bars))
        ax.bar(xs, [b[1] for b in bars], color=["#3b7" if b[3] else "#d44" for b in bars])
        ax.scatter(xs, [b[2] for b in bars], marker="_", s=900, color="black", label="target", zorder=3)
        ax.set_xticks(list(xs), [b[0] for b in bars], fontsize=7, rotation=30, ha="right")
        ax.set_ylabel("ratio (lower is better)")
        ax.set_title(f"{prefix}: restflow ratios vs targets (green met, red missed)")
        ax.legend()
        fig.tight_layout()
        name = f"ratios-{prefix}.png"
        fig.savefig(out / name, dpi=110)
        plt.close(fig)
        written.append(name)
    written += _growth(rows, out, plt)
    written += _startup(rows, out, plt)
    return written


def _bar_label(row: dict[str, Any], check: dict[str, Any]) -> str:
    name = row["comparison"].split(".", 1)[-1]
    if check["kind"] == "ratio":
        return f"{name}\nvs {check['label'].split(' / ')[1].split(' ')[0]}"
    return f"{name}\n{check['label'].split(' ')[0]}"


def _startup(rows: list[dict[str, Any]], out: Path, plt: Any) -> list[str]:
    row = next((r for r in rows if r["comparison"] == "startup.django_setup"), None)
    if row is None:
        return []
    names = list(row["median_s"])
    fig, ax = plt.subplots(figsize=(6, 4.5))
    ax.bar(names, [row["median_s"][n]["median"] * 1e3 for n in names], color="#58a")
    ax.set_ylabel("ms: import django + django.setup() (median)")
    ax.set_title("django.setup() in a fresh process, by installed apps")
    fig.tight_layout()
    fig.savefig(out / "startup.png", dpi=110)
    plt.close(fig)
    return ["startup.png"]


def _growth(rows: list[dict[str, Any]], out: Path, plt: Any) -> list[str]:
    written = []
    for backend in ("locmem", "redis"):
        points = [(r["params"]["entries"], r) for r in rows
                  if r["comparison"].startswith(f"delete_by_prefix.{backend}.")
                  and not r["params"].get("unrelated")]
        if not points:
            continue
        points.sort(key=lambda p: p[0])
        fig, ax = plt.subplots(figsize=(6, 4.5))
        for name in points[0][1]["median_s"]:
            ax.plot([p[0] for p in points], [p[1]["median_s"][name]["median"] * 1e6 for p in points],
                    marker="o", label=name)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("entries in the partition")
        ax.set_ylabel("µs per operation")
        ax.set_title(f"delete_by_prefix vs delete_many vs one set ({backend})")
        ax.legend()
        fig.tight_layout()
        name = f"growth-delete-by-prefix-{backend}.png"
        fig.savefig(out / name, dpi=110)
        plt.close(fig)
        written.append(name)
    for row in rows:
        if not row["comparison"].startswith("invalidation.save."):
            continue
        counts = [0, 1, 10, 100]
        names = ["plain", "rules_1", "rules_10", "rules_100"]
        fig, ax = plt.subplots(figsize=(6, 4.5))
        ax.plot(counts, [row["median_s"][n]["median"] * 1e3 for n in names], marker="o", label="save()")
        ax.set_xscale("symlog")
        ax.set_xlabel("invalidation rules on the model")
        ax.set_ylabel("ms per save()")
        ax.set_title(f"save() cost vs number of rules ({row['backend']})")
        ax.legend()
        fig.tight_layout()
        name = f"growth-save-rules-{row['backend']}.png"
        fig.savefig(out / name, dpi=110)
        plt.close(fig)
        written.append(name)
    return written


def write(rows: list[dict[str, Any]], meta: dict[str, Any], out: Path) -> tuple[str, list[str]]:
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps({"meta": meta, "rows": rows}, indent=1, default=str))
    table = markdown_table(rows)
    (out / "results.md").write_text(f"# Benchmark results\n\n{table}")
    return table, charts(rows, out)
