"""The cohort report's pictures (:mod:`.report`): hand-written SVG for bar lists, a histogram, a learner's small
chart over time and the time-and-hints panels, and the text helpers they share. Every text that reaches the page
goes through :func:`e` (escaped, control characters dropped); colours always come with words or numbers.
"""

from __future__ import annotations

import html
import re
from datetime import datetime

from flowcamp.grading.cohort import Effort, Rate, short

# Colours: each one also has words or numbers beside it, never colour alone.
INK, MUTED, GRID, BAR = "#1f2933", "#52606d", "#d9e2ec", "#3b6fb6"
GOOD, MIDDLE, LOW = "#2f7d4f", "#b7791f", "#c0392b"
WIDTH = 960  # every chart's own width; a page narrower than MIN_WIDTH scrolls it sideways
MIN_WIDTH = 640
FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, Helvetica, Arial, sans-serif"


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u2028\u2029\ufffe\uffff]")


def e(text) -> str:
    """Text as HTML (and SVG) text or an attribute value: escaped, control characters dropped (and a lone
    surrogate, which no UTF-8 file can hold, replaced)."""
    text = str(text).encode("utf-8", "replace").decode("utf-8")
    return html.escape(_CONTROL.sub("", text), quote=True)


def rich(text) -> str:
    """Escaped text in which `code` (as the grader's and the checks' messages write it) shows as code."""
    return re.sub(r"`([^`\n]{1,200})`", r"<code>\1</code>", e(text))


def pct(share: float | None) -> str:
    return "no data" if share is None else f"{round(100 * share)}%"


def tone(share: float | None) -> str:
    if share is None:
        return GRID
    return GOOD if share >= 0.8 else MIDDLE if share >= 0.5 else LOW


def minutes(m: float | None) -> str:
    if m is None:
        return "no data"
    if m < 1:
        return "under 1 min"
    if m < 90:
        return f"{round(m)} min"
    if m < 48 * 60:
        return f"{m / 60:.1f} h" if m < 600 else f"{round(m / 60)} h"
    return f"{m / 1440:.1f} days"


def number(x: float | None, digits: int = 1) -> str:
    if x is None:
        return "no data"
    return str(int(x)) if float(x).is_integer() else f"{x:.{digits}f}"


def chart_svg(plot: str, width: int, height: int, title: str, desc: str, body: list[str]) -> str:
    return (f'<svg class="chart" id="svg-{plot}" data-plot="{plot}" xmlns="http://www.w3.org/2000/svg" '
            f'viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img" '
            f'aria-labelledby="svg-{plot}-t svg-{plot}-d" font-family="{e(FONT)}" font-size="13" fill="{INK}">'
            f'<title id="svg-{plot}-t">{e(title)}</title><desc id="svg-{plot}-d">{e(desc)}</desc>'
            + "".join(body) + "</svg>")


def svg_text(x: float, y: float, text: str, anchor: str = "start", size: int = 13, fill: str = INK,
          weight: str = "normal", cls: str = "") -> str:
    extra = f' class="{cls}"' if cls else ""
    bold = ' font-weight="bold"' if weight != "normal" else ""
    return (f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" font-size="{size}" fill="{fill}"{bold}{extra}>'
            f"{e(text)}</text>")


def hbars(plot: str, title: str, desc: str, rates: list[Rate], width: int = WIDTH, label_width: int = 260) -> str:
    """Horizontal bars, one per rate, with its label on the left and "n/N · p%" on the right."""
    row, top = 24, 26
    bar_x, bar_w = label_width + 8, width - label_width - 8 - 215  # room for "n/N · p% · n not started"
    height = top + row * len(rates) + 10
    body = [svg_text(bar_x, 16, "0%", size=11, fill=MUTED), svg_text(bar_x + bar_w, 16, "100%", "end", 11, MUTED)]
    half = bar_x + bar_w / 2
    body.append(f'<line x1="{half:.1f}" y1="20" x2="{half:.1f}" y2="{height - 8}" stroke="{GRID}" '
                'stroke-dasharray="3 3"/>')
    body.append(svg_text(half, 16, "50%", "middle", 11, MUTED))
    for i, r in enumerate(rates):
        y = top + i * row
        share = r.share
        tip = f"{r.label}{': ' + r.tip if r.tip else ''}: {r.n} of {r.total} passed ({pct(share)})"
        body.append(f'<g class="bar" data-label="{e(r.label)}" data-n="{r.n}" data-total="{r.total}">'
                    f"<title>{e(tip)}</title>")
        body.append(svg_text(label_width, y + 15, short(r.label, label_width // 7), "end"))
        body.append(f'<rect x="{bar_x}" y="{y + 3}" width="{bar_w}" height="{row - 8}" fill="#f0f4f8" rx="2"/>')
        if share:
            body.append(f'<rect x="{bar_x}" y="{y + 3}" width="{bar_w * share:.1f}" height="{row - 8}" '
                        f'fill="{tone(share)}" rx="2"/>')
        if r.missing and r.total:  # not handed in: grey, at the far end, and said in words
            w = bar_w * r.missing / r.total
            body.append(f'<rect class="missing" x="{bar_x + bar_w - w:.1f}" y="{y + 3}" width="{w:.1f}" '
                        f'height="{row - 8}" fill="{GRID}" rx="2"/>')
        words = f"{r.n}/{r.total} · {pct(share)}" if r.total else "not graded"
        if r.missing:
            words += f" · {r.missing} not started"
        body.append(svg_text(bar_x + bar_w + 8, y + 15, words, fill=INK if r.total else MUTED) + "</g>")
    return chart_svg(plot, width, height, title, desc, body)


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
        body.append(svg_text(left - 6, y + 4, str(tick), "end", 11, MUTED))
    bw = plot_w / 10
    for i, c in enumerate(counts):
        x, h = left + i * bw, plot_h * c / most
        label = f"{i * 10}–{i * 10 + 10}%"
        body.append(f'<g class="bar" data-bin="{i * 10}" data-n="{c}"><title>{e(label)}: {c} learner'
                    f'{"s" if c != 1 else ""}</title>')
        if c:
            body.append(f'<rect x="{x + 3:.1f}" y="{top + plot_h - h:.1f}" width="{bw - 6:.1f}" height="{h:.1f}" '
                        f'fill="{tone((i + 0.5) / 10)}" rx="2"/>')
            body.append(svg_text(x + bw / 2, top + plot_h - h - 5, str(c), "middle", 12, weight="bold"))
        body.append(svg_text(x + bw / 2, top + plot_h + 16, f"{i * 10}–{i * 10 + 10}", "middle", 11, MUTED) + "</g>")
    body.append(f'<line x1="{left}" y1="{top + plot_h}" x2="{width - right}" y2="{top + plot_h}" stroke="{MUTED}"/>')
    body.append(svg_text(left + plot_w / 2, height - 6, "score, percent of the maximum", "middle", 12, MUTED))
    body.append(svg_text(12, top + plot_h / 2, "learners", "middle", 12, MUTED).replace(
        "<text ", f'<text transform="rotate(-90 12 {top + plot_h / 2:.1f})" ', 1))
    return chart_svg(plot, width, height, title, desc, body)


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

    body = [svg_text(left, 14, short(learner, 30), size=12, weight="bold"),
            f'<rect x="{left}" y="{top}" width="{plot_w}" height="{plot_h}" fill="#f8fafc" stroke="{GRID}"/>',
            f'<line x1="{left}" y1="{sy(50):.1f}" x2="{left + plot_w}" y2="{sy(50):.1f}" stroke="{GRID}" '
            'stroke-dasharray="2 3"/>']
    words = []
    for measure, points, colour, dash in (("score", scores, BAR, ""), ("done", done, GOOD, ' stroke-dasharray="5 3"')):
        if not points:
            continue
        values = [(t, v if measure == "score" else 100 * v / (exercises or 1)) for t, v in points]
        said = "; ".join(f"{t:%b %d %H:%M} {round(v)}%" if measure == "score" else f"{t:%b %d %H:%M} {number(raw)} done"
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
        words.append(f"{round(values[-1][1])}%" if measure == "score" else f"{number(points[-1][1])}/{exercises} done")
    body.append(svg_text(left, height - 6, " · ".join(words), size=11, fill=MUTED))
    return (f'<svg class="spark" data-plot="progress" data-learner="{e(learner)}" xmlns="http://www.w3.org/2000/svg" '
            f'viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img" font-family="{e(FONT)}" '
            f'fill="{INK}"><title>{e(learner)}: {e(" · ".join(words))}</title>' + "".join(body) + "</svg>")


def effort_chart(plot: str, title: str, desc: str, rows: list[Effort], width: int = WIDTH,
                 label_width: int = 190) -> str:
    """Three small bar panels side by side, one row per exercise: time to pass, hints, checks run."""
    row, top = 22, 34
    panels = [("median time to pass", "minutes", lambda r: r.minutes, minutes),
              ("hints per learner", "hints", lambda r: r.hints, lambda v: number(v)),
              ("median checks run", "checks", lambda r: r.checks, lambda v: number(v))]
    panel_w = (width - label_width - 10) / len(panels)
    height = top + row * len(rows) + 8
    body = []
    for p, (head, _, get, fmt) in enumerate(panels):
        x0 = label_width + 10 + p * panel_w
        values = [get(r) for r in rows if get(r) is not None]
        most = max(values) if values else 0
        body.append(svg_text(x0, 16, head, size=12, weight="bold"))
        body.append(f'<g class="panel" data-panel="{e(head)}">')
        for i, r in enumerate(rows):
            y = top + i * row
            v = get(r)
            if v is None:
                body.append(svg_text(x0, y + 14, "no data", size=11, fill=MUTED, cls="no-data"))
                continue
            w = (panel_w - 80) * (v / most if most else 0)
            body.append(f'<rect x="{x0:.1f}" y="{y + 3}" width="{max(w, 1.5):.1f}" height="{row - 8}" '
                        f'fill="{BAR}" rx="2"/>')
            body.append(svg_text(x0 + max(w, 1.5) + 5, y + 14, fmt(v), size=11))
        body.append("</g>")
    for i, r in enumerate(rows):
        y = top + i * row
        body.append(f'<g class="row" data-exercise="{e(r.exercise)}" data-learners="{r.learners}">'
                    f"<title>{e(r.exercise)}: progress from {r.learners} learner(s)</title>"
                    + svg_text(label_width, y + 14, short(r.exercise, label_width // 7), "end") + "</g>")
    return chart_svg(plot, width, height, title, desc, body)


def bar_svg(share: float | None) -> str:
    w = 0 if not share else 92 * share
    return (f'<svg viewBox="0 0 92 12" width="92" height="12" aria-hidden="true" focusable="false">'
            f'<rect width="92" height="12" fill="#eef2f6" rx="2"/>'
            f'<rect width="{w:.1f}" height="12" fill="{tone(share)}" rx="2"/></svg>')
