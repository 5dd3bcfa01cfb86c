"""Builds pipeline/: a team's pipeline repository with about 30 commits by several people.

One commit, somewhere in the middle, changes the turnout filter (the WHERE line of
sql/turnout_by_district.sql). Later commits mention the filter in their message without
changing it. The seed picks the authors, the dates, which commit changes the filter and
the filter's old and new dates, so answers differ between learners. Dates are fixed per
seed, so commit hashes are the same every time the exercise is reset.

The files' text is this exercise's own (a template that changes commit by commit), and it is frozen:
changing it changes the commit hashes of every workspace's pipeline/.
"""

import random
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

from flowcamp.prepare import ScriptedRepo

PEOPLE = [
    ("Aisha Rahman", "aisha.rahman"), ("Ben Okafor", "ben.okafor"), ("Carmen Vidal", "carmen.vidal"),
    ("Dev Patel", "dev.patel"), ("Erin Walsh", "erin.walsh"), ("Farah Haddad", "farah.haddad"),
    ("Gabe Lindqvist", "gabe.lindqvist"), ("Hana Suzuki", "hana.suzuki"), ("Isaac Mensah", "isaac.mensah"),
    ("Jo Brennan", "jo.brennan"), ("Kai Moreno", "kai.moreno"), ("Lena Novak", "lena.novak"),
]
CUTOFFS = ["2022-10-11", "2022-10-14", "2022-10-17", "2022-10-21", "2022-10-24", "2022-10-28"]
VAGUE = ["Turnout tweaks for the field team", "Small fix to the turnout query",
         "Update turnout before the board meeting", "Turnout: as discussed on Monday's call"]

TURNOUT = """\
-- Turnout by state House district, 2022 general election.
-- Moved here from the Civis script "Turnout by district (weekly)".
{note}
SELECT
    p.state_house_district          AS {district},
    COUNT(DISTINCT p.person_id)     AS registered,
    COUNT(DISTINCT vh.person_id)    AS voted{pct}
FROM voterfile.people AS p
LEFT JOIN voterfile.vote_history AS vh
       ON vh.person_id = p.person_id
      AND vh.election_date = '2022-11-08'
WHERE p.registration_date <= '{cutoff}'
GROUP BY p.state_house_district
ORDER BY p.state_house_district;
"""
PCT = """,
    ROUND(100.0 * COUNT(DISTINCT vh.person_id)
          / NULLIF(COUNT(DISTINCT p.person_id), 0), 1) AS turnout_pct"""

DONORS = """\
-- Donors and money raised per month (ActBlue).
SELECT
    DATE_TRUNC('month', d.donated_at) AS month,{people}
    {total} AS raised
FROM actblue.donations AS d{where}
GROUP BY 1
ORDER BY 1;
"""

SIGNUPS = """\
-- Sign-ups per Mobilize event.
SELECT
    e.event_id,
    e.title,{etype}
    COUNT(s.signup_id) AS signups
FROM mobilize.events AS e
LEFT JOIN mobilize.signups AS s ON s.event_id = e.event_id{where}
GROUP BY ALL
ORDER BY signups DESC;
"""

LAPSED = """\
-- Donors who gave before but not in the last {months} months.
SELECT
    LOWER(TRIM(d.email)) AS email,
    MAX(d.donated_at)    AS last_gift
FROM actblue.donations AS d
GROUP BY 1
HAVING MAX(d.donated_at) < CURRENT_DATE - INTERVAL {months} MONTH
ORDER BY {order};
"""

PHONEBANK = """\
-- Phone bank contacts per week.
SELECT
    DATE_TRUNC('{unit}', c.contacted_at) AS week,
    COUNT(*) AS contacts
FROM phonebank.contacts AS c
GROUP BY 1
ORDER BY 1;
"""

RUNNER = '''\
"""Run every query in sql/ against the warehouse{saves}."""

import os{imports}
from pathlib import Path

import duckdb

HERE = Path(__file__).resolve().parent
WAREHOUSE = {warehouse}


def main() -> None:{check}
    with duckdb.connect(str(WAREHOUSE), read_only=True) as con:
        for sql_file in sorted((HERE / "sql").glob("*.sql")):{timer}
            rows = con.sql(sql_file.read_text()).fetchall()
            print(f"{{sql_file.name}}: {{len(rows)}} rows"{took}){save}


if __name__ == "__main__":
    main()
'''


def prepare(exercise_dir: Path, seed: int) -> dict:
    rng = random.Random(f"read-history-{seed}")

    people = rng.sample(PEOPLE, 5)
    changer, others = people[0], people[1:]
    old_cutoff, new_cutoff = rng.sample(CUTOFFS, 2)

    s = {  # the settings the file templates are filled with; commits change them one by one
        "note": "", "district": "district", "pct": "", "cutoff": old_cutoff,
        "people": "", "total": "SUM(d.amount)", "dwhere": "",
        "etype": "", "swhere": "", "months": 12, "order": "email", "unit": "day",
        "saves": "", "imports": "", "warehouse": 'HERE.parent / "warehouse.duckdb"', "check": "",
        "timer": "", "took": "", "save": "",
    }
    readme = ["# Team pipeline", "", "The queries and scripts that used to live in Civis, now in git.", ""]
    gitignore = []

    def files():
        out = {
            "README.md": "\n".join(readme) + "\n",
            "sql/turnout_by_district.sql": TURNOUT.format(**s),
            "sql/donors_by_month.sql": DONORS.format(people=s["people"], total=s["total"], where=s["dwhere"]),
            "sql/event_signups.sql": SIGNUPS.format(etype=s["etype"], where=s["swhere"]),
            "sql/lapsed_donors.sql": LAPSED.format(months=s["months"], order=s["order"]),
            "sql/phonebank_contacts.sql": PHONEBANK.format(unit=s["unit"]),
            "run_pipeline.py": RUNNER.format(**s),
        }
        if gitignore:
            out[".gitignore"] = "\n".join(gitignore) + "\n"
        return out

    def set_(**kw):
        return lambda: s.update(kw)

    def readme_add(*lines):
        return lambda: readme.extend(lines)

    def readme_fix():
        readme[2] = readme[2].replace("now in git", "now kept in git")

    # (message, change, files this commit brings in for the first time)
    fillers = [
        ("Add turnout by district, copied from Civis", None, ["sql/turnout_by_district.sql"]),
        ("Add a script that runs every query", None, ["run_pipeline.py"]),
        ("Add monthly donors query", None, ["sql/donors_by_month.sql"]),
        ("List the queries in the README", readme_add("## Queries", "", "- `sql/turnout_by_district.sql`",
                                                      "- `sql/donors_by_month.sql`", ""), []),
        ("Add sign-ups per event", None, ["sql/event_signups.sql"]),
        ("Print how long each query takes",
         set_(imports="\nimport time", timer="\n            start = time.perf_counter()",
              took=', f"({time.perf_counter() - start:.1f}s)"'), []),
        ("Donors: leave refunds out", set_(dwhere="\nWHERE d.amount > 0"), []),
        ("Turnout: add the share that voted", set_(pct=PCT), []),
        ("Add lapsed donors query", None, ["sql/lapsed_donors.sql"]),
        ("README: how to run the pipeline", readme_add("## Run it", "", "    python run_pipeline.py", ""), []),
        ("Sign-ups: split by event type", set_(etype="\n    e.event_type,"), []),
        ("Read the warehouse path from FLOWCAMP_WAREHOUSE",
         set_(warehouse='Path(os.environ.get("FLOWCAMP_WAREHOUSE", HERE.parent / "warehouse.duckdb"))'), []),
        ("Donors: round totals to whole dollars", set_(total="ROUND(SUM(d.amount))"), []),
        ("Add phone bank contacts per week", None, ["sql/phonebank_contacts.sql"]),
        ("Lapsed donors: 18 months, as agreed with finance", set_(months=18), []),
        ("README: who looks after what", readme_add("## Who looks after what", "",
                                                    "- Turnout: the data team", "- Donors: finance", ""), []),
        ("Turnout: clearer column name", set_(district="house_district"), []),
        ("Save each result as a CSV", set_(saves=" and save each result in out/",
                                           save='\n            con.sql(sql_file.read_text()).write_csv('
                                                'str(HERE / "out" / (sql_file.stem + ".csv")))'), []),
        ("Ignore the out/ folder", lambda: gitignore.append("out/"), []),
        ("Sign-ups: skip test events", set_(swhere="\nWHERE e.title NOT ILIKE '%test%'"), []),
        ("Phone bank: weeks start on Monday", set_(unit="week"), []),
        ("Fix a typo in the README", readme_fix, []),
        ("Donors: count people too", set_(people="\n    COUNT(DISTINCT LOWER(TRIM(d.email))) AS donors,"), []),
        ("Clearer message when the warehouse is missing",
         set_(check='\n    if not WAREHOUSE.exists():\n        raise SystemExit(f"No warehouse at {WAREHOUSE}")'), []),
        ("Lapsed donors: most recent first", set_(order="last_gift DESC"), []),
        ("README: list the newer queries", readme_add("More queries: `sql/event_signups.sql`, "
                                                      "`sql/lapsed_donors.sql`, `sql/phonebank_contacts.sql`."), []),
    ]
    real = (rng.choice(VAGUE), set_(cutoff=new_cutoff), [])
    decoy_readme = ("Explain the turnout filter in the README",
                    readme_add("## The turnout filter", "",
                               "The `WHERE` line of `sql/turnout_by_district.sql` decides who counts as registered.",
                               "Ask the data team before you change it.", ""), [])
    decoy_sql = ("Turnout: comment on the filter",
                 set_(note="-- Only people registered by the state's deadline count (see README).\n"), [])

    r = rng.randint(11, 17)  # position of the real change among the fillers
    d1 = rng.randint(r + 2, r + 5)
    d2 = rng.randint(d1 + 2, d1 + 5)
    plan = fillers[:r] + [real] + fillers[r:]
    plan.insert(d1, decoy_readme)
    plan.insert(d2, decoy_sql)

    # The learner's own commits, if any, are theirs: the repository has the neutral default identity.
    repo = ScriptedRepo(exercise_dir / "pipeline")
    eastern = timezone(timedelta(hours=-5))

    day = date(2024, 1, 8) + timedelta(days=rng.randint(0, 70))
    present = {"README.md"}
    last = len(plan)
    for i, (message, change, new_files) in enumerate(plan, start=1):
        if change:
            change()
        present.update(new_files)
        if (message, change, new_files) == real:
            name, user = changer
        elif message.startswith(("Explain the turnout", "Turnout: comment")) or i == last:
            name, user = rng.choice(others)
        else:
            name, user = rng.choice(people)
        for rel, text in files().items():
            if rel in present or rel == ".gitignore":
                repo.write(rel, text)
        hour, minute, second = rng.randint(9, 16), rng.randint(0, 59), rng.randint(0, 59)
        when = datetime(day.year, day.month, day.day, hour, minute, second, tzinfo=eastern)
        repo.commit(message, author=(name, f"{user}@example.org"), when=when)
        day += timedelta(days=rng.randint(1, 3))
        while day.weekday() >= 5:
            day += timedelta(days=1)
    return {"pipeline": {"start": repo.head()}}
