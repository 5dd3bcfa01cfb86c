"""The cohort report: ``OUT/report.html``, one self-contained page for the instructor (inline CSS and SVG, no
script, nothing loaded from anywhere) that shows the cohort at a glance: the spread of scores, each exercise's
and each check's pass rate, where learners are stuck (with their most common message and who they are), the
time and hints learners spent per exercise (from the progress their workspace recorded), and their progress
over time (graded submissions, and the submitted manifests a git repository keeps).

It is the instructor's: hidden checks are named, and messages about held-out data appear as the gradebook has
them. Everything a learner wrote (names, messages, ids in a manifest) is escaped, and a Content-Security-Policy
forbids scripts besides. :func:`collect` turns the gradebook into plain numbers; :func:`render` draws them.
"""

from __future__ import annotations

import html
import json
import re
import statistics
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from flowcamp.grading.export import (exercise_maxima, exercise_order, exercise_titles, num, status_words,
                                     write_atomic)
from flowcamp.grading.gradebook import Gradebook, LearnerGrades, Submission, now, utc_iso

REPORT_NAME = "report.html"
STUCK_TOP = 10  # checks listed under "where learners are stuck"
MESSAGE_CHARS = 220  # a failing message is shortened to this
NAME_CHARS = 40  # a learner's name in lists and labels
NO_CHECK = "(no check finished)"  # a failing result with no checks: an error or a time-out before them
HISTORY_KEY = "history"  # intake.HISTORY_KEY, not imported: intake brings in the course and git machinery

# Colours: each one also has words or numbers beside it, never colour alone.
INK, MUTED, GRID, BAR = "#1f2933", "#52606d", "#d9e2ec", "#3b6fb6"
GOOD, MIDDLE, LOW = "#2f7d4f", "#b7791f", "#c0392b"
WIDTH = 960  # every chart's own width; a page narrower than MIN_WIDTH scrolls it sideways
MIN_WIDTH = 640
FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, Helvetica, Arial, sans-serif"


# ---------------------------------------------------------------------------------------------- the numbers
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


def write_report(gb: Gradebook, out: Path, course=None) -> Path:
    """Write ``out/report.html`` from the gradebook and return its path."""
    path = Path(out) / REPORT_NAME
    write_atomic(path, render(collect(gb, course)))
    return path


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
        generated=_when(now()), runs=gb.runs(), learners=len(grades), graded_learners=len(graded),
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
    return _short(text, NAME_CHARS)


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
                        missing=sum(m.status == "missing" for m in marks)))
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
            if mark.status in ("pass", "missing", "ungraded"):
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
                entry["learners"][key] = first_line(str(c.get("message") or ""))
    out = []
    for (ex, name), entry in found.items():
        groups: dict[str, list[str]] = {}  # messages that differ only in their numbers go together
        for text in entry["learners"].values():
            groups.setdefault(re.sub(r"\d+", "#", text), []).append(text)
        same = max(groups.values(), key=lambda g: (len(g), g[0] != ""))
        message = max(set(same), key=lambda t: (same.count(t), t))
        who = sorted((names.get(k, k) for k in entry["learners"]), key=str.lower)
        out.append((entry["pos"], Stuck(ex, name, len(who), entry["total"], _short(message, MESSAGE_CHARS) or
                                        "(no message)", len(same), who, entry["tags"], len(set(same)) > 1)))
    out.sort(key=lambda p: (-p[1].failing, p[0]))
    return [s for _, s in out[:STUCK_TOP]]


def _missing(graded: list[LearnerGrades], order: list[str]) -> dict[str, int]:
    out = {}
    for ex in order:
        n = sum(1 for lg in graded if ex in lg.marks and lg.marks[ex].status == "missing")
        if n:
            out[ex] = n
    return out


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


def _time(value) -> datetime | None:
    iso = utc_iso(value)
    return datetime.fromisoformat(iso) if iso else None


def _effort(graded: list[LearnerGrades], order: list[str], manifests: dict[str, dict]) -> list[Effort]:
    """Per exercise, from each graded learner's own progress: hints shown, checks run, and the time to pass.
    A workspace records when an exercise first passed, not when work on it began; the time is from the start
    the progress records (``started_at``), else from the learner's previous pass."""
    per: dict[str, dict[str, list]] = {ex: {"hints": [], "checks": [], "minutes": [], "learners": []} for ex in order}
    for lg in graded:
        entries = _progress(manifests.get(lg.submission.hash, {}))
        passes = sorted((t, ex) for ex, e in entries.items() if (t := _time(e.get("passed_at"))))
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
            passed = _time(e.get("passed_at"))
            start = _time(e.get("started_at") or e.get("started"))
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
        when = _time(sub.submitted_at)
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
            if (t := _time(h.get("time"))) and isinstance(h.get("done"), list):
                points[t] = float(len({d for d in h["done"] if isinstance(d, str) and d in known}))
        when, entries = _time(sub.submitted_at), _progress(manifest)
        if when and entries and not history:
            points[when] = float(sum(1 for ex, e in entries.items() if ex in known and e.get("passed") is True))
    return [Series(k, names.get(k, k), sorted(p.items())) for k, p in sorted(series.items()) if p]


# ---------------------------------------------------------------------------------------------- text
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u2028\u2029\ufffe\uffff]")


def e(text) -> str:
    """Text as HTML (and SVG) text or an attribute value: escaped, control characters dropped (and a lone
    surrogate, which no UTF-8 file can hold, replaced)."""
    text = str(text).encode("utf-8", "replace").decode("utf-8")
    return html.escape(_CONTROL.sub("", text), quote=True)


def rich(text) -> str:
    """Escaped text in which `code` (as the grader's and the checks' messages write it) shows as code."""
    return re.sub(r"`([^`\n]{1,200})`", r"<code>\1</code>", e(text))


def _when(value) -> str:
    """A time as '2026-12-03 10:42 UTC' ('?' when it is none)."""
    t = _time(value)
    return t.strftime("%Y-%m-%d %H:%M UTC") if t else "?"


def _short(text: str, limit: int) -> str:
    text = str(text)
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _pct(share: float | None) -> str:
    return "no data" if share is None else f"{round(100 * share)}%"


def _tone(share: float | None) -> str:
    if share is None:
        return GRID
    return GOOD if share >= 0.8 else MIDDLE if share >= 0.5 else LOW


def _minutes(m: float | None) -> str:
    if m is None:
        return "no data"
    if m < 1:
        return "under 1 min"
    if m < 90:
        return f"{round(m)} min"
    if m < 48 * 60:
        return f"{m / 60:.1f} h" if m < 600 else f"{round(m / 60)} h"
    return f"{m / 1440:.1f} days"


def _n(x: float | None, digits: int = 1) -> str:
    if x is None:
        return "no data"
    return str(int(x)) if float(x).is_integer() else f"{x:.{digits}f}"


# ---------------------------------------------------------------------------------------------- SVG
def _svg(plot: str, width: int, height: int, title: str, desc: str, body: list[str]) -> str:
    return (f'<svg class="chart" id="svg-{plot}" data-plot="{plot}" xmlns="http://www.w3.org/2000/svg" '
            f'viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img" '
            f'aria-labelledby="svg-{plot}-t svg-{plot}-d" font-family="{e(FONT)}" font-size="13" fill="{INK}">'
            f'<title id="svg-{plot}-t">{e(title)}</title><desc id="svg-{plot}-d">{e(desc)}</desc>'
            + "".join(body) + "</svg>")


def _text(x: float, y: float, text: str, anchor: str = "start", size: int = 13, fill: str = INK,
          weight: str = "normal", cls: str = "") -> str:
    extra = f' class="{cls}"' if cls else ""
    bold = ' font-weight="bold"' if weight != "normal" else ""
    return (f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" font-size="{size}" fill="{fill}"{bold}{extra}>'
            f"{e(text)}</text>")


def hbars(plot: str, title: str, desc: str, rates: list[Rate], width: int = WIDTH, label_width: int = 260) -> str:
    """Horizontal bars, one per rate, with its label on the left and "n/N · p%" on the right."""
    row, top = 24, 26
    bar_x, bar_w = label_width + 8, width - label_width - 8 - 190
    height = top + row * len(rates) + 10
    body = [_text(bar_x, 16, "0%", size=11, fill=MUTED), _text(bar_x + bar_w, 16, "100%", "end", 11, MUTED)]
    for pct in (0.5,):
        x = bar_x + bar_w * pct
        body.append(f'<line x1="{x:.1f}" y1="20" x2="{x:.1f}" y2="{height - 8}" stroke="{GRID}" '
                    'stroke-dasharray="3 3"/>')
        body.append(_text(x, 16, "50%", "middle", 11, MUTED))
    for i, r in enumerate(rates):
        y = top + i * row
        share = r.share
        tip = f"{r.label}{': ' + r.tip if r.tip else ''}: {r.n} of {r.total} passed ({_pct(share)})"
        body.append(f'<g class="bar" data-label="{e(r.label)}" data-n="{r.n}" data-total="{r.total}">'
                    f"<title>{e(tip)}</title>")
        body.append(_text(label_width, y + 15, _short(r.label, label_width // 7), "end"))
        body.append(f'<rect x="{bar_x}" y="{y + 3}" width="{bar_w}" height="{row - 8}" fill="#f0f4f8" rx="2"/>')
        if share:
            body.append(f'<rect x="{bar_x}" y="{y + 3}" width="{bar_w * share:.1f}" height="{row - 8}" '
                        f'fill="{_tone(share)}" rx="2"/>')
        if r.missing and r.total:  # not handed in: grey, at the far end, and said in words
            w = bar_w * r.missing / r.total
            body.append(f'<rect class="missing" x="{bar_x + bar_w - w:.1f}" y="{y + 3}" width="{w:.1f}" '
                        f'height="{row - 8}" fill="{GRID}" rx="2"/>')
        words = f"{r.n}/{r.total} · {_pct(share)}" if r.total else "not graded"
        if r.missing:
            words += f" · {r.missing} not in"
        body.append(_text(bar_x + bar_w + 8, y + 15, words, fill=INK if r.total else MUTED) + "</g>")
    return _svg(plot, width, height, title, desc, body)


def histogram(plot: str, title: str, desc: str, values: list[float], width: int = 720, height: int = 300) -> str:
    """Percentages in ten bins of 10 points (100% in the last), each bar labelled with its count."""
    counts = [0] * 10
    for v in values:
        counts[min(9, max(0, int(v // 10)))] += 1
    left, right, top, bottom = 56, 12, 24, 44
    plot_w, plot_h = width - left - right, height - top - bottom
    step = max(1, -(-max(counts) // 5))
    most = step * max(1, -(-max(counts) // step))  # the axis ends on a tick
    body = []
    for tick in range(0, most + 1, step):
        y = top + plot_h - plot_h * tick / most
        body.append(f'<line x1="{left}" y1="{y:.1f}" x2="{width - right}" y2="{y:.1f}" stroke="{GRID}"/>')
        body.append(_text(left - 6, y + 4, str(tick), "end", 11, MUTED))
    bw = plot_w / 10
    for i, c in enumerate(counts):
        x, h = left + i * bw, plot_h * c / most
        label = f"{i * 10}–{i * 10 + 10}%"
        body.append(f'<g class="bar" data-bin="{i * 10}" data-n="{c}"><title>{e(label)}: {c} learner'
                    f'{"s" if c != 1 else ""}</title>')
        if c:
            body.append(f'<rect x="{x + 3:.1f}" y="{top + plot_h - h:.1f}" width="{bw - 6:.1f}" height="{h:.1f}" '
                        f'fill="{_tone((i + 0.5) / 10)}" rx="2"/>')
            body.append(_text(x + bw / 2, top + plot_h - h - 5, str(c), "middle", 12, weight="bold"))
        body.append(_text(x + bw / 2, top + plot_h + 16, f"{i * 10}–{i * 10 + 10}", "middle", 11, MUTED) + "</g>")
    body.append(f'<line x1="{left}" y1="{top + plot_h}" x2="{width - right}" y2="{top + plot_h}" stroke="{MUTED}"/>')
    body.append(_text(left + plot_w / 2, height - 6, "score, percent of the maximum", "middle", 12, MUTED))
    body.append(_text(12, top + plot_h / 2, "learners", "middle", 12, MUTED).replace(
        "<text ", f'<text transform="rotate(-90 12 {top + plot_h / 2:.1f})" ', 1))
    return _svg(plot, width, height, title, desc, body)


def panel(learner: str, scores: list[tuple[datetime, float]], done: list[tuple[datetime, float]], lo: datetime,
          hi: datetime, exercises: int) -> str:
    """One learner's small chart on the cohort's time axis: the score of each graded submission (solid line,
    round dots) and the exercises their own progress shows as done (dashed line, squares), both in percent."""
    width, height, left, right, top, bottom = 240, 104, 8, 8, 24, 22
    plot_w, plot_h = width - left - right, height - top - bottom
    span = (hi - lo).total_seconds() or 1.0

    def sx(t: datetime) -> float:
        return left + plot_w * (t - lo).total_seconds() / span

    def sy(v: float) -> float:
        return top + plot_h - plot_h * max(0.0, min(v, 100.0)) / 100

    body = [_text(left, 14, _short(learner, 30), size=12, weight="bold"),
            f'<rect x="{left}" y="{top}" width="{plot_w}" height="{plot_h}" fill="#f8fafc" stroke="{GRID}"/>',
            f'<line x1="{left}" y1="{sy(50):.1f}" x2="{left + plot_w}" y2="{sy(50):.1f}" stroke="{GRID}" '
            'stroke-dasharray="2 3"/>']
    words = []
    for measure, points, colour, dash in (("score", scores, BAR, ""), ("done", done, GOOD, ' stroke-dasharray="5 3"')):
        if not points:
            continue
        values = [(t, v if measure == "score" else 100 * v / (exercises or 1)) for t, v in points]
        said = "; ".join(f"{t:%b %d %H:%M} {round(v)}%" if measure == "score" else f"{t:%b %d %H:%M} {_n(raw)} done"
                         for (t, v), (_, raw) in zip(values, points))
        body.append(f'<g class="line" data-measure="{measure}" data-points="{len(points)}"><title>'
                    f"{e(learner)}, {'score' if measure == 'score' else 'exercises done'}: {e(said)}</title>")
        if len(values) > 1:
            body.append(f'<polyline points="{" ".join(f"{sx(t):.1f},{sy(v):.1f}" for t, v in values)}" fill="none" '
                        f'stroke="{colour}" stroke-width="2"{dash}/>')
        for t, v in values:
            body.append(f'<circle cx="{sx(t):.1f}" cy="{sy(v):.1f}" r="3" fill="{colour}"/>' if measure == "score"
                        else f'<rect x="{sx(t) - 2.5:.1f}" y="{sy(v) - 2.5:.1f}" width="5" height="5" '
                             f'fill="{colour}"/>')
        body.append("</g>")
        words.append(f"{round(values[-1][1])}%" if measure == "score" else f"{_n(points[-1][1])}/{exercises} done")
    body.append(_text(left, height - 6, " · ".join(words), size=11, fill=MUTED))
    return (f'<svg class="spark" data-plot="progress" data-learner="{e(learner)}" xmlns="http://www.w3.org/2000/svg" '
            f'viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img" font-family="{e(FONT)}" '
            f'fill="{INK}"><title>{e(learner)}: {e(" · ".join(words))}</title>' + "".join(body) + "</svg>")


def effort_chart(plot: str, title: str, desc: str, rows: list[Effort], width: int = WIDTH,
                 label_width: int = 190) -> str:
    """Three small bar panels side by side, one row per exercise: time to pass, hints, checks run."""
    row, top = 22, 34
    panels = [("median time to pass", "minutes", lambda r: r.minutes, _minutes),
              ("hints per learner", "hints", lambda r: r.hints, lambda v: _n(v)),
              ("median checks run", "checks", lambda r: r.checks, lambda v: _n(v))]
    panel_w = (width - label_width - 10) / len(panels)
    height = top + row * len(rows) + 8
    body = []
    for p, (head, _, get, fmt) in enumerate(panels):
        x0 = label_width + 10 + p * panel_w
        values = [get(r) for r in rows if get(r) is not None]
        most = max(values) if values else 0
        body.append(_text(x0, 16, head, size=12, weight="bold"))
        body.append(f'<g class="panel" data-panel="{e(head)}">')
        for i, r in enumerate(rows):
            y = top + i * row
            v = get(r)
            if v is None:
                body.append(_text(x0, y + 14, "no data", size=11, fill=MUTED, cls="no-data"))
                continue
            w = (panel_w - 80) * (v / most if most else 0)
            body.append(f'<rect x="{x0:.1f}" y="{y + 3}" width="{max(w, 1.5):.1f}" height="{row - 8}" '
                        f'fill="{BAR}" rx="2"/>')
            body.append(_text(x0 + max(w, 1.5) + 5, y + 14, fmt(v), size=11))
        body.append("</g>")
    for i, r in enumerate(rows):
        y = top + i * row
        body.append(f'<g class="row" data-exercise="{e(r.exercise)}" data-learners="{r.learners}">'
                    f"<title>{e(r.exercise)}: progress from {r.learners} learner(s)</title>"
                    + _text(label_width, y + 14, _short(r.exercise, label_width // 7), "end") + "</g>")
    return _svg(plot, width, height, title, desc, body)


# ---------------------------------------------------------------------------------------------- HTML
CSS = f"""
*{{box-sizing:border-box}}
body{{margin:0;font-family:{FONT};color:{INK};background:#f5f7fa;line-height:1.45;font-size:16px}}
main{{max-width:1120px;margin:0 auto;padding:16px}}
h1{{font-size:1.6rem;margin:.2rem 0 .4rem}}
h2{{font-size:1.25rem;margin:0 0 .5rem}}
h3{{font-size:1rem;margin:.2rem 0 .4rem}}
section,header{{background:#fff;border:1px solid {GRID};border-radius:8px;padding:16px 18px;margin:0 0 16px}}
.private{{background:#fff4e5;border:2px solid {MIDDLE};border-radius:8px;padding:10px 14px;margin:0 0 16px;
  font-weight:600}}
.counts{{display:grid;grid-template-columns:repeat(auto-fit,minmax(140px,1fr));gap:10px;margin:12px 0}}
.count{{background:#f0f4f8;border-radius:6px;padding:8px 10px}}
.count b{{display:block;font-size:1.5rem}}
.count.bad{{background:#fdecea}}
.meta{{color:{MUTED};font-size:.9rem}}
ul.glance{{margin:.2rem 0 .6rem;padding-left:1.2rem}}
ul.glance li{{margin:.15rem 0}}
a{{color:{BAR}}}
.scroll{{overflow-x:auto;-webkit-overflow-scrolling:touch}}
.swipe{{display:none;color:{MUTED};font-size:.8rem;margin:0 0 4px}}
svg.chart{{display:block;width:100%;height:auto;min-width:{MIN_WIDTH}px;max-width:{WIDTH * 1.25:.0f}px}}
figure{{margin:0}}
figcaption{{margin-top:10px;color:{INK}}}
figcaption p{{margin:.3rem 0}}
details{{margin-top:8px}}
summary{{cursor:pointer;color:{BAR}}}
table{{border-collapse:collapse;font-size:.9rem;margin-top:6px;width:100%}}
th,td{{text-align:left;padding:3px 8px;border-bottom:1px solid {GRID};vertical-align:top}}
td.num,th.num{{text-align:right;white-space:nowrap}}
.cards{{display:grid;grid-template-columns:repeat(auto-fill,minmax(min(100%,330px),1fr));gap:10px}}
.card{{border:1px solid {GRID};border-radius:6px;padding:8px 10px}}
.card h3 small{{color:{MUTED};font-weight:normal}}
ul.checks{{list-style:none;margin:0;padding:0}}
ul.checks li{{display:grid;grid-template-columns:minmax(0,1fr) 92px 50px;gap:6px;align-items:center;
  padding:2px 0;border-top:1px solid #eef2f6;font-size:.84rem;line-height:1.25}}
ul.checks li>span:first-child{{overflow-wrap:anywhere}}
code{{font-size:.9em;background:#eef2f6;border-radius:3px;padding:0 3px}}
ul.checks svg{{display:block;width:92px;height:12px}}
.tag{{display:inline-block;font-size:.72rem;border-radius:4px;padding:0 5px;margin-left:4px;
  background:#ede7f6;color:#4a2c82;border:1px solid #b39ddb;white-space:nowrap}}
.tag.heldout{{background:#e0f2f1;color:#0b5f56;border-color:#80cbc4}}
.panels{{display:grid;grid-template-columns:repeat(auto-fill,minmax(220px,1fr));gap:8px}}
svg.spark{{display:block;width:100%;height:auto;border:1px solid {GRID};border-radius:6px;background:#fff}}
.legend{{font-size:.9rem;color:{MUTED}}}
.key{{display:inline-block;width:22px;height:0;vertical-align:middle;margin:0 4px 0 8px}}
.key.score{{border-top:2px solid {BAR}}}
.key.done{{border-top:2px dashed {GOOD}}}
ol.stuck{{padding-left:1.4rem;margin:.4rem 0}}
ol.stuck li{{margin:0 0 12px}}
.stuck-head{{display:flex;flex-wrap:wrap;gap:8px;align-items:baseline}}
.stuck-count{{font-weight:700;color:{LOW}}}
blockquote{{margin:4px 0;padding:4px 10px;border-left:4px solid {GRID};background:#f8fafc;font-size:.92rem}}
.who{{color:{MUTED};font-size:.88rem}}
.none{{color:{MUTED};font-style:italic}}
.warn{{color:{LOW}}}
@media (max-width:{MIN_WIDTH + 80}px){{.swipe{{display:block}}}}
@media (max-width:600px){{main{{padding:8px}} section,header{{padding:12px}} h1{{font-size:1.3rem}}
  ul.checks li{{grid-template-columns:minmax(0,1fr) 70px 46px}} ul.checks svg{{width:70px}}}}
@media print{{body{{background:#fff}} section,header{{break-inside:avoid}}}}
"""


def render(c: Cohort) -> str:
    parts = [_header(c), _scores_section(c), _exercises_section(c), _checks_section(c), _stuck_section(c),
             _effort_section(c), _progress_section(c)]
    title = "Cohort report"
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; "
            "img-src data:\">"
            "<meta name=\"robots\" content=\"noindex\">"
            f"<title>{e(title)}</title><style>{CSS}</style></head><body><main>"
            + "".join(parts) + "</main></body></html>\n")


SWIPE = '<p class="swipe" aria-hidden="true">Wider than this screen: swipe the chart sideways.</p>'


def _caption(shows: str, todo: str) -> str:
    return (f"<figcaption><p><strong>What this shows:</strong> {shows}</p>"
            f"<p><strong>What to do:</strong> {todo}</p></figcaption>")


def _table(head: list[str], rows: list[list[str]], numeric: set[int] = frozenset()) -> str:
    th = "".join(f'<th{" class=num" if i in numeric else ""} scope="col">{e(h)}</th>' for i, h in enumerate(head))
    body = "".join("<tr>" + "".join(f'<td{" class=num" if i in numeric else ""}>{e(v)}</td>'
                                    for i, v in enumerate(r)) + "</tr>" for r in rows)
    return f"<table><thead><tr>{th}</tr></thead><tbody>{body}</tbody></table>"


def _numbers(head: list[str], rows: list[list[str]], numeric: set[int] = frozenset()) -> str:
    return f"<details><summary>The numbers, as a table</summary>{_table(head, rows, numeric)}</details>"


def _section(plot: str, heading: str, inner: str) -> str:
    return f'<section id="{plot}" aria-labelledby="{plot}-h"><h2 id="{plot}-h">{e(heading)}</h2>{inner}</section>'


def _header(c: Cohort) -> str:
    run = c.runs[-1] if c.runs else {}
    title = "Cohort report"
    counts = [("learners", c.learners, ""), ("graded learners", c.graded_learners, ""),
              ("submissions", c.submissions, ""), ("graded submissions", c.graded_submissions, ""),
              ("unusable submissions", len(c.unusable), " bad" if c.unusable else "")]
    boxes = "".join(f'<div class="count{cls}" data-count="{e(k)}"><b>{n}</b>{e(k)}</div>' for k, n, cls in counts)
    if run:
        when = f"Last grading run: started {_when(run.get('started_at'))}, " + (
            f"finished {_when(run['finished_at'])}" if run.get("finished_at") else "not finished (stopped, or running)")
        seed = f"held-out seed {run.get('seed')}" if run.get("seed") is not None else "no seed recorded"
        meta = (f"{e(when)}; {e(seed)}; course version {e(run.get('course_version') or '?')}; "
                f"{len(c.runs)} run{'s' if len(c.runs) != 1 else ''} in this gradebook.")
    else:
        meta = "No grading run is recorded in this gradebook yet."
    bad = ""
    if c.unusable:
        items = "".join(f"<li><strong>{e(label)}</strong> ({e(status)}): {rich(_short(message, 400))}</li>"
                        for label, status, message in c.unusable)
        bad = (f'<h2 id="unusable-h">Submissions that could not be graded</h2><ul class="unusable">{items}</ul>'
               "<p>Each message says what to do; after the learner hands in again, run the same "
               "<code>flowcamp grade</code> command: only the new work is graded.</p>")
    return (f'<header><p class="private" role="note">For the instructor only: this page names hidden checks and '
            "shows messages about held-out data. Do not share it with learners; their feedback is in "
            f"<code>feedback/</code>.</p><h1>{e(title)}</h1>"
            f'<div class="counts">{boxes}</div>{_glance(c)}<p class="meta">{meta} This page was written '
            f"{e(c.generated)}.</p>" + bad + "</header>")


def _glance(c: Cohort) -> str:
    """Three lines to read first, each linking to its plot."""
    lines = []
    values = [v for _, v in c.totals]
    if values:
        low = sum(1 for v in values if v < 50)
        lines.append(f'<a href="#scores">Scores</a>: the middle learner has {round(statistics.median(values))}% '
                     f"of the points; {low} of {len(values)} have less than half.")
    rated = sorted((r for r in c.exercises if r.tried is not None), key=lambda r: (r.tried, c.order.index(r.label)))
    if rated:
        r = rated[0]
        lines.append(f'<a href="#exercises">Hardest exercise</a>: {e(r.label)}, passed by {r.n} of the '
                     f"{r.total - r.missing} who handed it in ({_pct(r.tried)}).")
    if c.stuck:
        s = c.stuck[0]
        lines.append(f'<a href="#stuck">Most stuck</a>: {e(s.exercise)}, "{e(s.check)}": {s.failing} of {s.total} '
                     "learners fail it.")
    return f'<ul class="glance" aria-label="At a glance">{"".join(f"<li>{x}</li>" for x in lines)}</ul>' if lines \
        else ""


def _scores_section(c: Cohort) -> str:
    values = [v for _, v in c.totals]
    if not values:
        return _section("scores", "1. Score distribution", '<p class="none">No data: no learner has been graded '
                        "yet.</p>")
    med = statistics.median(values)
    desc = (f"Histogram of {len(values)} learners' total scores in percent of the maximum ({num(c.max_total)} "
            f"points), in bins of 10 points. Median {round(med)}%.")
    svg = histogram("scores", "Score distribution", desc, values)
    rows = [[name, f"{round(v)}%"] for name, v in sorted(c.totals, key=lambda t: (-t[1], t[0].lower()))]
    low = sum(1 for v in values if v < 50)
    return _section("scores", "1. Score distribution", (
        f'<figure>{SWIPE}<div class="scroll">{svg}</div>'
        + _caption(f"How many learners reached each score band. The middle learner has {round(med)}% of the "
                   f"{num(c.max_total)} points; {low} of {len(values)} have less than half.",
                   "A group far to the left: look at the stuck list below first, it is usually one or two "
                   "exercises. Two humps: the cohort has split; pair people up or run a catch-up session.")
        + _numbers(["learner", "score"], rows, {1}) + "</figure>"))


def _exercises_section(c: Cohort) -> str:
    rates = c.exercises
    if not rates:
        return _section("exercises", "2. Pass rate per exercise", '<p class="none">No data: nothing graded yet.</p>')
    desc = ("Horizontal bars, one per exercise in course order: the share of graded learners whose latest result "
            "passes it, with the count n/N. " + "; ".join(f"{r.label} {r.n}/{r.total}" for r in rates))
    svg = hbars("exercises", "Pass rate per exercise", desc, rates)
    lowest = sorted((r for r in rates if r.tried is not None), key=lambda r: (r.tried, c.order.index(r.label)))[:3]
    words = ", ".join(f"{r.label} ({r.n} of {r.total - r.missing})" for r in lowest) or "none"
    miss = ""
    if c.missing:
        miss = (" Grey, \"not in\": learners whose submission did not have the exercise (they count as not "
                "passed): " + ", ".join(f"{e(ex)} {n}" for ex, n in c.missing.items()) + ".")
    rows = [[r.label, r.tip, str(r.n), str(r.total), str(r.missing), _pct(r.share)] for r in rates]
    return _section("exercises", "2. Pass rate per exercise", (
        f'<figure>{SWIPE}<div class="scroll">{svg}</div>'
        + _caption("For each exercise, how many graded learners pass it now (green: 80% or more, amber: 50 to 79%, "
                   f"red: under half). Lowest among those who handed it in: {e(words)}.{miss}",
                   "A sudden drop after a run of high bars marks where the course gets hard: go over that lesson "
                   "again with the group. A late exercise with a low rate may simply not be reached yet.")
        + _numbers(["exercise", "title", "passed", "graded", "not handed in", "rate"], rows, {2, 3, 4, 5})
        + "</figure>"))


def _bar_svg(share: float | None) -> str:
    w = 0 if not share else 92 * share
    return (f'<svg viewBox="0 0 92 12" width="92" height="12" aria-hidden="true" focusable="false">'
            f'<rect width="92" height="12" fill="#eef2f6" rx="2"/>'
            f'<rect width="{w:.1f}" height="12" fill="{_tone(share)}" rx="2"/></svg>')


def _tag_html(tags: list[str]) -> str:
    return "".join(f'<span class="tag {t.replace("-", "")}">{e(t)}</span>' for t in tags)


def _checks_section(c: Cohort) -> str:
    if not c.checks:
        return _section("checks", "3. Pass rate per check", '<p class="none">No data: no check results yet.</p>')
    cards = []
    for ex in c.order:
        rates = c.checks.get(ex)
        if not rates:
            continue
        items = "".join(
            f'<li class="check" data-n="{r.n}" data-total="{r.total}"><span>{rich(r.label)}{_tag_html(r.tags)}</span>'
            f'{_bar_svg(r.share)}<span class="num">{r.n}/{r.total}</span></li>' for r in rates)
        title = c.titles.get(ex, "")
        cards.append(f'<div class="card" data-exercise="{e(ex)}"><h3>{e(ex)}'
                     f'{" <small>" + e(title) + "</small>" if title else ""}</h3>'
                     f'<ul class="checks" aria-label="checks of {e(ex)}: passed of graded">{items}</ul></div>')
    return _section("checks", "3. Pass rate per check", (
        f'<figure><div class="cards" id="plot-checks">{"".join(cards)}</div>'
        + _caption("Each exercise's checks, with how many graded learners pass each one (n/N). "
                   '<span class="tag">hidden</span> checks are yours (learners see only "Hidden check 1");'
                   ' <span class="tag heldout">held-out</span> checks ran learners\' code on data they never had.',
                   "A check far below the others in its exercise is the one to look at: is its message clear, is "
                   "the README clear about it? A held-out check that fails where the visible ones pass usually "
                   "means answers fitted to the sample data (a hard-coded value, a LIMIT).")
        + "</figure>"))


def _stuck_section(c: Cohort) -> str:
    head = "4. Where learners are stuck"
    if not c.stuck:
        return _section("stuck", head, '<p class="none">Nobody is stuck: every graded learner\'s latest result '
                        "passes every exercise they handed in.</p>")
    rates = [Rate(f"{s.exercise}: {s.check}", s.failing, s.total) for s in c.stuck]
    desc = ("Horizontal bars, one per check, most learners first: how many graded learners' latest result fails "
            "it. " + "; ".join(f"{s.exercise}, {s.check}: {s.failing} of {s.total}" for s in c.stuck))
    width, label_w = WIDTH, 420
    row, top = 24, 8
    bar_x, bar_w = label_w + 8, width - label_w - 8 - 110
    most = max(s.total for s in c.stuck) or 1
    body = []
    for i, s in enumerate(c.stuck):
        y = top + i * row
        label = f"{i + 1}. {s.exercise}: {s.check}"
        body.append(f'<g class="bar" data-exercise="{e(s.exercise)}" data-check="{e(s.check)}" '
                    f'data-n="{s.failing}" data-total="{s.total}"><title>{e(label)}: {s.failing} of {s.total} '
                    "learners fail it</title>")
        body.append(_text(label_w, y + 15, _short(label, label_w // 7), "end"))
        body.append(f'<rect x="{bar_x}" y="{y + 3}" width="{bar_w * s.failing / most:.1f}" height="{row - 8}" '
                    f'fill="{LOW}" rx="2"/>')
        body.append(_text(bar_x + bar_w * s.failing / most + 6, y + 15, f"{s.failing} of {s.total} fail") + "</g>")
    svg = _svg("stuck", width, top + row * len(c.stuck) + 6, "Where learners are stuck", desc, body)
    items = []
    for s in c.stuck:
        said = _said(s)
        items.append(
            f'<li data-exercise="{e(s.exercise)}" data-check="{e(s.check)}" data-failing="{s.failing}" '
            f'data-sharing="{s.sharing}"><div class="stuck-head"><strong>{e(s.exercise)}</strong>'
            f"<span>{e(s.check)}{_tag_html(s.tags)}</span>"
            f'<span class="stuck-count">{s.failing} of {s.total} learners</span></div>'
            f"<div>{said}:</div><blockquote>{rich(s.message)}</blockquote>"
            f'<div class="who">Stuck here: {e(", ".join(s.learners))}</div></li>')
    return _section("stuck", head, (
        f'<figure>{SWIPE}<div class="scroll">{svg}</div>'
        + _caption("The checks that most learners' latest results fail, most first, each with the message most of "
                   "them get and who they are. A learner counts once per check, from their newest graded "
                   "submission; exercises not handed in are left out.",
                   "Start at the top: if many share one message, one explanation to the group (or a better hint "
                   "in the exercise) unblocks them all. For a short list of names, a quick word with each works "
                   "better. Messages of hidden and held-out checks are shown here as you see them: do not paste "
                   "them to learners.")
        + f'<ol class="stuck">{"".join(items)}</ol></figure>'))


def _said(s: Stuck) -> str:
    if s.failing == 1:
        return "Their message"
    if s.sharing == 1:
        return "Each sees a different message, for example"
    more = ", some with other numbers" if s.variants else ""
    if s.sharing == s.failing:
        return f"The message (all of them see it{more})"
    return f"The most common message ({s.sharing} of them see it{more})"


def _effort_section(c: Cohort) -> str:
    head = "5. Time spent and hints used per exercise"
    rows = [r for r in c.effort]
    if not rows or not any(r.learners for r in rows):
        return _section("effort", head, '<p class="none">No data: the submissions carry no progress (hints, checks, '
                        "times). <code>flowcamp submit</code> includes it; submissions made another way may "
                        "not.</p>")
    desc = ("Three bar panels, one row per exercise: median time to pass, hints shown per learner, median number "
            "of checks run. " + "; ".join(f"{r.exercise}: {_minutes(r.minutes)}, {_n(r.hints)} hints, "
                                           f"{_n(r.checks)} checks" for r in rows))
    svg = effort_chart("effort", "Time spent and hints used per exercise", desc, rows)
    table = [[r.exercise, str(r.learners), _minutes(r.minutes), str(r.timed), _n(r.hints), str(r.hinted),
              _n(r.checks)] for r in rows]
    return _section("effort", head, (
        f'<figure>{SWIPE}<div class="scroll">{svg}</div>'
        + _caption("From the progress each learner's workspace recorded (graded learners' newest submission): the "
                   "median time to pass each exercise, the hints shown per learner, and the median number of times "
                   "they ran <code>flowcamp check</code>. Workspaces record when an exercise first passed but not "
                   "when work on it began, so the time runs from the learner's previous pass: breaks count, "
                   "and it is a rough guide. \"no data\": nobody's progress has it.",
                   "Many hints and many checks on one exercise: learners try things until it passes; a worked "
                   "example in class helps. Long times on an early exercise: look for a setup problem (tools, "
                   "the warehouse) rather than the exercise itself.")
        + _numbers(["exercise", "learners with progress", "median time to pass", "timed", "hints per learner",
                    "learners who used hints", "median checks"], table, {1, 2, 3, 4, 5, 6}) + "</figure>"))


def _progress_section(c: Cohort) -> str:
    head = "6. Progress over time"
    scores = {s.key: s.points for s in c.scores if s.points}
    done = {s.key: s.points for s in c.done if s.points}
    names = {s.key: s.learner for s in [*c.scores, *c.done]}
    learners = sorted(set(scores) | set(done), key=lambda k: (names[k].lower(), k))
    if not learners:
        return _section("progress", head, '<p class="none">No data: no graded submission and no progress with a '
                        "time.</p>")
    times = [t for d in (scores, done) for pts in d.values() for t, _ in pts]
    lo, hi = min(times), max(times)
    if hi - lo < timedelta(hours=2):
        lo, hi = lo - timedelta(hours=1), hi + timedelta(hours=1)
    panels = "".join(panel(names[k], scores.get(k, []), done.get(k, []), lo, hi, len(c.order)) for k in learners)
    repeat = any(len(p) > 1 for d in (scores, done) for p in d.values())
    note = "" if repeat else (" <em>Each learner has one point so far: lines appear once learners hand in again "
                              "(or push several <code>flowcamp submit --git</code> commits).</em>")
    rows = [[names[k], "score", f"{t:%Y-%m-%d %H:%M}", f"{round(v)}%"] for k in learners for t, v in scores.get(k, [])]
    rows += [[names[k], "exercises done", f"{t:%Y-%m-%d %H:%M}", _n(v)] for k in learners for t, v in done.get(k, [])]
    legend = (f'<p class="legend"><span class="key score"></span> score of each graded submission (overrides aside) '
              f'<span class="key done"></span> exercises done, as the learner\'s own progress shows (of '
              f"{len(c.order)}) · each panel runs from {lo:%b %d %H:%M} to {hi:%b %d %H:%M} UTC, "
              "the dotted line is 50%</p>")
    grid = f'<div class="panels" id="plot-progress">{panels}</div>'
    if not repeat:
        grid = f"<details><summary>Each learner's one point so far</summary>{grid}</details>"
    return _section("progress", head, (
        f'<figure>{legend}{grid}'
        + _caption("One small chart per learner, all on the same time axis: the score of every submission that was "
                   "graded, and how many exercises their own progress shows as done, including earlier submits kept "
                   "in a git repository's history." + note,
                   "A flat line: the learner has stopped moving; ask how it is going. A line that climbs late "
                   "and fast: someone catching up, who may need the stuck list's explanations too.")
        + _numbers(["learner", "measure", "time (UTC)", "value"], rows, {3}) + "</figure>"))
