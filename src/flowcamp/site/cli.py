"""`flowcamp site generate | build | serve`: the course site, from lessons/ and exercises/.

The main CLI registers this as ``app.add_typer(site_app, name="site")``. MkDocs runs in a subprocess
(``python -m mkdocs``), so a crash or a Ctrl+C there never leaves this process half-stopped.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape

from flowcamp.course import Course, CourseError, find_course_root

# The generator (and YAML with it) is imported by the site commands only: every other flowcamp command
# registers these commands, and a check must not pay for reading pages it never builds.


def _site_errors() -> tuple[type[Exception], ...]:
    from flowcamp.site.generate import TemplateError
    from flowcamp.site.nav import NavError

    return CourseError, NavError, TemplateError


site_app = typer.Typer(help="The course site: generate its pages from lessons/ and exercises/, build it, serve it.",
                       no_args_is_help=True, add_completion=False)
console = Console(highlight=False)
err = Console(stderr=True, highlight=False)
WATCHED = ("lessons", "exercises", "docs/templates")  # the sources of the generated pages


def _root() -> Path:
    try:
        return find_course_root()
    except CourseError as e:
        err.print(f"[bold red]Error:[/] {escape(str(e))}")
        raise typer.Exit(2) from None


def _generate(root: Path, quiet: bool = False) -> list[Path]:
    """Generate the pages and the menu; raises the course's own errors for the caller to show."""
    course = Course(root)
    from flowcamp.site.generate import generate as generate_site

    changed = generate_site(course, root / "docs", root / "mkdocs.yml")
    if changed or not quiet:
        names = [str(p.relative_to(root)) for p in changed]
        listed = ": " + ", ".join(names[:4]) + (f" and {len(names) - 4} more" if len(names) > 4 else "")
        console.print(f"Site pages: {len(changed)} file(s) updated{listed}." if changed
                      else "Site pages: all up to date.")
    for problem in [p for p in course.problems() if "lesson" in p][:10]:  # the ones that break links
        err.print(f"[yellow]Course problem:[/] {escape(problem)}")
    return changed


def _generate_or_exit(root: Path) -> None:
    try:
        _generate(root)
    except _site_errors() as e:
        err.print(f"[bold red]Error:[/] {escape(str(e))}")
        raise typer.Exit(2) from None


def _mkdocs(root: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "mkdocs", *args, "--config-file", str(root / "mkdocs.yml")]


def _env() -> dict[str, str]:
    return {**os.environ, "NO_MKDOCS_2_WARNING": "1"}  # no banner about MkDocs 2 on every run


@site_app.command()
def generate() -> None:
    """Write the generated pages into docs/ and the Lessons and Exercises menus into mkdocs.yml."""
    _generate_or_exit(_root())


@site_app.command()
def build(site_dir: Path | None = typer.Option(None, "--site-dir", "-d",
                                                  help="Where to write the site (default: site/).")) -> None:
    """Generate the pages, then build the site with `mkdocs build --strict`."""
    root = _root()
    _generate_or_exit(root)
    extra = ["--site-dir", str(site_dir.resolve())] if site_dir else []
    code = subprocess.run(_mkdocs(root, "build", "--strict", *extra), cwd=root, env=_env(), check=False).returncode
    if code:
        err.print("[bold red]The site did not build.[/] Read the WARNING and ERROR lines above.")
    raise typer.Exit(code)


@site_app.command()
def serve(dev_addr: str = typer.Option("127.0.0.1:8000", "--dev-addr", "-a",
                                       help="IP address and port to serve on.")) -> None:
    """Serve the site with live reload; pages are generated again whenever lessons/ or exercises/ change.

    Ctrl+C stops both the server and the watcher.
    """
    root = _root()
    _generate_or_exit(root)
    proc = subprocess.Popen(_mkdocs(root, "serve", "--dev-addr", dev_addr), cwd=root, env=_env())
    interrupted = False
    try:
        _watch_and_generate(root, proc)
    except KeyboardInterrupt:
        interrupted = True
    finally:
        code = _stop(proc)
    if not interrupted and code:
        err.print(f"[bold red]mkdocs serve stopped[/] (exit code {code}). Read its messages above.")
        raise typer.Exit(code)


def _watch_and_generate(root: Path, proc: subprocess.Popen) -> None:
    """Regenerate on every change under the watched folders, until the server stops."""
    from watchfiles import watch

    paths = [root / p for p in WATCHED if (root / p).is_dir()]
    for changes in watch(*paths, rust_timeout=500, yield_on_timeout=True):
        if proc.poll() is not None:
            return
        if not changes:
            continue
        try:
            _generate(root, quiet=True)
        except _site_errors() as e:  # mid-edit: keep the last good pages
            err.print(f"[yellow]Could not regenerate the site yet:[/] {escape(str(e))}")
        except Exception as e:  # noqa: BLE001 - a half-saved file must not stop the server
            err.print(f"[yellow]Could not regenerate the site yet ({type(e).__name__}):[/] {escape(str(e))}")


def _stop(proc: subprocess.Popen) -> int | None:
    """Stop mkdocs serve: it usually got the Ctrl+C too; else ask it, then make it."""
    for signal_it in (None, proc.terminate, proc.kill):
        if signal_it is not None:
            signal_it()
        try:
            return proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            continue
        except KeyboardInterrupt:  # a second Ctrl+C: stop at once
            proc.kill()
            return proc.wait()
    return proc.poll()


@site_app.command()
def screenshots(out_dir: Path | None = typer.Option(None, "--out-dir", "-o",
                                                    help="Where to save the pictures (default: docs/images/).")) -> None:
    """Take the Prefect UI picture the lessons show: a throwaway server, a demo flow, headless Chromium."""
    from flowcamp.site.screenshots import PICTURE, ScreenshotError, take_prefect_screenshot

    folder = out_dir or _root() / "docs" / "images"
    try:
        saved = take_prefect_screenshot(folder / PICTURE)
    except ScreenshotError as e:
        err.print(f"[bold red]Error:[/] {escape(str(e))}")
        raise typer.Exit(1) from None
    console.print(f"Saved {saved}. Look at it, then commit it.")
