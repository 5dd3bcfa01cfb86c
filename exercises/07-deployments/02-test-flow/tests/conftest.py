"""Helpers for your tests. Given: do not change this file (the checks use the course's own copy).

pytest reads this file before it runs the tests in this folder. It gives them three things:

- `import pipeline` works: the exercise folder is where Python looks first;
- a flow run in a test does not wait one second at its end (Prefect's heartbeat is off);
- the fixture `make_warehouse`: ask for it as a parameter of a test, then call it to write a
  small warehouse file with only the rows you choose. It gives back the file's path.
"""

import sys
from datetime import date, datetime
from itertools import count
from pathlib import Path

import duckdb
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

# The two tables the pipeline reads, with the same columns as in the real warehouse.
TABLES = {
    "voterfile.people": """(
        person_id BIGINT, first_name VARCHAR, last_name VARCHAR, email VARCHAR, phone VARCHAR,
        street_address VARCHAR, city VARCHAR, state VARCHAR, zip VARCHAR, county VARCHAR,
        congressional_district VARCHAR, state_house_district VARCHAR, party VARCHAR, birth_date DATE,
        registration_date DATE, voter_status VARCHAR)""",
    "actblue.donations": """(
        donation_id BIGINT, person_id BIGINT, donor_first_name VARCHAR, donor_last_name VARCHAR,
        donor_email VARCHAR, zip VARCHAR, amount DECIMAL(10, 2), donated_at TIMESTAMPTZ, is_recurring BOOLEAN,
        refunded BOOLEAN, refunded_at TIMESTAMPTZ, employer VARCHAR, occupation VARCHAR)""",
}


@pytest.fixture(autouse=True, scope="session")
def quick_flow_runs():
    """Every test: no one-second wait at the end of each flow run."""
    from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings

    with temporary_settings({PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}):
        yield


def _local_time(when) -> str:
    """'2024-10-01 18:30' stays as it is; a date becomes noon that day."""
    if isinstance(when, date) and not isinstance(when, datetime):
        return f"{when} 12:00"
    return str(when)


@pytest.fixture
def make_warehouse(tmp_path):
    """make_warehouse(people=[(person_id, county), ...],
                      donations=[(donation_id, person_id, amount, donated_at), ...],
                      leave_out=["actblue.donations"])

    Writes a new warehouse file in the test's own temporary folder and returns its path (a str).
    donated_at is Pennsylvania time: "2024-10-01 18:30", or a date (noon that day).
    leave_out names tables NOT to create, to test what happens when one is missing.
    Columns you do not give are empty (NULL)."""
    numbers = count(1)

    def make(people=(), donations=(), leave_out=()):
        path = tmp_path / f"warehouse-{next(numbers)}.duckdb"
        with duckdb.connect(str(path)) as con:
            for table, columns in TABLES.items():
                if table in leave_out:
                    continue
                con.execute(f"CREATE SCHEMA IF NOT EXISTS {table.split('.')[0]}")
                con.execute(f"CREATE TABLE {table} {columns}")
            if people and "voterfile.people" not in leave_out:
                con.executemany("INSERT INTO voterfile.people (person_id, county) VALUES (?, ?)",
                                [list(p) for p in people])
            if donations and "actblue.donations" not in leave_out:
                con.executemany(
                    "INSERT INTO actblue.donations (donation_id, person_id, amount, donated_at) "
                    "VALUES (?, ?, ?, timezone('America/New_York', CAST(? AS TIMESTAMP)))",
                    [[d_id, p_id, str(amount), _local_time(when)] for d_id, p_id, amount, when in donations])
        return str(path)

    return make
