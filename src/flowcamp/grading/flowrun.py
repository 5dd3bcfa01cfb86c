"""The grading run as a Prefect flow: the course grades with what it teaches.

``flowcamp grade`` runs one flow run, ``flowcamp-grade``, with one task run per submission
(``grade <label>``). Each task takes a grading lane (:mod:`.scheduler`, :mod:`.lane`) and returns every result of
its submission; the flow, in the ``flowcamp grade`` process, is the gradebook's only writer. Where the tasks run
is the flow's task runner:

* **one machine** (default): Prefect's thread pool, one thread per lane (``-j``). Each result is recorded the
  moment its lane sends it, so a run killed half-way loses at most the exercise being graded.
* **a Dask cluster** (``--dask ADDRESS``, prefect-dask): the same task on the cluster's workers. The submission's
  files travel with its task (a .tar.gz, never a path), so do the instructor's hidden checks; each worker
  process keeps its own lanes, builds the held-out data from the run's seed itself, and returns its results to
  the flow. :func:`check_workers` first asks every worker whether it can: same flowcamp and course checks, git,
  the sandbox tools this machine has, and the Prefect API reachable.

Both show in the Prefect UI of the grading folder's own Prefect server (or the one given with
``--prefect-api``): the flow run, a task run per submission and its state, and a log line per submission.
"""

from __future__ import annotations

import io
import queue
import shutil
import tarfile
import tempfile
import threading
import time
from pathlib import Path
from typing import Callable

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE

from flowcamp.grading.scheduler import LanePool, grade_job

FLOW_NAME = "flowcamp-grade"
WAIT_POLL = 0.5

# ------------------------------------------------------------------------------------------ lanes per process
_POOLS: dict[str, LanePool] = {}
_POOLS_LOCK = threading.Lock()
_SINKS: dict[str, queue.Queue] = {}  # local runs only: results as they arrive, for the recording thread


def _pool(ctx: dict) -> LanePool:
    with _POOLS_LOCK:
        pool = _POOLS.get(ctx["key"])
        if pool is None:
            pool = _POOLS[ctx["key"]] = _local_pool(ctx) if ctx.get("config") else _worker_pool(ctx)
    return pool


def _local_pool(ctx: dict) -> LanePool:
    return LanePool(ctx["config"], ctx["prefix"], Path(ctx["config"]["out_dir"]))


def _worker_pool(ctx: dict) -> LanePool:
    """On a Dask worker: this process's own lanes, with held-out data built here from the run's seed and the
    hidden checks unpacked from the bytes the task brought."""
    from flowcamp import sandbox
    from flowcamp.course import Course
    from flowcamp.grading import dispatch, run

    base = Path(tempfile.mkdtemp(prefix="fcgw-"))
    hidden = None
    if ctx.get("hidden_tar"):
        hidden = base / "hidden"
        _untar(ctx["hidden_tar"], hidden)
    abilities = sandbox.probe()
    heldout = run.heldout_warehouse(base, int(ctx["seed"]))
    config = dispatch.lane_config(Course(), base, heldout, int(ctx["seed"]), hidden, ctx["memory_mb"], ctx["max_pids"],
                             abilities)
    return LanePool(config, sandbox.lane_prefix(abilities), base)


def close_pools(remove_worker_folders: bool = True) -> int:
    """Stop every idle lane this process keeps (at the end of a run, or of ``grade --watch``)."""
    with _POOLS_LOCK:
        pools = list(_POOLS.values())
        _POOLS.clear()
    for pool in pools:
        pool.close()
        if remove_worker_folders and pool.base.name.startswith("fcgw-"):
            shutil.rmtree(pool.base, ignore_errors=True)
    return len(pools)


# ------------------------------------------------------------------------------------------ bytes that travel
def tar_folder(folder: Path) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz", compresslevel=1) as tar:
        tar.add(str(folder), arcname=".")
    return buf.getvalue()


def _untar(data: bytes, dest: Path) -> None:
    dest.mkdir(parents=True, exist_ok=True)
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        tar.extractall(dest, filter="tar")  # made by the grader (trusted); links inside it stay links


# ------------------------------------------------------------------------------------------ the task
def _grade_submission(job: dict, ctx: dict, payload: bytes | None = None) -> dict:
    """Grade one submission in a lane of this process; returns its results for the gradebook's writer."""
    from flowcamp.grading.scheduler import error_doc

    pool = _pool(ctx)
    unpacked = None
    if payload is not None:  # on a worker: the submission's files came with the task
        unpacked = Path(tempfile.mkdtemp(prefix="sub-", dir=pool.base))
        _untar(payload, unpacked)
        job = {**job, "root": str(unpacked)}
    sink = _SINKS.get(ctx["key"])
    try:
        outcome = grade_job(pool, job, ctx["limits"], error_doc,
                            on_event=(lambda ev: sink.put(ev)) if sink is not None else None)
    finally:
        if unpacked is not None:
            shutil.rmtree(unpacked, ignore_errors=True)
    passed = sum(1 for ev in outcome["results"] if (ev.get("doc") or {}).get("status") == "pass")
    who = f"{job['who']} ({job['label']})" if job.get("who") else job["label"]
    get_run_logger().info("%s: %d exercise result(s), %d passed%s", who, len(outcome["results"]),
                          passed, f"; {outcome['lanes_lost']} lane(s) lost" if outcome["lanes_lost"] else "")
    return outcome


# The task wraps a function of another name: a Dask worker unpickles the function by its module and name.
grade_submission = task(name="grade-submission", cache_policy=NO_CACHE, retries=0, log_prints=False)(_grade_submission)


# ------------------------------------------------------------------------------------------ the flow
_RUNS: dict[str, dict] = {}  # the run being graded, by key: what the flow function needs but cannot take as
# parameters (a flow run's parameters go to the API, and its context to every Dask worker)


def _grade_cohort(key: str, cohort: str, submissions: int, exercises: int) -> dict:
    """The flow: submit a task per submission, record results as they come (this thread is the gradebook's
    writer)."""
    from prefect.runtime import flow_run

    run = _RUNS[key]
    jobs, ctx, record, note, dask = run["jobs"], run["ctx"], run["record"], run["note"], run["dask"]
    run["id"] = str(flow_run.id)
    sink = _SINKS.get(ctx["key"])
    get_run_logger().info("Grading %d submission(s), %d exercise result(s) to grade, on %s.", submissions,
                          exercises, f"the Dask cluster at {dask}" if dask else
                          f"this machine ({run['lanes']} lane(s))")

    def drain() -> None:
        while sink is not None:
            try:
                ev = sink.get_nowait()
            except queue.Empty:
                return
            if ev.get("event") == "result":
                record(ev)

    finished: queue.Queue = queue.Queue()  # each future puts itself here when done (no polling the API, and not
    # prefect.futures.wait with a timeout, whose alarm can land inside its own lock: "release unlocked lock")
    for job in jobs:
        payload = tar_folder(Path(job["root"])) if dask else None
        fut = grade_submission.with_options(task_run_name=f"grade {job['label']}"[:100]).submit(job, ctx, payload)
        fut.add_done_callback(finished.put)
    lost = 0
    for _ in jobs:
        while True:
            try:
                fut = finished.get(timeout=WAIT_POLL)
                break
            except queue.Empty:
                drain()
        drain()
        try:
            outcome = fut.result()
        except Exception as e:  # noqa: BLE001 - a task that failed in flowcamp's own code
            note(f"A grading task failed: {type(e).__name__}: {e}")
            continue
        for ev in outcome["results"]:
            record(ev)
        for text in outcome["notes"]:
            note(text)
        lost += outcome["lanes_lost"]
    drain()
    return {"lanes_lost": lost}


grade_cohort = flow(name=FLOW_NAME, validate_parameters=False, log_prints=False)(_grade_cohort)


def run_flow(jobs: list[dict], ctx: dict, *, api_url: str, record: Callable[[dict], None],
             note: Callable[[str], None], dask: str | None = None, jobs_at_once: int = 1,
             cohort: str = "") -> str | None:
    """Run the grading flow over ``jobs``; ``record(result event)`` is called in this thread for every result
    (a result may come twice: recording is idempotent). Returns the flow run's id."""
    from prefect.settings import (PREFECT_API_URL, PREFECT_FLOWS_HEARTBEAT_FREQUENCY,
                                  PREFECT_SERVER_ANALYTICS_ENABLED, temporary_settings)

    if dask:
        from prefect_dask import DaskTaskRunner

        runner = DaskTaskRunner(address=dask)
    else:
        from prefect.task_runners import ThreadPoolTaskRunner

        runner = ThreadPoolTaskRunner(max_workers=max(1, jobs_at_once))
        _SINKS[ctx["key"]] = queue.Queue()
    key = ctx["key"]
    _RUNS[key] = {"jobs": jobs, "ctx": ctx, "record": record, "note": note, "dask": dask, "lanes": jobs_at_once}
    cohort = cohort or time.strftime("%Y-%m-%d %H:%M")
    settings = {PREFECT_API_URL: api_url, PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None,
                PREFECT_SERVER_ANALYTICS_ENABLED: False}
    _quiet_console()
    try:
        with temporary_settings(settings):
            grade_cohort.with_options(task_runner=runner, flow_run_name=f"grade {cohort}")(
                key=key, cohort=cohort, submissions=len(jobs), exercises=sum(len(j["exercises"]) for j in jobs))
        return _RUNS[key].get("id")
    finally:
        _SINKS.pop(key, None)
        _RUNS.pop(key, None)


def _quiet_console() -> None:
    """Prefect's log lines go to the UI; the instructor's terminal keeps flowcamp's own progress bar and lines
    (Prefect's console shows warnings and errors only)."""
    import logging

    from prefect.logging.configuration import setup_logging

    try:
        setup_logging()
    except Exception:  # noqa: BLE001 - already set up
        pass
    for name in ("prefect", "prefect.flow_runs", "prefect.task_runs", ""):
        for handler in logging.getLogger(name).handlers:
            if isinstance(handler, logging.StreamHandler) and not isinstance(handler, logging.FileHandler) \
                    and type(handler).__name__ != "APILogHandler":
                handler.setLevel(logging.WARNING)


# ------------------------------------------------------------------------------------------ Dask workers
WORKER_NEEDS = ("flowcamp and this course installed at the same version as here (the same commit, `uv sync`); "
                "git; bubblewrap if this machine has it; and the Prefect API reachable from the worker")


def worker_probe(expected: dict) -> dict:
    """Run on each Dask worker (``Client.run``) before any task: can this worker grade like this machine?"""
    import platform
    import urllib.request

    problems: list[str] = []
    info = {"python": platform.python_version(), "problems": problems}
    try:
        import flowcamp
        from flowcamp import sandbox
        from flowcamp.course import Course
        from flowcamp.grading import run

        info["flowcamp"] = flowcamp.__version__
        runtime = run.runtime_version()
        if runtime != expected["runtime"]:
            problems.append(f"its flowcamp differs from the grader's (check runtime {runtime}, grader "
                            f"{expected['runtime']}): install the same flowcamp version")
        course = Course()
        differ = []
        for ex_id, version in expected["checks"].items():
            try:
                mine = run.checks_version(course.get(ex_id), None, runtime)
            except Exception:  # noqa: BLE001 - an exercise this course copy lacks
                mine = None
            if mine != version:
                differ.append(ex_id)
        if differ:
            problems.append(f"its course's checks differ for {', '.join(differ[:4])}"
                            f"{' and more' if len(differ) > 4 else ''}: check out the same course commit "
                            f"on the worker ({course.root})")
        abilities = sandbox.probe()
        info["isolation"] = abilities.summary()
        if expected.get("bwrap") and not abilities.bwrap:
            problems.append("it has no working bubblewrap, so learner code would not be isolated: install "
                            "bubblewrap there (Debian/Ubuntu: apt-get install bubblewrap)")
        if expected.get("netns") and not abilities.netns:
            problems.append("it cannot give a lane its own network namespace: use a Linux worker where "
                            "bubblewrap or unshare works")
    except Exception as e:  # noqa: BLE001 - flowcamp or the course missing entirely
        problems.append(f"flowcamp or the course cannot be loaded there ({type(e).__name__}: {e}): install "
                        "the course on the worker and start the worker from its folder (or set FLOWCAMP_COURSE)")
    if not shutil.which("git"):
        problems.append("git is not installed")
    try:
        with urllib.request.urlopen(expected["api"].rstrip("/") + "/health", timeout=5) as answer:
            answer.read()
    except Exception as e:  # noqa: BLE001
        problems.append(f"it cannot reach the Prefect API at {expected['api']} ({e}); give `--prefect-api` an "
                        "address the workers can reach")
    return info


def check_workers(address: str, expected: dict, timeout: float = 20.0) -> tuple[int, list[str]]:
    """Ask every worker of the Dask cluster at ``address`` whether it can grade. Returns (workers, problems)."""
    from distributed import Client

    try:
        client = Client(address, timeout=f"{timeout:g}s", set_as_default=False)
    except Exception as e:  # noqa: BLE001
        raise ConnectionError(f"No Dask scheduler answered at {address} ({type(e).__name__}: {e}). Start one "
                              "(`dask scheduler`, then `dask worker ADDRESS` on each machine) or check the "
                              "address.") from None
    try:
        infos = client.run(worker_probe, expected)
    finally:
        client.close()
    problems = [f"worker {addr}: {p}" for addr, info in sorted(infos.items()) for p in info.get("problems", [])]
    return len(infos), problems


def close_worker_pools(address: str) -> None:
    """Stop the lanes every worker kept for this run."""
    from distributed import Client

    try:
        with Client(address, timeout="10s", set_as_default=False) as client:
            client.run(close_pools)
    except Exception:  # noqa: BLE001 - a cluster that went away: its lanes went with it
        pass
