"""The `flowcamp` command."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Optional

import typer
from rich.markup import escape
from rich.panel import Panel
from rich.table import Table

from flowcamp import proc
from flowcamp.cli_common import (EXIT_FAIL, EXIT_OK, STATUS_EXIT, command_name, init_workspace, console, course, err,
                                 fail, find, lesson_ref, rel, state, workspace, workspace_first)
from flowcamp.course import Exercise
from flowcamp.results import Result
from flowcamp.runner import FLOWCAMP_PROBLEM
from flowcamp.watching import wait_for_change
from flowcamp.workspace import Workspace, WorkspaceError

app = typer.Typer(add_completion=False, no_args_is_help=False, rich_markup_mode="rich",
                  help="flowcamp: from Civis to version-controlled, tested Prefect pipelines.")


@app.callback(invoke_without_command=True)
def main_callback(
    ctx: typer.Context,
    workspace_dir: Optional[str] = typer.Option(None, "--workspace", "-w", envvar="FLOWCAMP_WORKSPACE",
                                                help="The workspace folder (default: ./workspace of the course)."),
):
    """Run with no command: welcome on the first run, then your progress and the next exercise."""
    state.workspace_opt = workspace_dir
    if ctx.invoked_subcommand is not None:
        return
    c = course()
    ws = Workspace.locate(c, workspace_dir)
    first = not ws.exists
    if first:
        console.print(Panel(
            "[bold]Welcome to flowcamp![/]\n\n"
            "On Civis, your SQL and Python lived in a web app, with no history you could read or undo. "
            "Here, everything you write is a file on your computer, tracked with git, checked by tests, "
            "and run by Prefect.\n\n"
            "Each exercise is a small step. `uv run flowcamp check` tells you what to fix.",
            border_style="green"))
        init_workspace(ws)
    else:
        init_workspace(ws)  # brings in exercises from a course update; never touches your work
    _show_progress(ws, first)


def _warm(ws: Workspace, ex: Exercise | None) -> None:
    """A Prefect exercise is next: start its server now, in the background, so the check need not wait."""
    from flowcamp.cli_server import warm_for

    warm_for(ws, ex)


def _show_progress(ws: Workspace, first: bool) -> None:
    exercises = ws.course.exercises
    done = sum(ws.status(ex) == "done" for ex in exercises)
    if not first:
        console.print(f"Progress: [bold]{done}/{len(exercises)}[/] exercises done.")
    ex = ws.current()
    _warm(ws, ex)
    if ex is None:
        console.print("[bold green]You have finished every exercise. Well done![/]")
        return
    files = "\n".join(f"  {rel(ws.exercise_dir(ex) / f)}" for f in ex.files) or f"  {rel(ws.exercise_dir(ex))}"
    console.print(Panel(
        f"[bold]{escape(ex.title)}[/]  ([cyan]{ex.id}[/], {ex.kind})\n\n"
        f"Instructions: {rel(ws.exercise_dir(ex) / 'README.md')}\n"
        f"Files to edit:\n{files}\n"
        f"Lesson: {lesson_ref(ex)}  (or run `uv run flowcamp site serve` and open the course site)\n\n"
        f"When you are ready: [bold]uv run flowcamp check[/]   Stuck? [bold]uv run flowcamp hint[/]",
        title="Next exercise" if not first else "Start here", border_style="cyan"))


@app.command()
def init(
    directory: Optional[str] = typer.Argument(None, help="Where to create the workspace (default ./workspace)."),
    seed: Optional[int] = typer.Option(None, help="Fix the workspace's seed (for reproducible tests)."),
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask anything."),
):
    """Create a workspace, or bring new exercises from a course update into an existing one."""
    c = course()
    ws = Workspace.locate(c, directory or state.workspace_opt)
    existed = ws.exists
    init_workspace(ws, seed=seed)
    if existed:
        console.print(f"Workspace {ws.root} is up to date.")
    console.print(f"Next: [bold]uv run flowcamp{'' if directory is None else ' --workspace ' + directory}[/]")


@app.command("list")
def list_cmd(as_json: bool = typer.Option(False, "--json", help="Machine-readable output.")):
    """Every exercise by module, with its status."""
    ws = workspace(create=not as_json, quiet=as_json)
    rows = []
    for ex in ws.course.exercises:
        rows.append({**{k: v for k, v in ex.to_dict().items() if k in ("id", "module", "title", "kind", "path")},
                     "status": ws.status(ex)})
    if as_json:
        print(json.dumps(rows, indent=2))
        return
    current = ws.current()
    table = Table(show_lines=False)
    for col in ("", "id", "title", "kind", "status"):
        table.add_column(col)
    module = None
    icons = {"done": "[green]✓ done[/]", "started": "[yellow]… started[/]", "todo": "[dim]todo[/]"}
    for ex, row in zip(ws.course.exercises, rows):
        if ex.module != module:
            module = ex.module
            table.add_row("", f"[bold]{ex.module_title}[/]", "", "", "")
        mark = "→" if current is not None and ex.id == current.id else ""
        table.add_row(mark, ex.id, escape(ex.title), ex.kind, icons[row["status"]])
    console.print(table)


def _render(ex: Exercise, result: Result) -> None:
    icons = {"pass": "[green]✓[/]", "fail": "[red]✗[/]", "error": "[red]![/]", "timeout": "[magenta]⏱[/]",
             "skipped": "[dim]-[/]"}
    shown: dict[str, str] = {}
    for c in result.checks:
        console.print(f" {icons.get(c.status, '?')} {escape(c.name)} [dim]({c.points:g}/{c.max_points:g})[/]")
        if c.status != "pass" and c.message:
            if c.message in shown:  # one cause often fails several checks: say it once, and where
                console.print(f"     [dim](the same problem as in \"{escape(shown[c.message])}\")[/]")
                continue
            shown[c.message] = c.name
            for line in c.message.splitlines():
                console.print(f"     {escape(line)}")
    colour = {"pass": "green", "fail": "red", "error": "red", "timeout": "magenta"}[result.status]
    d = result.to_dict()
    console.print(f"\n[bold {colour}]{result.status.upper()}[/]  score {d['score']}/{d['max_score']}"
                  f"  [dim]({result.duration:.1f} s)[/]")
    if result.message and not (result.status == "fail" and result.checks):
        console.print(escape(result.message))


def run_one(ws: Workspace, ex: Exercise, quiet: bool = False) -> Result:
    from flowcamp.runner import run_check

    if quiet:
        result = run_check(ws, ex)
    else:
        with console.status(f"Checking {ex.id}...") as spinner:
            result = run_check(ws, ex, on_wait=spinner.update)
    ws.record_result(ex, result.status.value, result.score, result.max_score or ex.points)
    return result


def _next_step(ws: Workspace, ex: Exercise, result: Result) -> None:
    if result.status == "pass":
        nxt = ws.current()
        if nxt is None:
            console.print("[bold green]That was the last exercise. Well done![/]")
        elif nxt.id != ex.id:
            console.print(f"Well done! Next: [bold]{nxt.id}[/] — {escape(nxt.title)}. "
                          f"Instructions: {rel(ws.exercise_dir(nxt) / 'README.md')}")
        console.print(f"[dim]The reference solution is now open to you: `uv run flowcamp solution {ex.id}`[/]")
    elif result.status == "error" and FLOWCAMP_PROBLEM in result.message:
        console.print("This is not your mistake: your files were not changed. Please tell your instructor "
                      "or report it, with the message above.")
    else:
        from flowcamp.kinds import kind_of

        todo = kind_of(ex).next_step(ws, ex, rel)
        console.print(f"Next step: {todo} and run [bold]uv run flowcamp check {ex.id}[/] again. "
                      f"Stuck? [bold]uv run flowcamp hint {ex.id}[/]")


@app.command()
def check(
    exercise: Optional[str] = typer.Argument(None, help="Exercise id (default: the current one)."),
    as_json: bool = typer.Option(False, "--json", help="Print the results document (JSON) only."),
):
    """Run an exercise's checks. Exit status: 0 pass, 1 fail, 2 error, 3 timeout."""
    ws = workspace(create=not as_json, quiet=as_json)
    ex = find(ws, exercise, "check", as_json)
    _warm(ws, ex)
    if not as_json:
        console.print(f"[bold]{escape(ex.title)}[/] ([cyan]{ex.id}[/])")
    try:
        result = run_one(ws, ex, quiet=as_json)
    except KeyboardInterrupt:  # typer would end without a word
        err.print(f"Stopped before the check of {ex.id} finished, so nothing was recorded. Run it again with "
                  f"`uv run flowcamp check {ex.id}`.")
        raise typer.Exit(130) from None
    if as_json:
        print(result.to_json())
    else:
        _render(ex, result)
        _next_step(ws, ex, result)
    raise typer.Exit(STATUS_EXIT[result.status.value])


@app.command()
def watch(
    exercise: Optional[str] = typer.Argument(None, help="Exercise id (default: the current one)."),
    poll: bool = typer.Option(False, "--poll", help="Check files for changes every second instead of relying "
                                                    "on file events (for network drives, WSL, Docker)."),
    once: bool = typer.Option(False, "--once", help="Stop after the exercise passes (used by tests)."),
):
    """Check again each time you save; move on to the next exercise when it passes. Ctrl+C stops."""
    ws = workspace(create=True)
    ex = find(ws, exercise, "watch")
    _warm(ws, ex)
    try:
        while True:
            console.rule(f"{ex.id}: {escape(ex.title)}")
            result = run_one(ws, ex)
            _render(ex, result)
            if result.passed:
                nxt = ws.current()
                if once or nxt is None or nxt.id == ex.id:
                    _next_step(ws, ex, result)
                    return
                console.print(f"[green]Passed![/] Moving on to [bold]{nxt.id}[/]: {escape(nxt.title)}\n"
                              f"Instructions: {rel(ws.exercise_dir(nxt) / 'README.md')}")
                ex = nxt
                continue
            console.print(f"[dim]Watching {rel(ws.exercise_dir(ex))} — save a file to check again, Ctrl+C to stop.[/]")
            wait_for_change(ws.exercise_dir(ex), poll, say=lambda m: console.print(f"[dim]{escape(m)}[/]"))
    except KeyboardInterrupt:
        console.print("\nStopped watching.")


@app.command()
def hint(exercise: Optional[str] = typer.Argument(None, help="Exercise id (default: the current one).")):
    """Show the next hint for an exercise (one more each time)."""
    ws = workspace(create=True)
    ex = find(ws, exercise, "hint")
    _warm(ws, ex)
    got = ws.next_hint(ex)
    if got is None:
        console.print(f"You have seen all {len(ex.hints)} hints for {ex.id}:")
        for i, h in enumerate(ex.hints, 1):
            console.print(f"  {i}. {escape(h)}")
        if ws.entry(ex).get("passed"):
            console.print(f"You passed {ex.id}: compare your answer with ours, `uv run flowcamp solution {ex.id}`.")
        else:
            console.print(f"Read the lesson again: {lesson_ref(ex)}. The solution opens once the checks pass.")
        return
    n, text = got
    console.print(Panel(escape(text), title=f"Hint {n} of {len(ex.hints)} for {ex.id}", border_style="yellow"))
    if n < len(ex.hints):
        console.print(f"[dim]Run `uv run flowcamp hint {ex.id}` again for the next one.[/]")


@app.command()
def reset(
    exercise: str = typer.Argument(..., help="Exercise id."),
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask for confirmation."),
):
    """Put an exercise back as it was at the start. Your version is backed up first."""
    ws = workspace()
    ex = find(ws, exercise)
    _warm(ws, ex)
    if not yes:
        if not sys.stdin.isatty() or os.environ.get("CI"):
            raise fail(f"Resetting {ex.id} replaces your files with the starter. Add --yes to confirm.")
        if not typer.confirm(f"Replace your files in {rel(ws.exercise_dir(ex))} with the starter? "
                             "(your version is backed up first)"):
            console.print("Nothing changed.")
            raise typer.Exit(EXIT_OK)
    try:
        backup = ws.reset(ex)
    except (OSError, WorkspaceError) as e:
        raise fail(f"Could not reset {ex.id}: {e}") from None
    console.print(f"Restored the starter of [bold]{ex.id}[/] in {rel(ws.exercise_dir(ex))}.")
    if backup:
        console.print(f"Your previous version is kept in {rel(backup)}")


@app.command()
def solution(exercise: Optional[str] = typer.Argument(None, help="Exercise id (default: the current one).")):
    """Show the reference solution of an exercise, once your own passes."""
    ws = workspace()
    ex = find(ws, exercise, "solution")
    _warm(ws, ex)
    if not ws.entry(ex).get("passed"):
        raise fail(f"The solution of {ex.id} opens once your own answer passes: `uv run flowcamp check {ex.id}`. "
                   f"Until then, `uv run flowcamp hint {ex.id}` gives hints.", EXIT_FAIL)
    from rich.syntax import Syntax  # here: it brings in pygments, which no other command needs

    from flowcamp.kinds import walkthrough

    for p in sorted(ex.solution_dir.rglob("*")):
        if p.is_file() and "__pycache__" not in p.parts:
            lexer = {".py": "python", ".sql": "sql", ".sh": "bash", ".ipynb": "json", ".toml": "toml"}.get(p.suffix,
                                                                                                           "text")
            console.rule(p.relative_to(ex.solution_dir).as_posix())
            text = p.read_text(encoding="utf-8")
            if not walkthrough.is_walkthrough(text):
                console.print(Syntax(text, lexer, line_numbers=True, word_wrap=True))
                continue
            # A walk-through: numbered steps, each with why, then what to type or change.
            styles = {"intro": "", "step": "bold", "why": ""}
            for what, body in walkthrough.display(text):
                if what in styles:
                    console.print(("\n" if what == "step" else "") + body, style=styles[what] or None,
                                  markup=False, highlight=False)
                else:
                    console.print(Syntax(body, {"command": "bash", "diff": "diff"}.get(what, "text"),
                                         word_wrap=True, padding=(0, 2)))
    console.print("[dim]Yours passed too: a different answer that passes is just as good.[/]")


@app.command()
def warehouse(
    seed: Optional[int] = typer.Option(None, help="Seed of the generated data (default: the course's)."),
    scale: float = typer.Option(1.0, help="Size: 1 is about 10,000 people; 100 is about a million."),
    path: Optional[str] = typer.Option(None, help="Where to write it (default: the workspace's warehouse.duckdb)."),
):
    """(Re)build the sample DuckDB warehouse."""
    from flowcamp import warehouse as wh

    target = Path(path) if path else workspace(create=True, quiet=True).warehouse_path
    if scale <= 0:
        raise fail("--scale must be more than 0 (1 is about 10,000 people).")
    t0 = time.monotonic()
    with console.status(f"Building the warehouse at {target}..."):
        try:
            wh.build(target, seed=seed if seed is not None else wh.LEARNER_SEED, scale=scale)
        except (OSError, ValueError) as e:
            raise fail(f"Could not build the warehouse: {e}") from None
    console.print(f"Built {target} in {time.monotonic() - t0:.1f} s.")
    table = Table("table", "rows")
    for name, n in wh.table_counts(target).items():
        table.add_row(name, f"{n:,}")
    console.print(table)


def _own_commands() -> set[str]:
    """The commands defined in this file, the ones a learner runs (check above all): the instructors' and
    developers' command groups are built only for other commands (and for --help, which lists them all)."""
    return {c.name or c.callback.__name__.replace("_", "-") for c in app.registered_commands if c.callback}


def _register_subcommands() -> None:
    from flowcamp.cli_dev import dev_app
    from flowcamp.cli_server import run_cmd, server_app, stop_all

    app.add_typer(server_app, name="server")
    app.command("run", context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
                help="Run one of your Python files with the workspace's Prefect server (started if needed).")(run_cmd)
    app.command("stop", help="Stop everything flowcamp started for this workspace (Prefect server, check "
                             "worker); they also stop by themselves when idle.")(stop_all)
    app.add_typer(dev_app, name="dev")
    from flowcamp.cli_grade import grade_cmd
    from flowcamp.cli_gradebook import gradebook_app
    from flowcamp.cli_submit import submit_cmd

    app.command("submit", help="Pack your work to hand in to your instructor (a .zip file, or --git to commit it "
                               "for your course repository).")(submit_cmd)

    app.command("grade", help="Instructors: grade every learner's submission with the course's own checks, each "
                              "in isolation, into a gradebook (resumable).")(grade_cmd)
    app.add_typer(gradebook_app, name="gradebook", help="Instructors: read the gradebook, override a score with a "
                                                        "reason, set results aside to regrade, export again.")
    from flowcamp.cli_nbgrader import nbgrader_app

    app.add_typer(nbgrader_app, name="nbgrader", help="Instructors: the notebook exercises as an nbgrader course, "
                                                      "graded with nbgrader's own commands.")
    try:
        from flowcamp.site.cli import site_app
    except ImportError:  # the site generator is optional for learners' commands
        return
    app.add_typer(site_app, name="site", help="The course site: generate its pages, build it, or serve it.")


# Commands that leave nothing for Python's own shutdown to do (no thread, temporary folder or child of theirs
# outlives them): they end at once, skipping the tear-down of every imported module (30-40 ms of each check).
QUICK_EXIT = ("check",)


def run(argv: list[str]) -> int:
    """Run the command line ``argv`` (without the program's name); its exit status. The warm worker runs a
    handed-over `check` through this too (:mod:`flowcamp.launch`)."""
    proc.trace("cli: imported")
    args = workspace_first(argv)
    if command_name(args) not in _own_commands():  # a learner's command needs none of the others built
        _register_subcommands()
    try:
        app(args=args, prog_name="flowcamp")
    except KeyboardInterrupt:
        err.print("Stopped.")
        return 130
    except SystemExit as e:
        if isinstance(e.code, (int, type(None))):
            return e.code or 0
        print(e.code, file=sys.stderr)
        return 1
    finally:
        proc.trace("cli: done")
    return 0


def main() -> None:
    code = run(sys.argv[1:])
    if command_name(workspace_first(sys.argv[1:])) in QUICK_EXIT:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    sys.exit(code)


if __name__ == "__main__":
    main()
