"""Checks for exercise explore-warehouse: five answers in explore.ipynb, each filled by a query.

The notebook runs from the top in a Jupyter kernel of its own, on a copy of the held-out warehouse; only
the five answers come back, as plain data. The right answers are worked out here, with the checks' own
SQL, from the held-out warehouse as flowcamp built it, and before the notebook runs: nothing a cell does
(pointing FLOWCAMP_WAREHOUSE elsewhere, building a warehouse of its own, rewriting the check cells) can
change them. Each check's name, points and messages are those of the notebook's check cell.
"""

import re
from decimal import Decimal
from numbers import Integral, Real

import duckdb
import pytest

NOTEBOOK = "explore.ipynb"
ANSWERS = ["n_active", "n_emails", "monthly_totals", "attended_share", "n_lapsed"]
NOT_SET = ("{name} is not set yet. Write your answer in the cell above, in place of raise NotImplementedError(), "
           "and run that cell before this one. If it shows an error, fix that first.")
WHOLE = ("{name} should be a whole number, like 1234. If it is a query result (a table, or a list like [(1234,)]), "
         "take the number out with .fetchall()[0][0].")
_EXPECTED: dict = {}


def expected(pristine) -> dict:
    """Every right answer (and the values the common mistakes give), from the pristine warehouse, once."""
    if _EXPECTED:
        return _EXPECTED
    with duckdb.connect(str(pristine), read_only=True) as db:
        db.execute("SET enable_progress_bar = false")
        one = lambda sql: db.execute(sql).fetchall()[0]  # noqa: E731
        _EXPECTED["active"] = one(
            "SELECT count(*) FILTER (WHERE voter_status = 'active'), count(*) FROM voterfile.people")
        _EXPECTED["emails"] = one("""
            SELECT count(DISTINCT lower(trim(email))), count(DISTINCT email),
                   count(DISTINCT lower(email)), count(DISTINCT trim(email)), count(email)
            FROM voterfile.people""")
        totals = """SELECT date_trunc('month', donated_at AT TIME ZONE '{zone}') AS m, sum(amount)
                    FROM actblue.donations {where} GROUP BY m"""
        _EXPECTED["monthly"] = tuple(
            {m.strftime("%Y-%m"): round(float(t), 2) for m, t in db.execute(totals.format(zone=z, where=w)).fetchall()}
            for z, w in (("America/New_York", "WHERE refunded IS NOT TRUE"), ("America/New_York", ""),
                         ("UTC", "WHERE refunded IS NOT TRUE")))
        _EXPECTED["attended"] = tuple(float(x) for x in one("""
            SELECT avg(CASE WHEN status = 'attended' THEN 1.0 ELSE 0.0 END),
                   sum(CASE WHEN status = 'attended' THEN 1.0 ELSE 0.0 END)
                     / sum(CASE WHEN status <> 'cancelled' THEN 1.0 ELSE 0.0 END)
            FROM mobilize.signups"""))
        _EXPECTED["lapsed"] = one("""
            WITH d AS (SELECT person_id FROM voterfile.people WHERE congressional_district = 'PA-07'),
            recent AS (SELECT DISTINCT person_id FROM voterfile.vote_history WHERE election_date >= DATE '2022-01-01'),
            old AS (SELECT DISTINCT person_id FROM voterfile.vote_history WHERE election_date < DATE '2022-01-01')
            SELECT
                (SELECT count(*) FROM d WHERE person_id NOT IN (SELECT person_id FROM recent)),
                (SELECT count(*) FROM d WHERE person_id IN (SELECT person_id FROM old)
                                          AND person_id NOT IN (SELECT person_id FROM recent))""")
    return _EXPECTED


def run_notebook(notebook, pristine):
    """The expected values first (the notebook cannot touch them then), then the notebook's answers."""
    want = expected(pristine)
    return want, notebook.run(NOTEBOOK, answers=ANSWERS)


def whole_number(run, name):
    value = run.answer(name, NOT_SET.format(name=name))
    assert isinstance(value, Integral) and not isinstance(value, bool), WHOLE.format(name=name)
    return value


@pytest.mark.points(1)
def test_active(notebook, pristine):
    """n_active is the number of active voter records"""
    want, run = run_notebook(notebook, pristine)
    right, all_rows = want["active"]
    with run.checking("n_active"):
        n_active = whole_number(run, "n_active")
        assert n_active > 0, "n_active should be more than 0: most voter records are active."
        assert not (n_active == all_rows and all_rows != right), (
            "n_active counts every row of voterfile.people. Keep only the rows where voter_status is 'active'.")
        assert n_active == right, (
            "n_active is not the number of active voter records in the warehouse the checks use. "
            "Let a query compute it (count(*) with a where) instead of typing a number.")


@pytest.mark.points(2)
def test_emails(notebook, pristine):
    """n_emails counts each email address once, ignoring case and spaces"""
    want, run = run_notebook(notebook, pristine)
    right, as_typed, lowered, trimmed, rows = want["emails"]
    with run.checking("n_emails"):
        n_emails = whole_number(run, "n_emails")
        assert n_emails > 0, "n_emails should be more than 0: many people have an email."
        assert n_emails != rows or rows == right, (
            "n_emails counts every row that has an email. Count each address only once: count(distinct ...).")
        assert n_emails != as_typed or as_typed == right, (
            "n_emails counts the addresses as typed, so 'Maria@Example.org' and 'maria@example.org ' count twice. "
            "Clean them first with lower(trim(email)).")
        assert n_emails != lowered or lowered == right, (
            "n_emails ignores capital letters but not the spaces around some addresses. Use trim() as well.")
        assert n_emails != trimmed or trimmed == right, (
            "n_emails ignores the spaces but not capital letters. Use lower() as well.")
        assert n_emails == right, (
            "n_emails is not the number of different email addresses in the warehouse the checks use. "
            "Count them with count(distinct lower(trim(email))), and do not type the number.")


def _month_key(m):
    if hasattr(m, "strftime"):
        return m.strftime("%Y-%m")
    if isinstance(m, str) and re.match(r"\d{4}-\d{2}", m):
        return m[:7]
    return None


def _same(a, b):
    return a.keys() == b.keys() and all(abs(a[k] - b[k]) < 0.006 for k in a)


def _monthly_rows(run):
    """The visible checks of monthly_totals: a list of (month, total) rows, one per month, oldest first."""
    rows = run.answer("monthly_totals", NOT_SET.format(name="monthly_totals"))
    assert isinstance(rows, (list, tuple)), (
        "monthly_totals should be a list of rows, like [(month, total), ...]. Add .fetchall() at the end of your query.")
    assert len(rows) > 0, "monthly_totals is empty. Check the where part of your query."
    assert all(isinstance(r, (list, tuple)) and len(r) == 2 for r in rows), (
        "Each row of monthly_totals should have two values: (month, total). Select only those two columns.")
    assert all(_month_key(r[0]) for r in rows), (
        "The first value of each row should be the month: a date such as the first day of the month, "
        "or text like '2024-03'. A month number alone (3) is not enough: the data covers several years.")
    months = [_month_key(r[0]) for r in rows]
    assert len(set(months)) == len(months), "Some months appear twice in monthly_totals. Group by month."
    assert months == sorted(months), "Put the oldest month first: add order by month to your query."
    return rows


@pytest.mark.points(3)
def test_monthly(notebook, pristine):
    """monthly_totals has the money raised each month, without refunds"""
    want, run = run_notebook(notebook, pristine)
    right, with_refunds, utc = want["monthly"]
    with run.checking("monthly_totals"):
        given = {}
        for month, total in _monthly_rows(run):
            try:
                given[_month_key(month)] = round(float(total), 2)
            except (TypeError, ValueError):
                raise AssertionError("The second value of each row of monthly_totals should be the total, "
                                     "a number.") from None
        assert not (_same(given, with_refunds) and not _same(right, with_refunds)), (
            "monthly_totals still counts refunded donations. Leave out the rows where refunded is true.")
        assert not (_same(given, utc) and not _same(right, utc)), (
            "monthly_totals counts months in UTC, not in Pennsylvania time. Use the connection con from the "
            "first cell, which is set to Pennsylvania time.")
        assert given.keys() == right.keys(), (
            "monthly_totals does not have the right months for the warehouse the checks use: it should have one "
            "row for every month with a donation that was not refunded. Compute it with a query; do not type it.")
        assert _same(given, right), (
            "Some monthly totals are not right for the warehouse the checks use. Add up amount per month, "
            "leave out refunded donations, and let the query compute the totals.")


@pytest.mark.points(2)
def test_attended(notebook, pristine):
    """attended_share is the share of all sign-ups that attended"""
    want, run = run_notebook(notebook, pristine)
    right, not_cancelled = want["attended"]
    with run.checking("attended_share"):
        share = run.answer("attended_share", NOT_SET.format(name="attended_share"))
        assert isinstance(share, (Real, Decimal)) and not isinstance(share, bool), (
            "attended_share should be a number, like 0.25. If it is a query result (a table, or a list like "
            "[(0.25,)]), take the number out with .fetchall()[0][0].")
        assert 0 < share <= 1, (
            "attended_share should be a fraction between 0 and 1, like 0.25, not a percent like 25. "
            "If you get 0, you may be dividing whole numbers: check the division.")
        given = float(share)
        assert not (abs(given - not_cancelled) < 1e-6 and abs(right - not_cancelled) >= 1e-6), (
            "attended_share leaves out the cancelled sign-ups. Divide by the number of all rows in mobilize.signups.")
        assert not any(abs(given - round(right, k)) < 1e-9 and abs(given - right) >= 1e-6 for k in range(1, 6)), (
            "attended_share looks rounded. Do not round it: give the full number the division gives you.")
        assert abs(given - right) < 1e-6, (
            "attended_share is not the share of sign-ups that attended in the warehouse the checks use. "
            "Divide the number of rows with status 'attended' by the number of all rows, with a query.")


@pytest.mark.points(2)
def test_lapsed(notebook, pristine):
    """n_lapsed counts PA-07 voter records with no vote since 2022"""
    want, run = run_notebook(notebook, pristine)
    right, voted_before = want["lapsed"]
    with run.checking("n_lapsed"):
        n_lapsed = whole_number(run, "n_lapsed")
        assert not (n_lapsed == voted_before and voted_before != right), (
            "n_lapsed leaves out people who have never voted at all (they have no rows in vote_history). "
            "They have not voted since 2022 either, so count them too: try a left join or not exists.")
        assert n_lapsed == right, (
            "n_lapsed is not the right count for the warehouse the checks use. Count the PA-07 voter records "
            "that have no vote_history row on or after 2022-01-01, with a query; do not type the number.")
