"""Checks for exercise deploy-schedule: prefect.yaml deploys build_event_attendance with the Civis job's schedule,
time zone and arguments, to a process work pool; a worker started for one run runs it.

The check deploys the learner's prefect.yaml itself, next to the course's own pipeline.py, under a deployment
name and a work pool of its own (so a deployment or pool the learner made on their server is left alone), reads
the deployment back from the Prefect API, and deletes both at the end.
"""

import asyncio
import json
import shlex
import sys
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb
import pytest
import yaml

COURSE_DIR = Path(__file__).resolve().parents[1]
PROBE = str(Path(__file__).resolve().with_name("deploy_probe.py"))
FILE = "prefect.yaml"
FLOW_FILE, FLOW = "pipeline.py", "build_event_attendance"
ENTRYPOINT = f"{FLOW_FILE}:{FLOW}"
POOL = "local-process"
GIVEN = ["pipeline.py", "civis_schedule.json"]
UTC = timezone.utc
# Two weeks with no clock change, and two weeks around each change of 2027 in New York (14 March, 7 November).
PLAIN_WEEKS = [(datetime(2027, 1, 11), datetime(2027, 1, 25))]
DST_WEEKS = [(datetime(2027, 3, 8), datetime(2027, 3, 22)), (datetime(2027, 10, 31), datetime(2027, 11, 14))]
_SHARED: dict = {}
_DAYS = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]


def _civis() -> dict:
    """The Civis job, from the course's own copy of civis_schedule.json."""
    return json.loads((COURSE_DIR / "civis_schedule.json").read_text(encoding="utf-8"))


def _expected_parameters() -> dict:
    return {name.lower(): value for name, value in _civis()["arguments"].items()}


# ------------------------------------------------------------------------------------- reading the file


def _learner_config(learner) -> tuple[dict, dict]:
    """prefect.yaml as data, and its one deployment."""
    text = learner.read(FILE)
    try:
        config = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" near line {mark.line + 1}" if mark is not None else ""
        raise AssertionError(
            f"{FILE} is not valid YAML{where}: {getattr(exc, 'problem', None) or exc}. Check the indentation "
            "(spaces, never tabs; each level two spaces further in) and that every `key:` has a space after the colon."
        ) from None
    assert isinstance(config, dict) and isinstance(config.get("deployments"), list), (
        f"{FILE} has no `deployments:` list. Start a line with `deployments:` (no spaces before it), and under "
        "it one deployment that starts with `  - name: event-attendance-report`."
    )
    deployments = [d for d in config["deployments"] if isinstance(d, dict)]
    assert len(deployments) == 1, (
        f"{FILE} lists {len(deployments)} deployments under `deployments:`; it should list exactly one, the "
        "Civis job's (each deployment starts with a line `  - name: ...`)."
    )
    return config, deployments[0]


def _entrypoint_problem(entry) -> str:
    if not isinstance(entry, str) or ":" not in entry:
        return (f"Its `entrypoint` is {entry!r}: it should name the file and the flow function in it, "
                f"`{ENTRYPOINT}`.")
    path, _, name = entry.strip().rpartition(":")
    if path.removeprefix("./") != FLOW_FILE:
        return f"Its `entrypoint` names the file {path!r}: the flow is in `{FLOW_FILE}`, so write `{ENTRYPOINT}`."
    if name != FLOW:
        return (f"Its `entrypoint` names the function `{name}`, but the flow in {FLOW_FILE} is `{FLOW}`: "
                f"write `{ENTRYPOINT}`.")
    return ""


# -------------------------------------------------------------------------------- deploying it, once


def _deployed(learner, tmp_path_factory) -> dict:
    """Deploy the learner's prefect.yaml once per check run; what the API then says about the deployment."""
    if "failure" in _SHARED:
        raise AssertionError(_SHARED["failure"])
    if "deployment" not in _SHARED:
        try:
            _deploy(learner, tmp_path_factory)
        except AssertionError as exc:
            _SHARED["failure"] = str(exc)
            raise
    return _SHARED


def _deploy(learner, tmp_path_factory) -> None:
    config, deployment = _learner_config(learner)
    _SHARED["learner_deployment"] = dict(deployment)
    token = uuid.uuid4().hex[:8]
    name, pool = f"flowcamp-check-{token}", f"flowcamp-check-{token}"
    staged = {**deployment, "name": name, "work_pool": {**(deployment.get("work_pool") or {}), "name": pool}}
    folder = tmp_path_factory.mktemp("deploy") / "exercise"
    with learner.staged(folder, COURSE_DIR, GIVEN) as lrn:
        (folder / FILE).write_text(yaml.safe_dump({**config, "deployments": [staged]}, sort_keys=False),
                                   encoding="utf-8")
        probe = lrn.load(PROBE)
        _SHARED["pool"] = pool
        probe.create_pool(pool)
        done = probe.cli(["deploy", "--all", "--no-prompt"], str(folder))
    _SHARED["folder"] = folder
    found = _read_deployment(name)
    if found is None:
        problem = _entrypoint_problem(deployment.get("entrypoint"))
        raise AssertionError(
            "`prefect deploy --all --no-prompt` did not create the deployment from your prefect.yaml. "
            + (problem or _value_problem(done["output"]) or f"Prefect said:\n{_last_words(done['output'])}")
            + "\nTo see it yourself, follow \"Try it yourself\" in README.md."
        )
    _SHARED["deployment"] = found


def _value_problem(output: str) -> str:
    """Prefect refused a parameter's value (a 422 with JSON in it): say which value, in plain words."""
    import re

    m = re.search(r"'([^']*)' is not of type '(\w+)'", output)
    if not m:
        return ""
    value, wanted = m.groups()
    kind = {"integer": "a whole number", "boolean": "true or false", "number": "a number"}.get(wanted, wanted)
    return (f"Prefect refused a parameter's value: '{value}' is text, but the flow wants {kind}. In YAML, quotes "
            f"make text: write the value without quotes (for example `min_signups: 25`, `include_virtual: false`).")


def _last_words(output: str, n: int = 4) -> str:
    """The end of what a Prefect command printed, without the lines of a Python traceback."""
    skip = ("Traceback", "File ", "^", "An exception occurred", "During handling", "The above exception")
    lines = [line.rstrip()[:300] for line in output.splitlines()
             if line.strip() and not line.strip().startswith(skip) and not line.startswith("    ")]
    return "\n".join(lines[-n:]) or "(nothing)"


def _read_deployment(name: str):
    from flowcamp.checks.prefect import api
    from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterName

    with api() as client:
        found = client.read_deployments(deployment_filter=DeploymentFilter(name=DeploymentFilterName(any_=[name])))
    return found[0] if found else None


@pytest.fixture(scope="session", autouse=True)
def _clean_up_afterwards():
    """Delete the check's deployment (and so its scheduled runs) and its work pool, whatever happened."""
    yield
    if not _SHARED.get("pool"):
        return
    from flowcamp.checks.prefect import api

    with api() as client:
        if _SHARED.get("deployment") is not None:
            try:
                client.delete_deployment(_SHARED["deployment"].id)
            except Exception:  # noqa: BLE001 - already gone
                pass
        try:
            client.delete_work_pool(_SHARED["pool"])
        except Exception:  # noqa: BLE001 - already gone
            pass


# ----------------------------------------------------------------------------------------- run times


def _civis_times(start: datetime, end: datetime) -> list[datetime]:
    """When the Civis job ran between two New York wall times, as UTC instants: every listed day x hour x minute."""
    civis = _civis()
    tz, when = ZoneInfo(civis["time_zone"]), civis["schedule"]
    times, day = [], start.date()
    while day < end.date():
        if (day.weekday() + 1) % 7 in when["scheduled_days"]:  # Civis, like cron: 0 is Sunday
            times += [datetime(day.year, day.month, day.day, h, m, tzinfo=tz).astimezone(UTC)
                      for h in when["scheduled_hours"] for m in when["scheduled_minutes"]]
        day += timedelta(days=1)
    return sorted(times)


def _prefect_times(deployment, start: datetime, end: datetime) -> list[datetime]:
    """When Prefect's own scheduling code would run the deployment's active schedules, as UTC instants."""
    from prefect.server.schemas import schedules as server

    kinds = {"CronSchedule": server.CronSchedule, "IntervalSchedule": server.IntervalSchedule,
             "RRuleSchedule": server.RRuleSchedule}
    times: set[datetime] = set()
    for entry in deployment.schedules or []:
        kind = kinds.get(type(entry.schedule).__name__)
        if not entry.active or kind is None:
            continue
        schedule = kind(**entry.schedule.model_dump(exclude_none=True))
        dates = asyncio.run(schedule.get_dates(n=1000, start=start, end=end - timedelta(microseconds=1)))
        times |= {d.astimezone(UTC) for d in dates}
    return sorted(times)


def _window(start: datetime, end: datetime) -> tuple[datetime, datetime]:
    tz = ZoneInfo(_civis()["time_zone"])
    return start.replace(tzinfo=tz), end.replace(tzinfo=tz)


def _show(t: datetime) -> str:
    return t.astimezone(ZoneInfo(_civis()["time_zone"])).strftime("%a %d %b %Y %H:%M")


def _times_problem(weeks, around_a_change: bool, deployment) -> str:
    """'' when Prefect's run times equal the Civis job's in every window, else what differs, in words."""
    for start, end in weeks:
        start, end = _window(start, end)
        want, got = _civis_times(start, end), _prefect_times(deployment, start, end)
        assert want, "The course's Civis schedule gives no run in the window it tests: tell the course authors."
        if want == got:
            continue
        tz = _civis()["time_zone"]
        lead = (f"Between {_show(start)[4:-6]} and {_show(end)[4:-6]}" + (", when the clocks change" if
                around_a_change else "") + f", the Civis job ran {len(want)} times; your deployment would run "
                f"{len(got)} times. (Times below are {tz} time.)")
        if not got:
            return lead + (" Your deployment has no active schedule there: add a `schedules:` list with a `cron:` "
                           "line (and `active: false` nowhere).")
        missing = [t for t in want if t not in got]
        extra = [t for t in got if t not in want]
        shifts = {g - w for w, g in zip(want, got)} if len(want) == len(got) else set()
        detail = ""
        if missing:
            detail += f" Civis ran at {', '.join(_show(t) for t in missing[:3])}; your deployment does not."
        if extra:
            detail += f" Your deployment runs at {', '.join(_show(t) for t in extra[:3])}; Civis did not."
        if _in_utc(deployment) and not (len(shifts) == 1 and next(iter(shifts)).days == 0):
            detail += (f" Your schedule has no `timezone:`, so Prefect reads it in UTC: write the Civis hour and "
                       f"minute as they are, and add `timezone: \"{tz}\"` under the `cron:` line.")
        elif len(shifts) > 1 and around_a_change and _in_utc(deployment):
            detail += (" Your runs move by an hour in New York when the clocks change: your cron is read in UTC. "
                       f"Add `timezone: \"{tz}\"` under the `cron:` line, and write the hour as New York time.")
        elif len(shifts) == 1 and next(iter(shifts)).days == 0 and next(iter(shifts)) != timedelta(0):
            if _in_utc(deployment):
                detail += (f" Every run is {_show_shift(next(iter(shifts)))} off. A cron without a `timezone:` is "
                           f"read in UTC: write the Civis hour and minute as they are, and add `timezone: \"{tz}\"`.")
        clock = lambda times: {t.astimezone(ZoneInfo(tz)).strftime("%H:%M") for t in times}  # noqa: E731
        if not _in_utc(deployment) and got and len(clock(got)) == 1 and clock(got) != clock(want):
            detail += (f" Your runs are at {', '.join(sorted(clock(got)))}, the Civis job's at "
                       f"{', '.join(sorted(clock(want)))}: the hour or minute differs. Your schedule has a "
                       "`timezone:`, so write the hour and minute in the cron line exactly as Civis showed them, in "
                       "that time zone; do not convert them to UTC.")
        fixed = _without_summer_time(deployment, tz)
        if fixed:
            detail += (f" Your schedule's time zone, `{fixed}`, has no summer time: its clock never moves, but "
                       f"{tz}'s does, and Civis follows it. Use `timezone: \"{tz}\"`, the place's name, not an "
                       "abbreviation or an offset.")
        days = {t.astimezone(ZoneInfo(tz)).strftime("%a") for t in want}
        if {t.astimezone(ZoneInfo(tz)).strftime("%a") for t in got} != days:
            detail += (f" The days differ: Civis ran on {', '.join(sorted(days, key=_DAYS.index))}. In cron, as in "
                       "Civis, the last field counts 0 = Sunday, 1 = Monday, ... 6 = Saturday.")
        return lead + detail
    return ""


def _without_summer_time(deployment, tz: str) -> str | None:
    """The time zone of an active schedule whose clock never changes (`EST`, `Etc/GMT+5`) while ``tz``'s
    does, if any."""
    def moves(name: str) -> bool:
        try:
            zone = ZoneInfo(name)
        except (ValueError, KeyError, OSError):
            return True  # not a zone name this computer knows: Prefect said so already
        return (datetime(2024, 1, 15, tzinfo=zone).utcoffset() != datetime(2024, 7, 15, tzinfo=zone).utcoffset())

    if not moves(tz):
        return None
    for entry in deployment.schedules or []:
        name = getattr(entry.schedule, "timezone", None)
        if entry.active and name and name not in ("UTC", "Etc/UTC", "GMT") and not moves(str(name)):
            return str(name)
    return None


def _in_utc(deployment) -> bool:
    """Does an active schedule of the deployment have no time zone (Prefect then uses UTC)?"""
    return any(entry.active and getattr(entry.schedule, "timezone", None) in (None, "UTC", "Etc/UTC", "GMT")
               for entry in deployment.schedules or [])


def _show_shift(delta: timedelta) -> str:
    minutes = abs(int(delta.total_seconds())) // 60
    hours, minutes = divmod(minutes, 60)
    return " and ".join(p for p in (f"{hours} hour(s)" if hours else "", f"{minutes} minute(s)" if minutes else "") if p)


# ----------------------------------------------------------------------------------------- the run


def _expected_events(pristine) -> set[int]:
    """The events analytics.event_attendance must list with the Civis job's arguments, by our own SQL."""
    args = _expected_parameters()
    with duckdb.connect(str(pristine), read_only=True) as con:
        rows = con.execute(
            """
            SELECT s.event_id
            FROM mobilize.signups AS s JOIN mobilize.events AS e ON e.event_id = s.event_id
            WHERE (? OR NOT e.is_virtual)
              AND lower(trim(coalesce(s.status, ''))) <> 'cancelled' AND trim(coalesce(s.email, '')) <> ''
            GROUP BY s.event_id
            HAVING count(DISTINCT lower(trim(s.email))) >= ?
            """,
            [args["include_virtual"], args["min_signups"]],
        ).fetchall()
    return {r[0] for r in rows}


def _final_run(flow_run_id, wait: float = 20.0):
    """The flow run as the API records it, once it has reached a final state (or after ``wait`` seconds)."""
    import time

    from flowcamp.checks.prefect import api

    deadline = time.monotonic() + wait
    with api() as client:
        while True:
            run = client.read_flow_run(flow_run_id)
            if (run.state is not None and run.state.is_final()) or time.monotonic() > deadline:
                return run
            time.sleep(0.2)


def _events_written(path) -> set[int] | None:
    with duckdb.connect(str(path), read_only=True) as con:
        try:
            return {r[0] for r in con.execute("SELECT event_id FROM analytics.event_attendance").fetchall()}
        except duckdb.CatalogException:
            return None


# ------------------------------------------------------------------------------------------- checks


@pytest.mark.points(2)
def test_deploys(learner, tmp_path_factory):
    """prefect deploy creates a deployment of build_event_attendance from prefect.yaml, for the local-process pool"""
    found = _deployed(learner, tmp_path_factory)
    problem = _entrypoint_problem(found["deployment"].entrypoint)
    assert not problem, f"The deployment was created, but it runs the wrong function. {problem}"
    pool = (found["learner_deployment"].get("work_pool") or {}).get("name")
    assert pool == POOL, (
        f"Your deployment's work pool is {pool!r}; it should be `{POOL}`, the process work pool you create for "
        f"it. Under the deployment write `work_pool:` and, one level further in, `name: {POOL}`."
    )


@pytest.mark.points(2)
def test_parameters(learner, tmp_path_factory):
    """The deployment's parameters are the Civis job's arguments"""
    found = _deployed(learner, tmp_path_factory)
    want, got = _expected_parameters(), dict(found["deployment"].parameters or {})
    shouting = [name for name in got if name != name.lower() and name.lower() in want]
    assert not shouting, (
        f"Your parameters are named {', '.join(shouting)}. On Civis, arguments were environment variables in "
        f"capitals; in Prefect they are the flow's own parameter names: {', '.join(want)}."
    )
    missing = [name for name in want if name not in got]
    assert not missing, (
        f"The deployment does not set {', '.join(missing)}. Under the deployment, add `parameters:` and, one level "
        f"further in, one line per Civis argument: {', '.join(f'{k}: {json.dumps(v)}' for k, v in want.items())}."
    )
    extra = sorted(set(got) - set(want))
    assert not extra, (
        f"The deployment also sets {', '.join(extra)}. Set only the Civis job's arguments, {', '.join(want)}: the "
        "flow finds the warehouse by itself, on whatever machine the worker runs."
    )
    wrong = [f"{k} is {json.dumps(got[k])}, not {json.dumps(v)}" for k, v in want.items() if got[k] != v
             or type(got[k]) is not type(v)]
    assert not wrong, (
        f"In the deployment, {'; '.join(wrong)}. Copy the values of civis_schedule.json's `arguments`: a number "
        "without quotes, and `true` or `false` (lower case, no quotes) for a yes/no setting."
    )


@pytest.mark.points(2)
def test_plain_weeks(learner, tmp_path_factory):
    """In an ordinary week the deployment runs on the Civis job's days, hours and minutes"""
    problem = _times_problem(PLAIN_WEEKS, False, _deployed(learner, tmp_path_factory)["deployment"])
    assert not problem, problem


@pytest.mark.points(2)
def test_clock_changes(learner, tmp_path_factory):
    """When the clocks change in spring and autumn, the runs stay at the Civis job's local time"""
    problem = _times_problem(DST_WEEKS, True, _deployed(learner, tmp_path_factory)["deployment"])
    assert not problem, problem


@pytest.mark.points(3)
def test_worker_runs_it(learner, warehouse, pristine, tmp_path_factory):
    """A worker started for one run picks up a run of the deployment, and the run completes"""
    found = _deployed(learner, tmp_path_factory)
    from flowcamp.checks.prefect import api
    from flowcamp.tidy import CHECK_TAG

    with api() as client:
        run = client.create_flow_run_from_deployment(
            found["deployment"].id, parameters={"warehouse": str(warehouse)}, tags=[CHECK_TAG],
            name="check-worker-runs-it",
            # The engine runs the deployment's pull steps itself (one process for the run, not two), forked
            # from the worker's own warm learner process (see flowcamp.warmrun). The check's own copy of the
            # warehouse, whatever the yaml says.
            job_variables={"command": f"{shlex.quote(sys.executable)} -m flowcamp.warmrun prefect.engine"})
    with learner.elsewhere(found["folder"]) as lrn:
        done = lrn.load(PROBE).worker_once(found["pool"], str(found["folder"]))
    run = _final_run(run.id)
    said = _last_words(done["output"], 8)
    want_names, got_names = set(_expected_parameters()), set((found["deployment"].parameters or {}))
    assert run.state is None or run.state.is_completed() or want_names <= got_names <= want_names, (
        f"The worker ran the deployment, but the run ended as {run.state.name}: the deployment's parameters are not "
        "the flow's (the same problem as the check on the parameters: fix that one first)."
    )
    assert run.state is not None and run.state.is_completed(), (
        f"The worker ran the deployment, but the run ended as {run.state.name if run.state else 'nothing'}, not "
        f"Completed. The worker said:\n{said}"
    )
    want, got = _expected_events(pristine), _events_written(warehouse)
    assert got is not None, "The run completed but wrote no analytics.event_attendance table."
    assert got == want, (
        f"The run completed, but analytics.event_attendance lists {len(got)} events where the Civis job's "
        f"arguments give {len(want)} (in the check's own copy of the warehouse, so your own run's count may "
        "differ). The run used the deployment's parameters: fix them (see the check on the parameters)."
    )
