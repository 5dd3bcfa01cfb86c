"""Running a learner's Prefect flow from a check, and reading back what the Prefect API recorded.

The flow runs in the learner's process (``learner.run_flow``); this side only reads the server: the flow
run, its state and its task runs. That record is the outcome a check grades.
"""

from __future__ import annotations

import os
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field

from flowcamp.checks.learner import Learner, LearnerError, Remote
from flowcamp.tidy import CHECK_TAG

FLOW_TYPE = "prefect.flows.Flow"
# Every flow run a check starts carries CHECK_TAG and a name starting "check-", so learners can filter them out
# in the web UI; after each check the earlier checks' runs are deleted (flowcamp.tidy).


_CLIENT: dict = {}


@contextmanager
def api():
    """``with api() as client:`` the check run's one Prefect client (sync), made on first use and kept until the
    check process ends: a new client costs about 50 ms (its TLS set-up and a version check with the server)."""
    key = (os.getpid(), threading.get_ident())  # never one made before a fork; one per thread
    if key not in _CLIENT:
        from prefect.client.orchestration import get_client

        client = get_client(sync_client=True)
        client.__enter__()
        _CLIENT[key] = client
    yield _CLIENT[key]


@dataclass
class FlowRunReport:
    """What a flow run did, as the Prefect API recorded it. Its task runs are read from the server when a check
    first asks for them (many checks of a run never do)."""

    state: object
    flow_run: object | None = None
    given_task_runs: list | None = field(default=None, repr=False)
    error: str = ""
    output: str = ""
    sent: bool = False  # the learner's process had sent every log line before it answered (read them once)

    @property
    def task_runs(self) -> list:
        if self.given_task_runs is None:
            if self.flow_run is None:
                self.given_task_runs = []
            else:
                with api() as client:
                    self.given_task_runs = settled_task_runs(client, self.flow_run.id)
        return self.given_task_runs

    @property
    def completed(self) -> bool:
        return bool(self.state is not None and self.state.is_completed())

    @property
    def task_names(self) -> list[str]:
        """Task names without Prefect's run suffix: 'extract-7fe' -> 'extract'."""
        names = []
        for tr in self.task_runs:
            base, _, suffix = tr.name.rpartition("-")
            names.append(base if base and suffix.isalnum() and len(suffix) <= 8 else tr.name)
        return names

    @property
    def completed_task_runs(self) -> list:
        return [tr for tr in self.task_runs if tr.state is not None and tr.state.is_completed()]

    @property
    def parameters(self) -> dict:
        """The parameters the server recorded for the run (after Prefect validated and coerced them)."""
        return dict(getattr(self.flow_run, "parameters", None) or {})

    def logs(self) -> list:
        """The run's log lines (its own and its tasks'), oldest first, as the API stores them: each has
        ``level``, ``message``, ``name`` and ``task_run_id`` (None for the flow's own lines)."""
        from prefect.client.schemas.filters import LogFilter, LogFilterFlowRunId
        from prefect.client.schemas.sorting import LogSort

        if self.flow_run is None:
            return []
        flt = LogFilter(flow_run_id=LogFilterFlowRunId(any_=[self.flow_run.id]))
        with api() as client:
            read = lambda: client.read_logs(log_filter=flt, sort=LogSort.TIMESTAMP_ASC, limit=200)  # noqa: E731
            return read() if self.sent else _settled(read)

    def artifacts(self) -> list:
        """The artifacts the run (or its tasks) published: each has ``type`` ('markdown', 'table', ...),
        ``key``, ``data`` and ``description``."""
        from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId

        if self.flow_run is None:
            return []
        flt = ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[self.flow_run.id]))
        with api() as client:  # the learner's code creates them with a request each
            read = lambda: client.read_artifacts(artifact_filter=flt)  # noqa: E731
            return read() if self.sent else _settled(read)


def _settled(read, timeout: float = 3.0) -> list:
    """What ``read()`` gives once two reads in a row agree (the learner's process sent everything before it
    answered; the server may take a moment to write it)."""
    deadline = time.monotonic() + timeout
    previous = read()
    while time.monotonic() < deadline:
        time.sleep(0.1)
        current = read()
        if len(current) == len(previous):
            return current
        previous = current
    return previous


def settled_task_runs(client, flow_run_id, timeout: float = 15.0) -> list:
    """The flow run's task runs, once the server has recorded them all in a final state.

    The server records task runs from events, a moment after they happen: read again until every task
    run is final and two reads in a row agree.
    """
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    deadline = time.monotonic() + timeout
    previous = None
    while True:
        runs = client.read_task_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id])))
        current = sorted((str(tr.id), tr.state.type.value if tr.state else None) for tr in runs)
        # A task that waited for a failed one stays Pending 'NotReady' for good once the flow has ended.
        settled = all(tr.state is not None and (tr.state.is_final() or tr.state.name == "NotReady")
                      for tr in runs)
        if (settled and current == previous) or time.monotonic() > deadline:
            return runs
        previous = current if settled else None
        time.sleep(0.05)


def run_flow(learner: Learner, flow: Remote, **params) -> FlowRunReport:
    """Run the learner's flow (in the learner's process) on the workspace's server; read its record."""
    if not isinstance(flow, Remote) or not flow.isinstance_of(FLOW_TYPE):
        name = getattr(flow, "__name__", "it")
        raise LearnerError(
            f"`{name}` is not a Prefect flow yet. Put `@flow` on the line just above `def {name}(...)` "
            "(and `from prefect import flow` at the top of the file).")
    ran = learner.run_flow(flow, tag=CHECK_TAG, name=f"check-{flow.__name__ or 'flow'}", **params)
    if not ran.get("flow_run_id"):
        return FlowRunReport(state=None, error=ran.get("error") or "the flow did not start a run")

    with api() as client:
        flow_run = client.read_flow_run(ran["flow_run_id"])
        deadline = time.monotonic() + 10
        while not (flow_run.state and flow_run.state.is_final()) and time.monotonic() < deadline:
            time.sleep(0.05)
            flow_run = client.read_flow_run(ran["flow_run_id"])
    return FlowRunReport(state=flow_run.state, flow_run=flow_run, error=ran.get("error", ""),
                         sent=ran.get("logs_sent") is True)
