"""Where a grading run's jobs go: the grading flow (:mod:`.flowrun`) on this machine's lanes or on a Dask
cluster, reporting to a Prefect API; results come back to :func:`run_jobs`, which records them (this process is
the gradebook's only writer)."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

from flowcamp import sandbox
from flowcamp.course import Course
from flowcamp.grading.run import GradeError, Options, Summary, checks_version, heldout_warehouse


def lane_config(course: Course, base: Path, heldout: Path, seed: int, hidden: Path | None, memory_mb: int,
                max_pids: int, abilities) -> dict:
    """What a lane needs to know (written to its configuration file): the same on this machine and on a Dask
    worker, where ``base`` is the worker's own folder instead of the grading folder."""
    return {"course_root": str(course.root), "out_dir": str(base), "heldout": str(heldout), "seed": seed,
            "hidden": str(hidden) if hidden else None, "memory_mb": memory_mb, "max_pids": max_pids, **_uv(),
            "abilities": {"bwrap": abilities.bwrap, "netns": abilities.netns, "cgroup": abilities.cgroup}}


def run_jobs(jobs: list[dict], opts: Options, out: Path, course: Course, gb, run_id: int,
              versions: dict[str, str], seed: int, hidden: Path | None, abilities, runtime: str,
              summary: Summary, say, progress, keep_lanes: bool) -> None:
    """Grade ``jobs`` through the grading flow (:mod:`.flowrun`), recording every result as it arrives."""
    from flowcamp.grading.lane import cleanup_stale

    api, ui = prefect_api(out, course, opts, say)
    if not (opts.prefect_api or os.environ.get(API_ENV)):
        summary.own_server = ui
    from flowcamp.grading import flowrun  # imports Prefect: only when something is graded

    cleanup_stale()
    total = sum(len(j["exercises"]) for j in jobs)
    key = hashlib.sha256(json.dumps([str(out), seed, versions, opts.memory_mb, opts.max_pids]).encode()).hexdigest()
    ctx = {"key": key[:24], "seed": seed, "memory_mb": opts.memory_mb, "max_pids": opts.max_pids,
           "limits": {ex.id: ex.time_limit for ex in course.exercises}}
    if opts.dask:
        expected = {"runtime": runtime, "api": api, "bwrap": bool(abilities.bwrap), "netns": bool(abilities.netns),
                    "checks": {ex_id: checks_version(course.get(ex_id), None, runtime) for ex_id in versions}}
        try:
            workers, problems = flowrun.check_workers(opts.dask, expected)
        except ConnectionError as e:
            raise GradeError(str(e)) from None
        if problems:
            raise GradeError(f"The Dask cluster at {opts.dask} cannot grade yet (nothing was graded):\n  "
                             + "\n  ".join(problems) + f"\nEach worker needs {flowrun.WORKER_NEEDS}.")
        if not workers:
            raise GradeError(f"The Dask cluster at {opts.dask} has no workers. Start some (`dask worker "
                             f"{opts.dask}`), then grade again.")
        say(f"Grading on the Dask cluster at {opts.dask}: {workers} worker(s), each checked.")
        if hidden is not None:
            ctx["hidden_tar"] = flowrun.tar_folder(hidden)
    else:
        heldout = heldout_warehouse(out, seed)
        ctx["config"] = lane_config(course, out, heldout, seed, hidden, opts.memory_mb, opts.max_pids, abilities)
        ctx["prefix"] = sandbox.lane_prefix(abilities)
    labels = {j["submission"]: j["label"] for j in jobs}
    not_begun = {j["submission"]: set(j.get("untouched") or ()) for j in jobs}
    summary.changed = [j["label"] for j in jobs]
    done = [0]

    def record(ev: dict) -> None:
        if ev["exercise"] in not_begun.get(ev["submission"], ()) and not ev["doc"].get("missing"):
            ev["doc"]["untouched"] = True  # the grader's own finding (run.untouched), never the learner's say
        if gb.record_result(run_id, ev["submission"], ev["exercise"], ev["key"], seed, versions[ev["exercise"]],
                            ev["doc"], ev.get("duration", 0.0)):
            summary.graded += 1
            done[0] += 1
            if progress:
                progress(done[0], total, f"{labels.get(ev['submission'], '')}: {ev['exercise']}")

    def note(text: str) -> None:
        if "grading lane stopped" in text:
            summary.failed_lanes += 1
            say(text)
        else:
            summary.notes.append(text)

    lanes = max(1, min(opts.jobs or os.cpu_count() or 1, len(jobs)))
    try:
        flow_run = flowrun.run_flow(jobs, ctx, api_url=api, record=record, note=note, dask=opts.dask,
                                    jobs_at_once=lanes if not opts.dask else len(jobs), cohort=out.name)
    finally:
        if not keep_lanes:
            flowrun.close_pools()
            if opts.dask:
                flowrun.close_worker_pools(opts.dask)
    if flow_run and ui:
        summary.flow_run_url = f"{ui}/runs/flow-run/{flow_run}"


def close_lanes(dask: str | None) -> None:
    """Stop the lanes kept between rounds (only if a round graded something: else Prefect was never imported)."""
    import sys

    flowrun = sys.modules.get("flowcamp.grading.flowrun")
    if flowrun is not None:
        flowrun.close_pools()
        if dask:
            flowrun.close_worker_pools(dask)


API_ENV = "FLOWCAMP_GRADE_PREFECT_API"


def prefect_api(out: Path, course: Course, opts: Options, say) -> tuple[str, str | None]:
    """The Prefect API the grading flow reports to, and its web UI: ``--prefect-api`` (or $FLOWCAMP_GRADE_PREFECT_API),
    else the grading folder's own server, started on first use at a stable address and stopped by itself after
    an idle time, like a workspace's."""
    given = opts.prefect_api or os.environ.get(API_ENV)
    if given:
        api = given.rstrip("/")
        api = api if api.endswith("/api") else api + "/api"
        from flowcamp import server

        if not server.healthy(api[: -len("/api")], timeout=5):
            raise GradeError(f"No Prefect API answered at {api}. Start that server, or leave out --prefect-api "
                             "to use the grading folder's own.")
        return api, api[: -len("/api")]
    from flowcamp import server
    from flowcamp.workspace import Workspace

    ws = Workspace(out, course)
    if not server.status(ws).running:
        say("Starting the grading folder's Prefect server, where the grading runs show (the first time takes "
            "about 20 s)...")
    try:
        url = server.start(ws)
    except server.ServerError as e:
        raise GradeError(f"The grading folder's Prefect server did not start: {e}") from None
    return url + "/api", url


def _uv() -> dict:
    """The uv program (its real path: `uv run` names it in UV; a shim may live in a home folder the sandbox
    hides) and its package cache, for exercises whose learner code runs `uv sync` offline."""
    import subprocess

    uv = os.environ.get("UV") or shutil.which("uv")
    if not uv:
        return {}
    try:
        cache = subprocess.run([uv, "cache", "dir"], capture_output=True, text=True, timeout=30).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        cache = ""
    return {"uv": os.path.realpath(uv), "uv_cache": cache or None}
