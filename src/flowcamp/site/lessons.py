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


def learning_path(course: Course) -> list[tuple[str, str, str]]:
    """The order a learner goes through the site: each lesson, then its exercises.

    (page, title, "lesson" or "exercise") for each step. The menu keeps lessons and exercises in two
    sections (so the footer's Previous / Next goes lesson to lesson); this is the path between the two.
    """
    path = []
    for ls in course.lessons:
        path.append((lesson_uri(ls.id), ls.title, "lesson"))
        path += [(exercise_uri(ex.path), ex.title, "exercise") for ex in course.exercises_of(ls)]
    return path


def next_step(course: Course, page: str) -> str:
    """The line at the bottom of a lesson or exercise page that links the next step of the path ('' if none)."""
    path = learning_path(course)
    at = next((i for i, step in enumerate(path) if step[0] == page), None)
    if at is None or at + 1 == len(path):
        return ""
    uri, title, kind = path[at + 1]
    link = f"[{md_text(title)}]({relative_link(page, uri)})"
    if kind == "exercise":
        return f"**Next:** the exercise {link}.\n"
    if path[at][2] == "exercise":
        return f"**Next:** once the check passes, the lesson {link}.\n"
    return f"**Next:** the lesson {link}.\n"


def lesson_page(course: Course, lesson: Lesson) -> str:
    """The lesson as written (front matter kept for the builders), with the box linking its exercises
    under the Overview and a link to the next step (its first exercise) at the bottom.

    Links inside the lesson are written for docs/lessons/NN-module/NN-topic.md, which is where this
    page goes, so they stay as they are.
    """
    text, body = lesson.text(), lesson.body()
    front = text[: len(text) - len(body)]
    body = insert_after_overview(body.lstrip("\n"), exercise_box(course, lesson))
    step = next_step(course, lesson_uri(lesson.id))
    if step:
        body = body.rstrip("\n") + "\n\n" + step
    return front + with_note(body, lesson.path)


# ------------------------------------------------------------------------------------ pages from lessons


def exercise_id(ex_id: str) -> str:
    """An exercise id as code that never breaks across lines (docs/stylesheets/extra.css)."""
    return f"`{ex_id}`{{ .exercise-id }}"


def time_split(lessons: list[Lesson]) -> str:
    """'1 h 5 min: 40 min teaching, 25 min exercises' for a group of lessons (or one)."""
    teach, practice = sum(ls.teaching for ls in lessons), sum(ls.practice for ls in lessons)
    return f"{minutes(teach + practice)}: {minutes(teach)} teaching, {minutes(practice)} exercises"


def lesson_list(course: Course, page: str) -> str:
    """Every module with its total time, and its lessons with their time and exercises."""
    if not course.lessons:
        return "*The lessons are being written. They will appear here.*\n"
    out: list[str] = []
    for module, lessons in by_module(course.lessons):
        count = f"{len(lessons)} lesson" + ("s" if len(lessons) != 1 else "")
        out += [f"### {module_label(module)}", "", f"{count}, {time_split(lessons)}.", ""]
        for n, ls in enumerate(lessons, start=1):
            exercises = course.exercises_of(ls)
            about = time_split([ls])
            if exercises:
                word = "exercise" if len(exercises) == 1 else "exercises"
                links = ", ".join(f"[`{ex.id}`]({relative_link(page, exercise_uri(ex.path))})" for ex in exercises)
                about += f"; {word} {links}"
            out.append(f"{n}. [{md_text(ls.title)}]({relative_link(page, lesson_uri(ls.id))}) ({about})")
        out.append("")
    out.append(f"**The whole course:** {len(course.lessons)} lessons, {time_split(course.lessons)}.")
    return "\n".join(out) + "\n"


def timings(course: Course, page: str) -> str:
    """The instructors' plan: one table per module (teaching and exercise minutes of each lesson, with
    its exercises) and its total, then the whole course, module by module."""
    if not course.lessons:
        return "*No lessons yet.*\n"
    out: list[str] = []
    for module, lessons in by_module(course.lessons):
        teach, practice = sum(ls.teaching for ls in lessons), sum(ls.practice for ls in lessons)
        out += [f"### {module_label(module)}", "",
                f"Lessons and exercises: **{minutes(teach + practice)}**. Add breaks and a buffer on top.", "",
                "| Lesson | Exercise ids | Teaching, min | Exercises, min | Total, min |",
                "| --- | --- | ---: | ---: | ---: |"]
        for ls in lessons:
            link = f"[{md_cell(md_text(ls.title))}]({relative_link(page, lesson_uri(ls.id))})"
            ids = ", ".join(exercise_id(ex.id) for ex in course.exercises_of(ls)) or "none"
            out.append(f"| {link} | {ids} | {ls.teaching} | {ls.practice} | {ls.teaching + ls.practice} |")
        out += [f"| *{folder_title(module)}: total* | | *{teach}* | *{practice}* | *{total(teach + practice)}* |", ""]
    out += ["### The whole course", "",
            "| Module | Teaching, min | Exercises, min | Total, min |", "| --- | ---: | ---: | ---: |"]
    for module, lessons in by_module(course.lessons):
        teach, practice = sum(ls.teaching for ls in lessons), sum(ls.practice for ls in lessons)
        out.append(f"| {module_label(module)} | {teach} | {practice} | {total(teach + practice)} |")
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
