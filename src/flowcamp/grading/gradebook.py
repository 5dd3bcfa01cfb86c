"""The gradebook: one DuckDB file per grading folder (``DIR/gradebook.duckdb``) with every run, learner,
submission, exercise result (its results document as JSON) and check result, and the instructor's overrides.

One process writes it (the grading run, or one `flowcamp gradebook` command between runs); DuckDB's file lock
keeps any other process out while it does, and :class:`GradebookBusy` says so in plain words. Every write is
one transaction, so a run killed at any moment (SIGKILL included) leaves every committed result and nothing
half-written: the next run asks :meth:`Gradebook.done_keys` and grades only the rest.

Reading: :meth:`Gradebook.grades` gives each learner's counted submission (the newest) with one
:class:`Mark` per exercise (the latest result, and the override that applies). The exports
(:mod:`.export`, :mod:`.feedback`) read only that.
"""

from __future__ import annotations

import json
import os
import re
import threading
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from flowcamp.grading.values import as_json as _json, learner_key, now, number as _number, slug, text as _text, utc_iso  # noqa: F401,E501

SCHEMA_VERSION = 1
FILE_NAME = "gradebook.duckdb"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key VARCHAR PRIMARY KEY, value VARCHAR);
CREATE SEQUENCE IF NOT EXISTS run_ids START 1;
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY DEFAULT nextval('run_ids'), started_at VARCHAR, finished_at VARCHAR, pid INTEGER,
    seed BIGINT, course_version VARCHAR, checks_versions JSON, options JSON, summary JSON);
CREATE TABLE IF NOT EXISTS learners (key VARCHAR PRIMARY KEY, name VARCHAR, email VARCHAR, first_seen VARCHAR);
CREATE SEQUENCE IF NOT EXISTS submission_seq START 1;
CREATE TABLE IF NOT EXISTS submissions (
    hash VARCHAR PRIMARY KEY, seq BIGINT DEFAULT nextval('submission_seq'), learner_key VARCHAR, name VARCHAR,
    email VARCHAR, source VARCHAR, label VARCHAR, status VARCHAR, message VARCHAR, created VARCHAR,
    first_seen VARCHAR, first_run INTEGER, last_run INTEGER, manifest JSON, exercises JSON, warnings JSON);
CREATE SEQUENCE IF NOT EXISTS result_seq START 1;
CREATE TABLE IF NOT EXISTS results (
    key VARCHAR PRIMARY KEY, seq BIGINT DEFAULT nextval('result_seq'), run_id INTEGER, submission_hash VARCHAR,
    exercise_id VARCHAR, seed BIGINT, checks_version VARCHAR, status VARCHAR, score DOUBLE, max_score DOUBLE,
    duration DOUBLE, recorded_at VARCHAR, doc JSON);
CREATE TABLE IF NOT EXISTS checks (
    result_key VARCHAR, position INTEGER, name VARCHAR, status VARCHAR, points DOUBLE, max_points DOUBLE,
    visibility VARCHAR, heldout BOOLEAN, PRIMARY KEY (result_key, position));
CREATE SEQUENCE IF NOT EXISTS override_seq START 1;
CREATE TABLE IF NOT EXISTS overrides (
    id BIGINT PRIMARY KEY DEFAULT nextval('override_seq'), learner_key VARCHAR, exercise_id VARCHAR,
    score DOUBLE, reason VARCHAR, set_by VARCHAR, set_at VARCHAR);
"""
# An override row whose score is NULL clears the ones before it (the history stays).


class GradebookError(Exception):
    """The gradebook cannot be opened or used; the message says what to do."""


class GradebookBusy(GradebookError):
    """Another process (a grading run) holds the gradebook's write lock."""


@dataclass
class Override:
    score: float
    reason: str
    by: str
    at: str


@dataclass
class Submission:
    hash: str
    learner_key: str
    name: str
    email: str
    source: str
    label: str
    status: str
    message: str
    created: str | None  # the manifest's time (UTC ISO), when it had a valid one
    first_seen: str
    warnings: list[str] = field(default_factory=list)
    exercises: list[str] = field(default_factory=list)

    @property
    def submitted_at(self) -> str:
        return self.created or self.first_seen


NOT_STARTED = ("missing", "untouched")  # statuses of an exercise the learner has not begun: never "stuck"


@dataclass
class Mark:
    """One learner's one exercise: the latest result of their counted submission, and the override if any."""

    exercise: str
    status: str  # "pass", "fail", "error", "timeout", "missing", ... ("ungraded": an override and no result)
    score: float
    max_score: float
    doc: dict | None
    override: Override | None = None

    @property
    def final(self) -> float:
        return self.override.score if self.override else self.score


@dataclass
class LearnerGrades:
    key: str
    name: str
    email: str
    submission: Submission | None
    marks: dict[str, Mark] = field(default_factory=dict)

    @property
    def total(self) -> float:
        return sum(m.final for m in self.marks.values())


def _lock_holder(error: Exception) -> str | None:
    m = re.search(r"\(PID (\d+)\)", str(error))
    return m.group(1) if m else None


class Gradebook:
    """The gradebook at ``path``. ``read_only=True`` reads between runs (the file must exist)."""

    def __init__(self, path: Path | str, read_only: bool = False):
        self.path = Path(path)
        self.read_only = read_only
        self._lock = threading.Lock()
        if read_only and not self.path.is_file():
            raise GradebookError(f"There is no gradebook at {self.path}. Grade first: "
                                 f"`uv run flowcamp grade SOURCES... --out {self.path.parent}`.")
        if not read_only:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        self.con = self._connect()
        try:
            self._check_schema()
        except Exception:
            self.con.close()
            raise

    def _connect(self) -> duckdb.DuckDBPyConnection:
        try:
            return duckdb.connect(str(self.path), read_only=self.read_only)
        except duckdb.Error as e:
            if isinstance(e, duckdb.IOException) and "lock" in str(e).lower():
                pid = _lock_holder(e)
                who = f"pid {pid}" if pid else "another process"
                stop = f"stop it (`kill {pid}`)" if pid else "stop it"
                raise GradebookBusy(f"A grading run is writing to this gradebook ({who}): {self.path}. Wait for it "
                                    f"to finish or {stop}, then run this again.") from None
            raise GradebookError(f"{self.path} is not a gradebook flowcamp can read ({e}). Grade into a new "
                                 "folder with `--out`, or move this file away.") from None

    def _check_schema(self) -> None:
        tables = {r[0] for r in self.con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
        if "meta" in tables:
            row = self.con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
            version = int(row[0]) if row else 0
            if version > SCHEMA_VERSION:
                raise GradebookError(f"{self.path} was made by a newer flowcamp (gradebook version {version}, "
                                     f"this one reads {SCHEMA_VERSION}). Update flowcamp (`git pull`), then retry.")
            return
        if self.read_only:
            raise GradebookError(f"{self.path} holds no gradebook tables. Grade first: "
                                 f"`uv run flowcamp grade SOURCES... --out {self.path.parent}`.")
        with self._tx():
            self.con.execute(_SCHEMA)
            self.con.execute("INSERT INTO meta VALUES ('schema_version', ?)", [str(SCHEMA_VERSION)])

    # ------------------------------------------------------------------------------------------ plumbing
    def close(self) -> None:
        self.con.close()

    def __enter__(self) -> Gradebook:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @contextmanager
    def _tx(self):
        """One transaction: all of it is written, or none of it (also when the process is killed)."""
        if self.read_only:
            raise GradebookError(f"{self.path} is open for reading only; open it without read_only to change it.")
        with self._lock:
            self.con.begin()
            try:
                yield self.con
            except BaseException:
                self.con.rollback()
                raise
            self.con.commit()

    # ------------------------------------------------------------------------------------------ runs
    def start_run(self, seed: int, course_version: str, checks_versions: dict[str, str], options: dict) -> int:
        with self._tx() as con:
            row = con.execute(
                "INSERT INTO runs (started_at, pid, seed, course_version, checks_versions, options) "
                "VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
                [now(), os.getpid(), seed, course_version, json.dumps(checks_versions), json.dumps(options)],
            ).fetchone()
        return int(row[0])

    def finish_run(self, run_id: int, summary: dict) -> None:
        with self._tx() as con:
            con.execute("UPDATE runs SET finished_at = ?, summary = ? WHERE id = ?",
                        [now(), json.dumps(summary), run_id])

    def runs(self) -> list[dict]:
        rows = self.con.execute("SELECT id, started_at, finished_at, pid, seed, course_version, checks_versions, "
                                "options, summary FROM runs ORDER BY id").fetchall()
        names = ("id", "started_at", "finished_at", "pid", "seed", "course_version", "checks_versions", "options",
                 "summary")
        out = []
        for row in rows:
            run = dict(zip(names, row))
            for k in ("checks_versions", "options", "summary"):
                run[k] = json.loads(run[k]) if run[k] is not None else None
            out.append(run)
        return out

    # ------------------------------------------------------------------------------------------ writes
    def add_submission(self, run_id: int, info: dict) -> str:
        """Record a submission (or see it again in a later run); returns its learner's key."""
        h = str(info["hash"])
        learner = info.get("learner") if isinstance(info.get("learner"), dict) else {}
        key = _text(learner_key(learner, h))
        name, email = _text(learner.get("name")), _text(learner.get("email")).strip()
        manifest = info.get("manifest") if isinstance(info.get("manifest"), dict) else {}
        fields = [_text(info.get("source")), _text(info.get("label")), _text(info.get("status")),
                  _text(info.get("message")), _json([_text(w) for w in info.get("warnings") or []])]
        with self._tx() as con:
            if con.execute("SELECT 1 FROM submissions WHERE hash = ?", [h]).fetchone():
                con.execute("UPDATE submissions SET source = ?, label = ?, status = ?, message = ?, warnings = ?, "
                            "last_run = ? WHERE hash = ?", [*fields, run_id, h])
            else:
                con.execute(
                    "INSERT INTO submissions (hash, learner_key, name, email, source, label, status, message, "
                    "warnings, created, first_seen, first_run, last_run, manifest, exercises) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [h, key, name, email, *fields, utc_iso(manifest.get("created")), now(), run_id, run_id,
                     _json(manifest), _json([_text(e) for e in info.get("exercises") or []])])
            if con.execute("SELECT 1 FROM learners WHERE key = ?", [key]).fetchone():
                con.execute("UPDATE learners SET name = ?, email = ? WHERE key = ?", [name, email, key])
            else:
                con.execute("INSERT INTO learners VALUES (?, ?, ?, ?)", [key, name, email, now()])
        return key

    def record_result(self, run_id: int, submission_hash: str, exercise_id: str, key: str, seed: int,
                      checks_version: str, doc: dict, duration: float) -> bool:
        """Record one exercise's results document under its resume ``key``. A key recorded before is left as
        it is (False): a run started again after being killed never duplicates a result."""
        checks = doc.get("checks") if isinstance(doc.get("checks"), list) else []
        text = _json(doc)
        rows = [[key, i, _text(c.get("name")), _text(c.get("status")), _number(c.get("points")),
                 _number(c.get("max_points")), _text(c.get("visibility")) or "visible", bool(c.get("heldout"))]
                for i, c in enumerate(checks) if isinstance(c, dict)]
        with self._tx() as con:
            new = con.execute(
                "INSERT INTO results (key, run_id, submission_hash, exercise_id, seed, checks_version, status, "
                "score, max_score, duration, recorded_at, doc) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT DO NOTHING RETURNING key",
                [key, run_id, submission_hash, exercise_id, seed, checks_version, result_status(doc),
                 _number(doc.get("score")), _number(doc.get("max_score")), float(duration), now(), text]).fetchall()
            if new and rows:  # one statement for all the checks: a commit is the cost, not a row
                con.execute("INSERT INTO checks VALUES " + ", ".join(["(?, ?, ?, ?, ?, ?, ?, ?)"] * len(rows)),
                            [x for row in rows for x in row])
        return bool(new)

    def done_keys(self) -> set[str]:
        return {r[0] for r in self.con.execute("SELECT key FROM results").fetchall()}

    def override(self, learner_key: str, exercise_id: str, score: float, reason: str, by: str = "") -> None:
        """Set a learner's score for one exercise by hand. The reason is required; the latest override wins."""
        if not reason or not reason.strip():
            raise GradebookError("An override needs a reason (the learner reads it): add --reason \"...\".")
        score = float(score)
        if score < 0:
            raise GradebookError(f"A score cannot be negative (got {score:g}).")
        self._known_learner(learner_key)
        with self._tx() as con:
            con.execute("INSERT INTO overrides (learner_key, exercise_id, score, reason, set_by, set_at) "
                        "VALUES (?, ?, ?, ?, ?, ?)", [learner_key, exercise_id, score, reason.strip(), by, now()])

    def clear_override(self, learner_key: str, exercise_id: str, reason: str = "", by: str = "") -> bool:
        """Go back to the graded score (the override history is kept). False when there was none to clear."""
        if self.current_overrides().get((learner_key, exercise_id)) is None:
            return False
        with self._tx() as con:
            con.execute("INSERT INTO overrides (learner_key, exercise_id, score, reason, set_by, set_at) "
                        "VALUES (?, ?, NULL, ?, ?, ?)", [learner_key, exercise_id, reason.strip(), by, now()])
        return True

    def forget(self, exercise_id: str | None = None, learner_key: str | None = None) -> int:
        """Delete results (of one exercise, one learner, or both) so the next `grade` runs them again."""
        if exercise_id is None and learner_key is None:
            raise GradebookError("Say what to forget: an exercise (--exercise ID), a learner (--learner KEY), "
                                 "or both.")
        where, args = [], []
        if exercise_id is not None:
            where.append("exercise_id = ?")
            args.append(exercise_id)
        if learner_key is not None:
            self._known_learner(learner_key)
            where.append("submission_hash IN (SELECT hash FROM submissions WHERE learner_key = ?)")
            args.append(learner_key)
        cond = " AND ".join(where)
        with self._tx() as con:
            keys = [r[0] for r in con.execute(f"SELECT key FROM results WHERE {cond}", args).fetchall()]
            con.execute(f"DELETE FROM checks WHERE result_key IN (SELECT key FROM results WHERE {cond})", args)
            con.execute(f"DELETE FROM results WHERE {cond}", args)
        return len(keys)

    def remove(self, learner_key: str | None = None, submission: str | None = None) -> tuple[int, int]:
        """Delete work that should never have been graded (handed in under a wrong name, a test file): one
        submission (its label, or its hash or the hash's first 8+ characters) or a learner with everything of
        theirs. A learner left with no submission goes too, with their overrides. Returns (submissions,
        results) deleted."""
        if (learner_key is None) == (submission is None):
            raise GradebookError("Say what to remove: a learner (--learner KEY) or one submission (--submission "
                                 "LABEL).")
        if learner_key is not None:
            self._known_learner(learner_key)
            hashes = [r[0] for r in self.con.execute("SELECT hash FROM submissions WHERE learner_key = ?",
                                                     [learner_key]).fetchall()]
        else:
            hashes = [r[0] for r in self.con.execute(
                "SELECT hash FROM submissions WHERE label = ? OR hash = ? OR (length(?) >= 8 AND hash LIKE ? || '%')",
                [submission, submission, submission, submission]).fetchall()]
            if not hashes:
                raise GradebookError(f"No submission is called {submission!r}. `flowcamp gradebook show --learner "
                                     "KEY` lists a learner's submissions with their labels.")
            if len(hashes) > 1:
                raise GradebookError(f"{len(hashes)} submissions are called {submission!r}: give the hash of the "
                                     "one to remove (`gradebook show --learner KEY` lists them).")
        marks = ", ".join("?" * len(hashes))
        with self._tx() as con:
            results = con.execute(f"SELECT count(*) FROM results WHERE submission_hash IN ({marks})",
                                  hashes).fetchone()[0]
            con.execute(f"DELETE FROM checks WHERE result_key IN (SELECT key FROM results WHERE submission_hash IN "
                        f"({marks}))", hashes)
            con.execute(f"DELETE FROM results WHERE submission_hash IN ({marks})", hashes)
            con.execute(f"DELETE FROM submissions WHERE hash IN ({marks})", hashes)
            con.execute("DELETE FROM overrides WHERE learner_key NOT IN (SELECT learner_key FROM submissions)")
            con.execute("DELETE FROM learners WHERE key NOT IN (SELECT learner_key FROM submissions)")
        return len(hashes), int(results)

    def _known_learner(self, key: str) -> None:
        if not self.con.execute("SELECT 1 FROM learners WHERE key = ?", [key]).fetchone():
            known = [r[0] for r in self.con.execute("SELECT key FROM learners ORDER BY key LIMIT 8").fetchall()]
            raise GradebookError(f"There is no learner '{key}' in this gradebook. Learners are keyed by email "
                                 f"(else name): {', '.join(known) or 'none yet'}. `flowcamp gradebook show` "
                                 "lists them.")

    # ------------------------------------------------------------------------------------------ reads
    def current_overrides(self) -> dict[tuple[str, str], Override | None]:
        """(learner, exercise) -> the override that applies (None: cleared)."""
        out: dict[tuple[str, str], Override | None] = {}
        for lk, ex, score, reason, by, at in self.con.execute(
                "SELECT learner_key, exercise_id, score, reason, set_by, set_at FROM overrides ORDER BY id").fetchall():
            out[(lk, ex)] = None if score is None else Override(score, reason or "", by or "", at)
        return out

    def override_history(self, learner_key: str | None = None) -> list[dict]:
        sql = "SELECT learner_key, exercise_id, score, reason, set_by, set_at FROM overrides"
        rows = self.con.execute(sql + (" WHERE learner_key = ?" if learner_key else "") + " ORDER BY id",
                                [learner_key] if learner_key else []).fetchall()
        names = ("learner", "exercise", "score", "reason", "by", "at")
        return [dict(zip(names, r)) for r in rows]

    def submissions(self) -> list[Submission]:
        """Every submission, oldest first (manifest time, then first seen)."""
        rows = self.con.execute(
            "SELECT hash, learner_key, name, email, source, label, status, message, created, first_seen, "
            "warnings, exercises FROM submissions ORDER BY created ASC NULLS FIRST, seq").fetchall()
        return [Submission(*r[:10], warnings=json.loads(r[10] or "[]"), exercises=json.loads(r[11] or "[]"))
                for r in rows]

    def latest_results(self) -> dict[tuple[str, str], tuple[str, float, float, dict]]:
        """(submission, exercise) -> (status, score, max_score, doc) of its latest recorded result."""
        rows = self.con.execute(
            "SELECT submission_hash, exercise_id, status, score, max_score, doc FROM results "
            "QUALIFY row_number() OVER (PARTITION BY submission_hash, exercise_id ORDER BY seq DESC) = 1").fetchall()
        return {(h, ex): (st, sc or 0.0, mx or 0.0, json.loads(doc)) for h, ex, st, sc, mx, doc in rows}

    def grades(self, graded_only: bool = False) -> list[LearnerGrades]:
        """Every learner (sorted by key) with their counted submission — the newest that could be graded, else
        the newest — and its marks. ``graded_only``: leave out a broken submission that names nobody (a
        damaged file, a path that is not a submission): exports and feedback are for learners. A learner who
        is named but whose work could not be graded keeps a row and feedback that says why."""
        counted: dict[str, Submission] = {}
        for sub in self.submissions():  # oldest first: the newest wins, a usable one over a broken one
            old = counted.get(sub.learner_key)
            if old is None or _usable(sub) or not _usable(old):
                counted[sub.learner_key] = sub
        results = self.latest_results()
        overrides = self.current_overrides()
        out = []
        for key in sorted(counted):
            sub = counted[key]
            if graded_only and not _usable(sub) and not (sub.name or sub.email):
                continue
            lg = LearnerGrades(key, sub.name, sub.email, sub)
            for (h, ex), (status, score, max_score, doc) in results.items():
                if h == sub.hash:
                    lg.marks[ex] = Mark(ex, status, score, max_score, doc, overrides.get((key, ex)))
            for (lk, ex), ov in overrides.items():
                if lk == key and ov is not None and ex not in lg.marks:
                    lg.marks[ex] = Mark(ex, "ungraded", 0.0, 0.0, None, ov)
            out.append(lg)
        return out

    def exercise_max(self) -> dict[str, float]:
        """Each exercise's maximum score: the largest any of its results states (an error with no checks may
        state less)."""
        rows = self.con.execute("SELECT exercise_id, max(max_score) FROM results GROUP BY exercise_id").fetchall()
        return {ex: float(m or 0) for ex, m in rows}


def _usable(sub: Submission) -> bool:
    return sub.status in ("ok", "")


def result_status(doc: dict) -> str:
    """A result's status as the gradebook keeps it: the document's, or "missing" when the grader marked the
    exercise as not in the submission (``"missing": true``), or "untouched" when its files were still the starter's
    and the learner never checked it nor asked for a hint (``"untouched": true``, set by the grader)."""
    if doc.get("missing") is True:
        return "missing"
    if doc.get("untouched") is True and doc.get("status") != "pass":
        return "untouched"
    return _text(doc.get("status"))


