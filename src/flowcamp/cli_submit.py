"""`flowcamp submit`: hand in your work, as one file or through your workspace repository. Find out who the learner
is, call :mod:`flowcamp.grading.submit`, render."""

from __future__ import annotations

import contextlib
import json
import re
import subprocess
from pathlib import Path
from typing import Optional

import typer
from rich.markup import escape

from flowcamp import proc
from flowcamp.cli_common import EXIT_ERROR, EXIT_FAIL, console, err, rel, workspace


class _Submit:
    """flowcamp.grading.submit, imported when a command first uses it (not when `flowcamp` starts)."""

    def __getattr__(self, name: str):
        from flowcamp.grading import submit

        return getattr(submit, name)


sub = _Submit()
from flowcamp.workspace import Workspace

EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


def _git_config(root: Path, key: str) -> str:
    """git's value for ``key``: the workspace repository's own, else the user's global one, else ""."""
    where = root if (root / ".git").exists() else Path.cwd()
    try:
        done = subprocess.run(proc.safe_git(where, "config", "--get", key), capture_output=True, text=True,
                              env=proc.git_env(keep_user_config=True), stdin=subprocess.DEVNULL, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return done.stdout.strip() if done.returncode == 0 else ""


def identity(ws: Workspace, name: str | None = None, email: str | None = None) -> tuple[str, str]:
    """The learner's name and email: the options given, else git's user.name and user.email. Never asks."""
    name = " ".join((name or "").split()) or " ".join(_git_config(ws.root, "user.name").split())
    email = (email or "").strip() or _git_config(ws.root, "user.email").strip()
    missing = [opt for opt, value in (("--name", name), ("--email", email)) if not value]
    if missing:
        raise sub.SubmitError(
            f"Submit needs your {' and '.join(o[2:] for o in missing)}, so your instructor can tell your work "
            f"from others'. Pass {' and '.join(missing)}, e.g. `uv run flowcamp submit --name \"Ada Lovelace\" "
            "--email ada@example.org`, or set git's once: `git config --global user.name \"Ada Lovelace\"` and "
            "`git config --global user.email ada@example.org`.")
    if not EMAIL.fullmatch(email):
        raise sub.SubmitError(f"{email!r} does not look like an email address. Pass yours with --email.")
    return name, email


def _size(n: int) -> str:
    return f"{n / 1024 / 1024:.1f} MB" if n >= 1024 * 1024 else f"{max(n, 1) / 1024:.0f} KB"


def _scan_line(scan: dict) -> str:
    looked = f"{scan.get('files', 0)} changed or new file(s) and {scan.get('commits', 0)} commit(s) of yours"
    allowed = scan.get("allowed") or []
    if not allowed:
        return f"Secret scan: looked at {looked}; nothing that looks like a secret."
    places = ", ".join(f"{a['location']} ({a['kind']})" for a in allowed)
    return f"Secret scan: looked at {looked}; let through as you asked (--allow-secret): {places}."


def _render(report: sub.SubmitReport) -> None:
    who = f"{report.learner['name']} <{report.learner['email']}>"
    console.print(escape(f"Packed {len(report.exercises)} exercise(s) for {who}: {report.files:,} files, "
                         f"{_size(report.bytes)}."))
    console.print(escape(_scan_line(report.scan)))
    for item in report.left_out:
        console.print(f"[yellow]Left out:[/] {escape(item)}")
    for item in report.warnings:
        console.print(f"[yellow]Note:[/] {escape(item)}")
    if report.mode == "archive":
        console.print(f"Your submission: [bold]{escape(rel(report.path))}[/] ({_size(report.archive_bytes)}, "
                      f"sha256 {report.sha256[:12]})")
    elif report.commit:
        console.print(escape(f"Committed your exercise folders and {sub.layout.GIT_SNAPSHOT_DIR}/ (the manifest "
                             f"and your practice repositories) in your workspace repository: commit "
                             f"{report.commit[:7]}."))
    else:
        console.print("Nothing changed since your last submit: no new commit was needed.")
    if report.pushed_to:
        console.print(escape(f"Pushed to {report.pushed_to}."))
    console.print(f"[bold]Next:[/] {escape(report.next_step())}")


def _refuse(e: sub.SubmitError, as_json: bool, code: int) -> typer.Exit:
    if as_json:
        findings = [f.to_dict() for f in getattr(e, "findings", [])]
        print(json.dumps({"ok": False, "error": str(e), "findings": findings}, indent=2))
    else:
        err.print(f"[bold red]Error:[/] {escape(str(e))}")
    return typer.Exit(code)


def submit_cmd(
    name: Optional[str] = typer.Option(None, "--name", help="Your name (default: git's user.name)."),
    email: Optional[str] = typer.Option(None, "--email", help="Your email (default: git's user.email)."),
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="Where to write the file (a file or a folder; "
                                       "default: flowcamp-submission-<your name>.zip in this folder)."),
    git: bool = typer.Option(False, "--git", help="Commit the submission into your workspace repository (to push) "
                                                  "instead of writing a file."),
    push: bool = typer.Option(False, "--push", help="Commit as --git does, then push to the repository's origin."),
    allow_secret: Optional[list[str]] = typer.Option(None, "--allow-secret", metavar="FILE:LINE",
                                                     help="Hand in a finding of the secret scan anyway (it is not "
                                                          "a secret); the place is recorded. Repeat for more."),
    as_json: bool = typer.Option(False, "--json", help="Print a machine-readable report only."),
):
    """Pack your work to hand in: your exercise files, your progress and your practice repositories.

    A secret scan of your own changes runs first: a password, key or token stops it (the message says where).
    """
    ws = workspace()
    allow = tuple(allow_secret or ())
    status = contextlib.nullcontext() if as_json else console.status("Packing your work (with a secret scan)...")
    try:
        name, email = identity(ws, name, email)
        with status:
            if git or push:
                if out is not None:
                    raise sub.SubmitError("--out is for the file; with --git or --push your work goes into your "
                                          "workspace repository instead. Use one or the other.")
                report = sub.snapshot_git(ws, name, email, allow=allow, push=push)
            else:
                report = sub.pack(ws, out or Path.cwd() / sub.default_name(name, email), name, email, allow=allow)
    except sub.SecretsFound as e:
        raise _refuse(e, as_json, EXIT_FAIL) from None
    except sub.SubmitError as e:
        raise _refuse(e, as_json, EXIT_ERROR) from None
    if as_json:
        print(json.dumps(report.to_dict(), indent=2))
    else:
        _render(report)
