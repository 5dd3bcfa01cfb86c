"""The cohort report (OUT/report.html): each plot's data from a gradebook built here without grading, the stuck
list's order and counts, escaping of what learners wrote, a page that loads nothing, the page as headless
Chromium renders it (a PNG that is not blank, every plot in the DOM); and intake's reading of a git source's
submitted manifests (oldest first, within its limit, whatever the commit messages say)."""

from __future__ import annotations

import json
import re
import shutil
import struct
import subprocess
import zlib
from html.parser import HTMLParser
from pathlib import Path

import pytest
from typer.testing import CliRunner

from flowcamp import proc
from flowcamp.cli_gradebook import gradebook_app
from flowcamp.course import Course
from flowcamp.grading import githistory, intake, layout, report
from flowcamp.grading.export import export_all
from flowcamp.grading.gradebook import FILE_NAME, Gradebook
from flowcamp.site.screenshots import _unfilter, chromium_command, find_chromium

COURSE = Course()
IDS = [ex.id for ex in COURSE.exercises[:4]]
A, B, C, D = IDS
HOSTILE = '<script>alert("pwned")</script><img src=x onerror=alert(1)>'
SAID_WHY = "Say why in the commit message."
BACK = "The deleted character is still missing from the committed SQL."
OTHER = "Waiting for the check on history: first get back the commits you started with."
CODE_EX = "00-orientation/01-check-loop"  # exercise A's folder


# ---------------------------------------------------------------------------------------------- a cohort
def check(name, status="pass", points=1, message="", hidden=False, heldout=False) -> dict:
    c = {"name": name, "status": status, "message": message, "points": points if status == "pass" else 0,
         "max_points": points, "output": ""}
    if hidden:
        c["visibility"] = "hidden"
    if heldout:
        c["heldout"] = True
    return c


def doc(ex, checks, status=None, max_score=None, **kw) -> dict:
    status = status or ("pass" if checks and all(c["status"] == "pass" for c in checks) else "fail")
    return {"version": 1, "exercise": ex, "status": status, "score": sum(c["points"] for c in checks),
            "max_score": max_score if max_score is not None else sum(c["max_points"] for c in checks),
            "message": "", "duration": 0.5, "checks": checks, **kw}


def a_doc(runs=True) -> dict:  # exercise A: 2 + 3 points
    return doc(A, [check("The query runs", "pass" if runs else "fail", 2, "Your query gave 3 rows."),
                   check("It prints one row per district", points=3)])


def b_doc(why=True) -> dict:  # B: 1 + 1
    return doc(B, [check("Every commit has a message"),
                   check("The message says why", "pass" if why else "fail", 1, SAID_WHY + "\nSee the lesson.")])


def c_doc(visible=True, hidden=True, heldout=True, got=16) -> dict:  # C: 2 + 1 hidden + 1 held-out
    return doc(C, [check("The answers file is filled in", "pass" if visible else "fail", 2, "Fill it in."),
                   check("Edge cases of the filter", "pass" if hidden else "fail", 1, "PLANTED-HIDDEN: off by one",
                         hidden=True),
                   check("Counts on other data", "pass" if heldout else "fail", 1, f"Expected 17, got {got}",
                         heldout=True)])


def d_doc(back=True, message=BACK) -> dict:  # D: 1 + 2
    return doc(D, [check("You finished bisecting"), check("The character is back", "pass" if back else "fail", 2,
                                                          message)])


def progress(**entries) -> dict:
    return {"exercises": entries}


def add(gb, run, h, name, email, created, docs, prog=None, **manifest) -> None:
    gb.add_submission(run, {"hash": h, "source": f"/in/{h[:6]}.zip", "label": f"{h[:6]}.zip", "status": "ok",
                            "message": "", "learner": {"name": name, "email": email},
                            "manifest": {"created": created, "progress": prog or {}, **manifest},
                            "exercises": IDS, "warnings": []})
    for d in docs:
        gb.record_result(run, h, d["exercise"], f"{h}:{d['exercise']}", 7, "v1", d, 1.0)


HISTORY = [{"time": "2026-12-01T10:00:00+00:00", "commit": "a" * 12, "done": [A], "hints": 0, "checks": 2},
           {"time": "2026-12-02T10:00:00+00:00", "commit": "b" * 12, "done": [A, B], "hints": 1, "checks": 4},
           {"time": "2026-12-03T10:00:00+00:00", "commit": "c" * 12, "done": [A, B, D, "<b>forged</b>"],
            "hints": 1, "checks": 7}]


def build_cohort(gb: Gradebook) -> None:
    """Ada hands in three times; Bob passes everything; a learner with a hostile name; Cy has C missing; Dee's
    submission came from a git repository with three submits; one damaged file names nobody."""
    run = gb.start_run(4242, "1.2.3", {ex: "v1" for ex in IDS}, {"workers": 2})
    ada = ("Ada Lovelace", "ada@example.org")
    add(gb, run, "1" * 64, *ada, "2026-12-01T09:00:00+00:00", [a_doc(), b_doc(False), c_doc(False), d_doc(False)],
        progress(**{A: {"passed": True, "passed_at": "2026-12-01T08:30:00+00:00", "hints_shown": 2, "checks": 3}}))
    add(gb, run, "2" * 64, *ada, "2026-12-02T09:00:00+00:00", [a_doc(), b_doc(), c_doc(False), d_doc(False)],
        progress(**{A: {"passed": True, "passed_at": "2026-12-01T08:30:00+00:00", "hints_shown": 2, "checks": 3},
                    B: {"passed": True, "passed_at": "2026-12-01T12:00:00+00:00", "hints_shown": 2, "checks": 5}}))
    add(gb, run, "3" * 64, *ada, "2026-12-03T09:00:00+00:00", [a_doc(), b_doc(), c_doc(), d_doc(False)],
        progress(**{A: {"passed": True, "passed_at": "2026-12-01T08:30:00+00:00", "hints_shown": 2, "checks": 3},
                    B: {"passed": True, "passed_at": "2026-12-01T12:00:00+00:00", "hints_shown": 2, "checks": 5},
                    C: {"passed": True, "passed_at": "2026-12-02T15:00:00+00:00", "hints_shown": 0, "checks": 2},
                    D: {"hints_shown": 3, "checks": 9, "last_status": "fail"}}))
    add(gb, run, "4" * 64, "Bob", "bob@example.org", "2026-12-02T12:00:00+00:00",
        [a_doc(), b_doc(), c_doc(), d_doc()],
        progress(**{A: {"passed": True, "started_at": "2026-12-01T10:00:00+00:00",
                        "passed_at": "2026-12-01T10:20:00+00:00", "checks": 1}}))
    add(gb, run, "5" * 64, HOSTILE, "evil@example.org", "2026-12-02T13:00:00+00:00",
        [a_doc(), b_doc(False), c_doc(hidden=False, heldout=False), d_doc(False)],
        progress(**{"<script>x</script>": {"passed": True, "hints_shown": 5},
                    A: {"passed": True, "passed_at": "yesterday", "hints_shown": "many", "checks": -5}}))
    missing = doc(C, [], status="fail", max_score=4, missing=True, message="Not in the submission.")
    add(gb, run, "6" * 64, "Cy", "cy@example.org", "2026-12-02T14:00:00+00:00",
        [a_doc(runs=False), b_doc(False), missing, d_doc(False, OTHER)])
    add(gb, run, "7" * 64, "Dee", "dee@example.org", "2026-12-03T10:00:00+00:00",
        [a_doc(), b_doc(), c_doc(heldout=False, got=15), d_doc()],
        progress(**{A: {"passed": True}, B: {"passed": True}, D: {"passed": True}}), history=HISTORY)
    gb.add_submission(run, {"hash": "8" * 64, "source": "/in/broken.zip", "label": "broken.zip", "status": "corrupt",
                            "message": "broken.zip is damaged <b>cut short</b>: ask for it again.", "learner": {},
                            "manifest": {}, "exercises": [], "warnings": []})
    gb.finish_run(run, {"graded": 28})


@pytest.fixture(scope="module")
def made(tmp_path_factory) -> dict:
    out = tmp_path_factory.mktemp("grading")
    with Gradebook(out / FILE_NAME) as gb:
        build_cohort(gb)
        path = report.write_report(gb, out, COURSE)  # its speed: benchmarks/bench_grading.py, not a test
    text = path.read_text(encoding="utf-8")
    return {"out": out, "path": path, "html": text, "page": Page(text)}


class Page(HTMLParser):
    """The report's elements, each with its attributes, the plot (svg data-plot or section id) it is in, and
    its text."""

    VOID = {"meta", "br", "img", "hr", "input", "link", "rect", "line", "circle", "polyline", "path"}

    def __init__(self, text: str):
        super().__init__(convert_charrefs=True)
        self.elements: list[dict] = []
        self.stack: list[dict] = []
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        el = {"tag": tag, "attrs": dict(attrs), "text": "",
              "in": [s["attrs"].get(k) for s in self.stack for k in ("data-plot", "id", "data-exercise",
                                                                      "data-learner")]}
        self.elements.append(el)
        if tag not in self.VOID:
            self.stack.append(el)

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag not in self.VOID:
            self.stack.pop()

    def handle_endtag(self, tag):
        if any(el["tag"] == tag for el in self.stack):  # "</rect>" (as a browser writes SVG) closes nothing open
            while self.stack.pop()["tag"] != tag:
                pass

    def handle_data(self, data):
        for el in self.stack:
            el["text"] += data

    def find(self, tag: str, inside: str | None = None, **attrs) -> list[dict]:
        return [el for el in self.elements if el["tag"] == tag and (inside is None or inside in el["in"])
                and all(el["attrs"].get(k.rstrip("_").replace("_", "-")) == v for k, v in attrs.items())]


# ---------------------------------------------------------------------------------------------- the page
def test_the_page_loads_nothing_and_says_it_is_the_instructors(made):
    text, page = made["html"], made["page"]
    assert text.startswith("<!DOCTYPE html>") and "default-src 'none'" in text  # and a browser runs no script
    assert "For the instructor only" in text and "Do not share" in text
    urls = set(re.findall(r"(?:https?:)?//[\w.-]+\.[a-z]{2,}[^\s\"'<>)]*", text)) - {"http://www.w3.org/2000/svg"}
    assert not urls, urls
    assert not [el for el in page.elements if el["tag"] in ("script", "img", "link", "iframe", "object", "embed")]
    assert not [el for el in page.elements if "src" in el["attrs"] or "style" in el["attrs"]
                or not el["attrs"].get("href", "#").startswith("#")]
    (style,) = page.find("style")
    assert "@import" not in style["text"] and "url(" not in style["text"]


def test_the_header_counts_learners_submissions_and_the_unusable_ones(made):
    page = made["page"]
    counts = {el["attrs"]["data-count"]: int(re.match(r"\d+", el["text"])[0]) for el in page.find("div")
              if "data-count" in el["attrs"]}
    assert counts == {"learners": 5, "graded learners": 5, "submissions": 8, "graded submissions": 7,
                      "unusable submissions": 1}
    (bad,) = page.find("ul", class_="unusable")
    assert "broken.zip (corrupt): broken.zip is damaged <b>cut short</b>: ask for it again." in bad["text"]
    assert "&lt;b&gt;cut short&lt;/b&gt;" in made["html"]
    assert "held-out seed 4242" in made["html"] and "course version 1.2.3" in made["html"]


def test_the_score_distribution_bins_every_graded_learner(made):
    bars = made["page"].find("g", "scores", class_="bar")
    assert len(bars) == 10
    # Bob 14/14 and Dee 13/14 -> 90-100; Ada 12/14 -> 80; the hostile name 9/14 -> 60; Cy 5/14 -> 30.
    assert {int(b["attrs"]["data-bin"]): int(b["attrs"]["data-n"]) for b in bars if b["attrs"]["data-n"] != "0"} \
        == {30: 1, 60: 1, 80: 1, 90: 2}
    assert "Median 86%" in made["page"].find("desc", "scores")[0]["text"]


def test_the_pass_rate_per_exercise_has_one_bar_per_exercise_in_course_order(made):
    bars = made["page"].find("g", "exercises", class_="bar")
    assert [(b["attrs"]["data-label"], b["attrs"]["data-n"], b["attrs"]["data-total"]) for b in bars] == \
        [(A, "4", "5"), (B, "3", "5"), (C, "2", "5"), (D, "2", "5")]
    assert "4/5 · 80%" in bars[0]["text"]
    assert "1/5 · 20% · 1 not started" not in bars[2]["text"] and "2/5 · 40% · 1 not started" in bars[2]["text"]  # Cy
    assert len(made["page"].find("rect", "exercises", class_="missing")) == 1
    assert "Hardest exercise</a>: " + D + ", passed by 2 of the 5" in made["html"]


def test_the_pass_rate_per_check_shows_hidden_and_held_out_checks_as_the_instructor_sees_them(made):
    page = made["page"]
    cards = page.find("div", "checks", class_="card")
    assert [c["attrs"]["data-exercise"] for c in cards] == IDS  # Cy's missing C has no checks, the others do
    rows = {ex: [(li["text"].split("hidden")[0].split("held-out")[0].strip(), li["attrs"]["data-n"],
                  li["attrs"]["data-total"]) for li in page.find("li", ex, class_="check")] for ex in IDS}
    assert [r[1:] for r in rows[C]] == [("4", "4"), ("3", "4"), ("2", "4")]
    assert rows[C][1][0] == "Edge cases of the filter" and rows[C][2][0] == "Counts on other data"
    assert [r[1:] for r in rows[A]] == [("4", "5"), ("5", "5")]
    tags = [el["text"] for el in page.find("span", C) if "tag" in el["attrs"].get("class", "")
            and "checks" in el["in"]]
    assert tags == ["hidden", "held-out"]


STUCK = [(D, "The character is back", 3, 2), (B, "The message says why", 2, 2), (C, "Counts on other data", 2, 2),
         (A, "The query runs", 1, 1), (C, "Edge cases of the filter", 1, 1)]


def test_where_learners_are_stuck_most_first_with_the_common_message_and_the_names(made):
    """Most learners first; a tie in course order, then in the order of the exercise's checks. Cy's missing C
    is not being stuck."""
    page = made["page"]
    items = page.find("li", "stuck")
    assert [(li["attrs"]["data-exercise"], li["attrs"]["data-check"], int(li["attrs"]["data-failing"]),
             int(li["attrs"]["data-sharing"])) for li in items] == STUCK
    first = " ".join(items[0]["text"].split())
    assert BACK in first and OTHER not in first  # the message two of the three see
    assert "The most common message (2 of them see it)" in first and "3 of 5 learners" in first
    assert "Stuck here: " + HOSTILE[:30] in first and first.endswith("…, Ada Lovelace, Cy")
    assert SAID_WHY in items[1]["text"] and "See the lesson." not in items[1]["text"]  # first line only
    assert "PLANTED-HIDDEN: off by one" in items[4]["text"]  # the instructor sees a hidden check's message
    assert "(all of them see it, some with other numbers)" in items[2]["text"]  # got 16, got 15: one message
    assert "Their message" in items[3]["text"]
    bars = page.find("g", "stuck", class_="bar")
    assert [(b["attrs"]["data-check"], int(b["attrs"]["data-n"])) for b in bars] == [(s[1], s[2]) for s in STUCK]


def test_time_and_hints_come_from_the_learners_progress_and_say_no_data_where_there_is_none(made):
    page = made["page"]
    rows = page.find("g", "effort", class_="row")
    assert [r["attrs"]["data-exercise"] for r in rows] == IDS
    assert [r["attrs"]["data-learners"] for r in rows] == ["4", "2", "1", "2"]  # the hostile junk counts for A only
    table = made["html"].split('id="effort"')[1].split("</section>")[0]
    cells = [re.findall(r"<td[^>]*>([^<]*)</td>", row) for row in re.findall(r"<tr>(.*?)</tr>", table)]
    by_ex = {c[0]: c for c in cells if c}
    assert by_ex[A][2] == "20 min" and by_ex[B][2] == "3.5 h" and by_ex[D][2] == "no data"
    assert by_ex[C][2] == "27 h"  # from Ada's previous pass (B), as the caption says
    assert by_ex[A][4] == "0.5" and by_ex[D][4] == "1.5"  # A: Ada 2, Bob none, "many" is no number, Dee none
    assert [t["text"] for t in page.find("text", "effort", class_="no-data")] == ["no data"]  # D's time


def test_progress_over_time_has_a_panel_per_learner_and_a_git_history(made):
    page = made["page"]
    panels = {el["attrs"]["data-learner"]: el for el in page.find("svg", data_plot="progress")}
    assert sorted(panels, key=str.lower) == list(panels) and len(panels) == 5  # by name; "<" sorts first

    def points(learner: str, measure: str) -> int:
        (g,) = [g for g in page.find("g", class_="line", data_measure=measure) if learner in g["in"]]
        return int(g["attrs"]["data-points"])

    assert points("Ada Lovelace", "score") == 3 and points("Bob", "score") == 1
    assert points("Ada Lovelace", "done") == 3  # from the progress in each of her three submissions
    assert points("Dee", "done") == 3  # the git history (its newest point is the submission itself)
    assert not [g for g in page.find("g", class_="line", data_measure="done") if "Cy" in g["in"]]  # no progress
    (dee,) = [g for g in page.find("g", class_="line", data_measure="done") if "Dee" in g["in"]]
    assert "Dec 01 10:00 1 done; Dec 02 10:00 2 done; Dec 03 10:00 3 done" in dee["text"]  # a forged id is none
    assert "forged" not in made["html"]


def test_what_learners_wrote_stays_text(made):
    text = made["html"]
    assert HOSTILE not in text and "<script" not in text.lower() and "<img" not in text.lower()
    assert "&lt;script&gt;alert(&quot;pwned&quot;)&lt;/script&gt;" in text
    names = [el["text"] for el in made["page"].elements if HOSTILE[:20] in el["text"]]
    assert names, "the hostile name is shown, as text"


def test_two_learners_with_one_name_keep_their_own_numbers(tmp_path):
    with Gradebook(tmp_path / FILE_NAME) as gb:
        run = gb.start_run(7, "1", {}, {})
        add(gb, run, "1" * 64, "Sam", "sam.a@example.org", "2026-12-01T09:00:00+00:00", [a_doc()])
        add(gb, run, "2" * 64, "Sam", "sam.b@example.org", "2026-12-02T09:00:00+00:00", [a_doc(runs=False)])
        page = Page(report.write_report(gb, tmp_path, COURSE).read_text())
    panels = page.find("svg", data_plot="progress")
    assert [p["attrs"]["data-learner"] for p in panels] == ["Sam", "Sam"]
    assert sorted(el["text"] for el in page.find("title") if el["text"].startswith("Sam: ")) == ["Sam: 100%", "Sam: 60%"]


def test_an_empty_gradebook_gives_a_page_that_says_no_data(tmp_path):
    with Gradebook(tmp_path / FILE_NAME) as gb:
        path = report.write_report(gb, tmp_path, COURSE)
    text = path.read_text()
    assert text.count("No data") >= 4 and "Nobody is stuck" in text and "<svg" not in text


def test_every_export_and_the_report_command_write_it(made, tmp_path):
    out = tmp_path / "copy"
    out.mkdir()
    shutil.copy(made["out"] / FILE_NAME, out / FILE_NAME)
    with Gradebook(out / FILE_NAME, read_only=True) as gb:
        written = export_all(gb, out)
    assert (out / report.REPORT_NAME).is_file()
    assert not any(p.name == report.REPORT_NAME for paths in written.values() for p in paths)  # not for learners
    (out / report.REPORT_NAME).unlink()
    result = CliRunner().invoke(gradebook_app, ["report", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert str((out / report.REPORT_NAME).resolve()) in result.output.replace("\n", "")
    assert "Do not share" in (out / report.REPORT_NAME).read_text()
    missing = CliRunner().invoke(gradebook_app, ["report", "--out", str(tmp_path / "nowhere")])
    assert missing.exit_code != 0 and "flowcamp grade" in " ".join(missing.output.split())


def test_open_without_a_desktop_says_so_and_starts_no_browser(made, monkeypatch):
    import webbrowser

    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    monkeypatch.setattr(webbrowser, "open", lambda *a, **k: pytest.fail("a browser was started"))
    result = CliRunner().invoke(gradebook_app, ["report", "--out", str(made["out"]), "--open"])
    assert result.exit_code == 0, result.output
    assert "No web browser can be opened here" in " ".join(result.output.split())


# ---------------------------------------------------------------------------------------------- in Chromium
def png_pixels(path: Path) -> tuple[int, int, list[bytes]]:
    """Width, height and RGB rows of an 8-bit RGB(A) PNG."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    pos, idat, header = 8, [], None
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", data[pos + 8:pos + 8 + length])
        elif kind == b"IDAT":
            idat.append(data[pos + 8:pos + 8 + length])
        pos += 12 + length
    width, height, depth, colour_type, _, _, interlace = header
    channels = {2: 3, 6: 4}[colour_type]
    assert depth == 8 and not interlace
    raw, stride = zlib.decompress(b"".join(idat)), width * channels
    previous, rows = bytearray(stride), []
    for y in range(height):
        start = y * (stride + 1)
        row = _unfilter(raw[start], bytearray(raw[start + 1:start + 1 + stride]), previous, channels)
        rows.append(b"".join(bytes(row[i:i + 3]) for i in range(0, stride, channels)))
        previous = row
    return width, height, rows


def colours(rows: list[bytes], top: int, bottom: int) -> set[bytes]:
    return {row[i:i + 3] for row in rows[top:bottom] for i in range(0, len(row), 3 * 4)}


def run_chromium(chromium: str, page: Path, size: tuple[int, int], profile: Path, shot: Path | None) -> str:
    args = chromium_command(chromium, page.as_uri(), shot or Path("unused.png"), size, profile, wait_ms=3000)
    if shot is None:
        args = [a for a in args if not a.startswith("--screenshot")]
        args = [*args[:-1], "--dump-dom", args[-1]]
    done = subprocess.run(args, capture_output=True, text=True, timeout=120, check=False)
    assert shot is None or shot.is_file(), f"Chromium saved no picture: {done.stderr[-2000:]}"
    return done.stdout


@pytest.mark.slow
def test_chromium_renders_every_plot_and_the_picture_is_not_blank(made, tmp_path):
    chromium = find_chromium()
    if chromium is None:
        pytest.skip("Chromium is not installed (Debian: `apt install chromium`; CI installs it), so the page "
                    "cannot be rendered here")
    shot = tmp_path / "report.png"
    run_chromium(chromium, made["path"], (1280, 3000), tmp_path / "profile", shot)
    width, height, rows = png_pixels(shot)
    assert (width, height) == (1280, 3000)
    assert len(colours(rows, 0, 3000)) >= 64, "the page looks blank"
    for top in range(0, 2400, 600):  # every band of the page has text and plots, not one flat colour
        assert len(colours(rows, top, top + 600)) >= 8, f"the band from y={top} looks blank"
    dom = run_chromium(chromium, made["path"], (1280, 3000), tmp_path / "profile", None)
    rendered = Page(dom)
    for plot in ("scores", "exercises", "stuck", "effort", "progress"):
        assert rendered.find("svg", data_plot=plot), f"the {plot} plot is not in the rendered page"
    assert len(rendered.find("svg", data_plot="progress")) == 5
    assert len(rendered.find("g", "exercises", class_="bar")) == len(IDS)
    assert len(rendered.find("li", "checks", class_="check")) == 2 + 2 + 3 + 2
    assert not rendered.find("script") and not rendered.find("img")
    assert any(HOSTILE[:30] in el["text"] for el in rendered.elements), "the hostile name is rendered as text"


# ---------------------------------------------------------------------------------------------- intake
def git(cwd: Path, *args: str, date: str | None = None, given: bytes | None = None) -> str:
    env = proc.git_env()
    if date:
        env.update({"GIT_AUTHOR_DATE": date, "GIT_COMMITTER_DATE": date})
    done = subprocess.run(["git", "-c", "user.name=Ada", "-c", "user.email=ada@example.org", "-c",
                           "commit.gpgsign=false", *args], cwd=cwd, input=given, capture_output=True, env=env,
                          check=True)
    return done.stdout.decode("utf-8", "replace")


def manifest(done: list[str], hints: int = 0, **extra) -> dict:
    exercises = {i: {"passed": True, "hints_shown": hints, "checks": 2} for i in done}
    return {"format": layout.FORMAT, "kind": layout.KIND, "created": "2026-12-03T10:00:00+00:00",
            "learner": {"name": "Ada Lovelace", "email": "ada@example.org"},
            "course": {"version": layout.course_version(), "fingerprint": layout.course_fingerprint(COURSE)},
            "workspace_seed": 1234, "progress": {"exercises": exercises},
            "exercises": {A: {"path": CODE_EX, "files": {}}}, **extra}


def submitted_repo(path: Path, manifests: list[dict | str], messages: list[bytes] | None = None) -> Path:
    """A workspace repository with one commit per submit (submission/manifest.json), a day apart."""
    path.mkdir(parents=True)
    git(path, "init", "-q", "-b", "main")
    (path / CODE_EX).mkdir(parents=True)
    (path / CODE_EX / "first_query.py").write_text("print('select 1')\n")
    (path / "submission").mkdir()
    for i, m in enumerate(manifests):
        (path / "submission" / "manifest.json").write_text(m if isinstance(m, str) else json.dumps(m))
        git(path, "add", "-A")
        message = messages[i] if messages else f"Submit {i + 1}".encode()
        git(path, "commit", "-q", "-F", "-", date=f"2026-12-0{i + 1}T10:00:00+00:00", given=message)
    return path


def open_git(source: Path, tmp_path: Path, name: str = "dest") -> intake.Submission:
    dest = tmp_path / "out" / name
    dest.mkdir(parents=True)
    return intake.open_source(source.as_uri(), dest, COURSE)


def test_three_submits_give_three_history_points_oldest_first(tmp_path):
    repo = submitted_repo(tmp_path / "ada", [manifest([A]), manifest([A, B], 1), manifest([A, B, D], 2)])
    sub = open_git(repo, tmp_path)
    assert sub.status == "ok", sub.message
    history = sub.manifest[intake.HISTORY_KEY]
    assert [h["time"] for h in history] == [f"2026-12-0{i}T10:00:00+00:00" for i in (1, 2, 3)]
    assert [h["done"] for h in history] == [[A], [A, B], [A, B, D]]
    assert [h["hints"] for h in history] == [0, 2, 6] and [h["checks"] for h in history] == [2, 4, 6]
    assert history[-1]["commit"] == git(repo, "rev-parse", "HEAD").strip()[:12]
    assert (sub.root / layout.MANIFEST).read_text() == json.dumps(manifest([A, B, D], 2))  # the file is untouched


def test_one_submit_is_no_history_and_a_learners_own_history_key_is_dropped(tmp_path):
    repo = submitted_repo(tmp_path / "one", [manifest([A], history=[{"time": "2020-01-01", "done": IDS}])])
    sub = open_git(repo, tmp_path)
    assert sub.status == "ok", sub.message
    assert intake.HISTORY_KEY not in sub.manifest


def test_ten_thousand_commits_stay_within_the_limit(tmp_path):
    repo = tmp_path / "long"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    stream = []
    for i in range(1, 10_001):
        body = json.dumps(manifest([A] if i % 2 else [A, B], hints=i % 7)).encode()
        msg = f"Submit {i}".encode()
        stream.append(b"commit refs/heads/main\nmark :%d\ncommitter Ada <ada@example.org> %d +0000\n"
                      b"data %d\n%s\n" % (i, 1_700_000_000 + i * 60, len(msg), msg))
        if i > 1:
            stream.append(b"from :%d\n" % (i - 1))
        else:
            code = b"print('select 1')\n"
            stream.append(b"M 100644 inline %s/first_query.py\ndata %d\n%s\n" % (CODE_EX.encode(), len(code), code))
        stream.append(b"M 100644 inline submission/manifest.json\ndata %d\n%s\n" % (len(body), body))
    subprocess.run(["git", "fast-import", "--quiet"], cwd=repo, input=b"".join(stream), check=True,
                   env=proc.git_env(), capture_output=True)
    sub = open_git(repo, tmp_path)
    assert sub.status == "ok", sub.message
    history = sub.manifest[intake.HISTORY_KEY]
    assert len(history) == githistory.COMMITS
    assert history[-1]["hints"] == (10_000 % 7) * 2 and history[-1]["done"] == [A, B]
    times = [h["time"] for h in history]
    assert times == sorted(times) and len(set(times)) == len(times)


def test_hostile_commit_messages_and_manifests_in_the_history(tmp_path):
    forged = "\n".join(f"{'f' * 40} {n}" for n in range(50))  # lines that look like the log's own
    messages = [("First\n\n" + forged + "\n%H %ct <script>alert(1)</script>").encode(),
                b"Second \x1b[31m\xff\xfe" + b"x" * 100_000,
                b"Third: $(touch MARKER) `touch MARKER`"]
    junk = {**manifest([A]), "progress": {"exercises": {"<script>": {"passed": True, "hints_shown": 10 ** 9},
                                                        B: {"passed": "yes", "hints_shown": "many", "checks": True}}}}
    repo = submitted_repo(tmp_path / "evil", [manifest([A]), "{ not json", junk], messages)
    sub = open_git(repo, tmp_path)
    assert sub.status == "ok", sub.message
    history = sub.manifest[intake.HISTORY_KEY]
    assert [(h["time"][:10], h["done"], h["hints"], h["checks"]) for h in history] == [
        ("2026-12-01", [A], 0, 2), ("2026-12-03", [], 0, 0)]  # the one that is no JSON is passed over
    text = json.dumps(history)
    assert "script" not in text and "f" * 40 not in text and "not json" not in text
    assert not list(tmp_path.rglob("MARKER"))


def test_a_manifest_too_large_is_passed_over_and_the_total_is_bounded(tmp_path, monkeypatch):
    big = manifest([A, B], padding="x" * 5000)
    repo = submitted_repo(tmp_path / "big", [manifest([A]), big, manifest([A, B, D])])
    monkeypatch.setattr(githistory, "BYTES", 4000)
    history = open_git(repo, tmp_path).manifest[intake.HISTORY_KEY]
    assert [h["done"] for h in history] == [[A], [A, B, D]]
    monkeypatch.setattr(githistory, "TOTAL", len(json.dumps(manifest([A, B, D]))) + 10)  # the newest only
    assert intake.HISTORY_KEY not in open_git(repo, tmp_path, "again").manifest


# ---------------------------------------------------------------------------------------------- the docs' picture
NAMES = ["Amara Okafor", "Ben Schultz", "Carmen Díaz", "Dmitri Volkov", "Elif Yılmaz", "Farah Haddad",
         "Gus Lindqvist", "Hana Sato", "Ivan Petrov", "Jade Nguyen", "Kofi Mensah", "Lena Fischer", "Marco Rossi",
         "Nia Williams", "Omar Farouk", "Priya Raman", "Quinn Murphy", "Rosa Costa", "Sam O'Neill", "Tariq Aziz",
         "Uma Kapoor", "Vera Novak", "Wes Carter", "Yara Haddad"]


def course_checks(ex) -> list[tuple[str, int, bool]]:
    """(name, points, runs on held-out data) of an exercise's own checks, read from their source (not run)."""
    import ast

    out = []
    for path in sorted(Path(ex.checks_dir).glob("test_*.py")) if ex.checks_dir else []:
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if isinstance(node, ast.FunctionDef) and node.name.startswith("test_"):
                points = next((d.args[0].value for d in node.decorator_list if isinstance(d, ast.Call)
                               and ast.unparse(d.func).endswith("mark.points") and d.args), 1)
                name = (ast.get_docstring(node) or node.name).strip().splitlines()[0]
                out.append((name, int(points), "pristine" in [a.arg for a in node.args.args]))
    return out or [("The exercise's checks pass", 1, False)]


def demo_cohort(gb: Gradebook, seed: int = 5) -> None:
    """A made-up cohort over the course's real exercises and checks: 24 learners who hand in one to three
    times over ten days (three through git, with their earlier submits), some not at the end yet, two
    exercises harder than the rest, hidden checks on three, and two files that could not be opened."""
    import random
    from datetime import datetime, timedelta, timezone

    rng = random.Random(seed)
    exercises = COURSE.exercises
    checks = {ex.id: course_checks(ex) for ex in exercises}
    for ex in exercises[2::9]:
        checks[ex.id] = checks[ex.id] + [("Hidden: works on an empty table", 1, False)]
    hard = {exercises[8].id: 1, exercises[18].id: 2}  # which check of the exercise most learners trip on
    start = datetime(2026, 11, 30, 9, tzinfo=timezone.utc)
    run = gb.start_run(424242, layout.course_version(), {ex.id: "v1" for ex in exercises}, {"workers": 2})
    for n, name in enumerate(NAMES):
        ability, reach = rng.uniform(0.6, 0.97), len(exercises) - rng.choice([0, 0, 0, 0, 0, 3, 6, 10])
        speed, t = rng.uniform(0.6, 1.4), start + timedelta(hours=rng.uniform(0, 20))
        tried: dict[str, datetime] = {}  # when the learner got to the exercise
        fixed: dict[str, datetime] = {}  # when it passed (not at all: not in here)
        failing: dict[str, set] = {}  # the checks it fails until then
        for ex in exercises[:reach]:
            t += timedelta(minutes=rng.uniform(20, 80) * speed * (2.5 if ex.id in hard else 1))
            if t.hour >= 17:  # evenings off
                t += timedelta(hours=16)
            tried[ex.id] = t
            ours = checks[ex.id]
            if rng.random() < ability - (0.45 if ex.id in hard else 0):
                fixed[ex.id] = t
            else:
                failing[ex.id] = {hard.get(ex.id, rng.randrange(len(ours)))} | (
                    {rng.randrange(len(ours))} if rng.random() < 0.3 else set())
                if rng.random() < 0.6:
                    fixed[ex.id] = t + timedelta(days=rng.uniform(0.5, 6))
        days = sorted(rng.sample(range(3, 10), rng.choice([0, 1, 2]))) + [10]
        email = f"{n + 1:02d}.{name.split()[0].lower()}@example.org"
        for k, day in enumerate(days):
            when = start + timedelta(days=day, hours=rng.uniform(0, 8))
            h = f"{n:02d}{k:02d}".ljust(64, "0")
            prog, docs = {}, []
            for ex in exercises:
                if ex.id not in tried or tried[ex.id] > when:
                    docs.append(doc(ex.id, [], status="fail", missing=True,
                                    max_score=sum(p for _, p, _ in checks[ex.id])))
                    continue
                passed = ex.id in fixed and fixed[ex.id] <= when
                made = []
                for i, (cname, points, heldout) in enumerate(checks[ex.id]):
                    ok = passed or i not in failing.get(ex.id, ())
                    message = "" if ok else (
                        f"Not yet: {cname[0].lower() + cname[1:]}. Step {i + 1} of the exercise's README says how; "
                        f"`uv run flowcamp check {ex.id}` shows it on your own data." if hard.get(ex.id) == i
                        or (n + i) % 4 else f"{cname}: not on the data this check uses. Compare your output with "
                        "the README's example.")
                    made.append(check(cname, "pass" if ok else "fail", points, message,
                                      hidden=cname.startswith("Hidden:"), heldout=heldout))
                docs.append(doc(ex.id, made))
                prog[ex.id] = {"checks": 1 + (n + len(ex.id)) % 5 + (6 if ex.id in hard else 0) +
                               (3 if ex.id in failing else 0), "hints_shown": (n * 7 + len(ex.id)) % 3 // 2 +
                               (2 if ex.id in hard else 0) + (1 if ex.id in failing else 0),
                               **({"passed": True, "passed_at": fixed[ex.id].isoformat()} if passed else {})}
            extra = {}
            if n % 8 == 3 and k == len(days) - 1:  # handed in through git: its earlier submits are history
                marks = sorted(m for m in rng.sample(sorted(tried.values()), min(5, len(tried))) if m < when)
                extra["history"] = [{"time": m.isoformat(), "done": [i for i, f in fixed.items() if f <= m],
                                     "hints": 0, "checks": 0} for m in [*marks, when]]
            add(gb, run, h, name, email, when.isoformat(), docs, progress(**prog), **extra)
    for label, status, message in (
            ("dmitri-final.zip", "corrupt", "dmitri-final.zip is damaged or cut short (File is not a zip file), so "
             "it cannot be unpacked. Ask the learner to hand it in again."),
            ("submission(1).zip", "unsafe-path", "submission(1).zip has a file that would be written outside the "
             "submission (../../outside.txt), so nothing of it was unpacked. Ask the learner to make the archive "
             "again with `uv run flowcamp submit`.")):
        gb.add_submission(run, {"hash": label.encode().hex().ljust(64, "f")[:64], "source": f"/in/{label}",
                                "label": label, "status": status, "message": message, "learner": {},
                                "manifest": {}, "exercises": [], "warnings": []})
    gb.finish_run(run, {})


def docs_picture(png: Path, height: int = 2200) -> Path:
    """docs/images/cohort-report.png: the top of the report of :func:`demo_cohort`, as Chromium draws it at
    1280 px. Run `uv run python tests/test_report.py` to make it again."""
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        with Gradebook(out / FILE_NAME) as gb:
            demo_cohort(gb)
            page = report.write_report(gb, out, COURSE)
        chromium = find_chromium()
        if chromium is None:
            raise SystemExit("Chromium is needed to take the picture (Debian: apt install chromium).")
        run_chromium(chromium, page, (1280, height), out / "profile", png)
    return png


if __name__ == "__main__":
    import sys

    print(docs_picture(Path(sys.argv[1]) if len(sys.argv) > 1 else
                       Path(__file__).resolve().parents[1] / "docs" / "images" / "cohort-report.png"))


def test_stuck_messages_group_across_learners_own_values_and_hide_secrets(tmp_path):
    """Two learners see the same failure with their own random variable names: one group. A message that
    quotes a learner's typed-in password shows it hidden (the report is read in front of the group)."""
    secret = "Xk9#mQ2vL7pR4tZw8sNb"
    said = [f"`get_setting('FLOWCAMP_CHECK_C3036F')` returned {secret!r}, but FLOWCAMP_CHECK_C3036F is not set.",
            "`get_setting('VAN_5EE643')` returned 'hunter2-but-longer', but VAN_5EE643 is not set."]
    with Gradebook(tmp_path / FILE_NAME) as gb:
        run = gb.start_run(7, "1", {}, {})
        for i, text in enumerate(said):
            d = doc(A, [check("reads the variable", "fail", 2, message=text)])
            add(gb, run, str(i + 1) * 64, f"L{i}", f"l{i}@example.org", "2026-12-01T09:00:00+00:00", [d])
        html = report.write_report(gb, tmp_path, COURSE).read_text()
    assert secret not in html and "[hidden]" in html
    from flowcamp.grading.cohort import collect

    with Gradebook(tmp_path / FILE_NAME) as gb:
        [stuck] = collect(gb, COURSE).stuck
    assert stuck.failing == 2 and stuck.sharing == 2


def test_the_secret_scan_finds_a_password_typed_in_as_a_default():
    from flowcamp.grading.secretscan import detect_line

    line = '    return os.environ.get(prefix + "_PASSWORD", "Xk9#mQ2vL7pR4tZw8sNb")'
    assert [k for k, _ in detect_line(line, "code", ".py")] == ["a password typed into the file"]
    assert detect_line('os.environ.get("VAN_PASSWORD", "")', "code", ".py") == []
    assert detect_line('os.getenv("VAN_USER", "analyst")', "code", ".py") == []
