"""The cohort report: ``OUT/report.html``, one self-contained page for the instructor (inline CSS and SVG, no
script, nothing loaded from anywhere) that shows the cohort at a glance: the spread of scores, each exercise's
and each check's pass rate, where learners are stuck (with their most common message and who they are), the
time and hints learners spent per exercise (from the progress their workspace recorded), and their progress
over time (graded submissions, and the submitted manifests a git repository keeps).

It is the instructor's: hidden checks are named, and messages about held-out data appear as the gradebook has
them. Everything a learner wrote (names, messages, ids in a manifest) is escaped, and a Content-Security-Policy
forbids scripts besides. :mod:`.cohort` turns the gradebook into plain numbers, :mod:`.charts` draws them, and
this module lays out the page.
"""

from __future__ import annotations

import json

import statistics
from datetime import timedelta
from pathlib import Path

from flowcamp.grading.charts import (BAR, FONT, GOOD, GRID, INK, LOW, MIDDLE, MIN_WIDTH, MUTED, WIDTH, bar_svg,
                                     chart_svg, e, effort_chart, hbars, histogram, minutes, number, panel, pct,
                                     rich, svg_text)
from flowcamp.grading.cohort import Cohort, Stuck, collect, short, time_words
from flowcamp.grading.export import num, write_atomic
from flowcamp.grading.gradebook import Gradebook

REPORT_NAME = "report.html"


def write_report(gb: Gradebook, out: Path, course=None) -> Path:
    """Write ``out/report.html`` from the gradebook and return its path."""
    path = Path(out) / REPORT_NAME
    write_atomic(path, render(collect(gb, course)))
    return path


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


def _graded_runs(runs: list[dict]) -> int:
    """Runs that graded at least one result (a `--watch` round with nothing new is a run too)."""
    def graded(run: dict) -> bool:
        summary = run.get("summary")
        if isinstance(summary, str):
            try:
                summary = json.loads(summary)
            except ValueError:
                return False
        return isinstance(summary, dict) and bool(summary.get("graded", 1))  # (no count: an older gradebook)
    return sum(1 for run in runs if graded(run))


def _header(c: Cohort) -> str:
    run = c.runs[-1] if c.runs else {}
    title = "Cohort report"
    counts = [("learners", c.learners, ""), ("graded learners", c.graded_learners, ""),
              ("submissions", c.submissions, ""), ("graded submissions", c.graded_submissions, ""),
              ("unusable submissions", len(c.unusable), " bad" if c.unusable else "")]
    boxes = "".join(f'<div class="count{cls}" data-count="{e(k)}"><b>{n}</b>{e(k)}</div>' for k, n, cls in counts)
    if run:
        when = f"Last grading run: started {time_words(run.get('started_at'))}, " + (
            f"finished {time_words(run['finished_at'])}" if run.get("finished_at")
            else "not finished (stopped, or running)")
        seed = f"held-out seed {run.get('seed')}" if run.get("seed") is not None else "no seed recorded"
        meta = (f"{e(when)}; {e(seed)}; course version {e(run.get('course_version') or '?')}; "
                f"{_graded_runs(c.runs)} grading run(s) that graded something.")
    else:
        meta = "No grading run is recorded in this gradebook yet."
    bad = ""
    if c.unusable:
        items = "".join(f"<li><strong>{e(label)}</strong> ({e(status)}): {rich(short(message, 400))}</li>"
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
        lines.append(f'<a href="#scores">Scores</a>: half the learners have {round(statistics.median(values))}% '
                     f"of the points or more; {low} of {len(values)} have less than half.")
    rated = sorted((r for r in c.exercises if r.tried is not None), key=lambda r: (r.tried, c.order.index(r.label)))
    if rated:
        r = rated[0]
        tied = [x.label for x in rated[1:] if x.tried == r.tried]
        also = f" (as hard: {', '.join(e(t) for t in tied[:3])}{', ...' if len(tied) > 3 else ''})" if tied else ""
        lines.append(f'<a href="#exercises">Hardest exercise</a>: {e(r.label)}, passed by {r.n} of the '
                     f"{r.total - r.missing} who began it ({pct(r.tried)}){also}.")
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
        + _caption(f"How many learners reached each score band. Half the learners have {round(med)}% of the "
                   f"{num(c.max_total)} points or more; {low} of {len(values)} have less than half.",
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
        miss = (" Grey, \"not started\": learners who have not begun the exercise (it was not in their "
                "submission, or its files were still as they got them and they never checked it; they count as not "
                "passed, and never as stuck): " + ", ".join(f"{e(ex)} {n}" for ex, n in c.missing.items()) + ".")
    rows = [[r.label, r.tip, str(r.n), str(r.total), str(r.missing), pct(r.share)] for r in rates]
    return _section("exercises", "2. Pass rate per exercise", (
        f'<figure>{SWIPE}<div class="scroll">{svg}</div>'
        + _caption("For each exercise, how many graded learners pass it now (green: 80% or more, amber: 50 to 79%, "
                   f"red: under half). Lowest among those who began it: {e(words)}.{miss}",
                   "A sudden drop after a run of high bars marks where the course gets hard: go over that lesson "
                   "again with the group. A late exercise with a low rate may simply not be reached yet.")
        + _numbers(["exercise", "title", "passed", "graded", "not handed in", "rate"], rows, {2, 3, 4, 5})
        + "</figure>"))


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
            f'{bar_svg(r.share)}<span class="num">{r.n}/{r.total}</span></li>' for r in rates)
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
        body.append(svg_text(label_w, y + 15, short(label, label_w // 7), "end"))
        body.append(f'<rect x="{bar_x}" y="{y + 3}" width="{bar_w * s.failing / most:.1f}" height="{row - 8}" '
                    f'fill="{LOW}" rx="2"/>')
        body.append(svg_text(bar_x + bar_w * s.failing / most + 6, y + 15, f"{s.failing} of {s.total} fail") + "</g>")
    svg = chart_svg("stuck", width, top + row * len(c.stuck) + 6, "Where learners are stuck", desc, body)
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
            "of checks run. " + "; ".join(f"{r.exercise}: {minutes(r.minutes)}, {number(r.hints)} hints, "
                                           f"{number(r.checks)} checks" for r in rows))
    svg = effort_chart("effort", "Time spent and hints used per exercise", desc, rows)
    table = [[r.exercise, str(r.learners), minutes(r.minutes), str(r.timed), number(r.hints), str(r.hinted),
              number(r.checks)] for r in rows]
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
    rows += [[names[k], "exercises done", f"{t:%Y-%m-%d %H:%M}", number(v)]
             for k in learners for t, v in done.get(k, [])]
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
