"""`flowcamp server ...`: the workspace's local Prefect server."""

from __future__ import annotations

import os

import typer
from rich.markup import escape

from flowcamp.cli_common import EXIT_ERROR, console, err, fail, workspace
from flowcamp.workspace import Workspace

server_app = typer.Typer(help="The local Prefect server: its state and web UI address; start or stop it.",
                         invoke_without_command=True)


def start_server(ws: Workspace) -> str | None:
    from flowcamp import server

    st = server.status(ws)
    if st.running:
        return st.url
    console.print("Starting your local Prefect server: this takes 10 to 60 seconds, once. Later checks reuse it.")
    try:
        with console.status("Starting your local Prefect server...") as s:
            return server.start(ws, on_wait=lambda t: s.update(f"Starting your local Prefect server... {t:.0f} s"))
    except server.ServerError as e:
        err.print(f"[red]{escape(str(e))}[/]")
        return None




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
                      f"To send runs from your own terminal to it, run this there first:\n  {_setter(st.api_url)}")
    else:
        console.print(f"The Prefect server is [yellow]not running[/] ({st.note}). "
                      "`uv run flowcamp server start` starts it; checks start it by themselves too.")


@server_app.command()
def start():
    """Start the server (checks start it by themselves too)."""
    url = start_server(workspace(create=True))
    if url is None:
        raise typer.Exit(EXIT_ERROR)
    console.print(f"The Prefect server is running. Web UI: [bold]{url}[/]")


@server_app.command()
def stop():
    """Stop the server."""
    from flowcamp import server as srv

    stopped = srv.stop(workspace(create=True))
    console.print("Stopped the Prefect server." if stopped else "The Prefect server was not running.")


@server_app.command()
def env():
    """Print the line that points your own terminal at the server."""
    from flowcamp import server as srv

    st = srv.status(workspace(create=True))
    if not st.running:
        raise fail("The Prefect server is not running: `uv run flowcamp server start` first.")
    print(_setter(st.api_url))


def _setter(api_url: str | None) -> str:
    return f'$env:PREFECT_API_URL = "{api_url}"' if os.name == "nt" else f"export PREFECT_API_URL={api_url}"
