"""Course helper, loaded by the checks into the learner's process: runs Prefect's own command line there
(`prefect deploy`, `prefect worker start --run-once`), in this warm process instead of a fresh Python.
It reports plain data (exit code, output); the checks decide."""

import contextlib
import io
import os


def cli(args: list[str], folder: str) -> dict:
    """Run `prefect <args>` in ``folder``; return its exit code and what it printed."""
    from prefect.cli._app import _run_cli

    out = io.StringIO()
    code = 0
    here = os.getcwd()
    os.chdir(folder)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
            _run_cli(list(args))
    except SystemExit as stop:
        code = stop.code if isinstance(stop.code, int) else (0 if stop.code is None else 1)
    except Exception as exc:  # noqa: BLE001 - reported as data, the check words the message
        code, _ = 1, out.write(f"{type(exc).__name__}: {exc}\n")
    finally:
        os.chdir(here)
    return {"code": code, "output": out.getvalue()}


def worker_once(pool: str, folder: str) -> dict:
    """`prefect worker start --pool <pool> --run-once` in ``folder``, with a fork server beside it: the flow
    run's process (the check asks for `python -m flowcamp.warmrun prefect.engine`) is forked from this warm
    process instead of starting a fresh Python that imports Prefect again. Without the server, the same."""
    from flowcamp import warmrun

    server = warmrun.serve(heartbeat=False)
    try:
        return cli(["worker", "start", "--pool", pool, "--run-once"], folder)
    finally:
        warmrun.stop(server)


def create_pool(name: str) -> str:
    """Create a process work pool called ``name`` (with the process worker's own job template); its id."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import WorkPoolCreate
    from prefect.workers.process import ProcessWorker

    with get_client(sync_client=True) as client:
        pool = client.create_work_pool(WorkPoolCreate(
            name=name, type="process", base_job_template=ProcessWorker.get_default_base_job_template()))
    return str(pool.id)
