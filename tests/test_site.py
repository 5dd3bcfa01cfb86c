"""The course site builds in strict mode, with a page for every lesson and exercise.

One real ``mkdocs build --strict`` is shared by the whole module. The hook's
helpers are also tested on their own, on small made-up courses.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from flowcamp import site_hooks  # noqa: E402


def exercise_folders() -> list[Path]:
    return sorted(p.parent for p in ROOT.glob("exercises/[0-9]*-*/[0-9]*-*/exercise.toml"))


def lesson_files() -> list[Path]:
    return sorted(ROOT.glob("docs/lessons/[0-9]*-*/[0-9]*-*.md"))


def built_page(site: Path, docs_rel: str) -> Path:
    """Where mkdocs (with directory URLs) writes the page for a docs-relative ``.md`` path."""
    stem = docs_rel[: -len(".md")]
    if stem == "index" or stem.endswith("/index"):
        return site / stem[: -len("index")] / "index.html"
    return site / stem / "index.html"


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> tuple[Path, str]:
    out = tmp_path_factory.mktemp("site")
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    proc = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--clean", "-f", str(ROOT / "mkdocs.yml"), "-d", str(out)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, f"mkdocs build --strict failed:\n{log}"
    return out, log


def test_build_has_no_warnings(site):
    _out, log = site
    warnings = [line for line in log.splitlines() if re.match(r"^\s*(WARNING|ERROR)\b", line)]
    assert not warnings, "\n".join(warnings)


@pytest.mark.parametrize(
    "page",
    [
        "index.md",
        "setup.md",
        "civis-to-code.md",
        "glossary.md",
        "cli.md",
        "instructors.md",
        "lessons/index.md",
        "exercises/index.md",
        "authoring.md",
    ],
)
def test_course_pages_are_built(site, page):
    out, _log = site
    assert built_page(out, page).is_file(), f"{page} is missing from the built site"


@pytest.mark.parametrize("lesson", lesson_files(), ids=lambda p: p.relative_to(ROOT / "docs").as_posix())
def test_every_lesson_is_built(site, lesson):
    out, _log = site
    rel = lesson.relative_to(ROOT / "docs").as_posix()
    assert built_page(out, rel).is_file(), f"{rel} is missing from the built site"


@pytest.mark.parametrize("folder", exercise_folders(), ids=lambda p: p.relative_to(ROOT / "exercises").as_posix())
def test_every_exercise_has_a_page(site, folder):
    out, _log = site
    rel = folder.relative_to(ROOT / "exercises").as_posix()
    meta = tomllib.loads((folder / "exercise.toml").read_text(encoding="utf-8"))
    page = built_page(out, f"exercises/{rel}.md")
    assert page.is_file(), f"no page for exercise {rel}"
    text = re.sub(r"<[^>]+>", "", page.read_text(encoding="utf-8"))
    ex_id = meta.get("id", folder.name)
    assert f"uv run flowcamp check {ex_id}" in text, f"the page for {rel} should show how to check it"
    for n in range(1, len(meta.get("hints", [])) + 1):
        assert f"Hint {n}" in text, f"the page for {rel} has no box for hint {n}"


def test_exercise_index_lists_every_exercise(site):
    out, _log = site
    html = built_page(out, "exercises/index.md").read_text(encoding="utf-8")
    for folder in exercise_folders():
        rel = folder.relative_to(ROOT / "exercises").as_posix()
        meta = tomllib.loads((folder / "exercise.toml").read_text(encoding="utf-8"))
        assert f"<code>{meta.get('id', folder.name)}</code>" in html, f"{rel} is not in the exercise index"
        assert f'href="{rel}/"' in html, f"the exercise index has no link to {rel}"


def test_nav_has_a_section_per_lesson_module(site):
    out, _log = site
    html = (out / "index.html").read_text(encoding="utf-8")
    for module in sorted({p.parent.name for p in lesson_files()}):
        assert site_hooks.folder_title(module) in html, f"no nav section for {module}"
    assert "For course authors" in html
    assert "For instructors" in html


# ---------------------------------------------------------------------------
# The hook's helpers, on their own
# ---------------------------------------------------------------------------


def test_folder_title():
    assert site_hooks.folder_title("01-version-control") == "Version control"
    assert site_hooks.folder_title("03-warehouse") == "Warehouse"
    assert site_hooks.folder_title("02-python-scripts") == "Python scripts"
    assert site_hooks.folder_title("05-sql-to-sheets") == "SQL to sheets"
    assert site_hooks.folder_title("04-prefect") == "Prefect"


def test_find_exercises_skips_half_written_folders(tmp_path):
    assert site_hooks.find_exercises(tmp_path) == []  # no exercises/ at all
    (tmp_path / "exercises").mkdir()
    assert site_hooks.find_exercises(tmp_path) == []  # empty
    good = tmp_path / "exercises" / "01-version-control" / "01-first"
    good.mkdir(parents=True)
    (good / "exercise.toml").write_text('id = "first"\ntitle = "First"\nhints = ["a", "b"]\n')
    (tmp_path / "exercises" / "01-version-control" / "02-no-toml").mkdir()
    broken = tmp_path / "exercises" / "01-version-control" / "03-broken"
    broken.mkdir()
    (broken / "exercise.toml").write_text('id = "broken\n')
    found = site_hooks.find_exercises(tmp_path)
    assert [e.id for e in found] == ["first"]
    assert found[0].src_uri == "exercises/01-version-control/01-first.md"
    assert found[0].hints == ["a", "b"]


def test_exercise_index_without_exercises():
    text = site_hooks.exercise_index([])
    assert text.startswith("# Exercises")
    assert "no exercises yet" in text


def test_expand_nav():
    uris = [
        "index.md",
        "lessons/index.md",
        "lessons/00-orientation/01-a.md",
        "lessons/00-orientation/02-b.md",
        "lessons/01-version-control/01-c.md",
        "authoring.md",
    ]
    nav = [
        {"Home": "index.md"},
        {"Lessons": ["lessons/*"]},
        {"Reference": ["data-dictionary.md"]},
        {"Authors": ["authoring.md", {"Benchmarks": ["benchmarks/*"]}]},
    ]
    assert site_hooks.expand_nav(nav, uris) == [
        {"Home": "index.md"},
        {
            "Lessons": [
                "lessons/index.md",
                {"Orientation": ["lessons/00-orientation/01-a.md", "lessons/00-orientation/02-b.md"]},
                {"Version control": ["lessons/01-version-control/01-c.md"]},
            ]
        },
        {"Authors": ["authoring.md"]},
    ]


def test_relative_links():
    assert (
        site_hooks.relative_link("exercises/02-python-scripts/01-env.md", "lessons/02-python-scripts/01-env.md")
        == "../../lessons/02-python-scripts/01-env.md"
    )
    assert site_hooks.relative_link("civis-to-code.md", "lessons/03-warehouse/01-sql.md") == "lessons/03-warehouse/01-sql.md"


def test_drop_first_heading():
    assert site_hooks.drop_first_heading("\n# Title\n\nBody\n## Sub") == "Body\n## Sub"
    assert site_hooks.drop_first_heading("Body first\n# Later") == "Body first\n# Later"
