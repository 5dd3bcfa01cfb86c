"""What every `flowcamp` command shares: the consoles, exit codes, plain errors, the course, short paths."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.markup import escape

from flowcamp.course import Course, CourseError, Exercise
from flowcamp.workspace import Workspace, WorkspaceError

EXIT_OK, EXIT_FAIL, EXIT_ERROR, EXIT_TIMEOUT = 0, 1, 2, 3
STATUS_EXIT = {"pass": EXIT_OK, "fail": EXIT_FAIL, "error": EXIT_ERROR, "timeout": EXIT_TIMEOUT}

console = Console(highlight=False)
err = Console(stderr=True, highlight=False)


def fail(message: str, code: int = EXIT_ERROR) -> typer.Exit:
    err.print(f"[bold red]Error:[/] {message}")
    return typer.Exit(code)


def course() -> Course:
    try:
        c = Course()
        c.exercises  # noqa: B018 - load now, so a broken course is reported here
        return c
    except CourseError as e:
        raise fail(str(e)) from None


def rel(path: Path) -> str:
    """A path as short as possible from where the learner stands: relative when it is below, or one folder up;
    absolute when a relative one would climb further (`../../tmp/...` helps nobody) or that folder is gone."""
    try:
        short = os.path.relpath(path, Path.cwd())
    except (ValueError, OSError):
        return str(path)
    return str(Path(path).resolve()) if short.startswith(os.pardir + os.sep + os.pardir) else short


class State:
    workspace_opt: Optional[str] = None


state = State()


def workspace(create: bool = False, quiet: bool = False) -> Workspace:
    ws = Workspace.locate(course(), state.workspace_opt)
    if ws.exists:
        return ws
    if not create:
        raise fail(f"There is no flowcamp workspace at {ws.root}. Run `uv run flowcamp` first to create it "
                   "(or pass --workspace DIR).")
    init_workspace(ws, quiet=quiet)
    return ws


def init_workspace(ws: Workspace, seed: int | None = None, quiet: bool = False) -> None:
    try:
        report = ws.init(seed=seed)
    except WorkspaceError as e:
        raise fail(str(e)) from None
    if not quiet:
        if report.created:
            console.print(f"Created your workspace at [bold]{ws.root}[/] with {len(report.added)} exercises.")
        elif report.added:
            console.print(f"Added {len(report.added)} new exercise(s): " + ", ".join(e.id for e in report.added))
        if report.migrated_from is not None:
            console.print(f"Updated your workspace for this version of flowcamp (from workspace version "
                          f"{report.migrated_from}). Your files were not changed.")
    ensure_warehouse(ws, quiet=quiet)


def ensure_warehouse(ws: Workspace, quiet: bool = False) -> None:
    from flowcamp import warehouse as wh

    if wh.read_meta(ws.warehouse_path) is not None:
        return
    if quiet:
        wh.ensure(ws.warehouse_path)
        return
    with console.status("Building the sample warehouse (a few seconds)..."):
        wh.ensure(ws.warehouse_path)
    console.print(f"Built the sample warehouse: [bold]{ws.warehouse_path}[/]")


def workspace_first(argv: list[str]) -> list[str]:
    """Accept --workspace anywhere on the line (`flowcamp check ID --workspace DIR`), as the callback needs it first."""
    front, rest, i = [], [], 0
    while i < len(argv):
        a = argv[i]
        if a in ("--workspace", "-w") and i + 1 < len(argv):
            front += [a, argv[i + 1]]
            i += 2
            continue
        if a.startswith("--workspace="):
            front.append(a)
        else:
            rest.append(a)
        i += 1
    return front + rest


def command_name(args: list[str]) -> str | None:
    """The command's name in arguments put in order by workspace_first."""
    if args[:1] in (["--workspace"], ["-w"]):
        args = args[2:]
    return next((a for a in args if not a.startswith("-")), None)


def find(ws: Workspace, key: Optional[str], command: str = "check", as_json: bool = False) -> Exercise:
    """The exercise named `key`; else the one the terminal is in; else the current one. When every exercise is
    done there is no current one: say so (a JSON answer with --json) and exit with 0, as docs/cli.md says."""
    if key:
        try:
            return ws.course.get(key)
        except KeyError as e:
            raise fail(str(e.args[0])) from None
    here = _exercise_here(ws)
    if here is not None:
        return here
    ex = ws.current()
    if ex is None:
        raise all_done(ws, command, as_json)
    return ex


ALL_DONE_ASK = {"check": "Name one to check it again", "watch": "Name one to watch it again",
                "hint": "Name one to see its hints again", "solution": "Name the one whose solution you want to see"}


def all_done(ws: Workspace, command: str, as_json: bool = False) -> typer.Exit:
    """Every exercise is done, and the command was given no id: nothing is wrong, there is just nothing current."""
    example = ws.course.exercises[-1].id if ws.course.exercises else "ID"
    message = (f"Every exercise is done, so there is no current exercise. {ALL_DONE_ASK.get(command, 'Name one')}: "
               f"`uv run flowcamp {command} {example}`. `uv run flowcamp list` shows every id.")
    if as_json:
        print(json.dumps({"version": 1, "exercise": None, "status": "done", "message": message}, indent=2))
    else:
        console.print(escape(message))
    return typer.Exit(EXIT_OK)


def _exercise_here(ws: Workspace) -> Exercise | None:
    """The exercise whose folder the learner's terminal is in (or below), if any."""
    try:
        cwd = Path.cwd().resolve()
    except OSError:
        return None
    for ex in ws.course.exercises:
        d = ws.exercise_dir(ex).resolve()
        if cwd == d or d in cwd.parents:
            return ex
    return None


def lesson_ref(ex: Exercise) -> str:
    return rel(ex.lesson_file)
