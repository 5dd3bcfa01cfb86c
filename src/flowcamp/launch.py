"""The `flowcamp` command's front door: `flowcamp check` handed to the workspace's warm worker.

Most of a quick check used to be this command's own start-up: Python importing typer, rich and flowcamp
(0.2-0.3 s on a 2-core machine), before any checking began. When the workspace's check worker runs (see
:mod:`flowcamp.worker`), this module, which imports only the standard library's smallest parts, hands the
whole command to it instead: the command line, the environment, the current folder and the terminal itself
(its three file descriptors, passed over the worker's Unix socket). The worker forks a process that already
has those imports, and that process runs the same command (``flowcamp.cli.run``) as this one would, writing
straight to the learner's terminal. Its exit status comes back here. Ctrl+C is passed on.

Only ``check`` goes this way. Anything else, and ``check`` whenever the worker is off, missing, busy with
something it cannot pause, out of date or not answering, runs here the usual way, with the same result.
Learner code never runs in either process: the check still runs it in learner processes of its own.
"""

from __future__ import annotations

import json
import os
import select
import signal
import socket
import sys

from flowcamp import places
from flowcamp.warmrun import read_answer as _answer  # one newline-ended JSON object

HANDED = ("check",)  # the commands handed to the worker
FLAGS = {"check": ("--json",)}  # the options each may have; anything else is the usual way's to judge


def handed_command(argv: list[str]) -> tuple[str | None, str | None]:
    """(the command, its --workspace) when ``argv`` is a command line the worker can take as it is, else
    (None, None). It must be plain: one of HANDED, at most one exercise id, only the options in FLAGS."""
    explicit, words, i = None, [], 0
    while i < len(argv):
        a = argv[i]
        if a in ("--workspace", "-w"):
            if i + 1 >= len(argv):
                return None, None
            explicit, i = argv[i + 1], i + 2
            continue
        if a.startswith("--workspace="):
            explicit = a.split("=", 1)[1]
        else:
            words.append(a)
        i += 1
    if not words or words[0] not in HANDED:
        return None, None
    command, rest = words[0], words[1:]
    flags = [w for w in rest if w.startswith("-")]
    if any(f not in FLAGS[command] for f in flags) or len(rest) - len(flags) > 1:
        return None, None
    return command, explicit


def _connect(root: str) -> socket.socket | None:
    try:
        with open(os.path.join(root, places.STATE_DIR, "worker.json"), encoding="utf-8") as fh:
            path = json.load(fh)["socket"]
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(1.0)
        sock.connect(path)
        return sock
    except (OSError, ValueError, KeyError, TypeError):
        return None


def request(argv: list[str]) -> dict:
    """What the worker needs to run ``argv`` as this process would."""
    return {"op": "cli", "argv": argv, "env": dict(os.environ), "cwd": os.getcwd(),
            "python": [sys.prefix, sys.version], "package": os.path.dirname(os.path.realpath(__file__)),
            "encoding": [getattr(s, "encoding", None) or "utf-8" for s in (sys.stdin, sys.stdout, sys.stderr)]}


def hand_over(argv: list[str]) -> int | None:
    """Run ``argv`` in the workspace's warm worker: its exit status, or None when it must run here instead
    (nothing has been printed then)."""
    if (not sys.platform.startswith("linux") or os.environ.get("FLOWCAMP_WORKER") == "0"
            or os.environ.get("FLOWCAMP_NO_FORK") == "1"):
        return None
    command, explicit = handed_command(argv)
    if command is None:
        return None
    root = places.workspace_root(explicit, places.course_root)
    sock = None if root is None else _connect(root)
    if sock is None:
        return None
    with sock:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
            socket.send_fds(sock, [json.dumps(request(argv)).encode() + b"\n"], [0, 1, 2])
            started = _started(sock)
        except (OSError, ValueError):
            return None
        pid = started.get("pid")
        if not isinstance(pid, int):  # out of date, or unable to fork now: the usual way
            return None
        return _wait(sock, pid)


def _started(sock: socket.socket) -> dict:
    """The worker's first answer. It serves one check at a time: when another terminal's check holds it, say
    so (once), and wait for it (up to 5 minutes; then the usual way)."""
    ready, _, _ = select.select([sock], [], [], 1.0)
    if not ready:
        sys.stderr.write("flowcamp: another check of this workspace is running; this one starts when it ends.\n")
        sys.stderr.flush()
    sock.settimeout(300)
    return _answer(sock)


def _wait(sock: socket.socket, pid: int) -> int | None:
    """The exit status the worker's process sends when the command is done; signals meant for this command
    (Ctrl+C, a closed terminal, a polite stop) are passed on to it."""
    def forward(signum, _frame):
        try:
            os.kill(pid, signum)
        except OSError:
            pass

    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, forward)
    sock.settimeout(None)
    try:
        done = _answer(sock)
    except (OSError, ValueError):
        # It ended without a word (killed, or the machine ran out of memory): say so plainly, as an error of
        # flowcamp's, not the learner's; the next check starts a new worker if this one is gone.
        sys.stderr.write("flowcamp: the check stopped before it finished (not because of your code). "
                         "Run it again.\n")
        return 2
    places.trace("launch: done")
    code = done.get("exit")
    return code if isinstance(code, int) else 2


def main() -> None:
    """The `flowcamp` command."""
    places.trace("launch: started")
    argv = sys.argv[1:]
    code = hand_over(argv)
    if code is None:
        from flowcamp.cli import main as usual

        usual()
        return
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)  # nothing of ours to tear down, as for the usual way's `check`


if __name__ == "__main__":
    main()
