"""Writes the generated pages into docs/, only where their content changed.

What is generated (every path here is git-ignored, see .gitignore):

    docs/lessons/NN-module/NN-topic.md   each lesson, from lessons/, with a box linking its exercises
    docs/lessons/<any other file>        figures and other files beside the lessons, copied
    docs/lessons/index.md                docs/templates/lessons-index.md + the list of every lesson
    docs/exercises/NN-module/NN-topic.md each exercise: exercise.toml + README.md, linking its lesson
    docs/exercises/index.md              a table of every exercise
    docs/instructors.md                  docs/templates/instructors.md + the timings table
    docs/civis-to-code.md                docs/templates/civis-to-code.md + one row per Civis feature

A template's line ``<!-- flowcamp:NAME -->`` is replaced by the generated part. MkDocs and Zensical
both skip docs/templates/, so a template is never a page of its own.

Writing only what changed keeps ``mkdocs serve`` from reloading in a loop, and files under
docs/lessons/ or docs/exercises/ that no source makes any more are removed.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from flowcamp.course import Course, read_front_matter
from flowcamp.site.exercises import exercise_index, exercise_page
from flowcamp.site.lessons import civis_map, lesson_list, lesson_page, timings
from flowcamp.site.links import exercise_uri, lesson_uri, with_note
from flowcamp.site.nav import write_nav

TEMPLATES = "templates"
GENERATED_DIRS = ("lessons", "exercises")  # everything in docs/lessons/ and docs/exercises/ is generated

Part = Callable[[Course, str], str]  # (course, page it goes on) -> Markdown
# generated page -> (its template in docs/templates/, the marker's name, what replaces the marker, fallback)
TEMPLATED: dict[str, tuple[str, str, Part, str]] = {
    "lessons/index.md": ("lessons-index.md", "lesson-list", lesson_list, "# Lessons\n"),
    "instructors.md": ("instructors.md", "timings", timings, "# Running a workshop\n\n## Timings, module by module\n"),
    "civis-to-code.md": ("civis-to-code.md", "civis-map", civis_map, "# From Civis to code: the map\n"),
}

Content = str | Path  # text to write, or a file to copy
_TEMPLATE_NOTE = re.compile(r"\A\s*<!--.*?-->\s*", re.S)


class TemplateError(Exception):
    """A template in docs/templates/ lacks its marker line."""


def marker(name: str) -> str:
    return f"<!-- flowcamp:{name} -->"


def templated_page(course: Course, docs_dir: Path, page: str) -> str:
    template_name, name, part, fallback = TEMPLATED[page]
    template = docs_dir / TEMPLATES / template_name
    text = template.read_text(encoding="utf-8") if template.is_file() else fallback + "\n" + marker(name) + "\n"
    body = read_front_matter(text)[1]
    front = text[: len(text) - len(body)]  # kept first, for the builders
    body = _TEMPLATE_NOTE.sub("", body, count=1)  # the template's own opening comment is about the template
    lines = body.splitlines()
    at = [i for i, line in enumerate(lines) if line.strip() == marker(name)]
    if len(at) != 1:
        raise TemplateError(f"{template} must have the line {marker(name)} exactly once: the generated part "
                            "goes there.")
    lines[at[0]:at[0] + 1] = part(course, page).rstrip("\n").splitlines()
    source = f"docs/{TEMPLATES}/{template_name}" if template.is_file() else "the course"
    return front + with_note("\n".join(lines), source)


def lesson_assets(course: Course) -> dict[str, Content]:
    """Files beside the lessons that are not lessons (figures, data): copied as they are."""
    out: dict[str, Content] = {}
    if not course.lessons_dir.is_dir():
        return out
    for path in sorted(course.lessons_dir.rglob("*")):
        rel = path.relative_to(course.lessons_dir)
        hidden = any(part.startswith(".") or part == "__pycache__" for part in rel.parts)
        if path.is_file() and path.suffix != ".md" and not hidden:
            out["lessons/" + rel.as_posix()] = path
    return out


def site_files(course: Course, docs_dir: Path) -> dict[str, Content]:
    """Every generated file: docs-relative path -> its content."""
    out: dict[str, Content] = lesson_assets(course)
    for lesson in course.lessons:
        out[lesson_uri(lesson.id)] = lesson_page(course, lesson)
    for ex in course.exercises:
        page, assets = exercise_page(course, ex, docs_dir)
        out[exercise_uri(ex.path)] = page
        out.update(assets)
    out["exercises/index.md"] = exercise_index(course)
    for page in TEMPLATED:
        out[page] = templated_page(course, docs_dir, page)
    return out


def write_if_changed(path: Path, content: Content) -> bool:
    data = content.read_bytes() if isinstance(content, Path) else content.encode("utf-8")
    if path.is_file() and path.read_bytes() == data:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return True


def remove_stale(docs_dir: Path, keep: set[str]) -> list[Path]:
    """Delete files in the generated folders that no source makes any more, and empty folders."""
    removed = []
    for folder in GENERATED_DIRS:
        base = docs_dir / folder
        if not base.is_dir():
            continue
        for path in sorted(base.rglob("*"), reverse=True):  # children before their folder
            if path.is_dir():
                if not any(path.iterdir()):
                    path.rmdir()
            elif path.relative_to(docs_dir).as_posix() not in keep:
                path.unlink()
                removed.append(path)
    return removed


def generate(course: Course, docs_dir: Path, config_file: Path | None = None) -> list[Path]:
    """Write the generated pages into ``docs_dir``; with ``config_file`` (mkdocs.yml), its menu too.

    Returns the files written or removed: none when everything was already up to date.
    """
    files = site_files(course, docs_dir)  # everything is made before anything is written
    changed = [docs_dir / uri for uri, content in files.items() if write_if_changed(docs_dir / uri, content)]
    changed += remove_stale(docs_dir, set(files))
    if config_file is not None and write_nav(course, config_file):
        changed.append(config_file)
    return changed
