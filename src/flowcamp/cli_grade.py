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


def grade_cmd(
    sources: List[str] = typer.Argument(..., help="Submissions: archives (.zip, .tar.gz), workspace folders, git "
                                                  "repositories (paths or URLs), or folders of them."),
    out: Path = typer.Option(..., "--out", "-o", help="The grading folder: gradebook, exports, feedback, logs. "
                                                      "Run again with the same folder to resume."),
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
    no_export: bool = typer.Option(False, "--no-export", help="Skip the CSV, Gradescope and feedback exports."),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
):
    """Grade every learner's submission with the course's own checks, each in isolation, into a gradebook."""
    from flowcamp.grading.run import GradeError, Options, grade

    progress = _Progress(err.is_terminal and not as_json)
    opts = Options(sources=list(sources), out=out, hidden=hidden, seed=seed, jobs=jobs, exercises=list(exercise),
                   regrade=list(regrade), memory_mb=memory_mb, max_pids=max_processes, export=not no_export)
    try:
        summary = grade(opts, say=lambda text: err.print(escape(text)), progress=progress)
    except GradeError as e:
        progress.stop()
        raise fail(str(e)) from None
    finally:
        progress.stop()
    if as_json:
        print(json.dumps({"submissions": summary.submissions, "bad": summary.bad, "graded": summary.graded,
                          "skipped": summary.skipped, "seconds": round(summary.seconds, 1),
                          "out": str(out.resolve())}))
    else:
        err.print(summary.line())
        err.print(f"Next: read {out / 'grades.csv'}, hand back {out / 'feedback'}; "
                  f"`uv run flowcamp gradebook show --out {out}` shows the gradebook.")
