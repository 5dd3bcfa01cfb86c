"""``flowcamp grade``: every learner's work graded with the course's own checks, in isolation, into one gradebook.

The run, start to end:

1. **Intake** (:mod:`.intake`): each SOURCE (archive, folder, git repository, or a folder of them) is unpacked
   safely into the grading folder's staging area and normalised to the submission layout; a bad one gets a
   status and a message, and the rest go on.
2. **Plan**: one job per submission, with the exercises whose result is not in the gradebook yet. The resume key
   of one exercise's result is the submission's hash, the exercise's checks version (its course checks, the
   instructor's hidden checks for it, and flowcamp's check runtime) and the held-out seed: killed half-way and
   started again, a run grades only what is missing; a changed submission or a fixed check is graded again.
3. **Grade**: a Prefect flow (:mod:`.flowrun`) with a task per submission. Each task takes a lane
   (:mod:`.lane`, one per core by default), each in its own network namespace with its own Prefect server; results
   come back on a private pipe and this process, the gradebook's only writer, records each one as it arrives.
   ``--dask ADDRESS`` runs the same tasks on a Dask cluster.
4. **Export**: CSV for any LMS, Gradescope's results.json per submission, feedback per learner, and the cohort
   report.

``grade --watch`` (:func:`watch`) repeats this every few seconds, opening again only the sources that changed
and keeping its lanes between rounds, so an instructor sees who is stuck during a workshop.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from flowcamp import proc, sandbox
from flowcamp.grading import sources
from flowcamp.course import Course, Exercise

GRADEBOOK = "gradebook.duckdb"
SETTINGS = "grading.json"
_RUNTIME_FILES = ("harness.py", "results.py", "runner.py", "sandbox.py", "learnerhost.py", "wire.py")


@dataclass
class Options:
    sources: list[str]
    out: Path
    hidden: Path | None = None
    seed: int | None = None
    jobs: int = 0  # 0: one lane per core
    exercises: list[str] = field(default_factory=list)  # empty: every exercise of the course
    regrade: list[str] = field(default_factory=list)  # exercise ids to grade again for everyone
    memory_mb: int = 2048
    max_pids: int = 1024
    export: bool = True
    dask: str | None = None  # a Dask scheduler's address: grade on its workers
    prefect_api: str | None = None  # a Prefect API for the grading flow (default: the grading folder's own server)


@dataclass
class Summary:
    submissions: int = 0
    bad: int = 0
    graded: int = 0  # exercise results recorded in this run
    skipped: int = 0  # already in the gradebook (resume)
    failed_lanes: int = 0
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)  # labels of the submissions graded in this run
    flow_run_url: str | None = None
    own_server: str | None = None  # the grading folder's own Prefect server's address, when it was used

    def line(self) -> str:
        n = self.submissions
        head = f"{n} submission{'s' if n != 1 else ''}: {n - self.bad} graded"
        if self.bad:
            head += f", {self.bad} could not be (their messages are above)"
        parts = [f"{self.graded} exercise result{'s' if self.graded != 1 else ''} graded now"]
        if self.skipped:
            parts.append(f"{self.skipped} already in the gradebook")
        return f"{head}. " + ", ".join(parts) + f", in {self.seconds:.0f} s."


class GradeError(Exception):
    """A problem with the grading run itself (not with one submission): said plainly, nothing lost."""


# ------------------------------------------------------------------------------------------------ versions


def _hash_tree(h, folder: Path) -> None:
    if not folder.exists():
        return
    for p in sorted(folder.rglob("*")):
        if p.is_file() and "__pycache__" not in p.parts:
            h.update(p.relative_to(folder).as_posix().encode() + b"\0" + p.read_bytes() + b"\0")


def runtime_version() -> str:
    """flowcamp's version and its check runtime's code: a fix there can change verdicts."""
    import flowcamp

    pkg = Path(flowcamp.__file__).resolve().parent
    h = hashlib.sha256(flowcamp.__version__.encode())
    _hash_tree(h, pkg / "checks")
    for name in _RUNTIME_FILES:
        h.update((pkg / name).read_bytes())
    _hash_tree(h, pkg / "kinds")
    return h.hexdigest()[:16]


def checks_version(ex: Exercise, hidden: Path | None, runtime: str) -> str:
    h = hashlib.sha256(runtime.encode())
    for name in sorted(ex.course_only):
        p = ex.source_dir / name
        if p.is_dir():
            _hash_tree(h, p)
        elif p.is_file():
            h.update(name.encode() + p.read_bytes())
    if hidden is not None:
        _hash_tree(h, hidden / ex.id)
    return h.hexdigest()[:16]


def result_key(submission_hash: str, ex_id: str, version: str, seed: int) -> str:
    return hashlib.sha256(f"{submission_hash}:{ex_id}:{version}:{seed}".encode()).hexdigest()[:32]


# ------------------------------------------------------------------------------------------------ settings


def _settings(out: Path, seed: int | None) -> dict:
    """The grading folder's lasting choices: the held-out seed (chosen once, at the first run, unless given)."""
    path = out / SETTINGS
    data = {}
    if path.is_file():
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except ValueError:
            data = {}
    if seed is not None:
        data["seed"] = int(seed)
    data.setdefault("seed", random.SystemRandom().randint(10_000, 999_999))
    data.setdefault("created", time.strftime("%Y-%m-%dT%H:%M:%S%z"))
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=2), encoding="utf-8")
    os.replace(tmp, path)
    return data


def heldout_warehouse(out: Path, seed: int) -> Path:
    """The held-out warehouse for this run, built by flowcamp itself (never taken from a submission)."""
    from flowcamp import warehouse as wh

    path = out / ".cache" / f"heldout-{seed}.duckdb"
    path.parent.mkdir(parents=True, exist_ok=True)
    wh.ensure(path, seed=seed, scale=wh.HELDOUT_SCALE)
    return path


# ------------------------------------------------------------------------------------------------ the run


def grade(opts: Options, say: Callable[[str], None] = print, progress=None, *, intake_cache: dict | None = None,
          keep_lanes: bool = False, locked: bool = False) -> Summary:
    """Grade every submission in ``opts.sources`` into ``opts.out``. ``progress(done, total, label)`` is
    called as results arrive. ``intake_cache`` (``watch``) lets unchanged sources be reused without unpacking
    them again; ``keep_lanes`` leaves this process's idle lanes running for the next round; ``locked``: the
    caller holds the grading folder's lock."""
    started = time.monotonic()
    sources.check_exist(opts.sources)
    out = Path(opts.out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    lock = None if locked else lock_out(out)
    try:
        return _grade(opts, out, started, say, progress, intake_cache, keep_lanes)
    finally:
        if lock is not None:
            lock.release()


def lock_out(out: Path):
    lock = proc.FileLock(out / ".grading.lock")
    if not lock.acquire(timeout=0):
        raise GradeError(f"Another `flowcamp grade` is using {out} right now. Wait for it to finish, or give "
                         "this run another --out folder.")
    return lock


def _grade(opts: Options, out: Path, started: float, say, progress, intake_cache, keep_lanes) -> Summary:
    from flowcamp.grading.gradebook import Gradebook

    course = Course()
    hidden = Path(opts.hidden).resolve() if opts.hidden else None
    if hidden is not None and not hidden.is_dir():
        raise GradeError(f"--hidden {opts.hidden}: no such folder. It should hold one folder per exercise id "
                         "with the hidden checks (test_*.py) inside.")
    wanted = _wanted(course, opts)
    settings = _settings(out, opts.seed)
    seed = int(settings["seed"])
    abilities = sandbox.probe()
    if intake_cache is None or not intake_cache.get("said"):
        say(f"Isolation on this machine: {abilities.summary()}.")
        for note in abilities.notes:
            say("Note: " + note)
        if intake_cache is not None:
            intake_cache["said"] = True
    runtime = runtime_version()
    versions = {ex.id: checks_version(ex, hidden, runtime) for ex in wanted}
    summary = Summary()
    gb = Gradebook(out / GRADEBOOK)
    try:
        for ex_id in opts.regrade:
            n = gb.forget(exercise_id=ex_id)
            say(f"Grading {ex_id} again for everyone ({n} earlier result{'s' if n != 1 else ''} set aside).")
        run_id = gb.start_run(seed, runtime, versions, {"sources": opts.sources, "hidden": str(hidden or ""),
                                                        "jobs": opts.jobs, "exercises": [e.id for e in wanted],
                                                        "dask": opts.dask or ""})
        subs = sources.open_all(opts.sources, out, course, say, intake_cache)
        jobs = _plan(subs, gb, run_id, wanted, versions, seed, summary, say)
        if jobs:
            from flowcamp.grading.dispatch import run_jobs

            run_jobs(jobs, opts, out, course, gb, run_id, versions, seed, hidden, abilities, runtime, summary,
                     say, progress, keep_lanes)
        if opts.exercises:
            _say_partial(gb, subs, course, wanted, hidden, runtime, seed, say)
        summary.seconds = time.monotonic() - started
        gb.finish_run(run_id, {"graded": summary.graded, "skipped": summary.skipped, "bad": summary.bad,
                               "seconds": round(summary.seconds, 1)})
        if opts.export:
            _export(gb, out, say, quiet=intake_cache is not None and not jobs)
    finally:
        gb.close()
    summary.seconds = time.monotonic() - started
    return summary


def watch(opts: Options, say: Callable[[str], None] = print, progress=None, interval: float = 10.0,
          rounds: int | None = None, on_round: Callable[[int, Summary], None] | None = None,
          stop: threading.Event | None = None) -> int:
    """``grade --watch``: grade, refresh the exports and the report, wait ``interval`` seconds, and again, until
    stopped (Ctrl-C, SIGTERM, ``stop`` set) or after ``rounds``. Only sources that changed are opened again; the
    lanes stay up between rounds. Returns the number of rounds."""
    sources.check_exist(opts.sources)
    out = Path(opts.out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    lock = lock_out(out)
    stop = stop or threading.Event()
    cache: dict = {}
    n = 0
    try:
        while not stop.is_set():
            n += 1
            summary = grade(opts, say, progress, intake_cache=cache, keep_lanes=True, locked=True)
            if on_round:
                on_round(n, summary)
            if rounds is not None and n >= rounds:
                break
            stop.wait(interval)
    finally:
        from flowcamp.grading.dispatch import close_lanes

        close_lanes(opts.dask)
        lock.release()
    return n


def untouched(sub, exercises: list[Exercise]) -> list[str]:
    """Exercises the learner has not begun: never checked, no hint, and the submitted folder holds exactly the
    starter's files, unchanged (`flowcamp submit` hands in every exercise, started or not). Their results are
    marked, so the report does not count the learner as stuck on them."""
    progress = ((sub.manifest or {}).get("progress") or {}).get("exercises") or {}
    out = []
    for ex in exercises:
        entry = progress.get(ex.id) if isinstance(progress.get(ex.id), dict) else {}
        if entry.get("checks") or entry.get("hints_shown") or entry.get("passed"):
            continue
        folder = Path(sub.root) / "workspace" / ex.path
        try:
            have = sorted(p.relative_to(folder) for p in folder.rglob("*")
                          if (p.is_file() or p.is_symlink()) and "__pycache__" not in p.parts)
            if have == ex.starter_files() and all(
                    (folder / f).read_bytes() == (ex.source_dir / f).read_bytes() for f in have):
                out.append(ex.id)
        except OSError:
            continue
    return out


def _who(learner) -> str:
    """A learner's name (else email) for the grading run's log lines in the Prefect UI."""
    learner = learner if isinstance(learner, dict) else {}
    return str(learner.get("name") or learner.get("email") or "")[:80]


def _say_partial(gb, subs: list, course: Course, wanted: list[Exercise], hidden: Path | None, runtime: str,
                 seed: int, say) -> None:
    """After a run with -e: a learner's newest submission counts, so exercises it has no result for show as
    "not graded yet" in the exports, even if an older submission had one. Say so, with what to do."""
    others = [ex for ex in course.exercises if ex not in wanted]
    versions = {ex.id: checks_version(ex, hidden, runtime) for ex in others}
    from flowcamp.grading.gradebook import learner_key

    done = gb.done_keys()
    had = set(gb.con.execute("SELECT s.learner_key, r.exercise_id FROM results r JOIN submissions s "
                             "ON s.hash = r.submission_hash").fetchall())
    short = [sub.label for sub in subs if sub.status == "ok" and any(
        (learner_key((sub.manifest or {}).get("learner"), sub.hash), ex.id) in had
        and result_key(sub.hash, ex.id, versions[ex.id], seed) not in done for ex in others)]
    if short:
        say(f"{len(short)} learner{'s' if len(short) != 1 else ''} handed in again ({', '.join(short[:3])}"
            f"{', ...' if len(short) > 3 else ''}), and this run graded only {', '.join(e.id for e in wanted)}. "
            "A learner's newest submission is the one that counts, so their other exercises show as 'not graded "
            "yet' in the exports until you grade again without -e (results already in the gradebook are kept).")


def _reasons(gb, subs: list, wanted: list[Exercise], versions: dict[str, str], seed: int) -> dict[str, int]:
    """Why results are graded (again): new work, a check that changed, another seed. For the instructor."""
    try:
        rows = gb.con.execute("SELECT submission_hash, exercise_id, checks_version, seed FROM results").fetchall()
    except Exception:  # noqa: BLE001 - only an explanation
        return {}
    before = {(h, ex): (v, sd) for h, ex, v, sd in rows}
    reasons: dict[str, int] = {}
    for sub in subs:
        if sub.status != "ok":
            continue
        for ex in wanted:
            old = before.get((sub.hash, ex.id))
            if old is None:
                continue
            why = ("its checks changed" if old[0] != versions[ex.id] else
                   "the held-out seed changed" if old[1] != seed else None)
            if why:
                reasons[why] = reasons.get(why, 0) + 1
    return reasons


def _plan(subs: list, gb, run_id: int, wanted: list[Exercise], versions: dict[str, str], seed: int,
          summary: Summary, say) -> list[dict]:
    """Record every submission in the gradebook; one job per usable submission, with the exercises whose
    result is not in the gradebook yet."""
    summary.submissions = len(subs)
    for why, n in _reasons(gb, subs, wanted, versions, seed).items():
        say(f"Grading {n} result{'s' if n != 1 else ''} again: {why} since they were graded (a course update, "
            "a fixed check or a changed --hidden pack).")
    done = gb.done_keys()
    jobs = []
    for sub in subs:
        info = {"hash": sub.hash, "source": sub.source, "label": sub.label, "status": sub.status,
                "message": sub.message, "learner": (sub.manifest or {}).get("learner") or {},
                "manifest": sub.manifest or {}, "exercises": sub.exercises, "warnings": sub.warnings}
        gb.add_submission(run_id, info)
        if sub.status != "ok":
            summary.bad += 1
            say(f"{sub.label}: {sub.message}")
            continue
        keys = {ex.id: result_key(sub.hash, ex.id, versions[ex.id], seed) for ex in wanted}
        todo = [ex.id for ex in wanted if keys[ex.id] not in done]
        summary.skipped += len(wanted) - len(todo)
        if todo:
            jobs.append({"submission": sub.hash, "root": str(sub.root), "label": sub.label,
                         "untouched": untouched(sub, [ex for ex in wanted if ex.id in todo]),
                         "who": _who(info["learner"]),
                         "workspace_seed": (sub.manifest or {}).get("workspace_seed") or 7,
                         "exercises": todo, "keys": {k: keys[k] for k in todo}})
    return jobs


def _wanted(course: Course, opts: Options) -> list[Exercise]:
    if not opts.exercises:
        return list(course.exercises)
    out = []
    for key in [*opts.exercises, *[r for r in opts.regrade if r not in opts.exercises]]:  # a regrade is graded
        try:
            out.append(course.get(key))
        except Exception:  # noqa: BLE001 - course.get says which ids exist
            import difflib

            ids = [e.id for e in course.exercises]
            near = difflib.get_close_matches(key, ids, n=1)
            hint = f"Did you mean {near[0]}? " if near else ""
            raise GradeError(f"--exercise {key}: no such exercise in this course. {hint}The exercise ids: "
                             + ", ".join(ids) + ".") from None
    return out


def _export(gb, out: Path, say, quiet: bool = False) -> None:
    from flowcamp.grading import export

    export.export_all(gb, out)
    if quiet:
        return
    say(f"Grades for your LMS: {out / 'grades.csv'}. Gradescope results: {out / 'gradescope'}. "
        f"Feedback for learners: {out / 'feedback'}.")
