"""The numbers of the cohort report (:mod:`.report`): from a gradebook, each learner's total, each exercise's and
each check's pass rate, the checks learners are stuck on, time and hints per exercise from the progress their
workspaces recorded, and each learner's scores and exercises done over time. Plain data: :mod:`.report` draws it.

Everything here comes from learners or their submissions (names, messages, manifests), so every field is read
defensively: wrong types and impossible values count as missing, never as an error.
"""

from __future__ import annotations

import json
import re
import statistics
from dataclasses import dataclass, field
from datetime import datetime

from flowcamp.grading.export import (
    exercise_maxima,
    exercise_order,
    exercise_titles,
    status_words,
)
from flowcamp.grading.gradebook import (
    NOT_STARTED,
    Gradebook,
    LearnerGrades,
    Submission,
    now,
    utc_iso,
)
from flowcamp.grading.secretscan import detect_line, is_placeholder, looks_random

STUCK_TOP = 10  # checks listed under "where learners are stuck"
MESSAGE_CHARS = 220  # a failing message is shortened to this
NAME_CHARS = 40  # a learner's name in lists and labels
NO_CHECK = "(no check finished)"  # a failing result with no checks: an error or a time-out before them
HISTORY_KEY = "history"  # intake.HISTORY_KEY, not imported: intake brings in the course and git machinery


@dataclass
class Rate:
    """One bar: ``n`` of ``total`` learners passed (or failed, for the stuck list)."""

    label: str
    n: int
    total: int
    tip: str = ""
    tags: list[str] = field(default_factory=list)
    missing: int = 0  # of ``total``: not handed in

    @property
    def tried(self) -> float | None:
        """The share passed among those who handed it in."""
        return self.n / (self.total - self.missing) if self.total > self.missing else None

    @property
    def share(self) -> float | None:
        return self.n / self.total if self.total else None


@dataclass
class Stuck:
    exercise: str
    check: str
    failing: int  # learners whose latest result fails this check
    total: int  # learners with a result for this exercise
    message: str  # the most common failing message, shortened
    sharing: int  # how many of them see that message (or the same with other numbers)
    learners: list[str]
    tags: list[str] = field(default_factory=list)
    variants: bool = False  # some of those see it with other numbers


@dataclass
class Effort:
    exercise: str
    learners: int  # learners whose progress mentions this exercise
    minutes: float | None  # median time to pass (see _effort)
    timed: int
    hints: float | None  # mean hints shown per learner with progress
    hinted: int  # learners who asked for at least one hint
    checks: float | None  # median checks run


@dataclass
class Series:
    key: str  # the learner's key (two learners may share a name)
    learner: str
    points: list[tuple[datetime, float]]


@dataclass
class Cohort:
    generated: str
    runs: list[dict]
    learners: int
    graded_learners: int
    submissions: int
    graded_submissions: int
    unusable: list[tuple[str, str, str]]  # (label, status, message)
    order: list[str]
    titles: dict[str, str]
    max_total: float
    totals: list[tuple[str, float]]  # (learner, percent of the maximum)
    exercises: list[Rate]
    checks: dict[str, list[Rate]]
    stuck: list[Stuck]
    missing: dict[str, int]  # exercise -> learners whose submission did not have it
    effort: list[Effort]
    scores: list[Series]  # percent of the maximum, per graded submission
    done: list[Series]  # exercises done, per submitted manifest


def collect(gb: Gradebook, course=None) -> Cohort:
    grades = gb.grades(graded_only=True)
    order = exercise_order(gb, grades, course)
    titles = exercise_titles(course)
    maxima = exercise_maxima(gb, order, course)
    max_total = sum(maxima.values())
    subs = gb.submissions()
    results = gb.latest_results()
    graded_hashes = {h for h, _ in results}
    graded = [lg for lg in grades if lg.submission and lg.submission.hash in graded_hashes]
    manifests = _manifests(gb)
    names = {lg.key: display_name(lg.name, lg.key) for lg in grades}
    for sub in subs:
        names.setdefault(sub.learner_key, display_name(sub.name, sub.learner_key))
    return Cohort(
        generated=time_words(now()), runs=gb.runs(), learners=len(grades), graded_learners=len(graded),
        submissions=len(subs), graded_submissions=len({s.hash for s in subs} & graded_hashes),
        unusable=[(s.label or s.hash[:12], s.status, s.message) for s in subs if s.status not in ("ok", "")],
        order=order, titles=titles, max_total=max_total,
        totals=[(names[lg.key], 100 * lg.total / max_total if max_total else 0.0) for lg in graded],
        exercises=_exercise_rates(graded, order, titles), checks=_check_rates(graded, order),
        stuck=_stuck(graded, order, names), missing=_missing(graded, order),
        effort=_effort(graded, order, manifests),
        scores=_scores(subs, results, names, max_total), done=_done(subs, manifests, names, order))


def display_name(name: str | None, key: str) -> str:
    text = " ".join(str(name or "").split()) or key
    return short(text, NAME_CHARS)


def _manifests(gb: Gradebook) -> dict[str, dict]:
    out = {}
    for h, text in gb.con.execute("SELECT hash, manifest FROM submissions").fetchall():
        try:
            data = json.loads(text) if text else {}
        except ValueError:
            data = {}
        out[h] = data if isinstance(data, dict) else {}
    return out


def _checks_of(doc: dict | None) -> list[dict]:
    return [c for c in (doc or {}).get("checks") or [] if isinstance(c, dict)]


def _tags(c: dict) -> list[str]:
    return [t for t, on in (("hidden", c.get("visibility") == "hidden"), ("held-out", bool(c.get("heldout"))))
            if on]


def _exercise_rates(graded: list[LearnerGrades], order: list[str], titles: dict[str, str]) -> list[Rate]:
    out = []
    for ex in order:
        marks = [lg.marks[ex] for lg in graded if ex in lg.marks and lg.marks[ex].doc is not None]
        out.append(Rate(ex, sum(m.status == "pass" for m in marks), len(marks), titles.get(ex, ""),
                        missing=sum(m.status in NOT_STARTED for m in marks)))
    return out


def _check_rates(graded: list[LearnerGrades], order: list[str]) -> dict[str, list[Rate]]:
    out: dict[str, list[Rate]] = {}
    for ex in order:
        rates: dict[str, Rate] = {}
        for lg in graded:
            mark = lg.marks.get(ex)
            if mark is None:
                continue
            for c in _checks_of(mark.doc):
                name = str(c.get("name") or "(unnamed check)")
                rate = rates.setdefault(name, Rate(name, 0, 0, tags=_tags(c)))
                rate.total += 1
                rate.n += c.get("status") == "pass"
        if rates:
            out[ex] = list(rates.values())
    return out


def _stuck(graded: list[LearnerGrades], order: list[str], names: dict[str, str]) -> list[Stuck]:
    """The checks most learners fail in their latest result, most first (then in course order)."""
    found: dict[tuple[str, str], dict] = {}
    for x, ex in enumerate(order):
        marks = {lg.key: lg.marks[ex] for lg in graded if ex in lg.marks and lg.marks[ex].doc is not None}
        total = len(marks)
        for key, mark in marks.items():
            if mark.status in ("pass", "ungraded", *NOT_STARTED):
                continue
            checks = _checks_of(mark.doc)
            failing = [c for c in checks if c.get("status") != "pass"]
            if not checks:
                failing = [{"name": NO_CHECK, "message": mark.doc.get("message") or status_words(mark.status)}]
            for c in failing:
                name = str(c.get("name") or "(unnamed check)")
                entry = found.get((ex, name))
                if entry is None:
                    where = (x, checks.index(c) if c in checks else -1)
                    entry = found[(ex, name)] = {"pos": where, "total": total, "learners": {}, "tags": _tags(c)}
                entry["learners"][key] = mask(first_line(str(c.get("message") or "")))
    out = []
    for (ex, name), entry in found.items():
        groups: dict[str, list[str]] = {}  # messages that differ only in their numbers go together
        for text in entry["learners"].values():
            groups.setdefault(message_shape(text), []).append(text)
        same = max(groups.values(), key=lambda g: (len(g), g[0] != ""))
        message = max(set(same), key=lambda t: (same.count(t), t))
        who = sorted((names.get(k, k) for k in entry["learners"]), key=str.lower)
        out.append((entry["pos"], Stuck(ex, name, len(who), entry["total"], short(message, MESSAGE_CHARS) or
                                        "(no message)", len(same), who, entry["tags"], len(set(same)) > 1)))
    out.sort(key=lambda p: (-p[1].failing, p[0]))
    return [s for _, s in out[:STUCK_TOP]]


def _missing(graded: list[LearnerGrades], order: list[str]) -> dict[str, int]:
    out = {}
    for ex in order:
        n = sum(1 for lg in graded if ex in lg.marks and lg.marks[ex].status in NOT_STARTED)
        if n:
            out[ex] = n
    return out


_QUOTED = re.compile(r"""(?P<q>['"])(?P<value>(?:(?!(?P=q)).){4,200})(?P=q)""")


def mask(text: str, hidden: str = "[hidden]") -> str:
    """``text`` (a check's message, for a report many people read) with every secret-looking value in it
    replaced: what the scan would find in a line of code, and any quoted value that looks generated."""
    values = {v for _, v in detect_line(text, "code", ".py")}
    values |= {m.group("value") for m in _QUOTED.finditer(text)
               if looks_random(m.group("value")) and not is_placeholder(m.group("value"))}
    for value in sorted(values, key=len, reverse=True):
        text = text.replace(value, hidden)
    return text


def message_shape(text: str) -> str:
    """What two learners' messages share when they differ only in their own values: quoted values, the random
    names a check gives its variables (FLOWCAMP_CHECK_C3036F, VAN_5EE643) and numbers are set aside."""
    text = re.sub(r"""(['"`])(?:(?!\1).){0,200}\1""", "'...'", text)
    text = re.sub(r"\b[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+\b", "NAME", text)
    return re.sub(r"\d+", "#", text)


def first_line(text: str) -> str:
    """A message as one line: its first line with text, spaces squeezed."""
    for line in text.splitlines():
        if line.strip():
            return " ".join(line.split())
    return ""


def _progress(manifest: dict) -> dict[str, dict]:
    progress = manifest.get("progress") if isinstance(manifest, dict) else None
    entries = progress.get("exercises") if isinstance(progress, dict) else None
    return {str(k): v for k, v in entries.items() if isinstance(v, dict)} if isinstance(entries, dict) else {}


def _count(value) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 10_000 else None


def time_of(value) -> datetime | None:
    iso = utc_iso(value)
    return datetime.fromisoformat(iso) if iso else None


def _effort(graded: list[LearnerGrades], order: list[str], manifests: dict[str, dict]) -> list[Effort]:
    """Per exercise, from each graded learner's own progress: hints shown, checks run, and the time to pass.
    A workspace records when an exercise first passed, not when work on it began; the time is from the start
    the progress records (``started_at``), else from the learner's previous pass."""
    per: dict[str, dict[str, list]] = {ex: {"hints": [], "checks": [], "minutes": [], "learners": []} for ex in order}
    for lg in graded:
        entries = _progress(manifests.get(lg.submission.hash, {}))
        passes = sorted((t, ex) for ex, e in entries.items() if (t := time_of(e.get("passed_at"))))
        for ex in order:
            e = entries.get(ex)
            if e is None:
                continue
            row = per[ex]
            row["learners"].append(lg.key)
            hints, checks = _count(e.get("hints_shown")), _count(e.get("checks"))
            row["hints"].append(hints or 0)
            if checks is not None:
                row["checks"].append(checks)
            passed = time_of(e.get("passed_at"))
            start = time_of(e.get("started_at") or e.get("started"))
            if passed and start is None:
                before = [t for t, other in passes if t < passed and other != ex]
                start = before[-1] if before else None
            if passed and start and passed > start:
                row["minutes"].append((passed - start).total_seconds() / 60)
    out = []
    for ex in order:
        row = per[ex]
        n = len(row["learners"])
        out.append(Effort(ex, n, statistics.median(row["minutes"]) if row["minutes"] else None, len(row["minutes"]),
                          statistics.fmean(row["hints"]) if n else None, sum(1 for h in row["hints"] if h),
                          statistics.median(row["checks"]) if row["checks"] else None))
    return out


def _scores(subs: list[Submission], results: dict, names: dict[str, str], max_total: float) -> list[Series]:
    """Each learner's graded submissions: score (as graded, overrides aside) in percent of the maximum."""
    by_sub: dict[str, float] = {}
    for (h, _), (_, score, _, _) in results.items():
        by_sub[h] = by_sub.get(h, 0.0) + score
    series: dict[str, list] = {}
    for sub in subs:
        when = time_of(sub.submitted_at)
        if sub.hash in by_sub and when and max_total:
            series.setdefault(sub.learner_key, []).append((when, 100 * by_sub[sub.hash] / max_total))
    return [Series(k, names.get(k, k), sorted(p)) for k, p in sorted(series.items())]


def _done(subs: list[Submission], manifests: dict[str, dict], names: dict[str, str], order: list[str]) -> list[Series]:
    """Exercises done by each learner over time: every usable submission's own progress at its time, and the
    manifests a git repository held before it (``history``, written by intake)."""
    known = set(order)
    series: dict[str, dict[datetime, float]] = {}
    for sub in subs:
        if sub.status not in ("ok", ""):
            continue
        manifest = manifests.get(sub.hash, {})
        points = series.setdefault(sub.learner_key, {})
        history = manifest.get(HISTORY_KEY)
        history = [h for h in history if isinstance(h, dict)] if isinstance(history, list) else []
        for h in history:  # its newest point is this submission's own manifest
            if (t := time_of(h.get("time"))) and isinstance(h.get("done"), list):
                points[t] = float(len({d for d in h["done"] if isinstance(d, str) and d in known}))
        when, entries = time_of(sub.submitted_at), _progress(manifest)
        if when and entries and not history:
            points[when] = float(sum(1 for ex, e in entries.items() if ex in known and e.get("passed") is True))
    return [Series(k, names.get(k, k), sorted(p.items())) for k, p in sorted(series.items()) if p]




def short(text: str, limit: int) -> str:
    text = str(text)
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def time_words(value) -> str:
    """A time as '2026-12-03 10:42 UTC' ('?' when it is none)."""
    t = time_of(value)
    return t.strftime("%Y-%m-%d %H:%M UTC") if t else "?"
