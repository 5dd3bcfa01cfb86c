"""Rows as dictionaries, and a load step that deletes the old rows before it inserts."""

import os

import duckdb
from prefect import flow, task

WAREHOUSE = os.environ.get("FLOWCAMP_WAREHOUSE", "../../warehouse.duckdb")


@task(name="Extract sign-ups", retries=1)
def extract(warehouse):
    with duckdb.connect(warehouse) as con:
        cur = con.execute(
            "SELECT s.event_id, e.title, s.email, s.status "
            "FROM mobilize.signups s JOIN mobilize.events e ON s.event_id = e.event_id"
        )
        names = [d[0] for d in cur.description]
        return [dict(zip(names, row)) for row in cur.fetchall()]


@task(name="Clean sign-ups")
def clean(rows):
    out = []
    seen = set()
    for r in rows:
        email = (r["email"] or "").strip().lower()
        status = (r["status"] or "").strip().lower()
        if not email or status == "cancelled":
            continue
        key = (r["event_id"], email, status)
        if key not in seen:
            seen.add(key)
            out.append({"event_id": r["event_id"], "title": r["title"], "email": email, "status": status})
    return out


@task(name="Count per event")
def count(rows):
    per_event = {}
    for r in rows:
        e = per_event.setdefault(r["event_id"], {"title": r["title"], "all": set(), "came": set()})
        e["all"].add(r["email"])
        if r["status"] == "attended":
            e["came"].add(r["email"])
    return [
        {
            "event_id": event_id,
            "title": e["title"],
            "signups": len(e["all"]),
            "attended": len(e["came"]),
            "attendance_rate": len(e["came"]) / len(e["all"]),
        }
        for event_id, e in per_event.items()
    ]


@task(name="Load")
def load(warehouse, summary):
    with duckdb.connect(warehouse) as con:
        con.execute("CREATE SCHEMA IF NOT EXISTS analytics")
        con.execute(
            "CREATE TABLE IF NOT EXISTS analytics.event_attendance "
            "(attendance_rate DOUBLE, signups BIGINT, attended BIGINT, event_id BIGINT, title VARCHAR)"
        )
        con.execute("DELETE FROM analytics.event_attendance")
        con.executemany(
            "INSERT INTO analytics.event_attendance (event_id, title, signups, attended, attendance_rate) "
            "VALUES ($event_id, $title, $signups, $attended, $attendance_rate)",
            summary,
        )


@flow
def build_event_attendance(warehouse: str = WAREHOUSE):
    rows = extract(warehouse)
    cleaned = clean(rows)
    summary = count(cleaned)
    load(warehouse, summary)


if __name__ == "__main__":
    build_event_attendance()
