"""Every lesson page follows the lesson anatomy in docs/authoring.md.

Each test is parametrized by lesson file (or by exercise), so a failure names
the page to fix. With no lessons written yet, there is nothing to check.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"

LESSONS = sorted(DOCS.glob("lessons/[0-9]*-*/[0-9]*-*.md"))
EXERCISES = sorted(ROOT.glob("exercises/[0-9]*-*/[0-9]*-*/exercise.toml"))


def lesson_id(path: Path) -> str:
    return path.relative_to(DOCS).as_posix()


def exercise_id(path: Path) -> str:
    return path.parent.relative_to(ROOT / "exercises").as_posix()


def front_matter(text: str) -> dict:
    m = re.match(r"\A---[ \t]*\r?\n(.*?)\r?\n---[ \t]*\r?\n", text, re.S)
    assert m, "the page must start with front matter between two '---' lines"
    data = yaml.safe_load(m.group(1))
    assert isinstance(data, dict), "the front matter must be 'key: value' lines"
    return data


def admonition(text: str, kind: str, title: str) -> str | None:
    """The body of the first ``!!! kind "title"`` box, or None if there is none."""
    lines = text.splitlines()
    header = re.compile(rf'^[!?]{{3}}\+?\s+{re.escape(kind)}\s+"{re.escape(title)}"\s*$')
    for i, line in enumerate(lines):
        if header.match(line):
            body = []
            for nxt in lines[i + 1 :]:
                if nxt.strip() and not nxt.startswith(("    ", "\t")):
                    break
                body.append(nxt)
            return "\n".join(body)
    return None


@pytest.mark.parametrize("lesson", LESSONS, ids=lesson_id)
def test_front_matter(lesson):
    data = front_matter(lesson.read_text(encoding="utf-8"))
    title = data.get("title")
    assert isinstance(title, str) and title.strip(), f"{lesson_id(lesson)}: front matter needs a 'title'"
    for key in ("teaching", "exercises"):
        value = data.get(key)
        assert isinstance(value, int) and not isinstance(value, bool), (
            f"{lesson_id(lesson)}: front matter needs '{key}' as a whole number of minutes, got {value!r}"
        )


@pytest.mark.parametrize("lesson", LESSONS, ids=lesson_id)
def test_overview_box(lesson):
    body = admonition(lesson.read_text(encoding="utf-8"), "abstract", "Overview")
    assert body is not None, f'{lesson_id(lesson)}: needs an `!!! abstract "Overview"` box'
    assert "**Questions**" in body, f"{lesson_id(lesson)}: the Overview box needs **Questions**"
    assert "**Objectives**" in body, f"{lesson_id(lesson)}: the Overview box needs **Objectives**"


@pytest.mark.parametrize("lesson", LESSONS, ids=lesson_id)
def test_key_points_box(lesson):
    body = admonition(lesson.read_text(encoding="utf-8"), "success", "Key points")
    assert body is not None, f'{lesson_id(lesson)}: needs a `!!! success "Key points"` box'
    assert re.search(r"^\s+[-*] \S", body, re.M), f"{lesson_id(lesson)}: the Key points box needs a list of points"


@pytest.mark.parametrize("lesson", LESSONS, ids=lesson_id)
def test_civis_beside_new_way(lesson):
    tabs = re.findall(r'^\s*=== "', lesson.read_text(encoding="utf-8"), re.M)
    assert len(tabs) >= 2, (
        f'{lesson_id(lesson)}: show the Civis way beside the new way with at least two content tabs (=== "...")'
    )


@pytest.mark.parametrize("toml_path", EXERCISES, ids=exercise_id)
def test_exercise_points_at_its_lesson(toml_path):
    meta = tomllib.loads(toml_path.read_text(encoding="utf-8"))
    ex = meta.get("id", toml_path.parent.name)
    lesson = meta.get("lesson")
    assert lesson, f"exercise {ex}: exercise.toml needs a 'lesson' (a path relative to docs/)"
    path = DOCS / lesson
    assert path.is_file(), f"exercise {ex}: its lesson docs/{lesson} does not exist"
    assert re.fullmatch(r"lessons/\d+-[^/]+/\d+-[^/]+\.md", lesson), (
        f"exercise {ex}: 'lesson' should look like lessons/NN-module/NN-topic.md, got {lesson!r}"
    )
    assert ex in path.read_text(encoding="utf-8"), f"exercise {ex}: docs/{lesson} never mentions the id {ex!r}"
