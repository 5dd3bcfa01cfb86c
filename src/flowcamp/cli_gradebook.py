"""`flowcamp gradebook ...`: read a grading folder's gradebook, set a score by hand, forget results so the next
`flowcamp grade` redoes them, and write the exports again. Every command takes the grading folder (`--out DIR`,
as `flowcamp grade` does) and never asks anything."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer
from rich.markup import escape
from rich.table import Table

from flowcamp.cli_common import console, fail, rel
# The gradebook and its exports (DuckDB) are imported by the commands that use them, not when `flowcamp`
# starts: every other command stays quick.

gradebook_app = typer.Typer(help="The gradebook of a grading folder: show it, override a score, forget results "
                                 "to grade them again, write the exports again.", no_args_is_help=True)

OUT = typer.Option(..., "--out", help="The grading folder (the one given to `flowcamp grade --out`).")
ICONS = {"pass": "[green]✓[/]", "fail": "[red]✗[/]", "error": "[red]![/]", "timeout": "[magenta]⏱[/]",
         "missing": "[dim]–[/]", "untouched": "[dim]·[/]", "ungraded": "[dim]?[/]"}


def open_gradebook(out: str, write: bool = False) -> Gradebook:
    from flowcamp.grading.gradebook import FILE_NAME, Gradebook, GradebookError

    try:
        return Gradebook(Path(out) / FILE_NAME, read_only=not write)
    except GradebookError as e:
        raise fail(str(e)) from None


def find_learner(gb: Gradebook, text: str) -> str:
    """A learner's key from what the instructor typed: the key, the email in any case, or the name."""
    grades = gb.grades()
    for lg in grades:
        if text.strip() == lg.key or text.strip().lower() == lg.key:
            return lg.key
    by_name = [lg.key for lg in grades if lg.name and lg.name.strip().lower() == text.strip().lower()]
    if len(by_name) == 1:
        return by_name[0]
    known = ", ".join(lg.key for lg in grades[:8]) or "none yet"
    raise fail(f"There is no learner '{text}' in this gradebook{' (several have that name)' if by_name else ''}. "
               f"Learners: {known}. `flowcamp gradebook show --out DIR` lists them all.")


def _check_exercise(gb: Gradebook, exercise: str) -> None:
    from flowcamp.grading.export import course_exercises, exercise_order

    known = exercise_order(gb) + [ex.id for ex in course_exercises(None)]
    if exercise not in known:
        raise fail(f"There is no exercise '{exercise}' in this gradebook or the course. "
                   "`uv run flowcamp list` shows every id.")


@gradebook_app.command()
def show(
    out: str = OUT,
    learner: Optional[str] = typer.Option(None, "--learner", help="One learner's exercises and checks."),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
):
    """Every learner's score per exercise (an override is marked *), or one learner's checks in full."""
    from flowcamp.grading.export import exercise_order, num

    with open_gradebook(out) as gb:
        grades = gb.grades()
        order = exercise_order(gb, grades)
        if learner is not None:
            key = find_learner(gb, learner)
            lg = next(g for g in grades if g.key == key)
            return _show_learner(lg, order, gb.override_history(key), as_json)
    if as_json:
        print(json.dumps([_learner_json(lg) for lg in grades], indent=2))
        return
    if not grades:
        console.print(f"The gradebook in {rel(Path(out))} has no submissions yet.")
        return
    table = Table(show_lines=False)
    for col in ("learner", *order, "total"):
        table.add_column(col, justify="left" if col == "learner" else "right")
    for lg in grades:
        cells = []
        for ex in order:
            m = lg.marks.get(ex)
            cells.append("" if m is None else f"{ICONS.get(m.status, '?')} {num(m.final)}{'*' if m.override else ''}")
        table.add_row(escape(lg.key), *cells, str(num(lg.total)))
    console.print(table)
    if any(m.override for lg in grades for m in lg.marks.values()):
        console.print("[dim]* set by hand (`flowcamp gradebook show --learner KEY` says why)[/]")
    if any(lg.key.startswith("anon-") for lg in grades):
        console.print("[dim]anon-...: a submission with no name and no email in it (ask who it is, or remove it: "
                      "`flowcamp gradebook remove --learner anon-...`)[/]")


def _learner_json(lg: LearnerGrades, with_docs: bool = False) -> dict:
    from flowcamp.grading.export import num

    sub = lg.submission
    return {"learner": lg.key, "name": lg.name, "email": lg.email, "total": num(lg.total),
            "submission": {"hash": sub.hash, "label": sub.label, "status": sub.status, "message": sub.message,
                           "submitted_at": sub.submitted_at, "warnings": sub.warnings} if sub else None,
            "exercises": {ex: {"status": m.status, "score": num(m.score), "max_score": num(m.max_score),
                               "final": num(m.final),
                               "override": m.override.__dict__ if m.override else None,
                               **({"doc": m.doc} if with_docs else {})} for ex, m in lg.marks.items()}}


def _show_learner(lg: LearnerGrades, order: list[str], history: list[dict], as_json: bool) -> None:
    """The instructor's view: every check, hidden and held-out ones included."""
    from flowcamp.grading.export import num

    if as_json:
        print(json.dumps({**_learner_json(lg, with_docs=True), "override_history": history}, indent=2))
        return
    sub = lg.submission
    console.print(f"[bold]{escape(lg.name or lg.key)}[/] ({escape(lg.key)}): total {num(lg.total)}")
    if sub:
        console.print(f"Submission {escape(sub.label or sub.hash[:12])}, handed in {sub.submitted_at}"
                      f"{': ' + escape(sub.message) if sub.message else ''}")
        for w in sub.warnings:
            console.print(f"  [yellow]note:[/] {escape(w)}")
    for ex in order:
        m = lg.marks.get(ex)
        if m is None:
            continue
        console.print(f"\n{ICONS.get(m.status, '?')} [bold]{ex}[/] {m.status}: {num(m.final)}/{num(m.max_score)}")
        if m.override:
            console.print(f"  [yellow]set by hand[/] (checks gave {num(m.score)}): {escape(m.override.reason)} "
                          f"[dim]{escape(m.override.by)} {m.override.at}[/]")
        for c in (m.doc or {}).get("checks") or []:
            tags = " ".join(t for t, on in (("hidden", c.get("visibility") == "hidden"),
                                            ("held-out", c.get("heldout"))) if on)
            console.print(f"   {ICONS.get(c.get('status'), '-')} {escape(str(c.get('name')))}"
                          f"{' [dim](' + tags + ')[/]' if tags else ''}")
            if c.get("status") != "pass" and c.get("message"):
                console.print("      " + escape(str(c["message"])).replace("\n", "\n      "))


@gradebook_app.command()
def override(
    learner: str = typer.Argument(..., help="The learner: their key (email), email or name."),
    exercise: str = typer.Argument(..., help="The exercise id."),
    score: float = typer.Argument(..., help="The score to give."),
    reason: str = typer.Option(..., "--reason", help="Why (the learner reads it in their feedback)."),
    by: str = typer.Option("", "--by", help="Who set it (kept in the gradebook)."),
    out: str = OUT,
):
    """Set one learner's score for one exercise by hand. The latest override wins; exports mark it."""
    from flowcamp.grading.export import num
    from flowcamp.grading.gradebook import GradebookError

    with open_gradebook(out, write=True) as gb:
        key = find_learner(gb, learner)
        _check_exercise(gb, exercise)
        most = gb.exercise_max().get(exercise)
        if most and score > most:
            raise fail(f"{exercise} is worth at most {num(most)} points, so {num(score)} cannot be its score. "
                       "Give a score from 0 to the exercise's maximum.")
        try:
            gb.override(key, exercise, score, reason, by=by)
        except GradebookError as e:
            raise fail(str(e)) from None
    console.print(f"{key}: {exercise} is now {num(score)} (set by hand). Write the exports again: "
                  f"`uv run flowcamp gradebook export --out {out}`.")


@gradebook_app.command("clear-override")
def clear_override(
    learner: str = typer.Argument(..., help="The learner: their key (email), email or name."),
    exercise: str = typer.Argument(..., help="The exercise id."),
    reason: str = typer.Option("", "--reason", help="Why (kept in the gradebook's history)."),
    out: str = OUT,
):
    """Go back to the graded score for one learner's exercise (the override history is kept)."""
    with open_gradebook(out, write=True) as gb:
        key = find_learner(gb, learner)
        cleared = gb.clear_override(key, exercise, reason=reason)
    if not cleared:
        console.print(f"{key} has no override on {exercise}: nothing to clear.")
        return
    console.print(f"{key}: {exercise} is back to its graded score. Write the exports again: "
                  f"`uv run flowcamp gradebook export --out {out}`.")


@gradebook_app.command()
def forget(
    exercise: str = typer.Option(..., "--exercise", help="The exercise whose results to forget."),
    learner: Optional[str] = typer.Option(None, "--learner", help="Only this learner's results."),
    out: str = OUT,
):
    """Delete results so the next `flowcamp grade` grades them again (after a check is fixed)."""
    with open_gradebook(out, write=True) as gb:
        key = find_learner(gb, learner) if learner is not None else None
        _check_exercise(gb, exercise)
        n = gb.forget(exercise_id=exercise, learner_key=key)
    who = f" of {key}" if key else ""
    console.print(f"Forgot {n} result(s) of {exercise}{who}. Grade them again with the same sources: "
                  f"`uv run flowcamp grade SOURCES... --out {out}` (only what is missing is graded).")


@gradebook_app.command()
def remove(
    learner: Optional[str] = typer.Option(None, "--learner", help="Remove this learner and all their work."),
    submission: Optional[str] = typer.Option(None, "--submission", help="Remove one submission: its label (the "
                                                                        "file or folder name) or its hash."),
    out: str = OUT,
    yes: bool = typer.Option(False, "--yes", help="Do it without asking."),
):
    """Delete work that should never have been graded (a wrong name, a test file), with its results."""
    import sys

    what = f"learner {learner}" if learner else f"submission {submission}"
    if not yes:
        if not sys.stdin.isatty():
            raise fail(f"This deletes {what} and its results from the gradebook for good. Run it again with "
                       "--yes to go ahead.")
        if not typer.confirm(f"Delete {what} and its results from the gradebook for good?"):
            raise typer.Exit(1)
    from flowcamp.grading.gradebook import GradebookError

    with open_gradebook(out, write=True) as gb:
        try:
            key = find_learner(gb, learner) if learner is not None else None
            subs, results = gb.remove(learner_key=key, submission=submission)
        except GradebookError as e:
            raise fail(str(e)) from None
    console.print(f"Removed {subs} submission(s) and {results} result(s) of {key or submission}. If the file is "
                  "still among what you grade, the next `flowcamp grade` adds it back: move it out of that folder "
                  f"first. `uv run flowcamp gradebook export --out {out}` writes the exports without it.")


@gradebook_app.command()
def export(out: str = OUT):
    """Write the exports again from the gradebook: grades.csv, gradescope/ and feedback/ in the grading folder."""
    from flowcamp.grading.export import CSV_NAME, FEEDBACK_DIR, GRADESCOPE_DIR, export_all

    with open_gradebook(out) as gb:
        written = export_all(gb, Path(out))
    base = Path(out)
    console.print(f"Wrote {rel(base / CSV_NAME)}, {len(written['gradescope'])} Gradescope results in "
                  f"{rel(base / GRADESCOPE_DIR)}/ and {len(written['feedback']) // 2} learners' feedback in "
                  f"{rel(base / FEEDBACK_DIR)}/.")


@gradebook_app.command()
def report(
    out: str = OUT,
    open_it: bool = typer.Option(False, "--open", help="Open the report in your web browser as well."),
):
    """Write the cohort report (report.html in the grading folder): scores, pass rates, where learners are stuck,
    progress. For the instructor only: it names hidden checks."""
    from flowcamp.grading.report import write_report

    with open_gradebook(out) as gb:
        path = write_report(gb, Path(out)).resolve()
    console.print(f"Wrote the cohort report (for you, not for learners: it names hidden checks): {path}",
                  soft_wrap=True)
    if open_it:
        import os
        import sys
        import webbrowser

        # Without a desktop, Python would start a text browser in this terminal, which waits for keys.
        desktop = not sys.platform.startswith("linux") or os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
        if not desktop or not webbrowser.open(path.as_uri()):
            console.print("No web browser can be opened here: copy the file to a computer with one and open it "
                          "there (it needs no internet).", soft_wrap=True)
