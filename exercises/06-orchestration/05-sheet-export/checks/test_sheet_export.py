"""Checks for exercise sheet-export: the flow upserts the follow-up query's rows into a sheet by key.

Each check run builds its own sheet (a CSV file) from the held-out warehouse: some rows still in the query
(some with out-of-date values, some marked as having left it before), some rows that have left the query, and
staff columns with names and values made up for this run (commas, quotes, line breaks, accents, empty
cells), in a shuffled row order. The learner's flow runs on it with the course's own sheets.py; the check
then reads the file itself and compares it, key by key, with what its own SQL on the pristine warehouse says.
"""

from __future__ import annotations

import csv
import random
import secrets
from pathlib import Path

import duckdb
import pytest

FILE = "pipeline.py"
FLOW = "export_followups"
GIVEN = ["sheets.py"]
COURSE_DIR = Path(__file__).resolve().parents[1]
KEY = "signup_id"
IN_QUERY = "in_query"
COLUMNS = ["signup_id", "event", "event_date", "first_name", "last_name", "email", "phone"]

# Our own statement of the query's rows, on the held-out warehouse. WANTED picks the query's rows; the same
# columns of other sign-ups stand for rows that have left the query since the sheet was last written.
ROWS_SQL = """
SELECT CAST(s.signup_id AS VARCHAR), e.title,
       CAST(CAST(timezone(e.timezone, e.starts_at) AS DATE) AS VARCHAR),
       trim(s.first_name), trim(s.last_name), lower(trim(s.email)), coalesce(s.phone, '')
FROM mobilize.signups AS s JOIN mobilize.events AS e USING (event_id)
WHERE {where}
ORDER BY s.signup_id
"""
WANTED = "s.status = 'no_show'"

STAFF_NAMES = ["Called? {w}", "Notes, {w}", "Assigned «{w}»", "Próxima acción {w}", "{w} \"priority\"", "Follow up {w}"]
STAFF_VALUES = ["", "", "yes", "left a voicemail, try again Tue", 'said "maybe" ✓', "Sí — llamar después",
                "line one\nline two", "  spaces kept  ", "=1+1", "0042"]

_SHARED: dict = {}


# ------------------------------------------------------------------------------------- the sheet, by hand


def _read(path: Path) -> list[list[str]]:
    if not path.exists():
        return []
    with open(path, newline="", encoding="utf-8-sig") as f:
        rows = [list(r) for r in csv.reader(f)]
    width = max((len(r) for r in rows), default=0)
    return [r + [""] * (width - len(r)) for r in rows]


def _write(path: Path, grid: list[list[str]]) -> None:
    with open(path, "w", newline="", encoding="utf-8") as f:
        csv.writer(f, lineterminator="\n").writerows(grid)


def _query(pristine, where: str) -> dict[str, list[str]]:
    with duckdb.connect(str(pristine), read_only=True) as con:
        rows = con.execute(ROWS_SQL.format(where=where)).fetchall()
    return {r[0]: ["" if v is None else str(v) for v in r] for r in rows}


def _build_scenario(pristine, folder: Path) -> dict:
    """The sheet before the run, and what the check knows about it."""
    rng = random.Random(secrets.randbits(64))
    wanted = _query(pristine, WANTED)
    others = _query(pristine, f"NOT ({WANTED})")
    assert len(wanted) >= 12 and len(others) >= 4, "The held-out warehouse has too few sign-ups for this check."
    keys = list(wanted)
    rng.shuffle(keys)
    n_new = max(3, len(keys) // 4)
    new, stay = keys[:n_new], keys[n_new:]
    left = rng.sample(list(others), 4)
    word = secrets.token_hex(2)
    staff = [name.format(w=word) for name in rng.sample(STAFF_NAMES, 3)]
    header = list(COLUMNS) + [IN_QUERY]
    header.insert(rng.randrange(1, len(COLUMNS)), staff[0])  # one staff column among the query's
    header += staff[1:]
    was_out = set(rng.sample(stay, 3))  # marked "no" by an earlier run; back in the query now
    stale = set(rng.sample(sorted(set(stay) - was_out), 4))
    rows, staff_values = [], {}
    for k in stay + left:
        values = list(wanted.get(k) or others[k])
        if k in stale:
            values[COLUMNS.index("email")] = f"old.{secrets.token_hex(3)}@example.org"
            values[COLUMNS.index("first_name")] = values[COLUMNS.index("first_name")].upper() + "X"
        cells = dict(zip(COLUMNS, values))
        cells[IN_QUERY] = "no" if k in was_out else "yes"
        for i, name in enumerate(staff):  # the first staff column is never empty: it tells rows apart
            cells[name] = f"{rng.choice(STAFF_VALUES[2:])} #{k}" if i == 0 else rng.choice(STAFF_VALUES)
        staff_values[k] = {name: cells[name] for name in staff}
        rows.append([cells[c] for c in header])
    rng.shuffle(rows)
    sheet = folder / f"followups-{word}.csv"
    _write(sheet, [header] + rows)
    return {"sheet": sheet, "before": [header] + rows, "header": header, "staff": staff, "wanted": wanted,
            "new": new, "stay": stay, "left": left, "was_out": was_out, "stale": stale,
            "staff_values": staff_values}


# ------------------------------------------------------------------------------------- running the flow


@pytest.fixture(scope="session")
def staged(shared_learner, tmp_path_factory):
    """The learner's folder with the course's own sheets.py, whose processes live for the whole check run."""
    with shared_learner.staged(tmp_path_factory.mktemp("staged") / "sheet-export", COURSE_DIR, GIVEN) as lrn:
        yield lrn.live_for_the_run()


def _flow(learner):
    if "flow" not in _SHARED:
        mod = learner.load(FILE)
        fn = getattr(mod, FLOW, None)
        assert fn is not None, (
            f"{FILE} has no function called `{FLOW}`. Keep the flow's name as the starter had it: "
            f"`def {FLOW}(warehouse: str = WAREHOUSE, sheet: str = SHEET):`, with `@flow` above it.")
        assert fn.isinstance_of("prefect.flows.Flow"), (
            f"`{FLOW}` in {FILE} is a plain function, not a Prefect flow. Put `@flow` on the line above it.")
        missing = [p for p in ("warehouse", "sheet") if p not in (fn.parameters or [])]
        assert not missing, (
            f"`{FLOW}` in {FILE} has no parameter called {' or '.join(f'`{p}`' for p in missing)}. Keep the "
            f"starter's `def {FLOW}(warehouse: str = WAREHOUSE, sheet: str = SHEET):`, and use `sheet` (not "
            "SHEET) inside it, so a run can point the flow at another sheet.")
        _SHARED["flow"] = fn
    return _SHARED["flow"]


def _run(staged, prefect_run, warehouse, sheet: Path, what: str):
    report = prefect_run(_flow(staged), warehouse=str(warehouse), sheet=str(sheet))
    if not report.completed:
        state = getattr(report.state, "name", "no state")
        raise AssertionError(
            f"The flow run on {what} did not complete: it ended as {state}."
            + (f" The error was at {report.error}." if report.error else "")
            + " Run `uv run flowcamp run pipeline.py` in this folder to see the whole error, and read the "
            "upsert_sheet task's log in the Prefect web UI (`uv run flowcamp server` prints its address).")
    return report


def _shared(staged, prefect_run, warehouse, pristine, tmp_path_factory) -> dict:
    """The one shared run on the check's sheet; later checks read its result."""
    if "scenario" not in _SHARED:
        _SHARED["scenario"] = scenario = _build_scenario(pristine, tmp_path_factory.mktemp("sheet"))
        try:
            _run(staged, prefect_run, warehouse, scenario["sheet"], "a sheet with staff columns")
        except AssertionError as err:
            _SHARED["failed"] = str(err)
            raise
        scenario["after"] = _read(scenario["sheet"])
    if "failed" in _SHARED:
        raise AssertionError(_SHARED["failed"])
    return _SHARED["scenario"]


def _by_key(scenario) -> tuple[list[str], dict[str, list[list[str]]]]:
    """The sheet after the run: its header, and its rows by key (a list each, to see duplicates)."""
    after = scenario["after"]
    assert after, (
        "After the flow ran, the sheet is empty: upsert_sheet must write the sheet back with "
        "`write_all([...header..., ...rows...])`.")
    header = after[0]
    assert KEY in header, (
        f"After the flow ran, the sheet has no `{KEY}` column any more. Its header is: {_names(header)}. "
        "Keep every column the sheet had, in the same place.")
    found: dict[str, list[list[str]]] = {}
    for row in after[1:]:
        found.setdefault(row[header.index(KEY)], []).append(row)
    return header, found


def _names(header) -> str:
    return ", ".join(repr(h) for h in header)


def _cell(header, row, name) -> str:
    return row[header.index(name)] if name in header else "(no such column)"


def _header_kept(scenario) -> list[str]:
    header, _ = _by_key(scenario)
    lost = [c for c in scenario["staff"] if c not in header]
    assert not lost, (
        f"After the flow ran, the sheet lost the column(s) {_names(lost)}, which staff added by hand. The "
        "sheet's header was: " + _names(scenario["header"]) + ". Start from the sheet's own header "
        "(`get_all_values()[0]`) and keep every column in it, whatever its name.")
    lost = [c for c in scenario["header"] if c not in header]
    assert not lost, (
        f"After the flow ran, the sheet lost the column(s) {_names(lost)}. Keep every column of the sheet's "
        "own header (`get_all_values()[0]`).")
    assert header == scenario["header"], (
        f"The sheet's columns moved or changed. Before the run they were {_names(scenario['header'])}; after "
        f"it they are {_names(header)}. Keep every column where it was (staff formulas and filters point at "
        "column letters), and add a column only when the sheet does not have it yet, at the right end.")
    return header


# ------------------------------------------------------------------------------------------ checks


@pytest.mark.points(1)
def test_is_a_flow(learner):
    """export_followups is a Prefect flow with warehouse and sheet parameters"""
    _SHARED.pop("flow", None)
    _flow(learner)
    _SHARED.pop("flow", None)  # the shared runs load the flow with the course's sheets.py


@pytest.mark.points(2)
def test_first_export(staged, prefect_run, warehouse, pristine, tmp_path):
    """A first export to an empty sheet writes the query's rows, each marked as in the query"""
    sheet = tmp_path / "empty.csv"
    sheet.write_text("", encoding="utf-8")
    _run(staged, prefect_run, warehouse, sheet, "an empty sheet")
    grid = _read(sheet)
    wanted = _query(pristine, WANTED)
    want_header = COLUMNS + [IN_QUERY]
    assert grid, "After a first export the sheet is still empty: write the header and the query's rows to it."
    assert grid[0] == want_header, (
        f"On an empty sheet the header should be the query's columns, then `{IN_QUERY}`: {_names(want_header)}. "
        f"It is {_names(grid[0])}.")
    keys = [row[0] for row in grid[1:]]
    assert len(keys) == len(set(keys)) == len(wanted) and set(keys) == set(wanted), (
        f"After a first export the sheet should have one row for each of the query's {len(wanted)} rows; it has "
        f"{len(keys)} rows for {len(set(keys))} different sign-ups.")
    for row in grid[1:]:
        assert row[:-1] == wanted[row[0]] and row[-1] == "yes", (
            f"On a first export, the row for sign-up {row[0]} should be {wanted[row[0]] + ['yes']}, but it is "
            f"{row}. Write the query's values as they are, and `yes` in `{IN_QUERY}`.")


@pytest.mark.points(3)
def test_staff_columns_kept(staged, prefect_run, warehouse, pristine, tmp_path_factory):
    """Staff columns, and everything staff typed in them, stay with their rows"""
    scenario = _shared(staged, prefect_run, warehouse, pristine, tmp_path_factory)
    header = _header_kept(scenario)
    _, found = _by_key(scenario)
    for key, values in scenario["staff_values"].items():
        rows = found.get(key)
        assert rows, (
            f"The row for sign-up {key} is gone from the sheet. Never delete a row: staff wrote in it. Rows "
            f"whose key left the query stay, with `no` in `{IN_QUERY}`.")
        for name, value in values.items():
            got = _cell(header, rows[0], name)
            assert got == value, (
                f"In the row for sign-up {key}, the staff column {name!r} held {value!r} before the run, and "
                f"{got!r} after it. Match rows by their `{KEY}`, not by their place in the sheet, and only "
                "change the query's columns and `in_query`.")


@pytest.mark.points(2)
def test_query_columns_updated(staged, prefect_run, warehouse, pristine, tmp_path_factory):
    """Rows still in the query get today's values, and yes in in_query"""
    scenario = _shared(staged, prefect_run, warehouse, pristine, tmp_path_factory)
    header, found = _by_key(scenario)
    assert IN_QUERY in header, f"The sheet has no `{IN_QUERY}` column after the run."
    for key in scenario["stay"]:
        rows = found.get(key) or [None]
        assert rows[0] is not None, f"The row for sign-up {key}, which is still in the query, is gone from the sheet."
        got = {c: _cell(header, rows[0], c) for c in COLUMNS}
        want = dict(zip(COLUMNS, scenario["wanted"][key]))
        wrong = [c for c in COLUMNS if got[c] != want[c]]
        how = " (its email and first name had changed since the last export)" if key in scenario["stale"] else ""
        assert not wrong, (
            f"The row for sign-up {key}{how} should have the query's values now. " + "; ".join(
                f"{c} is {got[c]!r}, not {want[c]!r}" for c in wrong) + ". Copy every query column into the "
            "row with the same key, wherever that column is in the sheet.")
        state = _cell(header, rows[0], IN_QUERY)
        back = " It had `no` from an earlier run, but it is back in the query." if key in scenario["was_out"] else ""
        assert state == "yes", f"The row for sign-up {key} is in the query, so `{IN_QUERY}` should be `yes`, not {state!r}.{back}"


@pytest.mark.points(2)
def test_new_rows_added_once(staged, prefect_run, warehouse, pristine, tmp_path_factory):
    """New rows are added once, at the bottom, and the other rows stay where they were"""
    scenario = _shared(staged, prefect_run, warehouse, pristine, tmp_path_factory)
    header, found = _by_key(scenario)
    twice = sorted(k for k, rows in found.items() if len(rows) > 1)
    assert not twice, (
        f"The sheet has more than one row for sign-up(s) {', '.join(twice[:5])}. Update the row that has the key "
        "instead of adding another one; add a row only for a key the sheet does not have yet.")
    before, after = scenario["before"], scenario["after"]
    old_keys = [r[header.index(KEY)] for r in before[1:]]
    now_keys = [r[header.index(KEY)] for r in after[1:len(before)]]
    moved = next((i for i, k in enumerate(old_keys) if i >= len(now_keys) or now_keys[i] != k), None)
    assert moved is None, (
        f"The rows that were in the sheet moved: row {moved + 2 if moved is not None else ''} held sign-up "
        f"{old_keys[moved] if moved is not None else ''} before the run, and now holds another one (or none). "
        "Keep each row where it was (staff may have sorted the sheet their way), and add new rows below the "
        "last one.")
    added = [r for r in after[len(before):]]
    missing = [k for k in scenario["new"] if k not in found]
    assert not missing, (
        f"{len(missing)} sign-up(s) in the query have no row in the sheet, for example {', '.join(missing[:5])}. "
        "Add a row at the bottom for every key the sheet does not have yet.")
    assert len(added) == len(scenario["new"]), (
        f"{len(scenario['new'])} sign-ups were new, but {len(added)} rows were added at the bottom.")
    for row in added:
        key = row[header.index(KEY)]
        filled = [name for name in scenario["staff"] if _cell(header, row, name) != ""]
        assert not filled, f"The new row for sign-up {key} has values in staff column(s) {_names(filled)}: leave them empty."
        wrong = [c for c in COLUMNS if _cell(header, row, c) != scenario["wanted"][key][COLUMNS.index(c)]]
        assert not wrong and _cell(header, row, IN_QUERY) == "yes", (
            f"The new row for sign-up {key} should hold the query's values in the query's columns, wherever they "
            f"are in the sheet, and `yes` in `{IN_QUERY}`. Wrong: {_names(wrong or [IN_QUERY])}.")


@pytest.mark.points(2)
def test_left_rows_marked(staged, prefect_run, warehouse, pristine, tmp_path_factory):
    """Rows that left the query stay, unchanged, with no in in_query"""
    scenario = _shared(staged, prefect_run, warehouse, pristine, tmp_path_factory)
    header, found = _by_key(scenario)
    old_header = scenario["header"]
    before = {r[old_header.index(KEY)]: dict(zip(old_header, r)) for r in scenario["before"][1:]}
    for key in scenario["left"]:
        rows = found.get(key)
        assert rows, (
            f"Sign-up {key} left the query, and its row was deleted. Keep it, with `no` in `{IN_QUERY}`: "
            "staff may still need what they wrote in it.")
        state = _cell(header, rows[0], IN_QUERY)
        assert state == "no", (
            f"Sign-up {key} is no longer in the query, so its `{IN_QUERY}` should say `no`, not {state!r}.")
        changed = [c for c in old_header if c != IN_QUERY and _cell(header, rows[0], c) != before[key][c]]
        assert not changed, (
            f"Sign-up {key} left the query, and its row changed in {_names(changed)}. Leave such a row as it "
            f"was, except for `{IN_QUERY}`.")


@pytest.mark.points(2)
def test_second_run_changes_nothing(staged, prefect_run, warehouse, pristine, tmp_path_factory):
    """Running the flow again on the same day changes nothing"""
    scenario = _shared(staged, prefect_run, warehouse, pristine, tmp_path_factory)
    first = scenario["after"]
    assert len(first) > 2, "After the first run the sheet has almost no rows, so a second run cannot be compared."
    _run(staged, prefect_run, warehouse, scenario["sheet"], "the sheet it had just written")
    second = _read(scenario["sheet"])
    assert second == first, (
        f"A second run with the same data changed the sheet: it had {len(first)} rows and {len(first[0])} columns "
        f"after the first run, and {len(second)} rows and {len(second[0]) if second else 0} columns after the "
        "second. A nightly export must give the same sheet when nothing changed: update rows by key, and add "
        "only keys and columns the sheet does not have yet.")
