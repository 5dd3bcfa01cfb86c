"""The lesson anatomy every lesson follows (docs/authoring.md, "Lesson pages"): an overview with questions and
objectives, the Civis way beside the new way, key points. Plain text rules, no course model."""

from __future__ import annotations

import re


def admonition(text: str, kind: str, title: str) -> str | None:
    """The body of the first ``!!! kind "title"`` box, or None if there is none."""
    lines = text.splitlines()
    header = re.compile(rf'^[!?]{{3}}\+?\s+{re.escape(kind)}\s+"{re.escape(title)}"\s*$')
    for i, line in enumerate(lines):
        if header.match(line):
            body = []
            for nxt in lines[i + 1:]:
                if nxt.strip() and not nxt.startswith(("    ", "\t")):
                    break
                body.append(nxt)
            return "\n".join(body)
    return None


def lesson_anatomy_problems(text: str) -> list[str]:
    """The lesson anatomy (docs/authoring.md): overview with questions and objectives, key points, Civis tabs."""
    problems = []
    overview = admonition(text, "abstract", "Overview")
    if overview is None:
        problems.append('needs an `!!! abstract "Overview"` box')
    elif "**Questions**" not in overview or "**Objectives**" not in overview:
        problems.append("the Overview box needs **Questions** and **Objectives**")
    points = admonition(text, "success", "Key points")
    if points is None or not re.search(r"^\s+[-*] \S", points, re.M):
        problems.append('needs a `!!! success "Key points"` box with a list of points')
    if len(re.findall(r'^\s*=== "', text, re.M)) < 2:
        problems.append('show the Civis way beside the new way with at least two content tabs (=== "...")')
    return problems
