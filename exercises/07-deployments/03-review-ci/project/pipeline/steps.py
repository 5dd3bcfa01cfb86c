"""The steps of the nightly pipeline, as plain functions.

They take a DuckDB connection and return rows, so a test can call them on a
tiny warehouse it builds itself, with no Prefect server. flow.py wires them
into a Prefect flow.
"""

from datetime import date

import duckdb


def recent_donations(con: duckdb.DuckDBPyConnection, end_date: date, days: int = 7) -> list[tuple]:
    """Donations not refunded, made in the `days` days that end with `end_date` (both ends included):
    (donation_id, person_id, amount) rows, ordered by donation_id. Duplicates are still here."""
    return con.execute(
        """
        SELECT donation_id, person_id, amount
        FROM actblue.donations
        WHERE NOT refunded
          AND CAST(donated_at AS DATE) > CAST(? AS DATE) - CAST(? AS INTEGER)
          AND CAST(donated_at AS DATE) <= CAST(? AS DATE)
        ORDER BY donation_id
        """,
        [end_date, days, end_date],
    ).fetchall()


def drop_duplicates(rows: list[tuple]) -> list[tuple]:
    """Keep the first row of each donation_id (the first item of a row), in the same order."""
    seen = set()
    kept = []
    for row in rows:
        if row[0] not in seen:
            seen.add(row[0])
            kept.append(row)
    return kept


def total_by_person(rows: list[tuple]) -> dict[str, float]:
    """The amount each person gave, from (donation_id, person_id, amount) rows."""
    totals: dict[str, float] = {}
    for _, person_id, amount in rows:
        totals[person_id] = totals.get(person_id, 0) + float(amount)
    return totals
