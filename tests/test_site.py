"""The course site: pages generated from lessons/ and exercises/ (through the course model), a menu that
MkDocs and Zensical both read, and a strict build with no warnings.

The real site is generated and built once per test session (``built_site``). Generation writes only
git-ignored pages into docs/; the menu in mkdocs.yml is checked as committed, never rewritten here.
The golden course (tests/golden/course) is copied to a temporary folder to show that a new lesson or
exercise reaches the menu and the pages with no hand edit.
"""

from __future__ import annotations

import os
import posixpath
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from flowcamp.course import Course
from flowcamp.site import exercise_uri, generate, lesson_uri, nav_is_current
from flowcamp.site.lessons import insert_after_overview
from flowcamp.site.links import relative_link, yaml_key

ROOT = Path(__file__).resolve().parents[1]
GOLDEN = ROOT / "tests" / "golden" / "course"
COURSE = Course(ROOT)
LESSONS = COURSE.lessons
EXERCISES = COURSE.exercises


def build(config_file: Path, out: Path) -> str:
    """``mkdocs build --strict`` of ``config_file`` into ``out``; its log (the test fails if it fails)."""
    proc = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--clean", "-f", str(config_file), "-d", str(out)],
        cwd=config_file.parent, env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
        capture_output=True, text=True, timeout=300, check=False,
    )
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, f"mkdocs build --strict failed:\n{log}"
    return log


def url(uri: str) -> str:
    """'lessons/a/b.md' -> 'lessons/a/b' and 'lessons/index.md' -> 'lessons': where MkDocs puts a page."""
    stem = uri.removesuffix(".md")
    return "" if stem == "index" else stem.removesuffix("/index")


def built_page(site: Path, uri: str) -> Path:
    return site / url(uri) / "index.html"


def links_on(site: Path, uri: str) -> set[str]:
    """Where the links on a built page go, as page URLs like 'lessons/04-prefect/01-scripts-to-flows'."""
    html = built_page(site, uri).read_text(encoding="utf-8")
    here = url(uri) + "/"
    out = set()
    for href in re.findall(r'href="([^"#]*)(?:#[^"]*)?"', html):
        if href and not re.match(r"^[a-z]+:", href):
            out.add(posixpath.normpath(posixpath.join(here, href)).strip("/").removesuffix("/index.html"))
    return out


def nav_links(site: Path) -> set[str]:
    """Every page the menu links to (404.html carries the menu and nothing else)."""
    html = (site / "404.html").read_text(encoding="utf-8")
    return {href.strip("/") for href in re.findall(r'href="(/[^"#]*)"', html)}


@pytest.fixture(scope="session")
def built_site(tmp_path_factory) -> tuple[Path, str]:
    generate(COURSE, ROOT / "docs")
    out = tmp_path_factory.mktemp("site")
    return out, build(ROOT / "mkdocs.yml", out)


# ------------------------------------------------------------------------------------------ the real site


def test_menu_in_mkdocs_yml_is_up_to_date():
    assert nav_is_current(COURSE, ROOT / "mkdocs.yml"), (
        "The Lessons and Exercises menus in mkdocs.yml are out of date: run `uv run flowcamp site generate` "
        "and commit mkdocs.yml")


def test_build_is_strict_with_no_warnings(built_site):
    _out, log = built_site
    warnings = [line for line in log.splitlines() if re.match(r"^\s*(WARNING|ERROR)\b", line)]
    assert not warnings, "\n".join(warnings)
    assert "not included in the \"nav\"" not in log, f"a page is missing from the menu:\n{log}"


@pytest.mark.parametrize("page", ["index.md", "setup.md", "civis-to-code.md", "glossary.md", "cli.md",
                                  "instructors.md", "lessons/index.md", "exercises/index.md", "authoring.md"])
def test_course_pages_are_built_and_in_the_menu(built_site, page):
    out, _log = built_site
    assert built_page(out, page).is_file(), f"{page} is missing from the built site"
    assert url(page) in nav_links(out) | {""}, f"{page} is not in the menu"


@pytest.mark.parametrize("lesson", LESSONS, ids=lambda ls: ls.id)
def test_lesson_page_is_in_the_menu_and_links_its_exercises(built_site, lesson):
    out, _log = built_site
    page = lesson_uri(lesson.id)
    assert built_page(out, page).is_file(), f"{lesson.path} has no page in the built site"
    assert url(page) in nav_links(out), f"{lesson.path} is not in the menu: run `uv run flowcamp site generate`"
    links = links_on(out, page)
    for ex in COURSE.exercises_of(lesson):
        assert url(exercise_uri(ex.path)) in links, f"the page of {lesson.path} does not link exercise {ex.id}"


@pytest.mark.parametrize("ex", EXERCISES, ids=lambda ex: ex.id)
def test_exercise_page_is_in_the_menu_and_links_its_lesson(built_site, ex):
    out, _log = built_site
    page = exercise_uri(ex.path)
    assert built_page(out, page).is_file(), f"exercise {ex.id} has no page"
    assert url(page) in nav_links(out), f"exercise {ex.id} is not in the menu"
    assert url(lesson_uri(ex.lesson_id)) in links_on(out, page), f"the page of {ex.id} does not link its lesson"
    text = re.sub(r"<[^>]+>", "", built_page(out, page).read_text(encoding="utf-8"))
    assert f"uv run flowcamp check {ex.id}" in text, f"the page of {ex.id} should show how to check it"
    for n in range(1, len(ex.hints) + 1):
        assert f"Hint {n}" in text, f"the page of {ex.id} has no box for hint {n}"


@pytest.mark.parametrize("page", ["lessons/index.md", "instructors.md", "civis-to-code.md"])
def test_lesson_list_timings_and_civis_map_list_every_lesson(built_site, page):
    out, _log = built_site
    links = links_on(out, page)
    missing = [ls.path for ls in LESSONS if url(lesson_uri(ls.id)) not in links]
    assert not missing, f"{page} does not link: {', '.join(missing)}"


@pytest.mark.parametrize("page", ["lessons/index.md", "exercises/index.md", "instructors.md", "civis-to-code.md",
                                  lesson_uri(LESSONS[0].id), exercise_uri(EXERCISES[0].path)])
def test_generated_pages_keep_their_heading_as_title(built_site, page):
    out, _log = built_site
    html = built_page(out, page).read_text(encoding="utf-8")
    heading = re.search(r"<h1[^>]*>(.*?)<", html).group(1)
    title = re.search(r"<title>(.*?)</title>", html).group(1)
    assert title.startswith(heading), f"{page}: the browser title is {title!r}, not its heading {heading!r}"


def test_exercise_index_lists_every_exercise(built_site):
    out, _log = built_site
    links = links_on(out, "exercises/index.md")
    missing = [ex.id for ex in EXERCISES if url(exercise_uri(ex.path)) not in links]
    assert not missing, f"the exercise index does not link: {', '.join(missing)}"


def test_timings_add_up(built_site):
    out, _log = built_site
    text = re.sub(r"<[^>]+>", "", built_page(out, "instructors.md").read_text(encoding="utf-8"))
    total = sum(ls.teaching + ls.practice for ls in LESSONS)
    assert re.search(rf"Whole course\s+\d+\s+\d+\s+{total}\b", text), "the timings table has no right course total"


def test_generation_is_idempotent_and_writes_nothing_unchanged(built_site, tmp_path):
    config = tmp_path / "mkdocs.yml"
    shutil.copy(ROOT / "mkdocs.yml", config)
    generate(COURSE, ROOT / "docs", config)
    generated = [p for d in ("lessons", "exercises") for p in (ROOT / "docs" / d).rglob("*") if p.is_file()]
    before = {p: p.stat().st_mtime_ns for p in generated}
    time.sleep(0.01)
    assert generate(COURSE, ROOT / "docs", config) == [], "a second generation should change nothing"
    assert {p: p.stat().st_mtime_ns for p in generated} == before


def test_generated_pages_are_git_ignored_and_templates_are_not(built_site):
    if not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    generated = [lesson_uri(LESSONS[0].id), exercise_uri(EXERCISES[0].path), "exercises/index.md",
                 "lessons/index.md", "instructors.md", "civis-to-code.md"]
    for uri in generated:
        ignored = subprocess.run(["git", "check-ignore", "-q", f"docs/{uri}"], cwd=ROOT, check=False).returncode == 0
        assert ignored, f"docs/{uri} is generated: add it to .gitignore"
    for template in sorted((ROOT / "docs" / "templates").glob("*.md")):
        rel = template.relative_to(ROOT).as_posix()
        assert subprocess.run(["git", "check-ignore", "-q", rel], cwd=ROOT, check=False).returncode == 1, f"{rel} is ignored"


# ------------------------------------------------------------------------- a new lesson in a small course

GOLDEN_CONFIG = """site_name: golden
strict: true
nav:
  - Home: index.md
  # BEGIN generated nav
  # END generated nav
  - instructors.md
  - civis-to-code.md
theme:
  name: material
  font: false
plugins: []
markdown_extensions: [admonition, attr_list, pymdownx.details, pymdownx.superfences,
                      {pymdownx.tabbed: {alternate_style: true}}]
"""

NEW_LESSON = """---
title: Subtracting
teaching: 5
exercises: 10
exercise_ids: ["subtract"]
civis: [{civis: A calculator widget, code: "The `-` operator"}]
---

# Subtracting

!!! abstract "Overview"
    **Questions**

    - How do I subtract?

    **Objectives**

    - Subtract two numbers, as in [adding](../00-demo/01-add.md).

=== "On Civis"

    A widget.

=== "In code"

    `a - b`

!!! success "Key points"
    - Subtracting is `-`.
"""

NEW_EXERCISE = """format = 1
id = "subtract"
title = "Subtract two numbers"
lesson = "lessons/01-more/01-subtract.md"
kind = "code"
points = 1
hints = ["Use -.", "return a - b"]

[files]
edit = ["calc.py"]
course = ["exercise.toml"]
solution = "files"
"""


@pytest.fixture
def golden(tmp_path) -> Path:
    root = tmp_path / "course"
    shutil.copytree(GOLDEN, root)
    (root / "docs").mkdir(exist_ok=True)
    (root / "docs" / "index.md").write_text("# Golden\n\nThe [lessons](lessons/index.md).\n")
    (root / "mkdocs.yml").write_text(GOLDEN_CONFIG)
    return root


def add_lesson_and_exercise(root: Path) -> None:
    (root / "lessons" / "01-more").mkdir()
    (root / "lessons" / "01-more" / "01-subtract.md").write_text(NEW_LESSON)
    folder = root / "exercises" / "01-more" / "01-subtract"
    folder.mkdir(parents=True)
    (folder / "exercise.toml").write_text(NEW_EXERCISE)
    (folder / "calc.py").write_text("def subtract(a, b):\n    ...\n")
    (folder / "diagram.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    (folder / "README.md").write_text("# Subtract\n\nEdit [calc.py](calc.py), as the [lesson]"
                                      "(../../../lessons/01-more/01-subtract.md) shows.\n\n![A diagram](diagram.png)\n")


def test_a_new_lesson_and_exercise_reach_the_menu_and_pages_with_no_hand_edit(golden, tmp_path):
    generate(Course(golden), golden / "docs", golden / "mkdocs.yml")
    add_lesson_and_exercise(golden)
    course = Course(golden)
    changed = generate(course, golden / "docs", golden / "mkdocs.yml")
    assert golden / "mkdocs.yml" in changed and nav_is_current(course, golden / "mkdocs.yml")
    readme_page = (golden / "docs" / "exercises" / "01-more" / "01-subtract.md").read_text()
    assert "Edit calc.py, as the [lesson](../../lessons/01-more/01-subtract.md) shows" in readme_page
    assert (golden / "docs" / "exercises" / "01-more" / "01-subtract" / "diagram.png").is_file()

    out = tmp_path / "site"
    build(golden / "mkdocs.yml", out)
    assert {"lessons/01-more/01-subtract", "exercises/01-more/01-subtract"} <= nav_links(out)
    assert "exercises/01-more/01-subtract" in links_on(out, "lessons/01-more/01-subtract.md")
    assert "lessons/01-more/01-subtract" in links_on(out, "exercises/01-more/01-subtract.md")
    assert "lessons/00-demo/01-add" in links_on(out, "lessons/01-more/01-subtract.md")
    for page in ("lessons/index.md", "instructors.md", "civis-to-code.md"):
        assert "lessons/01-more/01-subtract" in links_on(out, page), f"{page} does not list the new lesson"


def test_one_lesson_serves_several_exercises_both_ways(golden):
    course = Course(golden)
    generate(course, golden / "docs")
    lesson = course.lessons[0]
    page = (golden / "docs" / lesson_uri(lesson.id)).read_text()
    assert 'Exercises for this lesson' in page
    for ex in course.exercises_of(lesson):
        assert f"]({relative_link(lesson_uri(lesson.id), exercise_uri(ex.path))})" in page
        ex_page = (golden / "docs" / exercise_uri(ex.path)).read_text()
        assert f"]({relative_link(exercise_uri(ex.path), lesson_uri(lesson.id))})" in ex_page


def test_pages_without_a_source_are_removed(golden):
    add_lesson_and_exercise(golden)
    generate(Course(golden), golden / "docs", golden / "mkdocs.yml")
    shutil.rmtree(golden / "lessons" / "01-more")
    shutil.rmtree(golden / "exercises" / "01-more")
    course = Course(golden)
    changed = generate(course, golden / "docs", golden / "mkdocs.yml")
    assert golden / "docs" / "lessons" / "01-more" / "01-subtract.md" in changed
    assert not (golden / "docs" / "lessons" / "01-more").exists()
    assert not (golden / "docs" / "exercises" / "01-more").exists()
    assert "01-more" not in (golden / "mkdocs.yml").read_text()


def test_a_menu_without_markers_is_a_clear_error(golden):
    from flowcamp.site import NavError

    (golden / "mkdocs.yml").write_text("site_name: x\nnav:\n  - index.md\n")
    with pytest.raises(NavError, match="BEGIN generated nav"):
        generate(Course(golden), golden / "docs", golden / "mkdocs.yml")


# ------------------------------------------------------------------------------------------- the helpers


def test_exercise_box_goes_after_the_overview():
    body = '# T\n\n!!! abstract "Overview"\n    **Questions**\n\n    - Q?\n\nFirst paragraph.\n'
    assert insert_after_overview(body, "BOX\n") == (
        '# T\n\n!!! abstract "Overview"\n    **Questions**\n\n    - Q?\n\nBOX\n\nFirst paragraph.\n')
    assert insert_after_overview("# T\n\nText\n", "BOX\n") == "# T\n\nBOX\n\nText\n"
    assert insert_after_overview("# T\n", "") == "# T\n"


def test_relative_links_and_menu_titles():
    assert relative_link("exercises/02-a/01-b.md", "lessons/02-a/01-c.md") == "../../lessons/02-a/01-c.md"
    assert relative_link("civis-to-code.md", "lessons/03-w/01-s.md") == "lessons/03-w/01-s.md"
    assert yaml_key("From a script to a flow") == "From a script to a flow"
    assert yaml_key("Read the history: who?") == '"Read the history: who?"'
    assert yaml_key("'quoted'") == "\"'quoted'\""
