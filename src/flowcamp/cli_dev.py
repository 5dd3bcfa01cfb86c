"""`flowcamp dev ...`: commands for course authors. Parse, call :mod:`flowcamp.curriculum`, render."""

from __future__ import annotations

import json
from typing import Optional

import typer
from rich.markup import escape

from flowcamp.cli_common import EXIT_FAIL, EXIT_OK, console, course, err, fail, rel

dev_app = typer.Typer(help="Tools for course authors.", no_args_is_help=True)


@dev_app.command("check")
def dev_check(
    exercises: Optional[list[str]] = typer.Argument(None, help="Exercise ids (default: all)."),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable report."),
):
    """Prove the curriculum: each exercise is well formed, fails as shipped and passes with its solution."""
    from flowcamp import curriculum

    c = course()
    try:
        chosen = [c.get(e) for e in exercises] if exercises else None
    except KeyError as e:
        raise fail(str(e.args[0])) from None
    out = err if as_json else console

    def done(rep: curriculum.Integrity) -> None:
        mark = "[green]ok[/]" if rep.ok else "[red]FAILED[/]"
        s = rep.starter.status.value if rep.starter else "-"
        so = rep.solution.status.value if rep.solution else "-"
        out.print(f"{mark} {rep.exercise.id:<22} starter: {s:<8} solution: {so}")
        for p in rep.problems:
            out.print(f"     [red]{escape(p)}[/]")

    with out.status("Checking the course...") as spinner:
        report = curriculum.dev_check(c, chosen, on_progress=spinner.update, on_done=done)
    for p in report.course_problems:
        out.print(f"[red]course:[/] {escape(p)}")
    if as_json:
        print(json.dumps(report.to_dict(), indent=2))
    good = sum(r.ok for r in report.exercises)
    out.print(f"\n{good}/{len(report.exercises)} exercises ok"
              + (f"; {len(report.course_problems)} course problem(s)." if report.course_problems else "."))
    raise typer.Exit(EXIT_OK if report.ok else EXIT_FAIL)


@dev_app.command("release")
def dev_release(exercise: str = typer.Argument(..., help="A notebook exercise's id.")):
    """Regenerate an exercise's starter from its source (notebooks: with nbgrader generate_assignment)."""
    from flowcamp.kinds import kind_of

    c = course()
    try:
        ex = c.get(exercise)
    except KeyError as e:
        raise fail(str(e.args[0])) from None
    kind = kind_of(ex)
    if not kind.can_regenerate_starter:
        raise fail(f"{ex.id} is a {ex.kind} exercise: its starter is written by hand, not generated.")
    try:
        with console.status(f"Regenerating the starter of {ex.id}..."):
            out = kind.regenerate_starter(ex)
    except Exception as e:  # noqa: BLE001 - the generator's own message says what went wrong
        raise fail(str(e)) from None
    console.print(f"Wrote {rel(out)}")
