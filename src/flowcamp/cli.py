"""The `flowcamp` command."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.markup import escape
from rich.panel import Panel
from rich.syntax import Syntax
from rich.table import Table

from flowcamp.course import Course, CourseError, Exercise
from flowcamp.results import Result
from flowcamp.workspace import Workspace, WorkspaceError

EXIT_OK, EXIT_FAIL, EXIT_ERROR, EXIT_TIMEOUT = 0, 1, 2, 3
STATUS_EXIT = {"pass": EXIT_OK, "fail": EXIT_FAIL, "error": EXIT_ERROR, "timeout": EXIT_TIMEOUT}

app = typer.Typer(add_completion=False, no_args_is_help=False, rich_markup_mode="rich",
                  help="flowcamp: from Civis to version-controlled, tested Prefect pipelines.")
dev_app = typer.Typer(help="Tools for course authors.", no_args_is_help=True)
app.add_typer(dev_app, name="dev")

console = Console(highlight=False)
err = Console(stderr=True, highlight=False)


class State:
    workspace_opt: Optional[str] = None


state = State()


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


def workspace(create: bool = False, quiet: bool = False) -> Workspace:
    ws = Workspace.locate(course(), state.workspace_opt)
    if ws.exists:
        return ws
    if not create:
        raise fail(f"There is no flowcamp workspace at {ws.root}. Run `uv run flowcamp` first to create it "
                   "(or pass --workspace DIR).")
    _init(ws, quiet=quiet)
    return ws


def _init(ws: Workspace, seed: int | None = None, quiet: bool = False) -> None:
    try:
        report = ws.init(seed=seed)
    except WorkspaceError as e:
        raise fail(str(e)) from None
    if not quiet:
        if report.created:
            console.print(f"Created your workspace at [bold]{ws.root}[/] with {len(report.added)} exercises.")
        elif report.added:
            console.print(f"Added {len(report.added)} new exercise(s): " + ", ".join(e.id for e in report.added))
    _ensure_warehouse(ws, quiet=quiet)


def _ensure_warehouse(ws: Workspace, quiet: bool = False) -> None:
    from flowcamp import warehouse as wh

    if wh.read_meta(ws.warehouse_path) is not None:
        return
    if quiet:
        wh.ensure(ws.warehouse_path)
        return
    with console.status("Building the sample warehouse (a few seconds)..."):
        wh.ensure(ws.warehouse_path)
    console.print(f"Built the sample warehouse: [bold]{ws.warehouse_path}[/]")


def find(ws: Workspace, key: Optional[str]) -> Exercise:
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
        raise fail("Every exercise is done. Name one to check it again, e.g. `uv run flowcamp check check-loop`.", EXIT_OK)
    return ex


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


def rel(path: Path) -> str:
    """A path as short as possible from where the learner stands (absolute if that folder is gone)."""
    try:
        return os.path.relpath(path, Path.cwd())
    except (ValueError, OSError):
        return str(path)


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
        _init(ws)
    else:
        _init(ws)  # brings in exercises from a course update; never touches your work
    _show_progress(ws, first)


def _show_progress(ws: Workspace, first: bool) -> None:
    exercises = ws.course.exercises
    done = sum(ws.status(ex) == "done" for ex in exercises)
    if not first:
        console.print(f"Progress: [bold]{done}/{len(exercises)}[/] exercises done.")
    ex = ws.current()
    if ex is None:
        console.print("[bold green]You have finished every exercise. Well done![/]")
        return
    files = "\n".join(f"  {rel(ws.exercise_dir(ex) / f)}" for f in ex.files) or f"  {rel(ws.exercise_dir(ex))}"
    console.print(Panel(
        f"[bold]{escape(ex.title)}[/]  ([cyan]{ex.id}[/], {ex.kind})\n\n"
        f"Instructions: {rel(ws.exercise_dir(ex) / 'README.md')}\n"
        f"Files to edit:\n{files}\n"
        f"Lesson: {lesson_ref(ex)}  (or run `uv run mkdocs serve` and open the course site)\n\n"
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
    _init(ws, seed=seed)
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
    shown: set[str] = set()
    for c in result.checks:
        console.print(f" {icons.get(c.status, '?')} {escape(c.name)} [dim]({c.points:g}/{c.max_points:g})[/]")
        if c.status != "pass" and c.message:
            if c.message in shown:  # one cause often fails several checks: say it once
                console.print("     [dim](the same problem as above)[/]")
                continue
            shown.add(c.message)
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

    server_url = None
    if ex.kind == "prefect":
        server_url = _server_for_check(ws, quiet)
        if server_url is None:
            return Result(ex.id, "error", "The local Prefect server could not start; `uv run flowcamp server status` "
                                          "and its log say why.", max_score=ex.points)
    if quiet:
        result = run_check(ws, ex, server_url)
    else:
        with console.status(f"Checking {ex.id}..."):
            result = run_check(ws, ex, server_url)
    ws.record_result(ex, result.status, result.score, result.max_score or ex.points)
    return result


def _server_for_check(ws: Workspace, quiet: bool) -> str | None:
    from flowcamp import server

    st = server.status(ws)
    if st.running:
        return st.url
    try:
        if quiet:
            return server.start(ws)
        console.print("Starting your local Prefect server: this takes 10 to 60 seconds, once. "
                      "Later checks reuse it.")
        with console.status("Starting your local Prefect server...") as s:
            return server.start(ws, on_wait=lambda t: s.update(f"Starting your local Prefect server... {t:.0f} s"))
    except server.ServerError as e:
        err.print(f"[red]{escape(str(e))}[/]")
        return None


def _next_step(ws: Workspace, ex: Exercise, result: Result) -> None:
    if result.status == "pass":
        nxt = ws.current()
        if nxt is None:
            console.print("[bold green]That was the last exercise. Well done![/]")
        elif nxt.id != ex.id:
            console.print(f"Well done! Next: [bold]{nxt.id}[/] — {escape(nxt.title)}. "
                          f"Instructions: {rel(ws.exercise_dir(nxt) / 'README.md')}")
        console.print(f"[dim]The reference solution is now open to you: `uv run flowcamp solution {ex.id}`[/]")
    elif result.status == "error" and "flowcamp problem" in result.message:
        console.print("This is not your mistake: your files were not changed. Please tell your instructor "
                      "or report it, with the message above.")
    else:
        if ex.kind == "git":
            # Bare repositories (name.git) stand in for a remote: nobody works inside them.
            working = [r for r in ex.repos if not r.rstrip("/").endswith(".git")]
            where = ", ".join(rel(ws.exercise_dir(ex) / r) + "/" for r in working) or rel(ws.exercise_dir(ex))
            todo = f"work with git in {where}"
        else:
            files = ", ".join(rel(ws.exercise_dir(ex) / f) for f in ex.files) or rel(ws.exercise_dir(ex))
            todo = f"change {files}, save,"
        console.print(f"Next step: {todo} and run [bold]uv run flowcamp check {ex.id}[/] again. "
                      f"Stuck? [bold]uv run flowcamp hint {ex.id}[/]")


@app.command()
def check(
    exercise: Optional[str] = typer.Argument(None, help="Exercise id (default: the current one)."),
    as_json: bool = typer.Option(False, "--json", help="Print the results document (JSON) only."),
):
    """Run an exercise's checks. Exit status: 0 pass, 1 fail, 2 error, 3 timeout."""
    ws = workspace(create=not as_json, quiet=as_json)
    ex = find(ws, exercise)
    if not as_json:
        console.print(f"[bold]{escape(ex.title)}[/] ([cyan]{ex.id}[/])")
    result = run_one(ws, ex, quiet=as_json)
    if as_json:
        print(result.to_json())
    else:
        _render(ex, result)
        _next_step(ws, ex, result)
    raise typer.Exit(STATUS_EXIT[result.status])


@app.command()
def watch(
    exercise: Optional[str] = typer.Argument(None, help="Exercise id (default: the current one)."),
    poll: bool = typer.Option(False, "--poll", help="Check files for changes every second instead of relying "
                                                    "on file events (for network drives, WSL, Docker)."),
    once: bool = typer.Option(False, "--once", help="Stop after the exercise passes (used by tests)."),
):
    """Check again each time you save; move on to the next exercise when it passes. Ctrl+C stops."""
    ws = workspace(create=True)
    ex = find(ws, exercise)
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
            _wait_for_change(ws.exercise_dir(ex), poll)
    except KeyboardInterrupt:
        console.print("\nStopped watching.")


def _wait_for_change(folder: Path, poll: bool) -> None:
    """Block until a file in folder changes. Falls back to polling where file events do not work."""
    ignore = ("__pycache__", ".ipynb_checkpoints", ".git")
    if not poll:
        try:
            from watchfiles import watch as wf_watch

            for changes in wf_watch(folder, debounce=300, step=100,
                                    watch_filter=lambda _c, p: not any(part in p for part in ignore)):
                if changes:
                    return
            return
        except (OSError, RuntimeError) as e:
            console.print(f"[dim]File events are not available here ({e}); checking every second instead.[/]")
    before = _snapshot(folder, ignore)
    while True:
        time.sleep(1.0)
        now = _snapshot(folder, ignore)
        if now != before:
            return


def _snapshot(folder: Path, ignore: tuple[str, ...]) -> dict:
    out = {}
    for p in folder.rglob("*"):
        if any(part in ignore for part in p.parts):
            continue
        try:
            st = p.stat()
            out[str(p)] = (st.st_mtime_ns, st.st_size)
        except OSError:
            continue
    return out


@app.command()
def hint(exercise: Optional[str] = typer.Argument(None, help="Exercise id (default: the current one).")):
    """Show the next hint for an exercise (one more each time)."""
    ws = workspace(create=True)
    ex = find(ws, exercise)
    got = ws.next_hint(ex)
    if got is None:
        console.print(f"You have seen all {len(ex.hints)} hints for {ex.id}:")
        for i, h in enumerate(ex.hints, 1):
            console.print(f"  {i}. {escape(h)}")
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
def solution(exercise: str = typer.Argument(..., help="Exercise id.")):
    """Show the reference solution of an exercise, once your own passes."""
    ws = workspace()
    ex = find(ws, exercise)
    if not ws.entry(ex).get("passed"):
        raise fail(f"The solution of {ex.id} opens once your own answer passes: `uv run flowcamp check {ex.id}`. "
                   f"Until then, `uv run flowcamp hint {ex.id}` gives hints.", EXIT_FAIL)
    for p in sorted(ex.solution_dir.rglob("*")):
        if p.is_file() and "__pycache__" not in p.parts:
            lexer = {".py": "python", ".sql": "sql", ".sh": "bash", ".ipynb": "json", ".toml": "toml"}.get(p.suffix,
                                                                                                           "text")
            console.rule(p.relative_to(ex.solution_dir).as_posix())
            console.print(Syntax(p.read_text(encoding="utf-8"), lexer, line_numbers=True, word_wrap=True))
    console.print("[dim]Yours passed too: a different answer that passes is just as good.[/]")


@app.command()
def server(action: str = typer.Argument("status", help="status, start, stop or env")):
    """The local Prefect server: its state and web UI address; start or stop it; `env` prints the line
    that points your own terminal at it."""
    from flowcamp import server as srv

    ws = workspace(create=True)
    if action == "status":
        st = srv.status(ws)
        if st.running:
            setter = (f'$env:PREFECT_API_URL = "{st.api_url}"' if os.name == "nt"
                      else f"export PREFECT_API_URL={st.api_url}")
            console.print(f"The Prefect server is [green]running[/] (pid {st.pid}).\n"
                          f"Open its web UI to see your flow runs: [bold]{st.url}[/]\n"
                          f"To send runs from your own terminal to it, run this there first:\n  {setter}")
        else:
            console.print(f"The Prefect server is [yellow]not running[/] ({st.note}). "
                          "`uv run flowcamp server start` starts it; checks start it by themselves too.")
    elif action == "start":
        url = _server_for_check(ws, quiet=False)
        if url is None:
            raise typer.Exit(EXIT_ERROR)
        console.print(f"The Prefect server is running. Web UI: [bold]{url}[/]")
    elif action == "env":
        st = srv.status(ws)
        if not st.running:
            raise fail("The Prefect server is not running: `uv run flowcamp server start` first.")
        if os.name == "nt":
            print(f'$env:PREFECT_API_URL = "{st.api_url}"')
        else:
            print(f"export PREFECT_API_URL={st.api_url}")
    elif action == "stop":
        stopped = srv.stop(ws)
        console.print("Stopped the Prefect server." if stopped else "The Prefect server was not running.")
    else:
        raise fail(f"Unknown action '{action}': use status, start, stop or env.")


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


# ------------------------------------------------------------------------------------------- dev


@dev_app.command("check")
def dev_check(
    exercises: Optional[list[str]] = typer.Argument(None, help="Exercise ids (default: all)."),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable report."),
):
    """Prove the curriculum: each exercise is well formed, fails as shipped and passes with its solution."""
    import tempfile

    from flowcamp import dev, server as srv

    c = course()
    chosen = [c.get(e) for e in exercises] if exercises else c.exercises
    problems_total = dev.course_problems(c) if not exercises else []
    for p in problems_total:
        err.print(f"[red]course:[/] {p}")
    reports = []
    with tempfile.TemporaryDirectory(prefix="flowcamp-dev-") as tmp:
        ws = Workspace(Path(tmp) / "ws", c)
        ws.init(seed=4242)
        env = dev.no_global_git_env(Path(tmp))
        os.environ.update(env)
        url = None
        try:
            for ex in chosen:
                if ex.kind == "prefect" and url is None:
                    with console.status("Starting a Prefect server for the checks..."):
                        url = srv.start(ws)
                with console.status(f"{ex.id}: starter, then solution..."):
                    rep = dev.check_exercise(ws, ex, url, env)
                    if ex.kind == "notebook" and rep.ok:
                        note = dev.notebook_release_problem(ex)
                        if note:
                            rep.problems.append(note)
                reports.append(rep)
                mark = "[green]ok[/]" if rep.ok else "[red]FAILED[/]"
                s = rep.starter.status if rep.starter else "-"
                so = rep.solution.status if rep.solution else "-"
                console.print(f"{mark} {ex.id:<22} starter: {s:<8} solution: {so}")
                for p in rep.problems:
                    console.print(f"     [red]{escape(p)}[/]")
        finally:
            if url:
                srv.stop(ws)
    bad = [r for r in reports if not r.ok]
    if as_json:
        print(json.dumps([{"exercise": r.exercise.id, "ok": r.ok, "problems": r.problems} for r in reports],
                         indent=2))
    console.print(f"\n{len(reports) - len(bad)}/{len(reports)} exercises ok.")
    raise typer.Exit(EXIT_FAIL if bad or problems_total else EXIT_OK)


@dev_app.command("release")
def dev_release(exercise: str = typer.Argument(..., help="A notebook exercise's id.")):
    """Regenerate a notebook exercise's starter from its source notebook, with nbgrader."""
    from flowcamp.notebook import NotebookError, generate_release

    c = course()
    try:
        ex = c.get(exercise)
    except KeyError as e:
        raise fail(str(e.args[0])) from None
    if ex.kind != "notebook":
        raise fail(f"{ex.id} is a {ex.kind} exercise; only notebook exercises have a generated starter.")
    try:
        with console.status("Running nbgrader generate_assignment..."):
            out = generate_release(ex)
    except NotebookError as e:
        raise fail(str(e)) from None
    console.print(f"Wrote {rel(out)}")


def _workspace_first(argv: list[str]) -> list[str]:
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


def main() -> None:
    try:
        app(args=_workspace_first(sys.argv[1:]), prog_name="flowcamp")
    except KeyboardInterrupt:
        err.print("Stopped.")
        sys.exit(130)


if __name__ == "__main__":
    main()
