"""The site's menu (``nav:`` in mkdocs.yml), whose lesson and exercise sections are generated.

Why rewrite mkdocs.yml rather than build the menu at build time: MkDocs needs an explicit ``nav`` to
order and title the pages, and its successor Zensical reads the same mkdocs.yml but runs no hooks and
no third-party plugins. A plain ``nav`` in the committed file is the one thing both read the same way.
So the generator rewrites only the lines between two marker comments, the rest of the menu stays
hand-written, and a test fails with "run `uv run flowcamp site generate`" when the file is stale.
"""

from __future__ import annotations

from pathlib import Path

from flowcamp.course import Course, folder_title
from flowcamp.site.links import exercise_uri, lesson_uri, yaml_key

BEGIN = "# BEGIN generated nav"
END = "# END generated nav"
BEGIN_LINE = BEGIN + ": lessons and exercises, written by `uv run flowcamp site generate`; do not edit by hand"
END_LINE = END

NavItem = str | dict[str, "str | list[NavItem]"]


class NavError(Exception):
    """mkdocs.yml has no place for the generated menu."""


def nav_items(course: Course) -> list[NavItem]:
    """The generated part of the menu: Lessons and Exercises, one section per module."""
    lessons: list[NavItem] = ["lessons/index.md"]
    for module in sorted({ls.module for ls in course.lessons}):
        pages = [{ls.title: lesson_uri(ls.id)} for ls in course.lessons if ls.module == module]
        lessons.append({folder_title(module): pages})
    exercises: list[NavItem] = ["exercises/index.md"]
    for module in sorted({ex.module for ex in course.exercises}):
        pages = [{ex.title: exercise_uri(ex.path)} for ex in course.exercises if ex.module == module]
        exercises.append({folder_title(module): pages})
    return [{"Lessons": lessons}, {"Exercises": exercises}]


def nav_lines(items: list[NavItem], pad: int) -> list[str]:
    """The items as YAML, in the layout of the hand-written part (children 4 spaces in)."""
    out = []
    for item in items:
        if isinstance(item, str):
            out.append(f"{' ' * pad}- {item}")
            continue
        for title, value in item.items():
            if isinstance(value, str):
                out.append(f"{' ' * pad}- {yaml_key(title)}: {value}")
            else:
                out.append(f"{' ' * pad}- {yaml_key(title)}:")
                out += nav_lines(value, pad + 4)
    return out


def _markers(lines: list[str], config_file: Path) -> tuple[int, int, int]:
    """(line of BEGIN, line of END, indent of BEGIN) in mkdocs.yml."""
    begin = [i for i, line in enumerate(lines) if line.strip().startswith(BEGIN)]
    end = [i for i, line in enumerate(lines) if line.strip().startswith(END)]
    if len(begin) != 1 or len(end) != 1 or end[0] < begin[0]:
        raise NavError(f"{config_file} needs, inside `nav:`, one comment line '{BEGIN}' and after it one "
                       f"'{END}', indented like the menu's other entries; the generator writes the lesson "
                       "and exercise sections between them.")
    return begin[0], end[0], len(lines[begin[0]]) - len(lines[begin[0]].lstrip())


def updated_config(course: Course, text: str, config_file: Path) -> str:
    """mkdocs.yml's text with the generated part of the menu brought up to date."""
    lines = text.splitlines()
    begin, end, pad = _markers(lines, config_file)
    block = [" " * pad + BEGIN_LINE, *nav_lines(nav_items(course), pad), " " * pad + END_LINE]
    return "\n".join(lines[:begin] + block + lines[end + 1:]) + "\n"


def nav_is_current(course: Course, config_file: Path) -> bool:
    text = config_file.read_text(encoding="utf-8")
    return updated_config(course, text, config_file) == text


def write_nav(course: Course, config_file: Path) -> bool:
    """Rewrite the generated part of mkdocs.yml's menu; True if the file changed."""
    text = config_file.read_text(encoding="utf-8")
    new = updated_config(course, text, config_file)
    if new == text:
        return False
    config_file.write_text(new, encoding="utf-8")
    return True
