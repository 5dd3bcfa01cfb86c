"""How long `flowcamp check` takes, per exercise kind, beside the floors measured in the same run.

Floors: a bare `python -c "import prefect"`, and running the Prefect exercise's solution flow the default
way (no PREFECT_API_URL, so Prefect starts a temporary server in that process).

    uv run python benchmarks/bench_checks.py [--runs 5] [--out docs/benchmarks/checks.md]

Writes a markdown table to docs/benchmarks/checks.md (shown on the course site) and prints it.
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

from flowcamp import curriculum, server  # noqa: E402
from flowcamp.kinds import kind_of  # noqa: E402
from flowcamp.course import Course  # noqa: E402
from flowcamp.workspace import Workspace  # noqa: E402

FLOWCAMP = [sys.executable, "-m", "flowcamp"]  # what the `flowcamp` command runs (flowcamp.launch)
TARGETS = {"prefect": 2.5, "notebook": 2.0}
# Exercises with a target of their own, because the check must run the learner's own tooling or wait as long as
# the lesson asks: a deployment run by a real worker, a learner's tests run on seven copies of a pipeline
# (issue 11), a CI workflow's steps run in a clean copy, the learner's pre-commit hook run three times in a
# fresh clone, and a flow whose task retries twice, one second apart (2.5 s + those 2 s).
EXERCISE_TARGETS = {"deploy-schedule": 10.0, "test-flow": 10.0, "retries-alerts": 4.5}
# Two run the learner's own tools (uv, pytest, pre-commit, detect-secrets), several times: that work is a floor
# no check can go under (3.9 s for review-ci's on a slow 2-core machine). It is measured in the same run, by
# hand (see tools_by_hand), and the target is that floor plus the margin the issue gives a Prefect check over
# `import prefect`: what the check itself adds.
TOOL_MARGIN = 0.6
TOOL_FLOORS = {"review-ci": "the workflow's steps by hand, three runs (a fresh .venv first)",
               "leaked-secret": "the hook by hand: `pre-commit install` and four commits (three stopped)"}
OTHER_TARGET = 0.6
# On a slower machine: the same margins over the floors measured in the same run (issue 7).
MARGINS = {"prefect": ("`import prefect`", 0.6), "code": ("`flowcamp --help`", 0.25),
           "git": ("`flowcamp --help`", 0.25)}


def timed(args, env=None, cwd=None) -> float:
    t0 = time.perf_counter()
    proc = subprocess.run(args, env=env, cwd=cwd, capture_output=True, text=True)
    dt = time.perf_counter() - t0
    if proc.returncode not in (0,):
        raise RuntimeError(f"{args} failed ({proc.returncode}):\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")
    return dt


def wait_for_worker(ws: Workspace, timeout: float = 120.0) -> None:
    """Until the workspace's warm check worker answers (as it does a few seconds after a learner's first check)."""
    import json

    from flowcamp import services, worker

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        entry = services.service(ws, worker.SERVICE)
        try:
            info = json.loads((ws.state_dir / "worker.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            info = {}
        if services.alive(entry) and info.get("pid") == entry["pid"]:
            return
        time.sleep(0.2)
    raise RuntimeError("the warm check worker did not start")


def _git(cwd: Path, *args: str) -> None:
    who = {"GIT_AUTHOR_NAME": "Bench", "GIT_AUTHOR_EMAIL": "bench@example.org",
           "GIT_COMMITTER_NAME": "Bench", "GIT_COMMITTER_EMAIL": "bench@example.org"}
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, env={**os.environ, **who})


def tools_by_hand(ws: Workspace, ex, tmp: Path, env: dict) -> float:
    """One run of what the check of ``ex`` runs of the learner's own tools, typed by hand in a copy of the
    solved exercise: no check around it (its copies, clones and git repositories are made before the clock)."""
    work = tmp / f"by-hand-{ex.id}"
    shutil.rmtree(work, ignore_errors=True)
    if ex.id == "review-ci":
        shutil.copytree(ws.exercise_dir(ex) / "project", work,
                        ignore=shutil.ignore_patterns(".venv", "__pycache__", ".git", ".pytest_cache"))
        _git(work, "init", "-q", "-b", "main")
        _git(work, "add", "-A")
        _git(work, "commit", "-q", "--no-verify", "-m", "pull request")
        steps = ["uv sync --locked -q", "uv run pytest -q",
                 "git ls-files -z | xargs -0 uv run detect-secrets-hook --baseline .secrets.baseline"]
        runs = [steps, steps[:2], steps]  # the unchanged project, the planted bug (fails at the tests), the secret
        # Python's compiled files kept from one measurement to the next, as the check keeps them (a fresh
        # .venv each time, but not a fresh compile of pytest and DuckDB).
        cenv = {**env, "UV_OFFLINE": "1", "CI": "true", "PYTHONPYCACHEPREFIX": str(tmp / "by-hand-pycache")}
        cenv.pop("VIRTUAL_ENV", None)
        t0 = time.perf_counter()
        codes = [subprocess.run(["bash", "-ec", " && ".join(run)], cwd=work, env=cenv, capture_output=True).returncode
                 for run in runs]
        took = time.perf_counter() - t0
        if codes != [0, 0, 0]:  # the unchanged project passes every step (the planted changes are not made here)
            raise RuntimeError(f"review-ci's steps by hand failed: {codes}")
        return took
    # leaked-secret: a fresh clone, `pre-commit install`, then three commits one after another
    _git(tmp, "clone", "-q", "--template=", str(ws.exercise_dir(ex) / "pipeline"), str(work))
    henv = {**env, "PRE_COMMIT_HOME": str(tmp / "pre-commit-cache"), "UV_OFFLINE": "1", "UV_PROJECT": str(ROOT),
            "GIT_AUTHOR_NAME": "Bench", "GIT_AUTHOR_EMAIL": "bench@example.org",
            "GIT_COMMITTER_NAME": "Bench", "GIT_COMMITTER_EMAIL": "bench@example.org"}
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "pre_commit", "install"], cwd=work, env=henv, capture_output=True,
                   check=True)
    codes = []
    for name, text in (("a.py", 'API_KEY = "aZ8kQ2mP9vL3nR7tQx7"\n'),
                       ("b.yml", "warehouse:\n  password: hQ3xZ9mK2pL7vR4wQx7\n"),
                       ("c.sh", 'psql "postgresql://etl:pZ4kW8nQ2xR6tY1mQx7@db.example.org/events"\n'),
                       ("d.sql", "SELECT 1;\n")):
        (work / name).write_text(text, encoding="utf-8")
        _git(work, "add", name)
        codes.append(subprocess.run(["git", "commit", "-q", "-m", f"add {name}"], cwd=work, env=henv,
                                    capture_output=True).returncode)
        if codes[-1]:
            _git(work, "reset", "-q")
            (work / name).unlink()
    took = time.perf_counter() - t0
    if [bool(c) for c in codes] != [True, True, True, False]:  # the three secrets stopped, the SQL committed
        raise RuntimeError(f"leaked-secret's hook by hand did not behave: exit codes {codes}")
    return took


def median_of(fn, runs: int) -> tuple[float, list[float]]:
    times = [fn() for _ in range(runs)]
    return statistics.median(times), times


def watch_save_to_verdict(ws: Workspace, env: dict, runs: int) -> float:
    """`flowcamp watch` on the code exercise: from saving a fixed file to the verdict on screen (median)."""
    ex = next(e for e in ws.course.exercises if e.kind == "code")
    target = ws.exercise_dir(ex) / ex.files[0]
    fixed = (ex.solution_dir / ex.files[0]).read_text(encoding="utf-8")
    broken = (ex.source_dir / ex.files[0]).read_text(encoding="utf-8")
    times = []
    for _ in range(runs + 1):
        target.write_text(broken, encoding="utf-8")
        child = subprocess.Popen([*FLOWCAMP, "watch", ex.id, "--once"], env={**env, "COLUMNS": "200"},
                                 stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        for line in child.stdout:
            if "save a file to check again" in line:
                break
        time.sleep(0.5)  # as a person would: the watcher is waiting before they save
        t0 = time.perf_counter()
        target.write_text(fixed, encoding="utf-8")
        for line in child.stdout:
            if line.startswith("PASS"):
                break
        times.append(time.perf_counter() - t0)
        child.wait(timeout=60)
    return statistics.median(times[1:])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--out", default=str(ROOT / "docs" / "benchmarks" / "checks.md"))
    ap.add_argument("--only", default="", help="comma-separated exercise ids (for profiling; prints, writes nothing)")
    args = ap.parse_args()

    course = Course(ROOT)
    rows = []
    floors = []
    tool_floors: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="flowcamp-bench-") as tmp:
        tmp = Path(tmp)
        ws = Workspace(tmp / "ws", course)
        ws.init(seed=4242)
        gitenv = curriculum.no_global_git_env(tmp)
        # As on a learner's computer: Python keeps its compiled files (some shells here turn that off).
        learner_env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        env = {**learner_env, **gitenv, "FLOWCAMP_WORKSPACE": str(ws.root), "CI": "true"}
        # As on a learner's machine: Python may cache bytecode (some sandboxes switch that off globally).
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        os.environ.update(gitenv)
        print("starting the workspace's Prefect server...", flush=True)
        t0 = time.perf_counter()
        server.start(ws)
        server_start = time.perf_counter() - t0
        cold_env = {**env, "FLOWCAMP_WORKER": "0"}
        try:
            only = [x for x in args.only.split(",") if x]
            for ex in course.exercises:
                if only and ex.id not in only:
                    continue
                kind_of(ex).apply_solution(ws, ex, gitenv)
                # One warm-up run builds the held-out warehouse, as a learner's first check does.
                warm = timed([*FLOWCAMP, "check", ex.id, "--json"], env=env)
                wait_for_worker(ws)  # it starts in the background after the first check
                timed([*FLOWCAMP, "check", ex.id, "--json"], env=env)
                med, times = median_of(lambda: timed([*FLOWCAMP, "check", ex.id, "--json"], env=env), args.runs)
                cold, _ = median_of(lambda: timed([*FLOWCAMP, "check", ex.id, "--json"], env=cold_env), args.runs)
                if ex.id in TOOL_FLOORS:
                    tools_by_hand(ws, ex, tmp, env)  # a warm-up, as for the check
                    hand, _ = median_of(lambda: tools_by_hand(ws, ex, tmp, env), args.runs)
                    tool_floors[ex.id] = hand
                    print(f"{ex.id:<22} by hand {hand:5.2f}s", flush=True)
                target = EXERCISE_TARGETS.get(ex.id, TARGETS.get(ex.kind, OTHER_TARGET))
                if ex.id in tool_floors:
                    target = round(tool_floors[ex.id] + TOOL_MARGIN, 2)
                rows.append((ex.id, ex.kind, warm, med, min(times), max(times), target, cold))
                print(f"{ex.id:<22} {ex.kind:<9} first {warm:5.2f}s  median {med:5.2f}s  cold {cold:5.2f}s",
                      flush=True)

            if only:
                return
            watch = watch_save_to_verdict(ws, env, args.runs)
            print(f"watch: save to verdict {watch:.2f}s", flush=True)
            flow_id = next((e.id for e in course.exercises if e.kind == "prefect"), None)
            restart = None
            if flow_id:  # the first Prefect check after `flowcamp server stop` (its database already set up)
                server.stop(ws)
                restart = timed([*FLOWCAMP, "check", flow_id, "--json"], env=env)
                print(f"first Prefect check after a server stop: {restart:.2f}s", flush=True)
            penv = learner_env
            timed([sys.executable, "-c", "import prefect"], env=penv)  # writes bytecode once
            med, _ = median_of(lambda: timed([sys.executable, "-c", "import prefect"], env=penv), args.runs)
            floors.append(("`python -c \"import prefect\"`", med))
            med, _ = median_of(lambda: timed([sys.executable, "-c", "import pytest"], env=penv), args.runs)
            floors.append(("`python -c \"import pytest\"`", med))
            med, _ = median_of(lambda: timed([sys.executable, "-c", "pass"], env=penv), args.runs)
            floors.append(("`python -c pass`", med))
            med, _ = median_of(lambda: timed([*FLOWCAMP, "--help"], env=env), args.runs)
            floors.append(("`flowcamp --help` (the CLI's own start-up)", med))

            flow_ex = next((e for e in course.exercises if e.kind == "prefect"), None)
            if flow_ex is not None:
                home = tmp / "default-prefect-home"
                denv = {k: v for k, v in os.environ.items()
                        if not k.startswith("PREFECT_") and k != "PYTHONDONTWRITEBYTECODE"}
                denv.update({"PREFECT_HOME": str(home), "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
                             # Prefect's default (20 s) is too short for a temporary server on a slow machine.
                             "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "180",
                             "FLOWCAMP_WAREHOUSE": str(tmp / "default-run.duckdb")})
                from flowcamp import warehouse as wh

                wh.build(tmp / "default-run.duckdb", seed=4243)
                # A folder of its own: the exercise folder's prefect.toml would point the run at the workspace's
                # server, which is the point of it, but not what this floor measures.
                alone = tmp / "default-way"
                alone.mkdir()
                script = alone / flow_ex.files[0]
                shutil.copyfile(ws.exercise_dir(flow_ex) / flow_ex.files[0], script)
                first = timed([sys.executable, str(script)], env=denv, cwd=script.parent)
                med, _ = median_of(lambda: timed([sys.executable, str(script)], env=denv, cwd=script.parent),
                                   max(3, args.runs // 2))
                floors.append((f"`python {flow_ex.files[0]}` the default way (temporary server), first run", first))
                floors.append((f"`python {flow_ex.files[0]}` the default way (temporary server), later runs", med))
            floors.append(("starting the workspace's Prefect server (`flowcamp server start`, fresh home)",
                           server_start))
        finally:
            server.stop_everything(ws)

    lines = [
        "# Benchmark: how long a check takes",
        "",
        f"Measured on {date.today().isoformat()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"{args.runs} runs each (median; min-max in brackets), with `benchmarks/bench_checks.py`. "
        "Each check runs the exercise's solution through the real command, `python -m flowcamp check ID "
        "--json` (what `flowcamp` runs; add about 0.1 s for `uv run`). The first check of an exercise also builds the held-out "
        "warehouse or the nbgrader gradebook; the Prefect server is already running, as it is after a "
        "learner's first Prefect check.",
        "",
        "| exercise | kind | first check | median (warm worker) | range | target | met | median, cold (no worker) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    floor_of = {"`import prefect`": next((t for w, t in floors if "import prefect" in w), None),
                "`flowcamp --help`": next((t for w, t in floors if "--help" in w), None)}
    margins = []
    for ex_id, kind, warm, med, lo, hi, target, cold in rows:
        lines.append(f"| `{ex_id}` | {kind} | {warm:.2f} s | **{med:.2f} s** | {lo:.2f}-{hi:.2f} s | "
                     f"<= {target:g} s | {'yes' if med <= target else 'no'} | {cold:.2f} s |")
        own_target = ex_id in EXERCISE_TARGETS or ex_id in tool_floors
        if not own_target and kind in MARGINS and floor_of.get(MARGINS[kind][0]) is not None:
            limit = floor_of[MARGINS[kind][0]] + MARGINS[kind][1]
            margins.append(f"| `{ex_id}` | {med:.2f} s | {MARGINS[kind][0]} + {MARGINS[kind][1]:g} s = {limit:.2f} s | "
                           f"{'yes' if med <= limit else 'no'} |")
    if margins:
        lines += ["", "The issue's rule for slower machines: the same margin over a floor measured in this run "
                      "(none for exercises with a target of their own).", "",
                  "| exercise | median | floor + margin | met |", "|---|---|---|---|", *margins]
    if tool_floors:
        lines += ["", "Two checks run the learner's own tools: the work those tools do is a floor no check can go "
                      "under. Measured in the same run, by hand, in a copy of the solved exercise (median); each "
                      f"one's target above is that floor + {TOOL_MARGIN:g} s:", "",
                  "| exercise | check, median | the same tools by hand | the check's own time |", "|---|---|---|---|"]
        for ex_id, kind, warm, med, lo, hi, target, cold in rows:
            if ex_id in tool_floors:
                lines.append(f"| `{ex_id}` | {med:.2f} s | {TOOL_FLOORS[ex_id]}: {tool_floors[ex_id]:.2f} s | "
                             f"{med - tool_floors[ex_id]:+.2f} s |")
    lines += ["", f"`flowcamp watch` on `check-loop`, from saving the fixed file to the verdict on screen: "
              f"**{watch:.2f} s** median (target <= 1 s)."]
    if restart is not None:
        lines += ["", f"The first Prefect check after `flowcamp server stop` (the server restarts on its existing "
                      f"database): **{restart:.2f} s** (target <= 6 s)."]
    lines += [""]
    lines += ["", "Floors, measured in the same run:", "", "| what | median |", "|---|---|"]
    for what, t in floors:
        lines.append(f"| {what} | {t:.2f} s |")
    lines += [
        "",
        "Why a check is fast although the learner's code runs in a process of its own: the workspace's warm "
        "check worker has imported pytest, the plugin, DuckDB and Prefect once and forks a fresh check "
        "process for each check; beside it waits a learner parent that has imported DuckDB and Prefect, "
        "which forks a learner process in milliseconds. A Prefect check talks to the workspace's long-lived "
        "Prefect server instead of starting a temporary one, switches the flow-run heartbeat off, and keeps "
        "a slow optional import (`rfc3987_syntax`, pulled in by the Jupyter stack) out of every process. "
        "Held-out warehouses are built at scale 0.25 (Prefect walks every value a flow hands a task, so a "
        "flow's run time grows with the rows it passes on); a check run keeps one Prefect client, reads task "
        "runs only when a check asks for them and a run's logs once (the learner's process sent them all "
        "before it answered); the server runs without the automations service (it reads every event); and "
        "workflow-flow's three runs (the good night and two failures) run at the same time. The server's "
        "SQLite database takes one writer at a time, and Prefect's server answers a collision 503, after which "
        "its client waits 2 s: so requests that write take turns in the server, and a collision with the "
        "server's own background writes gets a short `Retry-After` (0.1 s, doubling while collisions repeat; "
        "`flowcamp.serverapp`), which the client obeys; a check run is tagged only once it ends, so its "
        "task runs write no tag-concurrency rows; and the server stores events every 0.5 s instead of 5 s, so a "
        "check that reads a run's events (prefect-secrets: the password must be in none) need not wait. An exercise whose files import more than DuckDB and Prefect "
        "names those modules (`preload` in exercise.toml), and the learner parent has them imported. A server started "
        "while the check worker is warm is forked from it (the worker has imported Prefect's server), and a "
        "restart skips Prefect's migration scan once this Prefect version has brought the database up to date. "
        "Ending a learner process walks only that process tree's own children lists (not every process on the "
        "machine); a `python` command a check runs is forked from the learner parent too; learner processes "
        "read their requests through a buffer; learner SQL and a check's reference query share one DuckDB "
        "open; and `check` ends without Python's module tear-down. "
        "Above all, `flowcamp check` hands itself to the warm worker (command line, environment, folder and "
        "terminal, over its socket), which forks a process that has typer, rich and flowcamp imported already to "
        "run it: the command's own start-up drops from `flowcamp --help`'s time to about that of a bare Python. "
        "deploy-schedule's flow run, which a real Prefect worker starts as a new process, is forked from the "
        "worker's warm learner process (`flowcamp.warmrun`) instead of a fresh Python importing Prefect again. "
        "The cold column is the same check with `FLOWCAMP_WORKER=0` (as on systems without fork).",
        "",
    ]
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(lines), encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
