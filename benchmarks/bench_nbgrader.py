"""The nbgrader route beside flowcamp's own: the same submissions of the notebook exercise graded by
`flowcamp grade -e <exercise> -j 1` and by nbgrader's `autograde` (which grades one notebook at a time), and,
labelled as such, `flowcamp grade -j 2`. Per submission: each run's wall time / the number of submissions; the
median of N runs after one warm-up run (the three take turns, so a busy moment on a shared machine slows all
three alike). Floors measured in the same run: `python -c pass`, `flowcamp --help`, `import nbgrader` and
`jupyter nbconvert --help`.

The cohort: N synthetic learners (flowcamp.grading.synthetic: solutions, right and wrong alternatives, starters)
for the notebook exercise only. nbgrader's side: `flowcamp nbgrader course` and `collect` once, then
`nbgrader generate_assignment` once, then each run `nbgrader autograde --force` from an empty autograded/.

    uv run python benchmarks/bench_nbgrader.py [--learners 30] [--runs 3] [--out docs/benchmarks/nbgrader.md]

With FLOWCAMP_TRACE set (see flowcamp.proc.trace) the flowcamp runs also leave a trace of where time goes.
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
sys.path.insert(0, str(ROOT / "src"))

from flowcamp import server  # noqa: E402
from flowcamp.course import Course  # noqa: E402
from flowcamp.grading import nbgrader_route as route  # noqa: E402
from flowcamp.grading import synthetic  # noqa: E402
from flowcamp.workspace import Workspace  # noqa: E402

SEED = 31337  # flowcamp grade's held-out seed
COURSE_SEED = 27182  # the nbgrader course's warehouse
BIN = Path(sys.executable).parent


def jupyter_env(base: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JUPYTER", "IPYTHON"))}
    for var, sub in (("JUPYTER_CONFIG_DIR", "config"), ("JUPYTER_DATA_DIR", "data"), ("IPYTHONDIR", "ipython"),
                     ("JUPYTER_RUNTIME_DIR", "runtime")):
        env[var] = str(base / sub)
    env["JUPYTER_PLATFORM_DIRS"] = "1"
    env["PATH"] = str(BIN) + os.pathsep + env.get("PATH", "")
    return env


def timed(cmd: list[str], cwd: Path, env: dict | None = None, before=None) -> float:
    if before:
        before()
    start = time.perf_counter()
    done = subprocess.run(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    took = time.perf_counter() - start
    if done.returncode != 0:
        raise RunFailed(f"{' '.join(cmd)} failed ({done.returncode}):\n{done.stdout[:1500]}\n...\n"
                        f"{done.stdout[-3000:]}")
    return took


class RunFailed(Exception):
    pass


FAILURES: list[str] = []


def once_more_if_failed(name: str, fn) -> float:
    """A run that fails is reported (its output kept for the figures' page) and tried once more."""
    try:
        return fn()
    except RunFailed as e:
        FAILURES.append(f"{name}: {e}")
        print(f"a run failed, trying once more: {e}", file=sys.stderr)
        return fn()


def measure(name: str, runs: int, fn) -> dict:
    fn()  # warm-up
    times = [fn() for _ in range(runs)]
    return summary(name, times)


def summary(name: str, times: list[float]) -> dict:
    return {"name": name, "median": statistics.median(times), "min": min(times), "max": max(times)}


def interleaved(named: list[tuple[str, object]], runs: int) -> list[dict]:
    """One warm-up run of each, then `runs` rounds of one run of each in turn: on a shared machine, a busy minute
    slows all of them, not just the one that happened to run then."""
    for name, fn in named:
        once_more_if_failed(name, fn)
    times: list[list[float]] = [[] for _ in named]
    for _ in range(runs):
        for i, (name, fn) in enumerate(named):
            times[i].append(once_more_if_failed(name, fn))
    return [summary(name, t) for (name, _), t in zip(named, times)]


def main() -> None:
    # As on an instructor's machine: every Python here may cache its bytecode (flowcamp's own children always
    # do; with PYTHONDONTWRITEBYTECODE set, nbgrader and its kernels would compile their imports every run).
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    ap = argparse.ArgumentParser()
    ap.add_argument("--learners", type=int, default=30)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--out", type=Path, default=None, help="write the figures as Markdown here")
    args = ap.parse_args()
    course = Course(ROOT)
    ex = route.notebook_exercises(course)[0]
    base = Path(tempfile.mkdtemp(prefix="bench-nbgrader-"))
    try:
        subs, nbc, env = base / "submissions", base / "course", jupyter_env(base / "jupyter")
        learners = synthetic.plan(course, args.learners, seed=7, exercises=[ex])
        for i, learner in enumerate(learners):
            synthetic.build(course, learner, subs / f"{i:02d}", base / "cache", [ex])
        mix = {}
        for learner in learners:
            kind = learner.answers[ex.id].split("-")[0]
            mix[kind] = mix.get(kind, 0) + 1
        route.build_course(course, nbc, seed=COURSE_SEED)
        route.collect(course, nbc, [str(subs)])
        timed([str(BIN / "nbgrader"), "generate_assignment", ex.id, "--force"], nbc, env)
        n = len(learners)
        py = [sys.executable]
        rows = [
            measure("floor: `python -c pass`", args.runs, lambda: timed([*py, "-c", "pass"], ROOT)),
            measure("floor: `flowcamp --help`", args.runs, lambda: timed([*py, "-m", "flowcamp.cli", "--help"], ROOT)),
            measure("floor: `import nbgrader`", args.runs, lambda: timed([*py, "-c", "import nbgrader"], ROOT)),
            measure("floor: `jupyter nbconvert --help`", args.runs,
                    lambda: timed([str(BIN / "jupyter"), "nbconvert", "--help"], ROOT, env)),
        ]

        def autograde() -> float:
            return timed([str(BIN / "nbgrader"), "autograde", ex.id, "--force"], nbc, env,
                         before=lambda: shutil.rmtree(nbc / "autograded", ignore_errors=True))

        def grade(jobs: int, api: str | None, out: Path):
            def run() -> float:
                try:
                    return timed([*py, "-m", "flowcamp.cli", "grade", str(subs), "--out", str(out), "-e", ex.id,
                                  "-j", str(jobs), "--seed", str(SEED), "--no-export",
                                  *(["--prefect-api", api] if api else [])], ROOT,
                                 before=lambda: shutil.rmtree(out, ignore_errors=True))
                finally:
                    server.stop(Workspace(out, course))  # a grading folder's own server, if it started one
            return run

        # flowcamp grade reports to a Prefect server (the grading folder's own, started on first use and kept
        # running between runs). A new folder pays for its start once: measured on its own, then every timed
        # run reports to one server that is already up, as a grading folder's second run does.
        cold = grade(1, None, base / "grading-cold")()
        helps = subprocess.run([*py, "-m", "flowcamp.cli", "grade", "--help"], cwd=ROOT, capture_output=True,
                               text=True, env={**os.environ, "COLUMNS": "200"}).stdout
        holder = Workspace(base / "prefect", course)
        start = time.perf_counter()
        url = server.start(holder) if "--prefect-api" in helps else None  # older flowcamp grade: no server
        server_start = time.perf_counter() - start
        try:
            cohort = interleaved([
                (f"nbgrader autograde (one at a time), {n} submissions", autograde),
                (f"flowcamp grade -e {ex.id} -j 1, {n} submissions", grade(1, url and url + "/api",
                                                                            base / "grading-j1")),
                (f"flowcamp grade -e {ex.id} -j 2 (both cores; nbgrader has no such option), {n} submissions",
                 grade(2, url and url + "/api", base / "grading-j2")),
            ], args.runs)
        finally:
            server.stop(holder)
    finally:
        shutil.rmtree(base, ignore_errors=True)
    lines = [f"Measured on {date.today().isoformat()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
             f"{platform.system()} {platform.release()}; median of {args.runs} runs after one warm-up run, "
             "the three graders taking turns "
             f"(min-max in brackets), with `benchmarks/bench_nbgrader.py --learners {args.learners} --runs "
             f"{args.runs}`. Cohort: {n} submissions of `{ex.id}` ("
             + ", ".join(f"{v} {k}" for k, v in sorted(mix.items())) + ").", "",
             "| what | whole run | per submission |", "|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['name']} | {r['median']:.2f} s [{r['min']:.2f}-{r['max']:.2f}] | |")
    for r in cohort:
        lines.append(f"| {r['name']} | {r['median']:.1f} s [{r['min']:.1f}-{r['max']:.1f}] | "
                     f"{r['median'] / n:.2f} s |")
    lines.append(f"| flowcamp grade -j 1 in a new grading folder (its Prefect server started in the run), one "
                 f"run | {cold:.1f} s | {cold / n:.2f} s |")
    lines.append(f"| a Prefect server start on its own (once per grading folder) | {server_start:.1f} s | |")
    nbg, fc1, fc2 = (r["median"] / n for r in cohort)
    lines += ["", f"flowcamp -j 1 / nbgrader, per submission: {fc1 / nbg:.2f}x (target: at most 1.00x); "
                  f"flowcamp -j 2 / nbgrader: {fc2 / nbg:.2f}x; a new grading folder's first run, -j 1: "
                  f"{cold / n / nbg:.2f}x."]
    if FAILURES:
        lines += ["", f"{len(FAILURES)} run(s) failed and were run again (not in the figures):", ""]
        lines += ["    " + line for f in FAILURES for line in f.splitlines()[-12:]]
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out:
        args.out.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
