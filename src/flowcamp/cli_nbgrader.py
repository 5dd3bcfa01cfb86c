"""`flowcamp nbgrader ...`: the course's notebook exercises as a standard nbgrader course, for instructors who
grade with nbgrader's own commands (see :mod:`flowcamp.grading.nbgrader_route` and docs/nbgrader-route.md).
No command here asks anything or runs a learner's code."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import List, Optional

import typer
from rich.markup import escape

from flowcamp.cli_common import console, course, err, fail

# nbgrader and the route's module are imported by the commands that use them: `flowcamp` stays quick to start.

nbgrader_app = typer.Typer(help="The notebook exercises as an nbgrader course: make it, then bring learners' "
                                "submissions in for nbgrader's autograde.", no_args_is_help=True)


def next_commands(root: Path, assignments: list[str]) -> list[str]:
    """The nbgrader commands an instructor runs next, in the course folder."""
    # The nbgrader installed with flowcamp, by its full path: under `uv run` it is on PATH, but in the
    # instructor's own shell, where they paste these lines, it is not.
    exe = str(Path(sys.executable).parent / "nbgrader")
    lines = [f"cd {root}"]
    for a in assignments:
        lines += [f"{exe} generate_assignment {a} --force", f"{exe} autograde {a}", f"{exe} generate_feedback {a}"]
    return lines + [f"{exe} export"]


def _show_commands(root: Path, assignments: list[str], regrading: bool = False) -> None:
    console.print("Next, with nbgrader's own commands (in the course folder):")
    for line in next_commands(root, assignments):
        console.print(f"  {escape(line)}", soft_wrap=True)
    if regrading:
        console.print("A learner graded before and collected again: add --force to autograde (it skips work it "
                      "has graded).")
    console.print("generate_assignment makes release/ (the students' version) and records the assignment in "
                  "gradebook.db; autograde runs each notebook and its test cells; generate_feedback writes one "
                  "HTML page per learner under feedback/; export writes grades.csv.")


@nbgrader_app.command("course")
def course_cmd(
    folder: Path = typer.Argument(..., help="The nbgrader course folder to make, or to update (an existing one)."),
    yes: bool = typer.Option(False, "--yes", help="Replace files you changed since flowcamp wrote them (your "
                                                  "versions are kept as copies)."),
    seed: Optional[int] = typer.Option(None, "--seed", help="The seed of the course's warehouse (default: chosen "
                                                            "once and kept in the folder)."),
):
    """Write (or update) an nbgrader course: nbgrader_config.py, one source assignment per notebook exercise,
    and the warehouse the notebooks read. gradebook.db and submitted/ are never touched."""
    from flowcamp.grading.nbgrader_route import RouteError, build_course

    c = course()
    err.print("Writing the nbgrader course (the first time, the warehouse takes a few seconds to build)...")
    try:
        built = build_course(c, folder, yes=yes, seed=seed)
    except RouteError as e:
        raise fail(str(e)) from None
    for rel in built.written:
        console.print(f"  wrote {escape(rel)}")
    if built.unchanged and not built.written:
        console.print("  everything was already up to date")
    for rel in built.backed_up:
        console.print(f"  kept your version as {escape(rel)}")
    for note in built.notes:
        console.print(f"  note: {escape(note)}")
    console.print(f"The nbgrader course is in {escape(str(built.root))}: assignments "
                  + ", ".join(built.assignments) + ".")
    console.print(f"Bring learners' submissions in with: uv run flowcamp nbgrader collect SUBMISSIONS... "
                  f"--course {escape(str(folder))}")


@nbgrader_app.command("collect")
def collect_cmd(
    sources: List[str] = typer.Argument(..., help="Submissions: archives from `flowcamp submit`, workspace "
                                                  "folders, git repositories (paths or URLs), or folders of them."),
    course_dir: Path = typer.Option(..., "--course", help="The nbgrader course folder (made by `flowcamp "
                                                          "nbgrader course`)."),
):
    """Put each learner's notebook at submitted/<student>/<assignment>/ and add the learners to nbgrader's
    gradebook; then print the nbgrader commands to run."""
    from flowcamp.grading.nbgrader_route import RouteError, collect, notebook_exercises

    c = course()
    root = course_dir.resolve()
    regrading = (root / "autograded").is_dir()
    try:
        done = collect(c, course_dir, list(sources))
    except RouteError as e:
        raise fail(str(e)) from None
    for p in done.placed:
        console.print(f"  {escape(p.student_id)}: {p.assignment} from {escape(p.source)}"
                      + (f" ({escape('; '.join(p.notes))})" if p.notes else ""))
    for line in done.skipped:
        err.print(f"[yellow]Skipped[/] {escape(line)}")
    console.print(f"Placed {len(done.placed)} notebook(s) of {len(done.students)} learner(s) under "
                  f"{escape(str(root / 'submitted'))}; {len(done.skipped)} skipped.")
    if not done.placed:
        raise fail("No notebook was placed: see the lines above for why.")
    _show_commands(root, sorted({p.assignment for p in done.placed}) or [e.id for e in notebook_exercises(c)],
                   regrading)
