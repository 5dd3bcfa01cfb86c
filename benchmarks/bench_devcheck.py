"""How long `flowcamp dev check` takes, before the check runtime (issue 7) and now.

`flowcamp dev check` proves, for every exercise, that its starter fails and its solution passes, in a throwaway
workspace with a Prefect server of its own: a course author runs it after every change. "Before" is the last
commit before the check runtime (learner code then ran inside the check process; no warm worker). It had 12
exercises, so both sides are timed on those 12, and now also on the whole course.

    uv run python benchmarks/bench_devcheck.py [--runs 3] [--before 69c3bf3] [--out docs/benchmarks/dev-check.md]

The "before" side is a git worktree of that commit in a temporary folder, with its own `uv sync` (its lock
file's packages: from uv's cache, or the network the first time). Each side runs once to warm the disk caches,
then --runs times; the median is reported. Writes a markdown page and prints it.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BEFORE = "69c3bf3"  # "Site asks the exercise's kind for its words": the engine redesign done, issue 7 not begun


def _ids(repo: Path) -> list[str]:
    """The course's exercise ids in course order (the order `dev check` uses), read the way either version
    keeps them: one exercise.toml per exercise folder."""
    import tomllib

    ids = []
    for toml in sorted((repo / "exercises").glob("*/*/exercise.toml")):
        ids.append(tomllib.loads(toml.read_text(encoding="utf-8"))["id"])
    return ids


def _worktree(rev: str, where: Path) -> Path:
    subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--force", "--detach", str(where), rev],
                   check=True, capture_output=True, text=True)
    print(f"uv sync in the worktree of {rev} (its own lock file)...", flush=True)
    done = subprocess.run(["uv", "sync", "--quiet"], cwd=where, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"uv sync failed in {where}: {done.stderr[-1500:]}\n"
                         "Its packages are not in uv's cache: run once with the network on.")
    return where


def _dev_check(repo: Path, ids: list[str]) -> float:
    env = {**os.environ, "CI": "true"}
    env.pop("FLOWCAMP_WORKSPACE", None)
    t0 = time.perf_counter()
    done = subprocess.run([str(repo / ".venv" / "bin" / "flowcamp"), "dev", "check", *ids], cwd=repo, env=env,
                          capture_output=True, text=True, stdin=subprocess.DEVNULL)
    took = time.perf_counter() - t0
    if done.returncode != 0:
        raise SystemExit(f"`flowcamp dev check` failed in {repo}:\n{done.stdout[-3000:]}\n{done.stderr[-2000:]}")
    return took


def _timed(label: str, repo: Path, ids: list[str], runs: int) -> list[float]:
    _dev_check(repo, ids)  # warm-up: disk caches, .pyc files
    times = []
    for i in range(runs):
        times.append(_dev_check(repo, ids))
        print(f"  {label}: run {i + 1}/{runs} {times[-1]:.1f} s", flush=True)
    return times


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--before", default=BEFORE, help="the commit to compare with")
    ap.add_argument("--out", default=str(ROOT / "docs" / "benchmarks" / "dev-check.md"))
    args = ap.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="flowcamp-bench-devcheck-"))
    try:
        before = _worktree(args.before, tmp / "before")
        old_ids, all_ids = _ids(before), _ids(ROOT)
        missing = [i for i in old_ids if i not in all_ids]
        if missing:
            raise SystemExit(f"exercises of {args.before} no longer in the course: {missing}")
        rows = []
        for label, repo, ids in ((f"before ({args.before}), its {len(old_ids)} exercises", before, old_ids),
                                 (f"now, the same {len(old_ids)} exercises", ROOT, old_ids),
                                 (f"now, the whole course ({len(all_ids)} exercises)", ROOT, all_ids)):
            print(f"{label}...", flush=True)
            times = _timed(label, repo, ids, args.runs)
            rows.append((label, times, len(ids)))
    finally:
        subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(tmp / "before")],
                       capture_output=True)
        shutil.rmtree(tmp, ignore_errors=True)

    lines = [
        "# Benchmark: `flowcamp dev check`, before and after the check runtime",
        "",
        f"Measured on {date.today().isoformat()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"with `benchmarks/bench_devcheck.py`: one run to warm up, then {args.runs} (median; min-max in "
        "brackets). `flowcamp dev check` makes a throwaway workspace and a Prefect server of its own, then checks "
        "every exercise's starter (it must fail) and solution (it must pass). \"Before\" is commit "
        f"`{args.before}`, the last one before the check runtime, when learner code ran inside the check's own "
        "process and every check started a cold Python.",
        "",
        "| what | exercises | median | range | per exercise |",
        "|---|---|---|---|---|",
    ]
    for label, times, n in rows:
        med = statistics.median(times)
        lines.append(f"| {label} | {n} | **{med:.1f} s** | {min(times):.1f}-{max(times):.1f} s | {med / n:.2f} s |")
    lines += [
        "",
        "Now, each exercise's two checks run in learner processes forked from a warm parent, and a course "
        "author's dev check starts its own warm check worker as a learner's workspace does. The whole course "
        "also holds the exercises added since (secrets, orchestration, deployments), whose checks run flows, "
        "Prefect workers, pre-commit hooks and CI steps.",
        "",
    ]
    out = Path(args.out)
    out.write_text("\n".join(lines), encoding="utf-8")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
