"""`flowcamp grade`: the instructor's command (see :mod:`flowcamp.grading.run`)."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import List, Optional

import typer
from rich.markup import escape

from flowcamp.cli_common import err, fail


class _Progress:
    """A progress bar with counts and time left on a terminal; elsewhere (CI, a log) a line every few seconds."""

    def __init__(self, live: bool):
        self.live = live
        self.bar = None
        self.task = None
        self.last = 0.0
        self.started = time.monotonic()

    def __call__(self, done: int, total: int, label: str) -> None:
        if self.live:
            if self.bar is None:
                from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn,
                                           TimeRemainingColumn)

                self.bar = Progress(TextColumn("Grading"), BarColumn(), MofNCompleteColumn(),
                                    TextColumn("results"), TimeElapsedColumn(), TextColumn("left"),
                                    TimeRemainingColumn(), TextColumn("{task.description}"), console=err)
                self.bar.start()
                self.task = self.bar.add_task("", total=total)
            self.bar.update(self.task, completed=done, total=total, description=escape(label[:40]))
            return
        now = time.monotonic()
        if now - self.last >= 5 or done == total:
            self.last = now
            rate = (now - self.started) / max(done, 1)
            left = rate * (total - done)
            err.print(f"Graded {done}/{total} results ({100 * done // max(total, 1)}%), about "
                      f"{_duration(left)} left.")

    def stop(self) -> None:
        if self.bar is not None:
            self.bar.stop()


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    return f"{seconds / 60:.0f} min"


def _sources_from(path: Path) -> list[str]:
    """A list of sources in a file: one per line (paths or repository addresses); blank lines and # comments
    left out."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as e:
        raise fail(f"--from {path}: cannot read it ({e.strerror}). Give a text file with one submission path "
                   "or repository address per line.") from None
    return [line.strip() for line in lines if line.strip() and not line.strip().startswith("#")]


def grade_cmd(
    sources: List[str] = typer.Argument(None, help="Submissions: archives (.zip, .tar.gz), workspace folders, git "
                                                   "repositories (paths or URLs), or folders of them."),
    out: Path = typer.Option(..., "--out", "-o", help="The grading folder: gradebook, exports, feedback, report, "
                                                      "logs. Run again with the same folder to resume."),
    sources_file: Optional[Path] = typer.Option(None, "--from", help="A text file listing sources, one per line "
                                                                      "(e.g. every learner's repository address)."),
    hidden: Optional[Path] = typer.Option(None, "--hidden", help="Your pack of hidden checks: one folder per "
                                                                 "exercise id holding test_*.py files."),
    seed: Optional[int] = typer.Option(None, "--seed", help="The held-out data's seed (default: chosen at the "
                                                            "first run and kept in the grading folder)."),
    jobs: int = typer.Option(0, "--jobs", "-j", show_default=False,
                             help="Submissions graded at once (default: one per core)."),
    exercise: List[str] = typer.Option([], "--exercise", "-e", help="Grade only this exercise (repeatable)."),
    regrade: List[str] = typer.Option([], "--regrade", help="Grade this exercise again for everyone, e.g. after "
                                                            "fixing its check (repeatable)."),
    memory_mb: int = typer.Option(2048, "--memory-mb", help="Memory one learner's code may use."),
    max_processes: int = typer.Option(1024, "--max-processes", help="Processes and threads one learner's code "
                                                                   "may have at once."),
    no_export: bool = typer.Option(False, "--no-export", help="Skip the CSV, Gradescope, feedback and report "
                                                              "exports."),
    watch: bool = typer.Option(False, "--watch", help="Keep going: grade what changed every --interval seconds "
                                                      "and refresh the report, until Ctrl-C. For a live workshop."),
    interval: float = typer.Option(15.0, "--interval", help="With --watch: seconds between two rounds."),
    dask: Optional[str] = typer.Option(None, "--dask", help="Grade on an existing Dask cluster: its scheduler's "
                                                            "address, e.g. tcp://10.0.0.5:8786."),
    prefect_api: Optional[str] = typer.Option(None, "--prefect-api", help="The Prefect server the grading runs "
                                                                          "report to (default: the grading "
                                                                          "folder's own)."),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON (with --watch: one line per "
                                                       "round)."),
):
    """Grade every learner's submission with the course's own checks, each in isolation, into a gradebook."""
    from flowcamp.grading.run import GradeError, Options, grade

    all_sources = list(sources or []) + (_sources_from(sources_file) if sources_file else [])
    if not all_sources:
        raise fail("Nothing to grade: give the submissions (files, folders or repository addresses), or --from "
                   "FILE listing them.")
    if interval < 1:
        raise fail("--interval must be at least 1 second.")
    progress = _Progress(err.is_terminal and not as_json)
    opts = Options(sources=all_sources, out=out, hidden=hidden, seed=seed, jobs=jobs, exercises=list(exercise),
                   regrade=list(regrade), memory_mb=memory_mb, max_pids=max_processes, export=not no_export,
                   dask=dask, prefect_api=prefect_api)
    say = lambda text: err.print(escape(text))  # noqa: E731
    if watch:
        return _watch(opts, say, progress, interval, as_json)
    try:
        summary = grade(opts, say=say, progress=progress)
    except GradeError as e:
        progress.stop()
        raise fail(str(e)) from None
    finally:
        progress.stop()
    if as_json:
        print(json.dumps(_summary_json(summary, out)))
    else:
        err.print(summary.line())
        if summary.flow_run_url:
            err.print(f"This run in the Prefect UI: {summary.flow_run_url}")
        _server_note(summary, out)
        err.print(f"Next: open {out / 'report.html'}, read {out / 'grades.csv'}, hand back {out / 'feedback'}; "
                  f"`uv run flowcamp gradebook show --out {out}` shows the gradebook.")


def _server_note(summary, out: Path) -> None:
    if summary.own_server:
        err.print(f"The grading folder's Prefect server ({summary.own_server}) stops by itself after 30 idle "
                  f"minutes; `uv run flowcamp -w {out} stop` stops it now.")


def _summary_json(summary, out: Path, round_no: int | None = None) -> dict:
    data = {"submissions": summary.submissions, "bad": summary.bad, "graded": summary.graded,
            "skipped": summary.skipped, "seconds": round(summary.seconds, 1), "out": str(out.resolve()),
            "changed": summary.changed, "flow_run": summary.flow_run_url}
    if round_no is not None:
        data["round"] = round_no
    return data


def _watch(opts, say, progress, interval: float, as_json: bool) -> None:
    """Rounds until Ctrl-C (or SIGTERM): each grades what changed and refreshes the report."""
    import signal
    import threading

    from flowcamp.grading.run import GradeError, watch

    stop = threading.Event()

    def stop_now(*_):
        stop.set()

    signal.signal(signal.SIGTERM, stop_now)
    signal.signal(signal.SIGINT, stop_now)
    report = Path(opts.out).resolve() / "report.html"
    quiet = [time.monotonic()]
    server: list = [None]

    def on_round(n: int, summary) -> None:
        progress.stop()
        progress.__init__(progress.live)  # a fresh bar for the next round
        if as_json:
            print(json.dumps(_summary_json(summary, Path(opts.out), n)), flush=True)
            return
        when = time.strftime("%H:%M:%S")
        if summary.own_server:
            server[0] = summary
        if summary.changed:
            who = ", ".join(summary.changed[:5]) + (" and more" if len(summary.changed) > 5 else "")
            err.print(f"[{when}] Round {n}: graded {summary.graded} result(s) of {who}. Report: {report}")
            if summary.flow_run_url:
                err.print(f"           In the Prefect UI: {summary.flow_run_url}")
            quiet[0] = time.monotonic()
        elif n == 1 or time.monotonic() - quiet[0] >= 60:  # a quiet line a minute, not one a round
            err.print(f"[{when}] Nothing new ({summary.submissions} submission(s)); still watching.")
            quiet[0] = time.monotonic()
        if n == 1:
            err.print(f"Watching: every {interval:g} s, new or changed submissions are graded and the report "
                      "is refreshed (reload it in the browser). Ctrl-C stops.")

    try:
        n = watch(opts, say, progress, interval=interval, on_round=on_round, stop=stop)
    except GradeError as e:
        progress.stop()
        raise fail(str(e)) from None
    finally:
        progress.stop()
    if not as_json:
        err.print(f"Stopped after {n} round(s). The gradebook, exports and report in {opts.out} are up to date.")
        if server[0] is not None:
            _server_note(server[0], Path(opts.out))
