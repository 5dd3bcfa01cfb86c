"""The same synthetic cohort graded twice: on this machine (`flowcamp grade -j N`) and on a Dask cluster
(`flowcamp grade --dask ADDRESS`, a local cluster of one worker process with N threads), then compared result by
result and check by check.

    uv run python benchmarks/bench_grading_dask.py [--learners 8] [--jobs 2] [--out docs/benchmarks/grading-dask.md]

Both runs report to one Prefect server started before the clock starts, so neither pays a server start. The Dask
run also pays what the local run does not: packing each submission into an archive that travels with its task,
and each worker building the held-out data from the seed itself.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_grading import SEED, build_cohort, timed  # noqa: E402

from flowcamp.course import Course  # noqa: E402


def results(out: Path) -> dict[tuple[str, str], tuple]:
    import duckdb

    with duckdb.connect(str(out / "gradebook.duckdb"), read_only=True) as con:
        rows = con.execute("SELECT s.hash, r.exercise_id, r.status, r.score, r.doc FROM results r JOIN submissions s "
                           "ON s.hash = r.submission_hash").fetchall()
    out_ = {}
    for h, ex, status, score, doc in rows:
        d = json.loads(doc) if isinstance(doc, str) else doc
        out_[(h, ex)] = (status, score, tuple((c.get("name"), c.get("status")) for c in d.get("checks") or []))
    return out_


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--learners", type=int, default=8)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--out", default=str(ROOT / "docs" / "benchmarks" / "grading-dask.md"))
    args = ap.parse_args()
    from distributed import LocalCluster

    from flowcamp import server
    from flowcamp.workspace import Workspace

    course = Course(ROOT)
    work = Path(tempfile.mkdtemp(prefix="fc-bench-dask-"))
    flowcamp = str(Path(sys.executable).parent / "flowcamp")
    learners, subs, _ = build_cohort(course, args.learners, work)
    print(f"cohort built: {args.learners} learners + 3 broken", flush=True)
    ws = Workspace(work / "prefect", course)
    api = server.start(ws) + "/api"
    env = {**os.environ, "CI": "true"}
    try:
        base = [flowcamp, "grade", str(subs), "--seed", str(SEED), "--prefect-api", api, "--no-export"]
        local_s = timed([*base, "--out", str(work / "local"), "-j", str(args.jobs)], env=env)
        print(f"local: {local_s:.0f} s", flush=True)
        with LocalCluster(n_workers=1, threads_per_worker=args.jobs, processes=True,
                          dashboard_address=":0") as cluster:
            dask_s = timed([*base, "--out", str(work / "dask"), "--dask", cluster.scheduler_address], env=env)
        print(f"dask: {dask_s:.0f} s", flush=True)
    finally:
        server.stop(ws)
    here, there = results(work / "local"), results(work / "dask")
    same = [k for k in here if there.get(k) == here[k]]
    def why(k) -> str:
        a, b = here[k], there.get(k)
        if b is None:
            return f"{k[1]} of {k[0][:8]} (missing on Dask)"
        checks = [f"{n}: {s1} here, {s2} on Dask" for (n, s1), (_, s2) in zip(a[2], b[2]) if s1 != s2]
        return f"{k[1]} of {k[0][:8]} ({a[0]} {a[1]:g} here, {b[0]} {b[1]:g} on Dask; {'; '.join(checks) or 'checks differ'})"

    differ = [why(k) for k in here if k not in same]
    lines = [
        "# Grading on a Dask cluster: benchmark",
        "",
        f"Measured {date.today().isoformat()} on {platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}, by `benchmarks/bench_grading_dask.py --learners {args.learners} --jobs "
        f"{args.jobs}`.",
        "",
        f"The cohort: {args.learners} synthetic learners (solutions, right and wrong alternatives, starters) + 3 "
        f"broken submissions, every exercise of the course ({len(course.exercises)}). The Dask cluster is local "
        f"(one worker process, {args.jobs} threads), so both runs use the same {os.cpu_count()} cores: the figure "
        "shows what the Dask path costs, not what more machines gain.",
        "",
        "| | seconds |",
        "|---|---|",
        f"| `flowcamp grade -j {args.jobs}` (this machine) | {local_s:.0f} |",
        f"| `flowcamp grade --dask ADDRESS` (local cluster, {args.jobs} threads) | {dask_s:.0f} |",
        f"| ratio | {dask_s / local_s:.2f} |",
        "",
        f"Same result (status, score and every check's verdict): {len(same)} of {len(here)}"
        + (f"; different: {'; '.join(differ[:10])}" if differ else "."),
    ]
    text = "\n".join(lines) + "\n"
    Path(args.out).write_text(text, encoding="utf-8")
    print(text)
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
