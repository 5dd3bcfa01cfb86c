"""Exercise pages, made from exercise.toml (through the course model) and each exercise's README."""

from __future__ import annotations

import re
from pathlib import Path

from flowcamp.course import Course, Exercise, folder_title
from flowcamp.kinds import kind_of
from flowcamp.site.lessons import exercise_id, next_step
from flowcamp.site.links import (
    exercise_uri,
    indent,
    is_external,
    lesson_uri,
    md_cell,
    md_text,
    relative_link,
    rewrite_links,
    split_anchor,
    with_note,
)

def drop_first_heading(markdown: str) -> str:
    """The README without its first ``# `` heading: the page already has the exercise title."""
    lines = markdown.splitlines()
    for i, line in enumerate(lines):
        if not line.strip():
            continue
        if line.startswith("# "):
            del lines[i]
        break
    return "\n".join(lines).strip("\n")


class ReadmeLinks:
    """Makes a README's links, written for the exercise folder, work from the exercise's page.

    A link to a docs page, a lesson or another exercise becomes a link to its page; an image in the
    exercise folder is copied next to the page (``assets``); a link to anything else (a starter file,
    say) becomes plain text, since it is in the learner's workspace, not on the site.
    """

    def __init__(self, course: Course, ex: Exercise, docs_dir: Path):
        self.course, self.ex, self.docs_dir = course, ex, docs_dir.resolve()
        self.page = exercise_uri(ex.path)
        self.assets: dict[str, Path] = {}

    def __call__(self, m: re.Match) -> str:
        bang, text, target, title = m.group("bang"), m.group("text"), m.group("target"), m.group("title") or ""
        path, anchor = split_anchor(target)
        if is_external(target) or not path:
            return m.group(0)
        uri = self.site_uri((self.ex.source_dir / path).resolve(), image=bool(bang))
        if uri is not None:
            return f"{bang}[{text}]({relative_link(self.page, uri)}{anchor}{title})"
        if bang:
            return f"*{text or path}*"
        return text or f"`{path}`"

    def site_uri(self, target: Path, image: bool) -> str | None:
        lessons = self.course.lessons_dir.resolve()
        if target.is_relative_to(self.docs_dir) and target.is_file():
            return target.relative_to(self.docs_dir).as_posix()
        if target.is_relative_to(lessons) and target.suffix == ".md":
            lesson = self.course.lesson(target.relative_to(lessons).with_suffix("").as_posix())
            return lesson_uri(lesson.id) if lesson else None
        if target.is_relative_to(lessons) and target.is_file():  # a figure, copied next to the lessons
            return "lessons/" + target.relative_to(lessons).as_posix()
        for other in self.course.exercises:
            if target in (other.source_dir.resolve(), (other.source_dir / "README.md").resolve()):
                return exercise_uri(other.path)
        own = self.ex.source_dir.resolve()
        if image and target.is_file() and target.is_relative_to(own):
            uri = f"exercises/{self.ex.path}/{target.relative_to(own).as_posix()}"
            self.assets[uri] = target
            return uri
        return None


def about_box(ex: Exercise) -> str:
    files = ", ".join(f"`{f}`" for f in ex.files) or kind_of(ex).nothing_to_edit
    limit = int(ex.time_limit) if ex.time_limit == int(ex.time_limit) else ex.time_limit
    facts = [
        f"- **Exercise id:** `{ex.id}`",
        f"- **Kind:** {kind_of(ex).description}",
        f"- **Points:** {ex.points}",
        f"- **Time limit for the check:** {limit} seconds",
        f"- **Files to edit:** {files}",
        f"- **Folder in your workspace:** `{ex.path}/`",
        "",
        "Check your work with:",
        "",
        "```bash",
        f"uv run flowcamp check {ex.id}",
        "```",
    ]
    return '!!! info "About this exercise"\n\n' + indent("\n".join(facts)) + "\n"


def hints_section(ex: Exercise) -> str:
    parts = ["## Hints", "",
             ("Try on your own first. Open one hint at a time. "
              f"In the terminal, `uv run flowcamp hint {ex.id}` shows the same hints, one each time."), ""]
    for n, hint in enumerate(ex.hints, start=1):
        parts += [f'??? tip "Hint {n}"', "", indent(hint), ""]
    return "\n".join(parts)


def exercise_page(course: Course, ex: Exercise, docs_dir: Path) -> tuple[str, dict[str, Path]]:
    """The exercise's page, and the images its README shows (site path -> file to copy)."""
    lesson = course.lesson_of(ex)
    if lesson is not None:
        link = relative_link(exercise_uri(ex.path), lesson_uri(lesson.id))
        lead = f"Read the lesson first: [{md_text(lesson.title)}]({link})."
    else:
        lead = "The lesson for this exercise is not written yet."
    readme = ex.source_dir / "README.md"
    links = ReadmeLinks(course, ex, docs_dir)
    body = drop_first_heading(readme.read_text(encoding="utf-8")) if readme.is_file() else ""
    body = rewrite_links(body, links) if body else "*The instructions for this exercise are being written.*"
    parts = [f"# {ex.title}", "", about_box(ex), lead, "", body, ""]
    if ex.hints:
        parts.append(hints_section(ex))
    step = next_step(course, exercise_uri(ex.path))
    if step:
        parts += ["", step]
    return with_note("\n".join(parts), f"exercises/{ex.path}/ (exercise.toml and README.md)"), links.assets


NOTE_SOURCE = "exercises/*/*/exercise.toml"


def exercise_index(course: Course) -> str:
    """docs/exercises/index.md: a table of every exercise, module by module."""
    page = "exercises/index.md"
    exercises = course.exercises
    parts = ["# Exercises", "",
             ("Every exercise in the course, module by module. Each one lives in a folder of your workspace. "
              "Open its page to read the instructions, then check your work with `uv run flowcamp check ID`."), ""]
    if not exercises:
        return with_note("\n".join(parts + ["There are no exercises yet. They are being written."]), NOTE_SOURCE)
    total = sum(ex.points for ex in exercises)
    parts += [f"There are {len(exercises)} exercises, worth {total} points in all.", ""]
    for module in sorted({ex.module for ex in exercises}):
        parts += [f"## {folder_title(module)}", "", "| Id | Exercise | Lesson | Kind | Points |",
                  "| --- | --- | --- | --- | ---: |"]
        for ex in (e for e in exercises if e.module == module):
            lesson = course.lesson_of(ex)
            lesson_md = (f"[{md_cell(md_text(lesson.title))}]({relative_link(page, lesson_uri(lesson.id))})"
                         if lesson else "coming soon")
            title = f"[{md_cell(md_text(ex.title))}]({relative_link(page, exercise_uri(ex.path))})"
            parts.append(f"| {exercise_id(ex.id)} | {title} | {lesson_md} | {ex.kind} | {ex.points} |")
        parts.append("")
    return with_note("\n".join(parts), NOTE_SOURCE)
