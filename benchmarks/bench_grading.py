"""How long `flowcamp grade` takes on a synthetic cohort, beside its floor measured in the same run.

The cohort: N learners made from the course's solutions and its tests' alternative answers (right and wrong
mixed, some exercises left as the starter; flowcamp.grading.synthetic), each handed in as a zip, plus three
broken submissions (a corrupt archive, an archive with a path that climbs out, a learner whose first exercise
forks without end). Every exercise of the course.

The floor: the same checks of the same learners' files through the warm check runtime at the same
parallelism, with none of what grading adds: no intake, no sandbox, no gradebook, no clean-up between
submissions (one workspace per lane, its warm worker and Prefect server kept for all its learners).

    uv run python benchmarks/bench_grading.py [--learners 30] [--jobs 2] [--out docs/benchmarks/grading.md]

Also reports whether each result is what the answer deserves (a solution or a right alternative passes; a
wrong one or a starter does not), and a second run over the unchanged submissions.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from flowcamp.course import Course  # noqa: E402
from flowcamp.grading import layout, synthetic  # noqa: E402

SEED = 424242
TARGET_RATIO = 1.3

FLOOR_LANE = r"""
import json, sys, time
from pathlib import Path
from flowcamp.course import Course
from flowcamp.grading.lane import GradingWorkspace
from flowcamp.kinds import kind_of
from flowcamp.runner import run_check
from flowcamp import server, worker
cfg = json.loads(sys.argv[1])
course = Course(Path(cfg["course_root"]))
ws = GradingWorkspace(Path(cfg["ws"]), course, Path(cfg["heldout"]), cfg["seed"])
ws.root.mkdir(parents=True, exist_ok=True)
url = None
out = []
try:
    for sub in cfg["subs"]:
        manifest = json.loads((Path(sub) / "submission.json").read_text())
        present = {e.id for e in ws.load(Path(sub), manifest.get("workspace_seed") or 7)}
        for ex in course.exercises:
            if ex.id not in present:
                continue
            if kind_of(ex).needs_server and url is None:
                url = server.start(ws)
            r = run_check(ws, ex, server_url=url)
            out.append([sub, ex.id, r.status.value])
finally:
    worker.stop(ws)
    server.stop(ws)
print(json.dumps(out))
"""


def zip_folder(folder: Path, dest: Path) -> Path:
    with zipfile.ZipFile(dest, "w", zipfile.ZIP_DEFLATED) as z:
        for p in sorted(folder.rglob("*")):
            if p.is_file() and not p.is_symlink():
                z.write(p, p.relative_to(folder).as_posix())
    return dest


def build_cohort(course: Course, n: int, work: Path) -> tuple[list[synthetic.Learner], Path, Path]:
    """N learners as zips in work/subs, their unpacked layouts in work/layouts (for the floor), + 3 broken."""
    subs, layouts, cache = work / "subs", work / "layouts", work / "cache"
    for d in (subs, layouts):
        d.mkdir(parents=True, exist_ok=True)
    learners = synthetic.plan(course, n, seed=7)
    for i, learner in enumerate(learners):
        dest = layouts / f"learner{i + 1:02d}"
        synthetic.build(course, learner, dest, cache)
        zip_folder(dest, subs / f"learner{i + 1:02d}.zip")
    (subs / "broken-corrupt.zip").write_bytes(b"PK\x03\x04 not a zip at all" * 10)
    with zipfile.ZipFile(subs / "broken-slip.zip", "w") as z:
        z.writestr("submission.json", json.dumps({"format": 1, "kind": layout.KIND}))
        z.writestr("../../outside.txt", "climbing out")
    storm = synthetic.Learner("Storm", "storm@example.org", 1000, {e.id: "solution" for e in course.exercises})
    dest = layouts / "storm"  # graded by the floor too: the same checks
    synthetic.build(course, storm, dest, cache)
    first = course.exercises[0]
    target = dest / "workspace" / first.path / first.files[0]
    target.write_text("import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass\n")
    zip_folder(dest, subs / "broken-fork-storm.zip")
    return learners, subs, layouts


def floor(course: Course, layouts: Path, jobs: int, heldout: Path, work: Path) -> tuple[float, list]:
    subs = sorted(str(p) for p in layouts.iterdir())
    shares = [subs[i::jobs] for i in range(jobs)]
    started = time.perf_counter()
    procs = []
    for k, share in enumerate(shares):
        cfg = {"course_root": str(course.root), "ws": str(work / f"floor-{k}" / "ws"), "heldout": str(heldout),
               "seed": SEED, "subs": share}
        procs.append(subprocess.Popen([sys.executable, "-c", FLOOR_LANE, json.dumps(cfg)], stdout=subprocess.PIPE,
                                      stderr=subprocess.DEVNULL, text=True))
    results = []
    for p in procs:
        out, _ = p.communicate()
        if p.returncode != 0:
            raise RuntimeError(f"a floor lane failed ({p.returncode})")
        results += json.loads(out.strip().splitlines()[-1])
    return time.perf_counter() - started, results


def timed(args: list[str], **kw) -> float:
    t0 = time.perf_counter()
    done = subprocess.run(args, capture_output=True, text=True, **kw)
    if done.returncode != 0:
        raise RuntimeError(f"{args[:3]} failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return time.perf_counter() - t0


def agreement(out: Path, learners: list[synthetic.Learner], floor_results: list) -> dict:
    """How the grade's results compare with what each answer deserves, and with the floor's (same files, no
    sandbox)."""
    import duckdb

    by_email = {l.email: l for l in learners}
    with duckdb.connect(str(out / "gradebook.duckdb"), read_only=True) as con:
        rows = con.execute("SELECT s.email, r.exercise_id, r.status FROM results r JOIN submissions s "
                           "ON s.hash = r.submission_hash").fetchall()
    graded = {(email, ex_id): status for email, ex_id, status in rows}
    floor_by = {}
    for sub, ex_id, status in floor_results:
        email = json.loads((Path(sub) / "submission.json").read_text())["learner"]["email"]
        floor_by[(email, ex_id)] = status
    deserved, unexpected = 0, []
    for (email, ex_id), status in graded.items():
        learner = by_email.get(email)
        if learner is None:
            continue
        if (status == "pass") == learner.expected_pass(ex_id):
            deserved += 1
        else:
            unexpected.append(f"{email} {ex_id}: {learner.answers.get(ex_id)} -> {status}")
    same = [k for k in floor_by if (graded.get(k) == "pass") == (floor_by[k] == "pass")]
    differ = [f"{k[0]} {k[1]}: floor {floor_by[k]}, grade {graded.get(k)}" for k in floor_by if k not in same]
    return {"deserved": deserved, "known": sum(1 for k in graded if k[0] in by_email), "unexpected": unexpected,
            "same": len(same), "compared": len(floor_by), "differ": differ}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--learners", type=int, default=30)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--out", default=str(ROOT / "docs" / "benchmarks" / "grading.md"))
    ap.add_argument("--work", default=None, help="keep the cohort and grading folders here")
    args = ap.parse_args()
    course = Course(ROOT)
    work = Path(args.work) if args.work else Path(tempfile.mkdtemp(prefix="fc-bench-grading-"))
    flowcamp = str(Path(sys.executable).parent / "flowcamp")
    t0 = time.perf_counter()
    learners, subs, layouts = build_cohort(course, args.learners, work)
    built = time.perf_counter() - t0
    print(f"cohort built in {built:.0f} s: {args.learners} learners + 3 broken", flush=True)
    floors = {"python -c pass": statistics.median(timed([sys.executable, "-c", "pass"]) for _ in range(5)),
              "flowcamp --help": statistics.median(timed([flowcamp, "--help"]) for _ in range(5))}
    from flowcamp.grading.run import heldout_warehouse

    out = work / "grading"
    heldout = heldout_warehouse(work / "floor-cache", SEED)
    floor_s, floor_results = floor(course, layouts, args.jobs, heldout, work)
    print(f"floor: {floor_s:.0f} s for {len(floor_results)} checks", flush=True)
    grade_args = [flowcamp, "grade", str(subs), "--out", str(out), "--seed", str(SEED), "-j", str(args.jobs)]
    grade_s = timed(grade_args, env={**os.environ, "CI": "true"})
    print(f"grade: {grade_s:.0f} s", flush=True)
    again_s = timed(grade_args, env={**os.environ, "CI": "true"})
    print(f"second run: {again_s:.1f} s", flush=True)
    agree = agreement(out, learners, floor_results)
    ratio = grade_s / floor_s
    lines = [
        "# Grading a cohort: benchmark",
        "",
        f"Measured {date.today().isoformat()} on {platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}, by `benchmarks/bench_grading.py --learners {args.learners} --jobs {args.jobs}`.",
        "",
        f"The cohort: {args.learners} learners made from the solutions and the tests' alternative answers "
        "(right and wrong mixed, some exercises left as the starter), each a zip, plus 3 broken submissions (a "
        f"corrupt archive, a path that climbs out, a fork storm); every exercise of the course ({len(course.exercises)}).",
        "The floor: the same checks of the same files through the warm check runtime at the same parallelism, "
        "without intake, sandbox, gradebook or clean-up between submissions.",
        "",
        "| | seconds |",
        "|---|---|",
        f"| `flowcamp grade` ({args.jobs} lanes) | {grade_s:.0f} |",
        f"| floor: the same checks, warm runtime, {args.jobs} at once | {floor_s:.0f} |",
        f"| ratio (target <= {TARGET_RATIO}) | {ratio:.2f} ({'met' if ratio <= TARGET_RATIO else 'not met'}) |",
        f"| second run, submissions unchanged | {again_s:.1f} |",
        f"| `python -c pass` | {floors['python -c pass']:.2f} |",
        f"| `flowcamp --help` | {floors['flowcamp --help']:.2f} |",
        "",
        f"Results as the answers deserve: {agree['deserved']} of {agree['known']}"
        + (f"; not as expected: {'; '.join(agree['unexpected'][:10])}" if agree["unexpected"] else "."),
        f"Same verdict as the floor (no sandbox): {agree['same']} of {agree['compared']}"
        + (f"; different: {'; '.join(agree['differ'][:10])}" if agree["differ"] else "."),
        "",
        f"Building the cohort (not timed above): {built:.0f} s.",
    ]
    text = "\n".join(lines) + "\n"
    Path(args.out).write_text(text, encoding="utf-8")
    print(text)
    if not args.work:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
