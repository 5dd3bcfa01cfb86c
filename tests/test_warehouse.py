"""Tests for the sample warehouse (the package src/flowcamp/warehouse/)."""

from __future__ import annotations

import datetime as dt
import math
import os
from pathlib import Path

import duckdb
import pytest

from flowcamp import warehouse as wh

# The module that build() and ensure() live in: patch _statements, _write and
# SCHEMA_VERSION there (wh.build is the function, wh.builder the module).
from flowcamp.warehouse import builder as whb

SMALL = 0.1  # 1,000 voter records: fast, and still big enough to show the mess

# The columns other code and the exercises rely on, with their DuckDB types.
REQUIRED = {
    "voterfile.people": {
        "person_id": "BIGINT", "first_name": "VARCHAR", "last_name": "VARCHAR",
        "email": "VARCHAR", "phone": "VARCHAR", "street_address": "VARCHAR", "city": "VARCHAR",
        "state": "VARCHAR", "zip": "VARCHAR", "county": "VARCHAR",
        "congressional_district": "VARCHAR", "state_house_district": "VARCHAR",
        "party": "VARCHAR", "birth_date": "DATE", "registration_date": "DATE",
    },
    "voterfile.vote_history": {
        "person_id": "BIGINT", "election_date": "DATE", "election_type": "VARCHAR",
        "vote_method": "VARCHAR",
    },
    "mobilize.events": {
        "event_id": "BIGINT", "title": "VARCHAR", "event_type": "VARCHAR",
        "starts_at": "TIMESTAMP WITH TIME ZONE", "timezone": "VARCHAR", "city": "VARCHAR",
        "state": "VARCHAR", "is_virtual": "BOOLEAN",
    },
    "mobilize.signups": {
        "signup_id": "BIGINT", "event_id": "BIGINT", "person_id": "BIGINT",
        "first_name": "VARCHAR", "last_name": "VARCHAR", "email": "VARCHAR",
        "status": "VARCHAR", "created_at": "TIMESTAMP WITH TIME ZONE",
    },
    "actblue.donations": {
        "donation_id": "BIGINT", "person_id": "BIGINT", "donor_first_name": "VARCHAR",
        "donor_last_name": "VARCHAR", "donor_email": "VARCHAR", "zip": "VARCHAR",
        "amount": "DECIMAL(10,2)", "donated_at": "TIMESTAMP WITH TIME ZONE",
        "is_recurring": "BOOLEAN", "refunded": "BOOLEAN",
    },
    "actionnetwork.subscribers": {
        "subscriber_id": "BIGINT", "person_id": "BIGINT", "email": "VARCHAR",
        "first_name": "VARCHAR", "last_name": "VARCHAR", "zip": "VARCHAR", "status": "VARCHAR",
        "subscribed_at": "TIMESTAMP WITH TIME ZONE",
    },
    "actionnetwork.actions": {
        "action_id": "BIGINT", "subscriber_id": "BIGINT", "action_type": "VARCHAR",
        "action_title": "VARCHAR", "acted_at": "TIMESTAMP WITH TIME ZONE",
    },
    "phonebank.contacts": {
        "contact_id": "BIGINT", "person_id": "BIGINT", "channel": "VARCHAR",
        "contacted_at": "TIMESTAMP WITH TIME ZONE", "result": "VARCHAR",
        "support_score": "INTEGER", "caller": "VARCHAR",
    },
    "_flowcamp.meta": {"key": "VARCHAR", "value": "VARCHAR"},
}

# Each table's id column: rows are stored in this order.
ID_COLUMNS = {
    "voterfile.people": "person_id", "mobilize.events": "event_id",
    "mobilize.signups": "signup_id", "actblue.donations": "donation_id",
    "actionnetwork.subscribers": "subscriber_id", "actionnetwork.actions": "action_id",
    "phonebank.contacts": "contact_id",
}


def contents(path: Path) -> dict[str, list[tuple]]:
    """Every row of every table, in stored order."""
    con = duckdb.connect(str(path), read_only=True)
    try:
        tables = [f"{s}.{t}" for s, t in con.execute(
            "SELECT table_schema, table_name FROM information_schema.tables "
            "WHERE table_catalog = current_database() ORDER BY ALL").fetchall()]
        return {t: con.execute(f"SELECT * FROM {t}").fetchall() for t in tables}
    finally:
        con.close()


def one(path: Path, sql: str):
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute(sql).fetchone()[0]
    finally:
        con.close()


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> dict[str, Path]:
    """Small warehouses built once for the whole module."""
    d = tmp_path_factory.mktemp("warehouses")
    return {
        "a": wh.build(d / "a.duckdb", seed=wh.LEARNER_SEED, scale=SMALL, threads=2),
        "a_one_thread": wh.build(d / "a1.duckdb", seed=wh.LEARNER_SEED, scale=SMALL, threads=1),
        # a held-out warehouse: another seed, so it has the rows on every boundary
        "other_seed": wh.build(d / "b.duckdb", seed=99, scale=SMALL, threads=2),
        "other_seed_one_thread": wh.build(d / "b1.duckdb", seed=99, scale=SMALL, threads=1),
    }


@pytest.fixture(scope="module")
def learner(built) -> Path:
    return built["a"]


# ---------------------------------------------------------------- determinism


@pytest.mark.parametrize("pair", [("a", "a_one_thread"), ("other_seed", "other_seed_one_thread")])
def test_same_seed_gives_identical_data_whatever_the_threads(built, pair):
    a, b = contents(built[pair[0]]), contents(built[pair[1]])
    assert a.keys() == b.keys()
    for table in a:
        assert a[table] == b[table], f"{table} differs between two builds with the same seed"


def test_different_seed_gives_different_data(built):
    a, b = contents(built["a"]), contents(built["other_seed"])
    differing = [t for t in a if t != "voterfile.elections" and a[t] != b[t]]
    assert len(differing) == len(a) - 1, "every generated table should change with the seed"
    counts_a = {t: len(rows) for t, rows in a.items()}
    counts_b = {t: len(rows) for t, rows in b.items()}
    changed = [t for t in counts_a if counts_a[t] != counts_b[t]]
    assert len(changed) >= 5, f"row counts should depend on the seed, only {changed} did"


@pytest.mark.parametrize("which", ["a", "other_seed"])
def test_rows_are_stored_in_id_order(built, which):
    con = duckdb.connect(str(built[which]), read_only=True)
    try:
        for table, col in ID_COLUMNS.items():
            ids = [r[0] for r in con.execute(f"SELECT {col} FROM {table}").fetchall()]
            assert ids == list(range(1, len(ids) + 1)), f"{table} is not stored in {col} order"
    finally:
        con.close()


def test_meta_holds_only_build_settings(learner):
    meta = wh.read_meta(learner)
    assert meta["seed"] == wh.LEARNER_SEED
    assert meta["scale"] == SMALL
    assert meta["version"] == wh.SCHEMA_VERSION
    assert meta["boundary_rows"] == "none"
    assert wh.read_meta(built_other := learner.with_name("b.duckdb"))["boundary_rows"] == "planted", built_other
    assert isinstance(meta["seed"], int) and isinstance(meta["scale"], float)
    assert not any("time" in k or k.endswith("_at") for k in meta), "no build times in meta"


# ---------------------------------------------------------------- schema


def test_required_tables_and_column_types(learner):
    con = duckdb.connect(str(learner), read_only=True)
    try:
        rows = con.execute(
            "SELECT table_schema || '.' || table_name, column_name, data_type "
            "FROM information_schema.columns WHERE table_catalog = current_database()").fetchall()
    finally:
        con.close()
    actual: dict[str, dict[str, str]] = {}
    for table, column, dtype in rows:
        actual.setdefault(table, {})[column] = dtype
    for table, columns in REQUIRED.items():
        assert table in actual, f"missing table {table}"
        for column, dtype in columns.items():
            assert column in actual[table], f"missing column {table}.{column}"
            assert actual[table][column] == dtype, f"{table}.{column} is {actual[table][column]}, not {dtype}"


def test_data_dictionary_lists_every_column(learner):
    text = (Path(__file__).parents[1] / "docs" / "data-dictionary.md").read_text()
    con = duckdb.connect(str(learner), read_only=True)
    try:
        rows = con.execute(
            "SELECT table_schema || '.' || table_name, column_name FROM information_schema.columns "
            "WHERE table_catalog = current_database()").fetchall()
    finally:
        con.close()
    for table, column in rows:
        assert f"## `{table}`" in text, f"data dictionary has no section for {table}"
        if table != "_flowcamp.meta":
            assert f"| `{column}` |" in text, f"data dictionary does not describe {table}.{column}"


def test_scale_sets_the_sizes(built):
    small, double = wh._sizes(wh.LEARNER_SEED, SMALL), wh._sizes(wh.LEARNER_SEED, 2 * SMALL)
    assert small["people"] == round(10_000 * SMALL) and double["people"] == 2 * small["people"]
    assert wh._sizes(wh.LEARNER_SEED, 100)["people"] == 1_000_000
    for name in small:
        assert 1.75 <= double[name] / small[name] <= 2.25, f"{name} does not grow with scale"
    # the built tables have exactly the planned sizes
    counts = wh.table_counts(built["a"])
    for table, name in [("voterfile.people", "people"), ("mobilize.events", "events"),
                        ("mobilize.signups", "signups"), ("actblue.donations", "donations"),
                        ("actionnetwork.subscribers", "subscribers"),
                        ("actionnetwork.actions", "actions"), ("phonebank.contacts", "contacts")]:
        assert counts[table] == small[name], table
    assert 2.5 < counts["voterfile.vote_history"] / counts["voterfile.people"] < 4.5


def test_table_counts(learner):
    counts = wh.table_counts(learner)
    expected = {t for t in REQUIRED if not t.startswith("_")} | {"voterfile.elections"}
    assert set(counts) == expected
    assert all(isinstance(n, int) and n > 0 for n in counts.values())
    assert counts["voterfile.elections"] == 9


# ---------------------------------------------------------------- the data makes sense


def test_general_elections_are_on_the_legal_day(learner):
    con = duckdb.connect(str(learner), read_only=True)
    try:
        generals = [r[0] for r in con.execute(
            "SELECT election_date FROM voterfile.elections WHERE election_type = 'general' ORDER BY 1").fetchall()]
        types = {r[0] for r in con.execute("SELECT DISTINCT election_type FROM voterfile.vote_history").fetchall()}
        methods = {r[0] for r in con.execute("SELECT DISTINCT vote_method FROM voterfile.vote_history").fetchall()}
    finally:
        con.close()
    assert [d.year for d in generals] == [2018, 2020, 2022, 2024]
    for day in generals:
        first_monday = next(dt.date(day.year, 11, d) for d in range(1, 8) if dt.date(day.year, 11, d).weekday() == 0)
        assert day == first_monday + dt.timedelta(days=1)
    assert types == {"general", "primary", "special"}
    assert methods == {"in_person", "mail", "early"}


@pytest.mark.parametrize("which", ["a", "other_seed"])
def test_keys_join_up(built, which):
    checks = {
        "vote history person": "SELECT count(*) FROM voterfile.vote_history v ANTI JOIN voterfile.people p USING (person_id)",
        "vote history election": "SELECT count(*) FROM voterfile.vote_history v ANTI JOIN voterfile.elections e USING (election_date)",
        "one row per person and election": "SELECT count(*) - count(DISTINCT (person_id, election_date)) FROM voterfile.vote_history",
        "signup event": "SELECT count(*) FROM mobilize.signups s ANTI JOIN mobilize.events e USING (event_id)",
        "signup person": "SELECT count(*) FROM mobilize.signups s ANTI JOIN voterfile.people p USING (person_id) WHERE s.person_id IS NOT NULL",
        "donation person": "SELECT count(*) FROM actblue.donations d ANTI JOIN voterfile.people p USING (person_id) WHERE d.person_id IS NOT NULL",
        "subscriber person": "SELECT count(*) FROM actionnetwork.subscribers s ANTI JOIN voterfile.people p USING (person_id) WHERE s.person_id IS NOT NULL",
        "action subscriber": "SELECT count(*) FROM actionnetwork.actions a ANTI JOIN actionnetwork.subscribers s USING (subscriber_id)",
        "contact person": "SELECT count(*) FROM phonebank.contacts c ANTI JOIN voterfile.people p USING (person_id)",
        "voted before registering": "SELECT count(*) FROM voterfile.vote_history v JOIN voterfile.people p USING (person_id) WHERE v.election_date < p.registration_date",
        "acted before subscribing": "SELECT count(*) FROM actionnetwork.actions a JOIN actionnetwork.subscribers s USING (subscriber_id) WHERE a.acted_at < s.subscribed_at",
        "signed up after the event": "SELECT count(*) FROM mobilize.signups s JOIN mobilize.events e USING (event_id) WHERE s.created_at > e.starts_at",
        "score without an answer": "SELECT count(*) FROM phonebank.contacts WHERE support_score IS NOT NULL AND result NOT IN ('answered', 'replied')",
        "score out of range": "SELECT count(*) FROM phonebank.contacts WHERE support_score NOT BETWEEN 1 AND 5",
        "negative amount": "SELECT count(*) FROM actblue.donations WHERE amount <= 0",
        "refund time without refund": "SELECT count(*) FROM actblue.donations WHERE (refunded_at IS NOT NULL) <> refunded",
        "virtual event with a city": "SELECT count(*) FROM mobilize.events WHERE is_virtual AND city IS NOT NULL",
        "state not two letters": "SELECT count(*) FROM voterfile.people WHERE length(state) <> 2",
        "bad district": "SELECT count(*) FROM voterfile.people WHERE NOT regexp_full_match(congressional_district, 'PA-[0-9]{2}')",
        "real email domain": "SELECT count(*) FROM voterfile.people WHERE NOT lower(trim(email)) LIKE '%example.___'",
        "ids unique": "SELECT (SELECT count(*) - count(DISTINCT person_id) FROM voterfile.people) "
                      "+ (SELECT count(*) - count(DISTINCT event_id) FROM mobilize.events) "
                      "+ (SELECT count(*) - count(DISTINCT signup_id) FROM mobilize.signups) "
                      "+ (SELECT count(*) - count(DISTINCT donation_id) FROM actblue.donations)",
        "voted too soon after registering": "SELECT count(*) FROM voterfile.vote_history v JOIN voterfile.people p "
                                            "USING (person_id) WHERE v.election_date < p.registration_date + 15",
        "primary vote outside the two big parties": "SELECT count(*) FROM voterfile.vote_history v JOIN voterfile.people p "
                                                    "USING (person_id) WHERE v.election_type = 'primary' "
                                                    "AND upper(trim(p.party)) NOT IN ('D', 'DEM', 'DEMOCRAT', 'DEMOCRATIC', "
                                                    "'R', 'REP', 'REPUBLICAN')",
        "election type differs from the elections table": "SELECT count(*) FROM voterfile.vote_history v "
                                                          "JOIN voterfile.elections e USING (election_date) "
                                                          "WHERE v.election_type <> e.election_type",
        "unclean sign-up status": "SELECT count(*) FROM mobilize.signups WHERE status NOT IN "
                                  "('registered', 'confirmed', 'attended', 'cancelled', 'no_show')",
        "email with white space other than spaces": "SELECT count(*) FROM (SELECT email FROM voterfile.people "
                                                    "UNION ALL SELECT email FROM mobilize.signups) "
                                                    "WHERE regexp_matches(email, '[\\t\\n\\r]')",
        "refunded is NULL": "SELECT count(*) FROM actblue.donations WHERE refunded IS NULL",
        "donation outside 2023-2024 (local time)": "SELECT count(*) FROM actblue.donations WHERE year(donated_at "
                                                   "AT TIME ZONE 'America/New_York') NOT IN (2023, 2024)",
    }
    con = duckdb.connect(str(built[which]), read_only=True)
    try:
        for name, sql in checks.items():
            assert con.execute(sql).fetchone()[0] == 0, name
    finally:
        con.close()


def test_the_mess_is_there(learner):
    con = duckdb.connect(str(learner), read_only=True)

    def q(sql):
        return con.execute(sql).fetchone()[0]

    try:
        # the same person twice: same birth date, ZIP and (cleaned) last name, different ids
        dup_groups = q("""SELECT count(*) FROM (
            SELECT lower(trim(last_name)), birth_date, left(zip, 5) FROM voterfile.people
            WHERE birth_date <> DATE '1900-01-01' GROUP BY ALL HAVING count(*) > 1)""")
        assert 5 <= dup_groups <= 80, dup_groups
        assert q("""SELECT count(*) FROM voterfile.people a JOIN voterfile.people b
            ON lower(trim(a.last_name)) = lower(trim(b.last_name)) AND a.birth_date = b.birth_date
            AND left(a.zip, 5) = left(b.zip, 5) AND a.person_id < b.person_id
            WHERE a.first_name <> b.first_name OR a.last_name <> b.last_name""") > 0
        # party codes
        dem = {r[0] for r in con.execute(
            "SELECT DISTINCT party FROM voterfile.people WHERE upper(trim(party)) IN ('D', 'DEM', 'DEMOCRAT', 'DEMOCRATIC')").fetchall()}
        assert {"D", "DEM", "Democrat", "dem"} <= dem, dem
        assert q("SELECT count(*) FROM voterfile.people WHERE party IS NULL") > 0
        # emails: missing, mixed case, stray spaces
        assert q("SELECT count(*) FROM voterfile.people WHERE email IS NULL") > 100
        assert q("SELECT count(*) FROM voterfile.people WHERE email <> lower(email)") > 10
        assert q("SELECT count(*) FROM voterfile.people WHERE email <> trim(email)") > 5
        assert q("SELECT count(*) FROM actionnetwork.subscribers WHERE email <> lower(trim(email))") > 10
        # phones in several formats, ZIP+4, placeholder birth dates
        assert q("SELECT count(DISTINCT regexp_replace(phone, '[0-9]', '9', 'g')) FROM voterfile.people") >= 4
        assert q("SELECT count(*) FROM voterfile.people WHERE length(zip) = 10") > 0
        # time zones, refunds, cancellations, unmatched people
        assert q("SELECT count(DISTINCT timezone) FROM mobilize.events") >= 2
        assert q("SELECT count(*) FROM actblue.donations WHERE refunded") > 0
        assert q("SELECT count(*) FROM mobilize.signups WHERE status = 'cancelled'") > 0
        assert q("SELECT count(*) FROM mobilize.signups WHERE person_id IS NULL") > 0
        assert q("SELECT count(*) FROM actblue.donations WHERE person_id IS NULL") > 0
        assert q("SELECT count(*) FROM actionnetwork.subscribers WHERE person_id IS NULL") > 0
        assert q("SELECT count(DISTINCT status) FROM mobilize.signups") == 5
        assert q("SELECT count(DISTINCT result) FROM phonebank.contacts") == 7
    finally:
        con.close()


# ---------------------------------------------------------------- rows on every boundary

# Held-out seeds: any seed but the learner's. Workspace seeds are random, so these are too.
HELDOUT_SEEDS = [1, 2, 3, 5, 7, 8, 13, 21, 42, 99, 100, 123, 777, 1000, 2025, 2027, 4242, 31337, 500000, 999999]
BOUNDARY_SCALES = [0.01, wh.DEFAULT_SCALE]  # 100 voter records, and the held-out warehouse's own size

DEMOCRAT = "upper(trim(party)) IN ('D', 'DEM', 'DEMOCRAT', 'DEMOCRATIC')"

# Each boundary the exercises' filters depend on (docs/data-dictionary.md, "Rows on every boundary"):
# a query that counts the rows sitting on it. Written here on their own, not taken from boundaries.py.
BOUNDARY_PROBES = {
    # turnout, 2022 general: registration_date <= DATE '2022-10-24', election_date = DATE '2022-11-08'
    "registered the day before the 2022 deadline, voted 2022-11-08": """
        SELECT count(*) FROM voterfile.people p JOIN voterfile.vote_history v USING (person_id)
        WHERE p.registration_date = DATE '2022-10-23' AND v.election_date = DATE '2022-11-08'""",
    "registered on the 2022 deadline, active, voted 2022-11-08": """
        SELECT count(*) FROM voterfile.people p JOIN voterfile.vote_history v USING (person_id)
        WHERE p.registration_date = DATE '2022-10-24' AND p.voter_status = 'active'
          AND v.election_date = DATE '2022-11-08'""",
    "registered the day after the 2022 deadline": """
        SELECT count(*) FROM voterfile.people WHERE registration_date = DATE '2022-10-25'""",
    "inactive, registered on the 2022 deadline": """
        SELECT count(*) FROM voterfile.people
        WHERE registration_date = DATE '2022-10-24' AND voter_status = 'inactive'""",
    "registered the day after the 2022 deadline, in a district with a deadline voter": """
        SELECT count(*) FROM voterfile.people a JOIN voterfile.people b USING (state_house_district)
        WHERE a.registration_date = DATE '2022-10-24' AND b.registration_date = DATE '2022-10-25'""",
    # turnout, 2024 general (review-flow): registration_date <= DATE '2024-10-21', election 2024-11-05
    "registered the day before the 2024 deadline, voted 2024-11-05": """
        SELECT count(*) FROM voterfile.people p JOIN voterfile.vote_history v USING (person_id)
        WHERE p.registration_date = DATE '2024-10-20' AND v.election_date = DATE '2024-11-05'""",
    "registered on the 2024 deadline, voted 2024-11-05": """
        SELECT count(*) FROM voterfile.people p JOIN voterfile.vote_history v USING (person_id)
        WHERE p.registration_date = DATE '2024-10-21' AND v.election_date = DATE '2024-11-05'""",
    "registered the day after the 2024 deadline": """
        SELECT count(*) FROM voterfile.people WHERE registration_date = DATE '2024-10-22'""",
    # party codes (sql-conflict): upper(trim(party)) IN (...), and COUNT(email)
    "active Democrat spelled with a trailing space": f"""
        SELECT count(*) FROM voterfile.people
        WHERE voter_status = 'active' AND {DEMOCRAT} AND party <> trim(party)""",
    "active Democrat spelled in lower case": f"""
        SELECT count(*) FROM voterfile.people
        WHERE voter_status = 'active' AND {DEMOCRAT} AND party = lower(party)""",
    "active Democrat with no email": f"""
        SELECT count(*) FROM voterfile.people
        WHERE voter_status = 'active' AND {DEMOCRAT} AND email IS NULL""",
    "active voter with no party": """
        SELECT count(*) FROM voterfile.people WHERE voter_status = 'active' AND party IS NULL""",
    "active voter of another party": f"""
        SELECT count(*) FROM voterfile.people WHERE voter_status = 'active' AND NOT {DEMOCRAT}""",
    # "not voted since 2022" in PA-07 (explore-warehouse): election_date >= DATE '2022-01-01'
    "PA-07 voter who never voted": """
        SELECT count(*) FROM voterfile.people p WHERE congressional_district = 'PA-07'
          AND NOT EXISTS (SELECT 1 FROM voterfile.vote_history v WHERE v.person_id = p.person_id)""",
    "PA-07 voter whose last vote was before 2022": """
        SELECT count(*) FROM voterfile.people p WHERE congressional_district = 'PA-07'
          AND (SELECT max(election_date) FROM voterfile.vote_history v WHERE v.person_id = p.person_id)
              < DATE '2022-01-01'""",
    "PA-07 voter whose only vote since 2022 is the first election of 2022": """
        SELECT count(*) FROM voterfile.people p WHERE congressional_district = 'PA-07'
          AND (SELECT list(election_date) FROM voterfile.vote_history v
               WHERE v.person_id = p.person_id AND election_date >= DATE '2022-01-01')
              = [(SELECT min(election_date) FROM voterfile.elections WHERE election_date >= DATE '2022-01-01')]""",
    # emails (explore-warehouse's n_emails, check-loop): lower(trim(email)), and NULL
    "one address typed with capitals and spaces at both ends, and typed clean": """
        SELECT count(*) FROM voterfile.people a JOIN voterfile.people b ON b.email = lower(trim(a.email))
        WHERE a.email LIKE ' %' AND a.email LIKE '% ' AND a.email <> lower(a.email)""",
    "voter record with no email": "SELECT count(*) FROM voterfile.people WHERE email IS NULL",
    # monthly totals (explore-warehouse): months in America/New_York, refunded
    "11:30 pm on 31 January 2023 here, February in UTC": """
        SELECT count(*) FROM actblue.donations WHERE NOT refunded
          AND donated_at = timezone('America/New_York', TIMESTAMP '2023-01-31 23:30:00')""",
    "exactly local midnight on the first of a month": """
        SELECT count(*) FROM actblue.donations WHERE NOT refunded
          AND (donated_at AT TIME ZONE 'America/New_York') = date_trunc('month', donated_at AT TIME ZONE 'America/New_York')""",
    "exactly midnight UTC on the first of a month, the month before here": """
        SELECT count(*) FROM actblue.donations WHERE NOT refunded
          AND (donated_at AT TIME ZONE 'UTC') = date_trunc('month', donated_at AT TIME ZONE 'UTC')
          AND month(donated_at AT TIME ZONE 'UTC') <> month(donated_at AT TIME ZONE 'America/New_York')""",
    "refunded donation (amount still positive)": """
        SELECT count(*) FROM actblue.donations WHERE refunded AND amount > 0 AND refunded_at > donated_at""",
    # sign-ups (first-flow, explore-warehouse's attended_share)
    "same email typed two ways on one event, one attended": """
        SELECT count(*) FROM mobilize.signups a JOIN mobilize.signups b
          ON a.event_id = b.event_id AND a.signup_id < b.signup_id
         AND lower(trim(a.email)) = lower(trim(b.email)) AND a.email <> b.email
        WHERE 'attended' IN (a.status, b.status) AND 'cancelled' NOT IN (a.status, b.status)""",
    "sign-up with no email that attended": """
        SELECT count(*) FROM mobilize.signups WHERE email IS NULL AND status = 'attended'""",
    "cancelled sign-up on an event with other sign-ups": """
        SELECT count(*) FROM mobilize.signups c WHERE c.status = 'cancelled' AND EXISTS (
          SELECT 1 FROM mobilize.signups o WHERE o.event_id = c.event_id AND o.status <> 'cancelled')""",
    "event whose only sign-ups are cancelled": """
        SELECT count(*) FROM (SELECT event_id FROM mobilize.signups GROUP BY event_id
                              HAVING bool_and(status = 'cancelled'))""",
}


def _missing_boundaries(path: Path) -> list[str]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return [name for name, sql in BOUNDARY_PROBES.items() if con.execute(sql).fetchone()[0] < 1]
    finally:
        con.close()


@pytest.mark.parametrize("scale", BOUNDARY_SCALES)
@pytest.mark.parametrize("seed", HELDOUT_SEEDS)
def test_every_heldout_warehouse_has_a_row_on_every_boundary(tmp_path, seed, scale):
    path = wh.build(tmp_path / "w.duckdb", seed=seed, scale=scale)
    assert _missing_boundaries(path) == []
    assert wh.read_meta(path)["boundary_rows"] == "planted"


def test_boundary_rows_depend_on_the_seed_only(built, tmp_path):
    from flowcamp.warehouse import boundaries

    sizes = wh._sizes(99, SMALL)
    assert boundaries.statements(99, sizes) == boundaries.statements(99, sizes), "the same seed gives the same rows"
    assert boundaries.statements(99, sizes) != boundaries.statements(100, sizes), "another seed, other names and places"
    assert boundaries.statements(wh.LEARNER_SEED, sizes) == []
    # the generated rows are the same with or without the planted ones: these come after them, with the next ids
    planted = contents(built["other_seed"])
    assert len(planted["voterfile.people"]) > sizes["people"]
    assert planted["voterfile.people"][sizes["people"]][0] == sizes["people"] + 1


def test_the_learner_warehouse_is_as_the_lessons_quote_it(tmp_path):
    """No rows are planted in the learner warehouse: the figures the lessons and hints quote stay true."""
    path = wh.build(tmp_path / "learner.duckdb")  # the learner seed, default scale
    quoted = {
        # lessons/03-warehouse/01-sql-from-python.md
        "SELECT count(*) FROM voterfile.people": 10_000,
        "SELECT count(*) FROM voterfile.people WHERE voter_status = 'active'": 9_205,
        "SELECT count(*) FROM voterfile.people WHERE congressional_district = 'PA-01'": 291,
        "SELECT count(*) FROM voterfile.people WHERE congressional_district = 'PA-02'": 1_532,
        "SELECT sum(amount) FROM actblue.donations": 271_272,
        # lessons/00-orientation/02-the-check-loop.md
        "SELECT count(DISTINCT congressional_district) FROM voterfile.people": 17,
        # tests/alternatives/explore-warehouse/wrong-hand-typed (read off the learner warehouse)
        "SELECT count(DISTINCT lower(trim(email))) FROM voterfile.people": 5_358,
        """SELECT count(*) FROM voterfile.people p WHERE congressional_district = 'PA-07' AND NOT EXISTS (
             SELECT 1 FROM voterfile.vote_history v
             WHERE v.person_id = p.person_id AND v.election_date >= DATE '2022-01-01')""": 105,
    }
    con = duckdb.connect(str(path), read_only=True)
    try:
        for sql, figure in quoted.items():
            assert con.execute(sql).fetchone()[0] == figure, sql
    finally:
        con.close()
    assert wh.read_meta(path)["boundary_rows"] == "none"


# ---------------------------------------------------------------- read_meta / ensure


@pytest.fixture
def quick_generator(monkeypatch):
    """Swap the generator for a tiny one: these tests are about files, not data."""
    real = whb._statements

    def tiny(seed, scale):
        meta = [s for s in real(seed, scale) if "_flowcamp.meta" in s]
        return ["CREATE SCHEMA _flowcamp", "CREATE SCHEMA voterfile",
                f"CREATE TABLE voterfile.people AS SELECT range AS person_id FROM range({seed % 7 + 1})",
                *meta]

    monkeypatch.setattr(whb, "_statements", tiny)
    return tiny


def test_read_meta_of_things_that_are_not_warehouses(tmp_path):
    assert wh.read_meta(tmp_path / "missing.duckdb") is None
    text = tmp_path / "notes.duckdb"
    text.write_text("not a database")
    assert wh.read_meta(text) is None
    plain = tmp_path / "plain.duckdb"
    duckdb.connect(str(plain)).close()
    assert wh.read_meta(plain) is None
    assert wh.read_meta(tmp_path) is None


def test_ensure_builds_only_when_needed(tmp_path, monkeypatch, quick_generator):
    path = tmp_path / "w.duckdb"
    calls = []
    real_write = whb._write

    def counting_write(path, seed, scale, threads=None):
        calls.append(seed)
        return real_write(path, seed, scale, threads)

    monkeypatch.setattr(whb, "_write", counting_write)
    scale = 0.02
    assert wh.ensure(path, seed=5, scale=scale) == path
    assert calls == [5]
    wh.ensure(str(path), seed=5, scale=scale)
    assert calls == [5], "an up-to-date warehouse must not be rebuilt"
    wh.ensure(path, seed=6, scale=scale)
    assert calls == [5, 6] and wh.read_meta(path)["seed"] == 6
    wh.ensure(path, seed=6, scale=0.03)
    assert len(calls) == 3 and wh.read_meta(path)["scale"] == 0.03
    monkeypatch.setattr(whb, "SCHEMA_VERSION", wh.SCHEMA_VERSION + 1)
    wh.ensure(path, seed=6, scale=0.03)
    assert len(calls) == 4, "a new SCHEMA_VERSION must trigger a rebuild"
    path.write_bytes(b"garbage")
    wh.ensure(path, seed=6, scale=0.03)
    assert len(calls) == 5 and wh.read_meta(path)["seed"] == 6
    assert sorted(p.name for p in tmp_path.iterdir()) == ["w.duckdb"]


def test_concurrent_ensures_build_once(tmp_path, monkeypatch, quick_generator):
    import threading
    import time

    path = tmp_path / "shared.duckdb"
    calls = []
    real_write = whb._write

    def slow_write(*args, **kwargs):
        calls.append(1)
        time.sleep(0.2)
        return real_write(*args, **kwargs)

    monkeypatch.setattr(whb, "_write", slow_write)
    errors = []

    def worker():
        try:
            wh.ensure(path, seed=11, scale=0.02)
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(e)

    workers = [threading.Thread(target=worker) for _ in range(3)]
    for t in workers:
        t.start()
    for t in workers:
        t.join()
    assert not errors, errors
    assert wh.read_meta(path)["seed"] == 11
    if os.name == "posix":
        assert len(calls) == 1, "the others should wait for the first build and use it"


# ---------------------------------------------------------------- atomic writes and errors


def test_failed_build_leaves_no_half_file(tmp_path, monkeypatch, quick_generator):
    real = quick_generator

    def failing(seed, scale):
        return real(seed, scale)[:3] + ["SELECT error('boom in the middle of the build')"]

    monkeypatch.setattr(whb, "_statements", failing)
    path = tmp_path / "new.duckdb"
    with pytest.raises(duckdb.Error, match="boom"):
        wh.build(path, scale=0.02)
    assert sorted(p.name for p in tmp_path.iterdir()) == []

    # an existing warehouse survives a failed rebuild untouched
    monkeypatch.setattr(whb, "_statements", real)
    wh.build(path, seed=1, scale=0.02)
    before = path.read_bytes()
    monkeypatch.setattr(whb, "_statements", failing)
    with pytest.raises(duckdb.Error):
        wh.build(path, seed=2, scale=0.02)
    assert path.read_bytes() == before
    assert wh.read_meta(path)["seed"] == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["new.duckdb"]


def test_build_replaces_an_old_file_and_makes_folders(tmp_path, quick_generator):
    path = tmp_path / "deep" / "er" / "w.duckdb"
    assert wh.build(path, seed=3, scale=0.02) == path
    wh.build(str(path), seed=4, scale=0.02)
    assert wh.read_meta(path)["seed"] == 4
    assert not Path(str(path) + ".tmp").exists()


@pytest.mark.parametrize("scale", [0, -1, -0.5, math.nan, math.inf])
def test_bad_scale_is_a_plain_value_error(tmp_path, scale, quick_generator):
    with pytest.raises(ValueError, match="scale must be a number greater than 0"):
        wh.build(tmp_path / "w.duckdb", scale=scale)
    with pytest.raises(ValueError, match="scale"):
        wh.ensure(tmp_path / "w.duckdb", scale=scale)
    assert not (tmp_path / "w.duckdb").exists()


def test_path_that_is_a_folder_is_an_error(tmp_path, quick_generator):
    with pytest.raises(IsADirectoryError, match="is a folder"):
        wh.build(tmp_path, scale=0.02)
    with pytest.raises(IsADirectoryError):
        wh.ensure(tmp_path, scale=0.02)


def test_bad_seed_is_an_error(tmp_path, quick_generator):
    with pytest.raises(TypeError, match="seed"):
        wh.build(tmp_path / "w.duckdb", seed="2026", scale=0.02)
    with pytest.raises(TypeError, match="seed"):
        wh.build(tmp_path / "w.duckdb", seed=1.5, scale=0.02)


def test_table_counts_of_a_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError):
        wh.table_counts(tmp_path / "nothing.duckdb")


def test_constants():
    assert wh.LEARNER_SEED == 2026
    assert wh.DEFAULT_SCALE == 1.0
    assert isinstance(wh.SCHEMA_VERSION, int)
