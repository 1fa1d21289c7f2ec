"""The demo's rules say ``batch=True``: a change sends one job to a broker, not one per rule.

Without it a price change was four jobs (five with the summary), and the load rig's
django-q2 worker, one process, fell so far behind after an outage that reads stayed
stale for 17 s (docs/benchmarks.md). ``demo_jobs.py`` runs the demo's own rules on a
recording dispatcher that batches as the broker dispatchers do.
"""

from __future__ import annotations

from pathlib import Path

from demo_process import run_script


def test_a_change_is_one_job_and_it_invalidates(tmp_path: Path) -> None:
    lines = run_script("demo_jobs.py", tmp_path, '{"change"')
    jobs = {change: [line["rule_ids"] for line in lines if line["change"] == change and "rule_ids" in line]
            for change in ("price", "review")}
    reads = [(line["change"], line["summary_status"]) for line in lines if "summary_status" in line]
    # One job per change, carrying every rule it set off: the price change reaches the
    # book's detail and summary, its author's detail and both lists.
    assert len(jobs["price"]) == 1, jobs
    assert len(jobs["price"][0]) >= 5, jobs
    assert len(jobs["review"]) == 1, jobs
    assert len(jobs["review"][0]) >= 2, jobs  # the summary, the detail, the rating, ...
    # The one job did all the work: each change made the next read a miss.
    assert reads == [
        ("before", "MISS"), ("before", "HIT"), ("price", "MISS"), ("price", "HIT"), ("review", "MISS"),
    ], reads
