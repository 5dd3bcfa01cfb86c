"""The course site: pages generated from lessons/ and exercises/ (through the course model), a menu that
MkDocs and Zensical both read, and a strict build with no warnings.

The real site is generated and built once per test session (``built_site``). Generation writes only
git-ignored pages into docs/; the menu in mkdocs.yml is checked as committed, never rewritten here.
The golden course (tests/golden/course) is copied to a temporary folder to show that a new lesson or
exercise reaches the menu and the pages with no hand edit.
"""

from __future__ import annotations

import html as html_lib
import json
import os
import posixpath
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from flowcamp.course import Course
from flowcamp.site import exercise_uri, generate, lesson_uri, nav_is_current
from flowcamp.site.lessons import by_module, insert_after_overview, module_label
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


# ----------------------------------------------------------------------- the site as a learner sees it


def page_html(site: Path, uri: str) -> str:
    return built_page(site, uri).read_text(encoding="utf-8")


def plain(html: str) -> str:
    """The text of some HTML, tags removed and spaces collapsed."""
    return re.sub(r"\s+", " ", html_lib.unescape(re.sub(r"<[^>]+>", " ", html))).strip()


def source_of(uri: str) -> Path:
    """The Markdown a generated lesson or exercise page is made from."""
    for ls in LESSONS:
        if lesson_uri(ls.id) == uri:
            return ROOT / ls.path
    for ex in EXERCISES:
        if exercise_uri(ex.path) == uri:
            return ex.source_dir / "README.md"
    raise KeyError(uri)


SQL_CONFLICT = next(exercise_uri(ex.path) for ex in EXERCISES if ex.id == "sql-conflict")
READING_HISTORY = lesson_uri("01-version-control/02-reading-history")
FIRST_REPOSITORY = lesson_uri("01-version-control/01-first-repository")
CONTENT_PAGES = [lesson_uri(ls.id) for ls in LESSONS] + [exercise_uri(ex.path) for ex in EXERCISES]


# Item 14: lists -------------------------------------------------------------------------------------


@pytest.mark.parametrize("uri", [READING_HISTORY, FIRST_REPOSITORY])
def test_a_numbered_list_then_a_bullet_list_stay_two_lists(built_site, uri):
    out, _log = built_site
    html = page_html(out, uri)
    start = html.index("Challenge: which command?")
    box = html[start:html.index("Solution", start)]
    assert box.count("<ol") == 1 and box.count("<ul") == 1, (
        f"{uri}: the numbered questions and the lettered answers of 'Challenge: which command?' should be "
        "two lists (the sane_lists extension)")
    assert len(re.findall(r"<li>", box[box.index("<ol"):box.index("</ol>")])) == 4


def step_number(html: str, text: str) -> int | None:
    """The number a browser shows before the list item that holds ``text`` (ordered lists, nesting and
    `start` respected), or None if it is in no numbered list."""
    from html.parser import HTMLParser

    class Steps(HTMLParser):
        def __init__(self):
            super().__init__()
            self.stack: list[list] = []  # [tag, number of the current item]
            self.found: int | None = None

        def handle_starttag(self, tag, attrs):
            if tag in ("ol", "ul"):
                self.stack.append([tag, int(dict(attrs).get("start") or 1) - 1])
            elif tag == "li" and self.stack:
                self.stack[-1][1] += 1

        def handle_endtag(self, tag):
            if tag in ("ol", "ul") and self.stack:
                self.stack.pop()

        def handle_data(self, data):
            if self.found is None and text in data and self.stack and self.stack[-1][0] == "ol":
                self.found = self.stack[-1][1]

    parser = Steps()
    parser.feed(html)
    return parser.found


def test_numbered_steps_keep_their_numbers(built_site):
    out, _log = built_site
    html = page_html(out, SQL_CONFLICT)
    assert step_number(html, "Write the query you want") == 4, "sql-conflict's step 4 should be numbered 4"
    assert step_number(html, "Finish the merge") == 6


# Item 15: tables ------------------------------------------------------------------------------------


def css_rules(css: str) -> list[tuple[str, str]]:
    css = re.sub(r"/\*.*?\*/", "", css, flags=re.S)
    return [(sel.strip(), body) for sel, body in re.findall(r"([^{}]+)\{([^{}]*)\}", css)]


def test_only_exercise_ids_are_kept_on_one_line():
    rules = css_rules((ROOT / "docs" / "stylesheets" / "extra.css").read_text(encoding="utf-8"))
    nowrap = [sel for sel, body in rules if re.search(r"white-space:\s*nowrap", body)]
    assert nowrap, "exercise ids in tables should still stay on one line"
    for sel in nowrap:
        for one in sel.split(","):
            assert ".exercise-id" in one, f"'{one.strip()} {{ white-space: nowrap }}' reaches beyond exercise ids"


def test_exercise_ids_in_the_generated_tables_carry_their_class(built_site):
    out, _log = built_site
    for uri in ("exercises/index.md", "instructors.md"):
        html = page_html(out, uri)
        for ex in EXERCISES:
            assert f'<code class="exercise-id">{ex.id}</code>' in html, f"{uri}: the id {ex.id} has no class"


# What a browser shows: Debian's Chromium, headless, measures the laid-out page. A script added to a copy
# of the built page writes what it measured into the page, and --dump-dom prints it.
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
needs_browser = pytest.mark.skipif(CHROMIUM is None, reason="needs Chromium (.ci/run installs Debian's chromium)")

MEASURE = """<script>
addEventListener("load", () => setTimeout(() => {
  const r = {tables: []};
  for (const t of document.querySelectorAll("article table")) {
    let scrolls = false;
    for (let e = t; e && e.tagName !== "ARTICLE"; e = e.parentElement) {
      const o = getComputedStyle(e).overflowX;
      if (o === "auto" || o === "scroll") { scrolls = true; break; }
    }
    const room = t.closest("article").clientWidth;
    const cut = [...t.querySelectorAll("td, th")].filter(c => c.scrollWidth > c.clientWidth + 1).length;
    r.tables.push({head: t.rows[0].innerText.slice(0, 40), width: t.scrollWidth, room, scrolls, cut});
  }
  const copy = '[data-md-type="copy"], .md-clipboard';
  r.copy = document.querySelectorAll(copy).length;
  r.copyInOutput = [...document.querySelectorAll(copy)].filter(b => b.closest(".no-copy")).length;
  r.blocks = document.querySelectorAll("article pre > code").length;
  r.outputBlocks = document.querySelectorAll("article .no-copy pre > code, article pre.no-copy > code").length;
  document.body.setAttribute("data-measure", JSON.stringify(r));
}, 300));
</script>"""


def measure(site: Path, uri: str, width: int) -> dict:
    """Open the built page in Chromium at ``width`` px and measure its tables and copy buttons."""
    page = built_page(site, uri)
    probe = page.with_name(f"measure-{width}.html")
    probe.write_text(page.read_text(encoding="utf-8").replace("</body>", MEASURE + "</body>"), encoding="utf-8")
    with tempfile.TemporaryDirectory() as profile:  # a new, empty profile; no network wanted
        proc = subprocess.run(
            [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
             "--disable-component-update", "--disable-sync", "--no-first-run", f"--user-data-dir={profile}",
             "--hide-scrollbars", f"--window-size={width},900", "--virtual-time-budget=5000", "--dump-dom",
             probe.as_uri()],
            capture_output=True, text=True, timeout=120, check=False)
    probe.unlink()
    m = re.search(r'data-measure="([^"]*)"', proc.stdout)
    assert m, f"Chromium did not measure {uri}:\n{proc.stderr[-2000:]}"
    return json.loads(html_lib.unescape(m.group(1)))


BENCHMARKS = ["benchmarks/checks.md", "benchmarks/dev-check.md", "benchmarks/warehouse.md"]


@needs_browser
@pytest.mark.parametrize("uri", [SQL_CONFLICT, *BENCHMARKS])
def test_wide_tables_fit_or_scroll_and_cut_no_text(built_site, uri):
    out, _log = built_site
    wide = measure(out, uri, 1280)
    assert wide["tables"], f"{uri}: no table measured"
    for table in wide["tables"]:
        assert table["cut"] == 0, f"{uri} at 1280 px: text cut off in the table {table}"
    for table in wide["tables"]:  # on a laptop's screen, every column in view, with long code wrapped
        assert table["width"] <= table["room"] + 1, f"{uri} at 1280 px: a table wider than the page {table}"
    for table in measure(out, uri, 390)["tables"]:
        assert table["cut"] == 0, f"{uri} at 390 px: text cut off in the table {table}"
        assert table["width"] <= table["room"] + 1 or table["scrolls"], f"{uri} at 390 px: cut, no scroll {table}"


@needs_browser
def test_output_blocks_show_no_copy_button_in_a_browser(built_site):
    out, _log = built_site
    seen = measure(out, READING_HISTORY, 1280)
    assert seen["outputBlocks"] >= 5, f"the reading-history lesson shows program output: {seen}"
    assert seen["copyInOutput"] == 0, f"an output block has a copy button: {seen}"
    assert seen["copy"] == seen["blocks"] - seen["outputBlocks"], f"every command should have a copy button: {seen}"


# Item 16: from page to page -------------------------------------------------------------------------


def footer_links(html: str) -> dict[str, str]:
    """{'prev': href, 'next': href} of Material's footer."""
    out = {}
    for tag in re.findall(r"<a [^>]*md-footer__link--(?:prev|next)[^>]*>", html):
        side = "prev" if "md-footer__link--prev" in tag else "next"
        out[side] = re.search(r'href="([^"]*)"', tag).group(1)
    return out


def resolve(uri: str, href: str) -> str:
    """A link on the built page of ``uri`` as a page URL ('lessons/a/b')."""
    return posixpath.normpath(posixpath.join(url(uri) + "/", href)).strip("/").removesuffix("/index.html")


@pytest.mark.parametrize("i", range(len(LESSONS)), ids=[ls.id for ls in LESSONS])
def test_lessons_have_previous_and_next_in_lesson_order(built_site, i):
    out, _log = built_site
    uri = lesson_uri(LESSONS[i].id)
    links = footer_links(page_html(out, uri))
    prev = lesson_uri(LESSONS[i - 1].id) if i else "lessons/index.md"
    after = lesson_uri(LESSONS[i + 1].id) if i + 1 < len(LESSONS) else "exercises/index.md"
    assert set(links) == {"prev", "next"}, f"{uri} has no Previous/Next buttons (navigation.footer)"
    assert resolve(uri, links["prev"]) == url(prev) and resolve(uri, links["next"]) == url(after)


def learning_steps() -> list[str]:
    steps = []
    for ls in LESSONS:
        steps += [lesson_uri(ls.id)] + [exercise_uri(ex.path) for ex in COURSE.exercises_of(ls)]
    return steps


@pytest.mark.parametrize("uri", learning_steps()[:-1])
def test_each_page_ends_with_a_link_to_the_next_step(built_site, uri):
    """A lesson ends on its exercise, an exercise on the next lesson: the footer alone would skip them."""
    out, _log = built_site
    steps = learning_steps()
    html = page_html(out, uri)
    m = re.search(r"<p><strong>Next:</strong>(.*?)</p>", html, re.S)
    assert m, f"{uri} does not end with a 'Next:' link"
    hrefs = re.findall(r'href="([^"]*)"', m.group(1))
    assert [resolve(uri, h) for h in hrefs] == [url(steps[steps.index(uri) + 1])]


# Item 18: commands and output -----------------------------------------------------------------------


def fences(text: str) -> list[str]:
    """The info string of every fenced code block (nested ones included)."""
    out, fence = [], None
    for line in text.splitlines():
        m = re.match(r"^\s*(`{3,}|~{3,})\s*([^`\s]*)", line)
        if fence is None and m:
            fence = m.group(1)
            out.append(m.group(2))
        elif fence is not None and line.strip() == fence:
            fence = None
    return out


def test_no_console_blocks_and_no_prompts_in_commands():
    for path in [ROOT / ls.path for ls in LESSONS] + [ex.source_dir / "README.md" for ex in EXERCISES]:
        text = path.read_text(encoding="utf-8")
        assert "console" not in fences(text), f"{path}: a ```console block mixes a command and its output"
        for block in re.findall(r"```(?:bash|powershell)\n(.*?)```", text, re.S):
            assert not re.search(r"^\s*\$ ", block, re.M), f"{path}: a command to copy starts with a $ prompt"


@pytest.mark.parametrize("uri", CONTENT_PAGES)
def test_output_blocks_have_no_copy_button_and_diffs_have_colours(built_site, uri):
    out, _log = built_site
    html = page_html(out, uri)
    kinds = fences(source_of(uri).read_text(encoding="utf-8"))
    plain_output = re.findall(r'<pre class="output no-copy"><code>', html)
    diffs = re.findall(r'<div class="language-diff highlight output no-copy"><pre>', html)
    assert len(plain_output) == kinds.count("output"), f"{uri}: every ```output block should be plain, no copy"
    assert len(diffs) == kinds.count("diff"), f"{uri}: every ```diff block should be a diff with no copy button"
    for block in re.findall(r'<div class="language-diff[^"]*">(.*?)</div>', html, re.S):
        assert '<span class="gd">' in block or '<span class="gi">' in block, f"{uri}: a diff with no colours"


def test_git_show_output_is_a_coloured_diff(built_site):
    out, _log = built_site
    html = page_html(out, READING_HISTORY)
    start = html.index('id="git-show-what-one-commit-changed"')
    block = html[html.index('<div class="language-diff', start):]
    block = block[:block.index("</div>")]
    assert '<span class="gd">-HAVING MAX' in block and '<span class="gi">+HAVING MAX' in block


# Item 19: times from the front matter ---------------------------------------------------------------


def test_lesson_index_gives_each_lesson_and_module_its_time(built_site):
    out, _log = built_site
    text = plain(page_html(out, "lessons/index.md"))
    for module, lessons in by_module(LESSONS):
        total = sum(ls.teaching + ls.practice for ls in lessons)
        teach = sum(ls.teaching for ls in lessons)
        label = re.escape(module_label(module))
        m = re.search(label + r"[^0-9]{0,5}\d+ lessons?, ([^:]+): ([^,]+) teaching", text)
        assert m, f"the lesson index gives no total for {module_label(module)}"
        assert (to_minutes(m.group(1)), to_minutes(m.group(2))) == (total, teach), module
        for ls in lessons:
            m = re.search(re.escape(ls.title) + r" \(([^:]+):", text)
            assert m and to_minutes(m.group(1)) == ls.teaching + ls.practice, f"{ls.id}: wrong or no time"
    m = re.search(r"The whole course: \d+ lessons, ([^:]+):", text)
    assert m and to_minutes(m.group(1)) == sum(ls.teaching + ls.practice for ls in LESSONS)


def to_minutes(text: str) -> int:
    """'1 h 5 min' -> 65."""
    text = text.replace("\u00a0", " ")
    h = re.search(r"(\d+) h", text)
    m = re.search(r"(\d+) min", text)
    return (int(h.group(1)) * 60 if h else 0) + (int(m.group(1)) if m else 0)


def test_instructor_notes_cover_every_module_with_the_lessons_timings(built_site):
    out, _log = built_site
    html = page_html(out, "instructors.md")
    headings = [plain(h) for h in re.findall(r"<h3[^>]*>(.*?)</h3>", html, re.S)]
    for module, lessons in by_module(LESSONS):
        assert any(h.startswith(module_label(module)) for h in headings), f"no section for {module_label(module)}"
    ids = {ex.id: COURSE.lesson_of(ex) for ex in EXERCISES}
    for row in re.findall(r"<tr>(.*?)</tr>", html, re.S):
        named = {ids[c] for c in re.findall(r"<code[^>]*>([^<]+)</code>", row) if c in ids}
        numbers = re.findall(r"<td[^>]*>\s*(?:<em>)?(\d+)", row)
        if named and numbers:
            want = sum(ls.teaching + ls.practice for ls in named)
            assert int(numbers[-1]) == want, f"instructors.md: a row says {numbers[-1]} min, the lessons {want}:\n{row}"


def test_no_existing_module_is_said_to_be_coming(built_site):
    out, _log = built_site
    numbers = {ls.module.split("-")[0] for ls in LESSONS}
    for uri in ("civis-to-code.md", "lessons/index.md", "instructors.md", "index.md"):
        text = plain(page_html(out, uri))
        for sentence in re.split(r"[.|]", text):
            if re.search(r"coming|later (lesson|module)", sentence, re.I):
                named = set(re.findall(r"module (\d\d)", sentence, re.I)) & numbers
                assert not named, f"{uri} says module {named.pop()} is still to come: {sentence.strip()!r}"


# Offline: no CDN ------------------------------------------------------------------------------------


def external_assets(site: Path) -> list[str]:
    """Every script, stylesheet or font the built site would fetch from another host."""
    found = []
    for page in site.rglob("*.html"):
        html = page.read_text(encoding="utf-8")
        for tag in re.findall(r"<(?:script|link)\b[^>]*>", html):
            if re.search(r'\b(?:src|href)="(?:https?:)?//', tag) and (
                    tag.startswith("<script") or re.search(r'rel="(?:stylesheet|preconnect|preload|modulepreload)"', tag)):
                found.append(f"{page.relative_to(site)}: {tag}")
    for css in site.rglob("*.css"):
        found += [f"{css.relative_to(site)}: {m}" for m in
                  re.findall(r"@import[^;]*https?://[^;]*|url\(\s*['\"]?(?:https?:)?//[^)]*\)", css.read_text(encoding="utf-8"))]
    return found


@pytest.fixture(scope="session")
def zensical_site(built_site, tmp_path_factory) -> tuple[Path, str]:
    """The same mkdocs.yml and docs/ built by Zensical (``zensical build --strict``).

    Zensical wants docs_dir inside the folder of its config file and has no --site-dir, so the generated
    docs/ and mkdocs.yml are copied to a folder of their own; it builds into site/ there.
    """
    root = tmp_path_factory.mktemp("zensical")
    shutil.copytree(ROOT / "docs", root / "docs")
    shutil.copy(ROOT / "mkdocs.yml", root / "mkdocs.yml")
    proc = subprocess.run([sys.executable, "-m", "zensical", "build", "--strict", "-f", str(root / "mkdocs.yml")],
                          cwd=root, capture_output=True, text=True, timeout=300, check=False)
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, f"zensical build --strict failed:\n{log}"
    return root / "site", log


@pytest.fixture(params=["mkdocs", "zensical"])
def any_site(request) -> tuple[str, Path]:
    """Each builder's site: MkDocs (strict, with the menu's validation) and Zensical."""
    fixture = "built_site" if request.param == "mkdocs" else "zensical_site"
    return request.param, request.getfixturevalue(fixture)[0]


def test_both_builders_make_every_lesson_and_exercise_page(any_site):
    builder, out = any_site
    missing = [uri for uri in CONTENT_PAGES + ["lessons/index.md", "exercises/index.md"]
               if not built_page(out, uri).is_file()]
    assert not missing, f"{builder} made no page for: {', '.join(missing)}"
    assert not (out / "templates").exists(), f"{builder} made pages of docs/templates/"
    menu = nav_links(out) if builder == "mkdocs" else set()
    for uri in CONTENT_PAGES:
        html = page_html(out, uri)
        if builder == "mkdocs":
            assert url(uri) in menu, f"{uri} is not in the menu"
        assert "md-footer__link--next" in html or uri == CONTENT_PAGES[-1], f"{builder}: {uri} has no Next button"
    assert step_number(page_html(out, SQL_CONFLICT), "Write the query you want") == 4, f"{builder}: list numbers"
    history = page_html(out, READING_HISTORY)
    assert 'class="output no-copy"' in history and '<span class="gd">' in history, f"{builder}: output blocks"


def test_zensical_builds_with_no_warning(zensical_site):
    _out, log = zensical_site
    assert not re.search(r"warning|error", log, re.I), f"zensical build:\n{log}"


@pytest.mark.parametrize("builder", ["mkdocs", "zensical"])
def test_the_site_needs_no_network(builder, request):
    out, _log = request.getfixturevalue("built_site" if builder == "mkdocs" else "zensical_site")
    found = external_assets(out)
    assert not found, "the site must work offline, but it loads:\n" + "\n".join(found[:10])


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
