"""The course's pictures: every one a lesson or a doc shows exists, reaches the built site and says in its alt
text what it shows; every SVG is plain XML that loads nothing from the network; each Graphviz source renders
to its committed SVG; the Prefect UI screenshot is taken by the course's own tool and is not blank.
"""

from __future__ import annotations

import os
import posixpath
import re
import shutil
import struct
import subprocess
import sys
import zlib
from pathlib import Path
from xml.etree import ElementTree

import pytest

from flowcamp.course import Course
from flowcamp.site import generate, lesson_uri
from flowcamp.site.generate import GENERATED_DIRS, TEMPLATED, site_files
from flowcamp.site.screenshots import PICTURE, chromium_command, find_chromium, png_colours

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
COURSE = Course(ROOT)
IMAGE = re.compile(r'!\[([^\]]*)\]\(([^)\s]+)(?:\s+"[^"]*")?\)')
HTML_IMG = re.compile(r"<img\b[^>]*>")
GENERIC_ALT = {"diagram", "image", "picture", "figure", "screenshot", "graph", "drawing", "svg", "png"}
# Identifiers that look like URLs but are never fetched: the XML namespaces, and the DTD Graphviz names.
NAMES_NOT_FETCHED = {"http://www.w3.org/2000/svg", "http://www.w3.org/1999/xlink",
                     "http://www.w3.org/Graphics/SVG/1.1/DTD/svg11.dtd"}
FONT_FAMILIES = {"sans-serif", "serif", "monospace"}  # generic families only: nothing to download

# The pictures the course promises (issue 8, item 17): page -> the picture files it must show.
PROMISED = {
    "lessons/00-orientation/02-the-check-loop.md": {"check-loop.svg"},
    "lessons/01-version-control/01-first-repository.md": {"three-places.svg", "vscode-source-control.svg"},
    "lessons/01-version-control/04-branches-and-merging.md": {"branch-merge.svg", "merge-conflict.svg"},
    "lessons/03-warehouse/01-sql-from-python.md": {"warehouse-tables.svg"},
    "lessons/04-prefect/01-scripts-to-flows.md": {"workflow-to-flow.svg", PICTURE},
    "docs/data-dictionary.md": {"warehouse-tables.svg"},
    "docs/cohort-grading.md": {"cohort-grading.svg"},
    "lessons/06-orchestration/01-sql-files-as-tasks.md": {"sql-tasks-folder-to-runs.svg", "sql-tasks-paste-or-bind.svg"},
    "lessons/06-orchestration/02-civis-workflow-as-flow.md": {"workflow-flow-graph.svg"},
    "lessons/06-orchestration/03-typed-parameters.md": {"typed-parameters-validation.svg"},
    "lessons/06-orchestration/04-retries-and-alerts.md": {"retries-alerts-two-nights.svg"},
    "lessons/06-orchestration/05-sheet-export.md": {"sheet-export-overwrite-or-upsert.svg"},
    "lessons/06-orchestration/06-logs-and-summaries.md": {"run-summary-where-reports-go.svg"},
    "lessons/07-deployments/01-schedules-and-deployments.md": {"deploy-schedule-clock-change.svg"},
    "lessons/07-deployments/02-testing-a-flow.md": {"test-flow-mutation.svg"},
    "lessons/07-deployments/03-review-and-ci.md": {"review-ci-pull-request.svg"},
}


def hand_written_docs() -> list[Path]:
    generated = {DOCS / d for d in (*GENERATED_DIRS, "templates")} | {DOCS / p for p in TEMPLATED}
    return sorted(p for p in DOCS.rglob("*.md")
                  if p not in generated and not any(g in p.parents for g in generated))


def pages() -> list[tuple[str, str, str]]:
    """(source path, its place in docs/, its Markdown) for every lesson and hand-written doc."""
    out = [(ls.path, lesson_uri(ls.id), ls.text())
           for ls in COURSE.lessons]
    out += [(p.relative_to(ROOT).as_posix(), p.relative_to(DOCS).as_posix(), p.read_text(encoding="utf-8"))
            for p in hand_written_docs()]
    return out


def images_in(text: str) -> list[tuple[str, str]]:
    """(alt text, src) of every image in a page's Markdown or HTML."""
    found = [(m[1], m[2]) for m in IMAGE.finditer(text)]
    for tag in HTML_IMG.findall(text):
        alt, src = re.search(r'\balt="([^"]*)"', tag), re.search(r'\bsrc="([^"]*)"', tag)
        found.append((alt[1] if alt else "", src[1] if src else ""))
    return found


PAGES = pages()
PICTURES = [(source, uri, alt, src) for source, uri, text in PAGES for alt, src in images_in(text)]
SVGS = sorted({*ROOT.joinpath("lessons").rglob("*.svg"), *DOCS.joinpath("images").rglob("*.svg")})
DOTS = sorted({*ROOT.joinpath("lessons").rglob("*.dot"), *DOCS.joinpath("images").rglob("*.dot")})


def where(uri: str, src: str) -> str:
    """Where an image link on the page ``uri`` (docs-relative) leads, docs-relative."""
    return posixpath.normpath(posixpath.join(posixpath.dirname(uri), src))


def test_the_promised_pictures_are_in_their_pages():
    shown: dict[str, set[str]] = {}
    for source, _, _, src in PICTURES:
        shown.setdefault(source, set()).add(posixpath.basename(src))
    missing = {page: sorted(want - shown.get(page, set())) for page, want in PROMISED.items()}
    assert not any(missing.values()), f"pages without the pictures they should show: {missing}"


@pytest.mark.parametrize("source, uri, alt, src", PICTURES, ids=[f"{p[0]}:{p[3]}" for p in PICTURES])
def test_every_picture_exists_and_says_what_it_shows(source, uri, alt, src):
    assert not re.match(r"^[a-z]+:", src), f"{source}: {src} is not a file of the course (works offline only so)"
    target = where(uri, src)
    generated = site_files(COURSE, DOCS)  # lesson figures are copied beside the lesson pages
    on_disk = not target.startswith(tuple(d + "/" for d in GENERATED_DIRS)) and (DOCS / target).is_file()
    assert target in generated or on_disk, f"{source}: the picture {src} ({target} on the site) does not exist"
    words = alt.split()
    assert len(words) >= 4 and alt.strip().lower() not in GENERIC_ALT, (
        f"{source}: the alt text of {src} must say what the picture shows, not {alt!r}")


@pytest.mark.parametrize("source, text", [(p[0], p[2]) for p in PAGES if images_in(p[2])],
                         ids=[p[0] for p in PAGES if images_in(p[2])])
def test_every_picture_opens_full_size_when_clicked(source, text):
    """On a phone a wide picture is small: a tap on it opens the file itself, which can be zoomed."""
    for alt, src in images_in(text):
        assert f"[![{alt}]({src})]({src})" in text, (
            f"{source}: write the picture {src} as a link to itself: [![alt text]({src})]({src})")


@pytest.mark.parametrize("svg", SVGS, ids=[p.name for p in SVGS])
def test_every_svg_is_xml_that_loads_nothing_from_outside(svg):
    text = svg.read_text(encoding="utf-8")
    root = ElementTree.fromstring(text)  # raises on anything that is not well-formed XML
    urls = set(re.findall(r"(?:https?:)?//[\w.-]+\.[a-z]{2,}[^\s\"'<>)]*", text)) - NAMES_NOT_FETCHED
    assert not urls, f"{svg.name} refers to something outside the file: {sorted(urls)}"
    assert root.tag == "{http://www.w3.org/2000/svg}svg", f"{svg.name}: the top element is not an SVG <svg>"
    for el in root.iter():
        for name, value in el.attrib.items():
            local = name.rsplit("}", 1)[-1]
            if local == "href":
                assert value.startswith("#"), f"{svg.name}: {local}={value!r} points outside the file"
            if local == "font-family":
                families = {f.strip().strip("'\"") for f in value.split(",")}
                assert families & FONT_FAMILIES, f"{svg.name}: font-family {value!r} names no generic family"
        assert not re.search(r"@import|url\((?!#)", el.text or ""), f"{svg.name}: a style loads a file"
    assert root.find("{http://www.w3.org/2000/svg}title") is not None or "Generated by graphviz" in text, (
        f"{svg.name}: a hand-drawn SVG needs a <title> saying what it shows")


def test_graphviz_sources_are_kept_beside_their_svg():
    assert DOTS, "no Graphviz sources found"
    missing = [d.name for d in DOTS if not d.with_suffix(".svg").is_file()]
    assert not missing, f"render these with `dot -Tsvg NAME.dot -o NAME.svg`: {missing}"


def _dot_version() -> str | None:
    dot = shutil.which("dot")
    if not dot:
        return None
    out = subprocess.run([dot, "-V"], capture_output=True, text=True, check=False)
    found = re.search(r"version (\S+)", out.stdout + out.stderr)
    return found[1] if found else None


@pytest.mark.parametrize("source", DOTS, ids=[p.name for p in DOTS])
def test_each_dot_source_renders_to_its_committed_svg(source):
    version = _dot_version()
    if version is None:
        pytest.skip("Graphviz's `dot` is not installed here, so the SVG cannot be rendered again to compare")
    committed = source.with_suffix(".svg").read_text(encoding="utf-8")
    made_by = re.search(r"Generated by graphviz version (\S+)", committed)
    if made_by and made_by[1] != version:
        pytest.skip(f"the SVG was made by Graphviz {made_by[1]}, this is {version}: their layouts differ slightly")
    rendered = subprocess.run(["dot", "-Tsvg", source.name], cwd=source.parent, capture_output=True, text=True,
                              check=True, timeout=60).stdout
    assert rendered == committed, (f"{source.name} changed since {source.with_suffix('.svg').name} was made: run "
                                   f"`dot -Tsvg {source.name} -o {source.with_suffix('.svg').name}` there")


# ------------------------------------------------------------------------------------------- the built site


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    generate(COURSE, DOCS)
    out = tmp_path_factory.mktemp("site")
    done = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-f", str(ROOT / "mkdocs.yml"),
                           "-d", str(out)], cwd=ROOT, env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
                          capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, f"mkdocs build --strict failed:\n{done.stdout}{done.stderr}"
    return out


def test_every_picture_is_in_the_built_site_with_its_alt_text(built):
    for _, uri, _, src in PICTURES:
        page = built / ("" if uri == "index.md" else uri.removesuffix(".md").removesuffix("/index")) / "index.html"
        html = page.read_text(encoding="utf-8")
        tags = [t for t in HTML_IMG.findall(html) if posixpath.basename(src) in t]
        assert tags, f"{uri}: the built page has no <img> for {src}"
        for tag in tags:
            alt, img = re.search(r'\balt="([^"]*)"', tag), re.search(r'\bsrc="([^"]*)"', tag)
            assert alt and alt[1].strip(), f"{uri}: the built <img> for {src} has no alt text"
            assert (page.parent / img[1]).resolve().is_file(), f"{uri}: {img[1]} is not in the built site"


# ---------------------------------------------------------------------------------------- the screenshots


def _png(rows: list[list[tuple[int, int, int]]], filters: list[int]) -> bytes:
    """A tiny RGB PNG whose rows use the given filter types (0 none, 1 sub, 2 up, 3 average, 4 Paeth)."""
    def paeth(a, b, c):
        p = a + b - c
        pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
        return a if pa <= pb and pa <= pc else b if pb <= pc else c

    raw, above = b"", bytes(len(rows[0]) * 3)
    for row, kind in zip(rows, filters):
        line = bytes(v for px in row for v in px)
        out = bytearray()
        for i, v in enumerate(line):
            left, up, corner = (line[i - 3] if i >= 3 else 0), above[i], (above[i - 3] if i >= 3 else 0)
            guess = [0, left, up, (left + up) // 2, paeth(left, up, corner)][kind]
            out.append((v - guess) & 0xFF)
        raw += bytes([kind]) + bytes(out)
        above = line

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", len(rows[0]), len(rows), 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


def test_png_colours_reads_every_filter(tmp_path):
    rows = [[((x * 40 + y) % 256, (y * 50) % 256, (x * y * 7) % 256) for x in range(6)] for y in range(5)]
    path = tmp_path / "t.png"
    path.write_bytes(_png(rows, [0, 1, 2, 3, 4]))
    assert png_colours(path) == len({px for row in rows for px in row})
    path.write_bytes(_png([[(255, 255, 255)] * 6] * 5, [0, 1, 2, 3, 4]))
    assert png_colours(path) == 1


def test_chromium_runs_headless_without_its_sandbox_only_as_root(tmp_path, monkeypatch):
    monkeypatch.setattr(os, "geteuid", lambda: 0)
    args = chromium_command("/usr/bin/chromium", "http://127.0.0.1:1/x", tmp_path / "a.png", (390, 800), tmp_path)
    assert "--headless" in args and "--no-sandbox" in args and "--window-size=390,800" in args
    assert f"--screenshot={tmp_path / 'a.png'}" in args and args[-1] == "http://127.0.0.1:1/x"
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    assert "--no-sandbox" not in chromium_command("chromium", "u", tmp_path / "a.png", (1, 1), tmp_path)


def test_the_committed_prefect_screenshot_is_not_blank():
    picture = DOCS / "images" / PICTURE
    assert picture.is_file(), "run `uv run flowcamp site screenshots` and commit docs/images/" + PICTURE
    assert png_colours(picture, limit=1000) >= 200, f"{picture} looks blank"


@pytest.mark.slow
def test_the_screenshot_tool_takes_a_picture_of_a_flow_run(tmp_path):
    from flowcamp.site.screenshots import take_prefect_screenshot

    if not find_chromium():
        pytest.skip("no Chromium on this machine: the tool needs one to take the picture")
    out = take_prefect_screenshot(tmp_path / "shot.png", size=(1024, 700))
    assert out.is_file() and out.stat().st_size > 10_000, "the tool wrote no picture, or an empty one"
    assert png_colours(out, limit=1000) >= 200, "the picture has few colours: the UI did not load"


def test_flowcamp_site_screenshots_is_a_command():
    from typer.testing import CliRunner

    from flowcamp.site.cli import site_app

    done = CliRunner().invoke(site_app, ["screenshots", "--help"])
    assert done.exit_code == 0 and "Prefect" in done.output, done.output
