"""Builds pipeline/: a team's turnout pipeline with 20-40 commits, where one commit deleted one character.

Everything comes from the seed: how many commits, their order, who made them, which character went
missing and in which commit. Dates are fixed, so the same seed always gives the same commit hashes.
prepare() returns the facts the checks need (the starting HEAD, the bad commit and the deleted character);
the checks rebuild them with flowcamp.prepare.build_facts.

Every text committed here is frozen: changing it changes the commit hashes of every workspace's pipeline/.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone
from pathlib import Path

from flowcamp.prepare import ScriptedRepo, shared_text


def _replace_once(text: str, old: str, new: str) -> str:
    assert text.count(old) == 1, old
    return text.replace(old, new)


SQL = "sql/turnout_by_district.sql"

# The course's turnout query, with typed dates and active voters only.
TURNOUT_SQL = """\
-- Turnout by state House district, 2022 general election.
-- Copied out of the Civis script "Turnout by district (weekly)".
-- Owner: data team.
--
-- One row per district: active registered voters, how many of them voted,
-- and the share that voted.

""" + _replace_once(
    _replace_once(shared_text("turnout_by_district.sql"), "'2022-11-08'", "DATE '2022-11-08'"),
    "WHERE p.registration_date <= '2022-10-24'\n",
    "WHERE p.voter_status = 'active'\n  AND p.registration_date <= DATE '2022-10-24'\n",
)

# The one-character deletions. Each keeps the SQL valid, and each makes the table silently wrong.
BUGS = [
    ("ROUND(100.0 * COUNT", "ROUND(10.0 * COUNT"),            # turnout shown ten times too small
    ("p.voter_status = 'active'", "p.voter_status = 'activ'"),  # no voter matches: the table is empty
    ("DATE '2022-11-08'", "DATE '2022-1-08'"),                  # 8 January 2022: nobody voted that day
]

BAD_MESSAGES = [
    "Tidy up the turnout query",
    "Line up the columns in the turnout SQL",
    "Small clean-up in turnout_by_district.sql",
    "Format the turnout query",
]

CHECK_TURNOUT = '''\
"""Is the turnout table right? Exit 0 if it looks right, 1 if not.

Builds the table from sql/turnout_by_district.sql in the DuckDB warehouse and
tests it. Use it on any commit, or let git bisect run it for you:

    git bisect run uv run python check_turnout.py

The warehouse is the file named by the FLOWCAMP_WAREHOUSE environment
variable, or else warehouse.duckdb three folders up (the workspace's own).
"""

import os
import sys
from pathlib import Path

import duckdb

HERE = Path(__file__).resolve().parent
SQL_FILE = HERE / "sql" / "turnout_by_district.sql"


def warehouse_path() -> Path:
    if os.environ.get("FLOWCAMP_WAREHOUSE"):
        return Path(os.environ["FLOWCAMP_WAREHOUSE"])
    return HERE / ".." / ".." / ".." / "warehouse.duckdb"


def problems(con) -> list:
    """What is wrong with the table, in words. An empty list means it looks right."""
    rows = con.sql(SQL_FILE.read_text()).fetchall()
    if not rows:
        return ["the table is empty"]
    found = []
    districts = con.sql(
        "SELECT COUNT(DISTINCT state_house_district) FROM voterfile.people "
        "WHERE voter_status = 'active'"
    ).fetchall()[0][0]
    if len(rows) != districts:
        found.append(f"{len(rows)} districts in the table, {districts} in the voter file")
    if sum(row[2] for row in rows) == 0:
        found.append("nobody voted in any district")
    for district, registered, voted, pct in rows:
        expected = round(100.0 * voted / registered, 1) if registered else None
        if pct is None or expected is None or abs(float(pct) - expected) > 0.15:  # rounding may differ by 0.1
            found.append(f"{district}: turnout_pct is {pct}, but {voted} of {registered} is {expected}")
            break
    return found


def main() -> int:
    path = warehouse_path()
    if not path.exists():
        print(f"No warehouse at {path}. Set FLOWCAMP_WAREHOUSE to its path.")
        return 125  # tells git bisect to skip, not to blame this commit
    with duckdb.connect(str(path), read_only=True) as con:
        try:
            found = problems(con)
        except duckdb.Error as e:
            found = [f"the SQL does not run: {e}"]
    if found:
        print("WRONG: " + "; ".join(found))
        return 1
    print("OK: the turnout table looks right")
    return 0


if __name__ == "__main__":
    sys.exit(main())
'''

RUN_TURNOUT = '''\
"""Run the turnout query and print the table."""

import os
from pathlib import Path

import duckdb

HERE = Path(__file__).resolve().parent
WAREHOUSE = os.environ.get("FLOWCAMP_WAREHOUSE", str(HERE / ".." / ".." / ".." / "warehouse.duckdb"))


def main() -> None:
    query = (HERE / "sql" / "turnout_by_district.sql").read_text()
    with duckdb.connect(WAREHOUSE, read_only=True) as con:
        con.sql(query).show()


if __name__ == "__main__":
    main()
'''

README = """\
# Turnout pipeline

The team's weekly turnout numbers, moved out of Civis.

- `sql/turnout_by_district.sql`: the turnout table, one row per state House district.
- `run_turnout.py`: prints the table.
- `check_turnout.py`: says whether the table looks right (exit 0) or not (exit 1).
"""

OTHER_SQL = {
    "sql/donations_by_month.sql": """\
-- ActBlue donations per month.
SELECT date_trunc('month', donated_at) AS month,
       COUNT(*) AS donations,
       SUM(amount) AS total
FROM actblue.donations
GROUP BY 1
ORDER BY 1;
""",
    "sql/event_signups.sql": """\
-- Sign-ups per Mobilize event.
SELECT e.event_id, e.title, COUNT(s.signup_id) AS signups
FROM mobilize.events AS e
LEFT JOIN mobilize.signups AS s ON s.event_id = e.event_id
GROUP BY e.event_id, e.title
ORDER BY signups DESC;
""",
    "sql/email_list_size.sql": """\
-- Action Network subscribers, by status.
SELECT status, COUNT(*) AS subscribers
FROM actionnetwork.subscribers
GROUP BY status
ORDER BY subscribers DESC;
""",
    "sql/phonebank_contacts.sql": """\
-- Phone bank contacts per day.
SELECT CAST(contacted_at AS DATE) AS day, COUNT(*) AS contacts
FROM phonebank.contacts
GROUP BY 1
ORDER BY 1;
""",
}

AUTHORS = [
    ("Maria Lopez", "maria@example.org"),
    ("Dev Patel", "dev@example.org"),
    ("Keisha Brown", "keisha@example.org"),
    ("Tom O'Neill", "tom@example.org"),
    ("Ana Kowalski", "ana@example.org"),
    ("Sam Nguyen", "sam@example.org"),
]

# Small notes for the changelog and the runbook; each becomes one ordinary commit.
NOTES = [
    ("Note that the sheet refreshes on Mondays", "The Google Sheet refreshes every Monday at 6am."),
    ("Record who to ask about the voter file", "Voter file questions go to the data lead."),
    ("Add the field team's contact channel", "Field team questions: #field-data."),
    ("Explain where the warehouse file lives", "The warehouse is the workspace's warehouse.duckdb."),
    ("Document the 2022 registration deadline", "Registration deadline for the 2022 general: 24 October."),
    ("Say that turnout counts active voters only", "Turnout counts active voter records only."),
    ("Note the special election in 2023", "The 7 February 2023 special election was in a few districts only."),
    ("Write down how to rebuild the warehouse", "Rebuild the warehouse with `uv run flowcamp data`."),
    ("Mention duplicate voter records", "A few people have two voter records; see the data dictionary."),
    ("Add a reminder to check the sheet after runs", "After each run, open the sheet and look at three districts."),
    ("Describe the turnout columns", "Columns: district, registered, voted, turnout_pct."),
    ("Note the donations query is in dollars", "Donation totals are in dollars, not cents."),
    ("Log the move from Civis", "Moved from the Civis script 'Turnout by district (weekly)'."),
    ("Note who reviews SQL changes", "SQL changes are reviewed by a second person."),
    ("Add the Monday checklist", "Monday: run, check, share the sheet link in #field-data."),
    ("Say what to do if numbers look low", "If turnout looks low, run check_turnout.py first."),
    ("Note that emails use example domains", "All emails in the sample data end in example.com/org/net."),
    ("Record the 2024 general date", "The 2024 general election was on 5 November 2024."),
    ("Explain the ORDER BY in the turnout query", "The turnout table is sorted by district."),
    ("Note the phone bank data source", "Phone bank contacts come from the calling tool."),
    ("Add a link to the data dictionary", "See docs/data-dictionary.md in the course for every column."),
    ("Note the time zone of timestamps", "Timestamps are TIMESTAMPTZ: convert before grouping by day."),
    ("Record the sheet's owner", "The Google Sheet belongs to the field director."),
    ("Write down the weekly run time", "The pipeline runs in about ten seconds."),
]

# Changes to the header of the turnout query. They sit far from the lines a bug can touch, so undoing the
# bad commit never collides with them. At least one of them always comes after the bad commit.
HEADER_EDITS = [
    ("Say who owns the turnout query",
     "-- Owner: data team.\n", "-- Owner: data team. Questions go to #data-help.\n"),
    ("Explain where the turnout query came from",
     "-- Copied out of the Civis script \"Turnout by district (weekly)\".\n",
     "-- Copied out of the Civis script \"Turnout by district (weekly)\" in March.\n"),
    ("Say which election the turnout query is for",
     "-- Turnout by state House district, 2022 general election.\n",
     "-- Turnout by state House district, 2022 general election (8 November 2022).\n"),
]


def prepare(exercise_dir: Path, seed: int) -> dict:
    rng = random.Random(f"one-character-{seed}")
    # The learner's own commits need an identity (a new learner may have no global git config): the default one.
    repo = ScriptedRepo(exercise_dir / "pipeline")

    when = datetime(2026, 1, 5, 9, 0, tzinfo=timezone(timedelta(hours=-5)))

    def commit(message: str, author: tuple[str, str]) -> str:
        nonlocal when
        when += timedelta(days=rng.choice([0, 1, 1, 2, 3]), hours=rng.randint(1, 5), minutes=rng.randint(0, 59))
        return repo.commit(message, author=author, when=when)

    authors = AUTHORS[:]
    rng.shuffle(authors)
    authors = authors[:rng.randint(3, 5)]

    def who() -> tuple[str, str]:
        return rng.choice(authors)

    # The first commit: the query, the runner and the check, as they came out of Civis.
    repo.write(SQL, TURNOUT_SQL)
    repo.write("run_turnout.py", RUN_TURNOUT)
    repo.write("check_turnout.py", CHECK_TURNOUT)
    repo.write("README.md", README)
    commit("Bring the turnout script over from Civis", authors[0])

    # The ordinary commits that follow, in a seed-chosen order.
    steps = []
    for rel, text in OTHER_SQL.items():
        steps.append((f"Add {Path(rel).stem.replace('_', ' ')} query", ("file", rel, text)))
    notes = rng.sample(NOTES, rng.randint(14, 24))
    for message, line in notes:
        target = rng.choice(["CHANGELOG.md", "RUNBOOK.md", "RUNBOOK.md"])
        steps.append((message, ("append", target, line)))
    rng.shuffle(steps)
    header = rng.sample(HEADER_EDITS, len(HEADER_EDITS))

    n = len(steps)
    bad_at = rng.randint(max(4, n // 3), n - n // 4)  # the bad commit comes after this many ordinary steps
    before, after = steps[:bad_at], steps[bad_at:]
    # Header edits: the first may come before the bad commit; the rest come after it.
    if rng.random() < 0.5:
        before.insert(rng.randint(0, len(before)), (header[0][0], ("header", header[0])))
        later_header = header[1:]
    else:
        later_header = header
    for edit in later_header:
        after.insert(rng.randint(1, len(after)), (edit[0], ("header", edit)))

    def apply(step) -> None:
        kind = step[0]
        if kind == "file":
            repo.write(step[1], step[2])
        elif kind == "append":
            rel, line = step[1], step[2]
            old = repo.read(rel) if repo.exists(rel) else f"# {Path(rel).stem.title()}\n\n"
            repo.write(rel, old + f"- {line}\n")
        else:
            _, old, new = step[1]
            repo.write(SQL, _replace_once(repo.read(SQL), old, new))

    for message, step in before:
        apply(step)
        commit(message, who())

    good, broken = rng.choice(BUGS)
    assert len(good) - len(broken) == 1
    repo.write(SQL, _replace_once(repo.read(SQL), good, broken))
    bad = commit(rng.choice(BAD_MESSAGES), who())

    for message, step in after:
        apply(step)
        commit(message, who())

    return {"pipeline": {"start": repo.head(), "bad": bad, "file": SQL, "good": good, "broken": broken}}
