"""`flowcamp server ...`: the workspace's local Prefect server."""

from __future__ import annotations

import os
from typing import Optional

import typer
from rich.markup import escape

from flowcamp.cli_common import EXIT_ERROR, console, course, err, fail, state, workspace
from flowcamp.course import Exercise
from flowcamp.workspace import Workspace

server_app = typer.Typer(help="The local Prefect server: its state and web UI address; start or stop it.",
                         invoke_without_command=True)


LOCKED = "Your Prefect server is being started by another flowcamp command; waiting for it... {t:.0f} s"


def start_server(ws: Workspace) -> str | None:
    from flowcamp import server

    st = server.status(ws)
    if st.running:
        return server.start(ws)  # found at once; records the use
    console.print("Starting your local Prefect server: this takes 10 to 60 seconds, once. Later checks reuse it.")
    try:
        with console.status("Starting your local Prefect server...") as s:
            url = server.start(ws, on_wait=lambda t: s.update(f"Starting your local Prefect server... {t:.0f} s"),
                               on_locked=lambda t: s.update(LOCKED.format(t=t)))
        from flowcamp.localrun import sync_prefect_toml

        sync_prefect_toml(ws, url)
        return url
    except server.ServerError as e:
        err.print(f"[red]{escape(str(e))}[/]")
        return None


def run_cmd(
    file: str = typer.Argument(..., help="The Python file to run, e.g. pipeline.py."),
    args: Optional[list[str]] = typer.Argument(None, help="Arguments for the file."),
):
    """Run one of your Python files with the workspace's Prefect server (started if needed). Exit status: the
    file's own."""
    from flowcamp import localrun

    path = localrun.resolve_file(file)
    if path is None:
        raise fail(f"There is no file {file} here ({os.getcwd()}). Go to the exercise's folder first, "
                   "e.g. `cd workspace/04-prefect/01-first-flow`, or give the file's path.")
    ws = workspace(create=True)
    code = localrun.run_file(ws, path, list(args or []), start_server,
                             say=lambda text: err.print(f"\n[bold]What happened:[/] {escape(text)}"))
    raise typer.Exit(code)


def warm_for(ws: Workspace, ex: Exercise | None) -> bool:
    """Start the server in the background if ``ex`` (the learner's current exercise) needs it. Never waits and
    prints nothing; cheap enough for every command that names the current exercise. True if it started it."""
    from flowcamp import server
    from flowcamp.kinds import kind_of

    if not ws.exists:
        return False
    from flowcamp.localrun import sync_prefect_toml

    sync_prefect_toml(ws)  # from the start, so a plain `python pipeline.py` never gets a temporary server
    if ex is None or not kind_of(ex).needs_server:
        return False
    try:
        return server.warm_in_background(ws)
    except OSError:  # a read-only or vanished workspace: the check will say so
        return False


def stop_all():
    """Stop everything flowcamp started for this workspace: the Prefect server, its watchdog, warm-ups."""
    from flowcamp import server as srv

    ws = Workspace.locate(course(), state.workspace_opt)
    if not ws.exists and not (ws.state_dir / "services.json").is_file():  # (a grading folder has services too)
        console.print("Nothing was running (there is no workspace here).")
        return
    with console.status("Stopping what flowcamp started for this workspace..."):
        stopped = srv.stop_everything(ws)
    if stopped:
        console.print(f"Stopped: {', '.join(stopped)}.")
    else:
        console.print("Nothing was running.")


@server_app.callback()
def server_main(ctx: typer.Context):
    """With no action: whether the server runs, and its web UI address."""
    if ctx.invoked_subcommand is None:
        status()


@server_app.command()
def status():
    """Whether the server runs, its web UI address, and how your own terminal reaches it."""
    from flowcamp import server as srv

    st = srv.status(workspace(create=True))
    if st.running:
        console.print(f"The Prefect server is [green]running[/] (pid {st.pid}).\n"
                      f"Open its web UI to see your flow runs: [bold]{st.url}[/]\n"
                      "Your own runs reach it with nothing to paste: `uv run flowcamp run pipeline.py`, or "
                      "`uv run python ...` from the course folder, workspace/ or an exercise folder (each has a "
                      "prefect.toml with this address).")
    else:
        console.print(f"The Prefect server is [yellow]not running[/] ({st.note}). "
                      "`uv run flowcamp server start` starts it; checks start it by themselves too.\n"
                      f"Its address, once started: {st.url}")
    minutes = srv.idle_minutes()
    console.print(f"[dim]It stops by itself after {minutes:g} minutes without use ({srv.IDLE_ENV}); "
                  "`uv run flowcamp stop` stops it now.[/]" if minutes else
                  f"[dim]It runs until you stop it ({srv.IDLE_ENV}=0): `uv run flowcamp stop`.[/]")


@server_app.command()
def start():
    """Start the server (checks start it by themselves too)."""
    url = start_server(workspace(create=True))
    if url is None:
        raise typer.Exit(EXIT_ERROR)
    console.print(f"The Prefect server is running. Web UI: [bold]{url}[/]")


@server_app.command()
def stop():
    """Stop the server (and its idle watchdog). `flowcamp stop` stops everything flowcamp started."""
    from flowcamp import server as srv

    stopped = srv.stop(workspace(create=True))
    console.print("Stopped the Prefect server." if stopped else "The Prefect server was not running.")


@server_app.command()
def env():
    """Print the line that points a terminal at the server (not needed: `flowcamp run` and the prefect.toml
    files flowcamp writes do it; for tools started elsewhere)."""
    from flowcamp import server as srv

    ws = workspace(create=True)
    st = srv.status(ws)
    if not st.running:
        raise fail("The Prefect server is not running: `uv run flowcamp server start` first.")
    srv.start(ws)  # found at once; records the use
    print(_setter(st.api_url))


def _setter(api_url: str | None) -> str:
    return f'$env:PREFECT_API_URL = "{api_url}"' if os.name == "nt" else f"export PREFECT_API_URL={api_url}"
