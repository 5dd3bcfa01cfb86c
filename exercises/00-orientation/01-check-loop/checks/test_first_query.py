"""Checks for exercise check-loop: first_query.py counts voter records per congressional district."""

import duckdb
import pytest

FILE = "first_query.py"


_ONCE: dict = {}  # the learner's rows and the right answer, worked out once per check run and shared


def _expected(pristine):
    """The right answer, worked out with the check's own SQL from the held-out warehouse as flowcamp built it
    (never from the copy the learner's code was given: that code could have changed it)."""
    if "expected" not in _ONCE:
        _ONCE["expected"] = _query_expected(pristine)
    return _ONCE["expected"]


def _query_expected(pristine):
    with duckdb.connect(str(pristine), read_only=True) as con:
        rows = con.execute(
            "SELECT congressional_district, count(*) FROM voterfile.people GROUP BY 1"
        ).fetchall()
    return dict(rows)


ENOUGH_ROWS = (
    "Your query gave {n} row(s): too few to judge. It should give one row per district, and the warehouse "
    "has {expected} districts. Is a LIMIT still cutting the list short, or a WHERE filtering rows out?"
)


def _learner_rows(learner, warehouse):
    """The learner's run() on the held-out warehouse, as (district, count) pairs: run once per check run, its
    rows (or the reason it gave none) shared by the three checks."""
    if "rows" not in _ONCE:
        try:
            _ONCE["rows"] = (True, _run_learner(learner, warehouse))
        except AssertionError as e:
            _ONCE["rows"] = (False, e)
    ok, value = _ONCE["rows"]
    if not ok:
        raise value
    return value


def _run_learner(learner, warehouse):
    mod = learner.load(FILE)
    run = learner.get(mod, "run")
    result = learner.call(run, str(warehouse))
    if result is None:
        raise AssertionError(
            f"run() in {FILE} gave back nothing (None). Keep the line "
            "`return con.execute(QUERY).fetchall()` at the end of run()."
        )
    try:
        rows = [tuple(row) for row in result]
    except TypeError:
        raise AssertionError(
            f"run() in {FILE} gave back {type(result).__name__}, not a list of rows. "
            "Keep the line `return con.execute(QUERY).fetchall()` at the end of run()."
        ) from None
    for row in rows:
        if len(row) != 2:
            raise AssertionError(
                f"Each row should have 2 values, the district and the count, but one row is {row!r}. "
                "SELECT exactly two columns: congressional_district and COUNT(*)."
            )
    return rows


@pytest.mark.points(2)
def test_one_row_per_district(learner, warehouse, pristine):
    """Every district appears exactly once"""
    rows = _learner_rows(learner, warehouse)
    expected = _expected(pristine)
    districts = [district for district, _ in rows]
    repeated = sorted({d for d in districts if districts.count(d) > 1}, key=str)
    assert not repeated, (
        f"Some districts appear more than once: {', '.join(map(str, repeated))}. "
        "Keep `GROUP BY congressional_district`, so you get one row per district."
    )
    unknown = [d for d in districts if d not in expected]
    assert not unknown, (
        f"The first column should hold districts like 'PA-01', but it has {unknown[0]!r}. "
        "Put congressional_district first in the SELECT, and the count second."
    )
    missing = sorted(set(expected) - set(districts), key=str)
    assert not missing, (
        f"Your query gave {len(rows)} rows, but the warehouse has {len(expected)} districts. "
        f"Missing, for example: {', '.join(map(str, missing[:3]))}. "
        "Is a LIMIT still cutting the list short? Remove it (TODO 1)."
    )


@pytest.mark.points(2)
def test_counts_are_right(learner, warehouse, pristine):
    """Each district has the right count"""
    rows = _learner_rows(learner, warehouse)
    expected = _expected(pristine)
    matched = [d for d, _ in rows if d in expected]
    assert len(matched) >= 2, ENOUGH_ROWS.format(n=len(rows), expected=len(expected))
    for district, count in rows:
        if district not in expected:
            continue  # the check above explains this one
        assert count == expected[district], (
            f"For {district}, your query counted {count!r}, but there are {expected[district]} rows "
            "in voterfile.people for that district. Count every row with COUNT(*). "
            "(If you typed numbers in by hand: the checks use a different copy of the data, "
            "so only a query gets them right.)"
        )


@pytest.mark.points(1)
def test_sorted_by_district(learner, warehouse, pristine):
    """The rows are sorted by district"""
    rows = _learner_rows(learner, warehouse)
    expected = _expected(pristine)
    districts = [district for district, _ in rows]
    known = [d for d in districts if d is not None]
    assert len(known) >= 2, ENOUGH_ROWS.format(n=len(rows), expected=len(expected))
    in_order = sorted(known)
    # Every district, largest first: only DESC does that (a few rows sorted by count can look backwards by chance).
    backwards = len(known) > 1 and known == in_order[::-1] and set(known) == set(expected)
    assert not backwards, (
        f"The rows are sorted by district, but backwards, largest first: "
        f"{', '.join(map(str, districts[:3]))}, and so on. DESC means largest first. "
        f"Remove DESC from the ORDER BY line, so it reads just ORDER BY congressional_district "
        f"and the smallest district ({in_order[0]}) comes first."
    )
    assert known == in_order, (
        f"The rows come in this order: {', '.join(map(str, districts[:5]))}"
        f"{', and more' if len(districts) > 5 else ''}. They should be sorted by district, smallest first: "
        f"{', '.join(map(str, in_order[:3]))}, and so on. Use ORDER BY congressional_district (TODO 2)."
    )
