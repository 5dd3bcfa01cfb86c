"""Feedback for each learner, in Markdown and in self-contained HTML (no JavaScript, no outside files):
their total, each exercise's score and status, every check's message as :func:`.export.learner_view` lets
them read it, the instructor's overrides with their reasons, notes about the submission, and what to do next.

Everything a learner wrote or a check printed is escaped: in Markdown it cannot become a link or HTML, in HTML
it is text.
"""

from __future__ import annotations

import html
import re
from pathlib import Path

from flowcamp.grading.export import (exercise_maxima, exercise_message, exercise_order, exercise_titles,
                                     learner_slugs, learner_view, num, status_words, write_atomic)
from flowcamp.grading.gradebook import Gradebook, LearnerGrades, Mark, Submission

GOOD_SUBMISSION = ("ok", "")  # any other status: the grader could not use the submission (its message says why)
_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>&|])")
_MD_CODE = re.compile(r"(`[^`\n]+`)")
_CSS = """body{font:16px/1.5 system-ui,sans-serif;max-width:52rem;margin:2rem auto;padding:0 1rem;color:#222}
h1{font-size:1.6rem}h2{font-size:1.25rem;margin-top:2rem;border-bottom:1px solid #ddd}h3{font-size:1.05rem}
table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.25rem .6rem;text-align:left}
.pass{color:#17692a}.fail{color:#a3261b}pre{background:#f5f5f5;padding:.6rem;overflow-x:auto;white-space:pre-wrap}
.override{background:#fff6d6;padding:.4rem .6rem}ul.checks li{margin:.4rem 0}.msg{white-space:pre-wrap}"""


def write_feedback(gb: Gradebook, out_dir: Path, course=None) -> list[Path]:
    """out_dir/<learner>.md and .html for every learner; returns the paths written."""
    grades = gb.grades(graded_only=True)
    order = exercise_order(gb, grades, course)
    maxima = exercise_maxima(gb, order, course)
    titles = exercise_titles(course)
    slugs = learner_slugs([lg.key for lg in grades])
    written = []
    for lg in grades:
        fb = learner_feedback(lg, order, maxima, titles)
        for suffix, text in ((".md", to_markdown(fb)), (".html", to_html(fb))):
            path = Path(out_dir) / (slugs[lg.key] + suffix)
            write_atomic(path, text)
            written.append(path)
    return written


# ---------------------------------------------------------------------------------------------- the content
def learner_feedback(lg: LearnerGrades, order: list[str], maxima: dict[str, float], titles: dict[str, str]) -> dict:
    """What one learner is told, as plain data (both formats render it)."""
    sub = lg.submission
    exercises = [_exercise(ex, lg.marks.get(ex), maxima.get(ex, 0.0), titles.get(ex, ex)) for ex in order]
    return {
        "name": lg.name or lg.key, "key": lg.key, "total": num(lg.total), "max": num(sum(maxima.values())),
        "submitted_at": sub.submitted_at if sub else "", "label": sub.label if sub else "",
        "submission_message": sub.message if sub else "", "warnings": list(sub.warnings) if sub else [],
        "exercises": exercises, "next": _next_steps(exercises, sub),
    }


def _exercise(ex: str, mark: Mark | None, max_score: float, title: str) -> dict:
    out = {"id": ex, "title": title, "max": num(max_score), "checks": [], "message": "", "override": None}
    if mark is None:
        return {**out, "status": "ungraded", "words": "Not graded yet", "score": 0}
    if mark.doc is not None:
        view = learner_view(mark.doc)
        out["message"] = exercise_message(mark.status, view)
        out["checks"] = [{"name": str(c.get("name") or ""), "passed": c.get("status") == "pass",
                          "status": str(c.get("status") or ""), "message": str(c.get("message") or ""),
                          "output": str(c.get("output") or "")} for c in view.get("checks") or []]
    if mark.override:
        out["override"] = {"score": num(mark.override.score), "was": num(mark.score), "reason": mark.override.reason,
                           "at": mark.override.at}
    return {**out, "status": mark.status, "words": status_words(mark.status), "score": num(mark.final)}


def _next_steps(exercises: list[dict], sub: Submission | None) -> list[str]:
    if sub is not None and sub.status not in GOOD_SUBMISSION:
        return [f"Your submission could not be graded ({sub.status}): {sub.message}".rstrip(": "),
                "Fix that, then hand in again with `uv run flowcamp submit` (your instructor may say another way)."]
    steps = []
    for e in exercises:
        if e["override"] or e["status"] == "pass":
            continue
        ex = e["id"]
        if e["status"] == "missing":
            steps.append(f"{ex} was not in your submission: do it in your workspace (`uv run flowcamp check {ex}` "
                         "says what is left), then hand in again.")
        elif e["status"] == "untouched":
            steps.append(f"{ex} is not started yet (its files are as you got them): `uv run flowcamp check {ex}` "
                         "says where to begin.")
        elif e["status"] in ("error", "timeout"):
            steps.append(f"{ex}: the checks could not finish on your work. Run `uv run flowcamp check {ex}` to "
                         "see why, fix it, then hand in again.")
        elif e["status"] == "ungraded":
            steps.append(f"{ex} is not graded yet: nothing to do, your instructor will grade it.")
        else:
            steps.append(f"{ex}: run `uv run flowcamp check {ex}`, read what each check says, change your files "
                         "until it passes, then hand in again.")
    if not steps:
        return ["Every exercise passed. Nothing more to do here."]
    return steps + ["Hand in again with `uv run flowcamp submit` (your instructor may say another way)."]


# ---------------------------------------------------------------------------------------------- Markdown
def md_text(text: str) -> str:
    """Text that Markdown shows as it is: no links, no HTML, no emphasis from a learner's or a check's words.
    `Code spans` stay code (Markdown shows their insides literally)."""
    parts = _MD_CODE.split(str(text))
    return "".join(p if i % 2 else _MD_SPECIAL.sub(r"\\\1", p) for i, p in enumerate(parts))


def _md_block(text: str, indent: str = "  ") -> list[str]:
    """Verbatim text in a fenced block whose fence no line of it can close."""
    longest = max((len(m) for m in re.findall(r"`+|~+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return [indent + fence] + [indent + line for line in text.splitlines()] + [indent + fence]


def _md_lines(text: str, indent: str = "  ") -> list[str]:
    return [indent + md_text(line) + "  " for line in str(text).splitlines() if line.strip()]


def to_markdown(fb: dict) -> str:
    out = [f"# Feedback for {md_text(fb['name'])}", "",
           f"**Total: {fb['total']} of {fb['max']} points.**", ""]
    if fb["submitted_at"]:
        out += [f"Graded from your submission {md_text(fb['label'])} handed in {md_text(fb['submitted_at'])}.", ""]
    out += ["| Exercise | Status | Score |", "|---|---|---|"]
    for e in fb["exercises"]:
        mark = " (set by your instructor)" if e["override"] else ""
        out.append(f"| {md_text(e['title'])} (`{e['id']}`) | {md_text(e['words'])} | {e['score']} of {e['max']}{mark} |")
    for e in fb["exercises"]:
        out += ["", f"## {md_text(e['title'])} (`{e['id']}`): {e['score']} of {e['max']}", "",
                f"{md_text(e['words'])}.", ""]
        if e["override"]:
            o = e["override"]
            out += [f"> Your instructor set this score to {o['score']} (the checks gave {o['was']}): "
                    f"{md_text(o['reason'])}", ""]
        if e["message"]:
            out += _md_lines(e["message"], "") + [""]
        for c in e["checks"]:
            out.append(f"- **{'Passed' if c['passed'] else _not_passed(c)}**: {md_text(c['name'])}")
            out += _md_lines(c["message"])
            if c["output"]:
                out += _md_block(c["output"])
    out += _md_notes(fb)
    out += ["", "## What to do next", ""] + [f"- {md_text(s)}" for s in fb["next"]]
    return "\n".join(out) + "\n"


def _md_notes(fb: dict) -> list[str]:
    notes = ([fb["submission_message"]] if fb["submission_message"] else []) + fb["warnings"]
    return ["", "## About your submission", ""] + [f"- {md_text(n)}" for n in notes] if notes else []


def _not_passed(c: dict) -> str:
    return {"skipped": "Not run", "timeout": "Too slow", "error": "Could not run"}.get(c["status"], "Not passed")


# ---------------------------------------------------------------------------------------------- HTML
def h(text) -> str:
    return html.escape(str(text), quote=True)


def _h_words(text: str) -> str:
    """Escaped text, with `code` shown as code (the escaping comes first, so nothing can open a tag)."""
    return re.sub(r"`([^`\n]+)`", r"<code>\1</code>", h(text))


def to_html(fb: dict) -> str:
    rows = "".join(
        f"<tr><td>{h(e['title'])} (<code>{h(e['id'])}</code>)</td><td>{h(e['words'])}</td>"
        f"<td>{h(e['score'])} of {h(e['max'])}{' (set by your instructor)' if e['override'] else ''}</td></tr>"
        for e in fb["exercises"])
    body = [f"<h1>Feedback for {h(fb['name'])}</h1>",
            f"<p><strong>Total: {h(fb['total'])} of {h(fb['max'])} points.</strong></p>"]
    if fb["submitted_at"]:
        body.append(f"<p>Graded from your submission {h(fb['label'])} handed in {h(fb['submitted_at'])}.</p>")
    body.append(f"<table><tr><th>Exercise</th><th>Status</th><th>Score</th></tr>{rows}</table>")
    body += [_html_exercise(e) for e in fb["exercises"]]
    notes = ([fb["submission_message"]] if fb["submission_message"] else []) + fb["warnings"]
    if notes:
        body.append("<h2>About your submission</h2><ul>" + "".join(f"<li>{h(n)}</li>" for n in notes) + "</ul>")
    body.append("<h2>What to do next</h2><ul>" + "".join(f"<li>{_h_words(s)}</li>" for s in fb["next"]) + "</ul>")
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            f"<title>Feedback for {h(fb['name'])}</title><style>{_CSS}</style></head>\n<body>\n"
            + "\n".join(body) + "\n</body></html>\n")


def _html_exercise(e: dict) -> str:
    parts = [f"<h2>{h(e['title'])} (<code>{h(e['id'])}</code>): {h(e['score'])} of {h(e['max'])}</h2>",
             f"<p class=\"{'pass' if e['status'] == 'pass' else 'fail'}\">{h(e['words'])}.</p>"]
    if e["override"]:
        o = e["override"]
        parts.append(f"<p class=\"override\">Your instructor set this score to {h(o['score'])} (the checks gave "
                     f"{h(o['was'])}): {h(o['reason'])}</p>")
    if e["message"]:
        parts.append(f"<p class=\"msg\">{_h_words(e['message'])}</p>")
    items = []
    for c in e["checks"]:
        cls, word = ("pass", "Passed") if c["passed"] else ("fail", _not_passed(c))
        item = f"<li><strong class=\"{cls}\">{word}</strong>: {h(c['name'])}"
        if c["message"]:
            item += f"<div class=\"msg\">{_h_words(c['message'])}</div>"
        if c["output"]:
            item += f"<pre>{h(c['output'])}</pre>"
        items.append(item + "</li>")
    if items:
        parts.append("<ul class=\"checks\">" + "".join(items) + "</ul>")
    return "\n".join(parts)
