"""Lesson pages, and the pages made from every lesson's front matter: the lesson list, the instructors'
timings and the Civis-to-code map."""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Iterator

from flowcamp.course import Course, Lesson, folder_title
from flowcamp.site.links import exercise_uri, indent, lesson_uri, md_cell, md_text, relative_link, with_note

_OVERVIEW = re.compile(r'^[!?]{3}\+?\s+abstract\s+"Overview"\s*$')


def module_label(module: str) -> str:
    """'00-orientation' -> 'Module 00: Orientation'."""
    number = module.split("-", 1)[0]
    return f"Module {number}: {folder_title(module)}" if number.isdigit() else folder_title(module)


def by_module(lessons: Iterable[Lesson]) -> Iterator[tuple[str, list[Lesson]]]:
    for module, group in itertools.groupby(lessons, key=lambda ls: ls.module):
        yield module, list(group)


def minutes(n: int) -> str:
    """265 -> '4 h 25 min'; 50 -> '50 min' (with no-break spaces, so a table cell never splits it)."""
    hours, mins = divmod(n, 60)
    text = f"{hours} h {mins} min" if hours and mins else f"{hours} h" if hours else f"{mins} min"
    return text.replace(" ", "\u00a0")


def total(n: int) -> str:
    """A total in a timings table: minutes, and hours too once there is at least one."""
    return f"{n} ({minutes(n)})" if n >= 60 else str(n)


# ------------------------------------------------------------------------------------------ lesson page


def exercise_box(course: Course, lesson: Lesson) -> str:
    """The box that links a lesson to its exercise pages ('' for a lesson without exercises)."""
    exercises = course.exercises_of(lesson)
    if not exercises:
        return ""
    page = lesson_uri(lesson.id)
    items = [f"- [{md_text(ex.title)}]({relative_link(page, exercise_uri(ex.path))}) "
             f"(`{ex.id}`, {ex.points} points)" for ex in exercises]
    title = "Exercise for this lesson" if len(exercises) == 1 else "Exercises for this lesson"
    return f'!!! example "{title}"\n\n' + indent("\n".join(items)) + "\n"


def insert_after_overview(body: str, box: str) -> str:
    """``box`` placed after the Overview box (else after the first heading, else at the top)."""
    if not box:
        return body
    lines = body.splitlines()
    at = next((i for i, line in enumerate(lines) if _OVERVIEW.match(line)), None)
    if at is not None:
        end = at + 1
        while end < len(lines) and (not lines[end].strip() or lines[end].startswith(("    ", "\t"))):
            end += 1
        while end > at + 1 and not lines[end - 1].strip():
            end -= 1
    else:
        end = next((i + 1 for i, line in enumerate(lines) if line.startswith("# ")), 0)
    before, after = "\n".join(lines[:end]).rstrip("\n"), "\n".join(lines[end:]).lstrip("\n")
    parts = [p for p in (before, box.rstrip("\n"), after) if p]
    return "\n\n".join(parts) + "\n"


def lesson_page(course: Course, lesson: Lesson) -> str:
    """The lesson as written (front matter kept for the builders), with the box linking its exercises.

    Links inside the lesson are written for docs/lessons/NN-module/NN-topic.md, which is where this
    page goes, so they stay as they are.
    """
    text, body = lesson.text(), lesson.body()
    front = text[: len(text) - len(body)]
    return front + with_note(insert_after_overview(body.lstrip("\n"), exercise_box(course, lesson)), lesson.path)


# ------------------------------------------------------------------------------------ pages from lessons


def lesson_list(course: Course, page: str) -> str:
    """Every module and its lessons, with their time and exercises."""
    if not course.lessons:
        return "*The lessons are being written. They will appear here.*\n"
    out: list[str] = []
    for module, lessons in by_module(course.lessons):
        out += [f"### {module_label(module)}", ""]
        for n, ls in enumerate(lessons, start=1):
            exercises = course.exercises_of(ls)
            about = minutes(ls.teaching + ls.practice)
            if exercises:
                word = "exercise" if len(exercises) == 1 else "exercises"
                links = ", ".join(f"[`{ex.id}`]({relative_link(page, exercise_uri(ex.path))})" for ex in exercises)
                about += f"; {word} {links}"
            out.append(f"{n}. [{md_text(ls.title)}]({relative_link(page, lesson_uri(ls.id))}) ({about})")
        out.append("")
    return "\n".join(out)


def timings(course: Course, page: str) -> str:
    """The instructors' table: teaching and exercise minutes per lesson, with module and course totals."""
    if not course.lessons:
        return "*No lessons yet.*\n"
    out = ["| Lesson | Teaching | Exercises | Total |", "| --- | ---: | ---: | ---: |"]
    for module, lessons in by_module(course.lessons):
        out.append(f"| **{module_label(module)}** | | | |")
        for ls in lessons:
            link = f"[{md_cell(md_text(ls.title))}]({relative_link(page, lesson_uri(ls.id))})"
            out.append(f"| {link} | {ls.teaching} | {ls.practice} | {ls.teaching + ls.practice} |")
        teach, practice = sum(ls.teaching for ls in lessons), sum(ls.practice for ls in lessons)
        out.append(f"| *{folder_title(module)}: total* | *{teach}* | *{practice}* | *{total(teach + practice)}* |")
    teach = sum(ls.teaching for ls in course.lessons)
    practice = sum(ls.practice for ls in course.lessons)
    out.append(f"| **Whole course** | **{teach}** | **{practice}** | **{total(teach + practice)}** |")
    return "\n".join(out) + "\n"


def civis_map(course: Course, page: str) -> str:
    """One row per Civis feature that a lesson's front matter names, with a link to that lesson."""
    rows = [(feature, ls) for ls in course.lessons for feature in ls.civis]
    if not rows:
        return "*No lesson names a Civis feature yet.*\n"
    out = ["| On Civis | In code | Where you learn it |", "| --- | --- | --- |"]
    for feature, ls in rows:
        link = f"[{md_cell(md_text(ls.title))}]({relative_link(page, lesson_uri(ls.id))})"
        out.append(f"| {md_cell(feature.civis)} | {md_cell(feature.code)} | {link} |")
    return "\n".join(out) + "\n"
