"""Rows on every boundary: a few hand-made rows added to every held-out warehouse.

The checks grade a learner's code against a held-out warehouse (a seed other
than LEARNER_SEED). A wrong filter is caught only if some row sits where the
right filter and the wrong one disagree: ``registration_date < DATE
'2022-10-24'`` and ``<= DATE '2022-10-24'`` give the same answer unless
somebody registered on 24 October 2022. The random generator puts rows on
such days only by chance, so a wrong answer was caught for some seeds and not
for others (and for none at all where the generator never reaches: nobody
registers on or after 21 October 2024). This module plants, for every seed and
every scale, at least one row exactly on each boundary the exercises' filters
depend on, and one just either side where that matters. docs/data-dictionary.md
("Rows on every boundary") lists them with the exercise and the wrong answer
each one catches.

Only held-out builds get them. The learner warehouse (LEARNER_SEED) is left
exactly as the generator makes it, because the lessons, hints and
alternatives quote figures read off it (10,000 voter records, 9,205 active
ones, `('PA-01', 291)`, a donation total of 271,272.00, ...), and adding rows
would make those figures false. Nothing grades against the learner warehouse
(Workspace.heldout_seed never equals LEARNER_SEED), so that costs nothing. (At
scale 1 the learner warehouse has rows like about two thirds of these by
chance.)

How the rows are made:

- They are appended after the generated rows, with the next ids (people,
  events, sign-ups and donations keep ids 1..n in stored order), and are the
  same for the same seed and scale: names, places and the months some rows
  fall in are drawn with ``random.Random`` seeded from the build's seed.
- They follow the rules the generated data follows, so a query that is right
  on the generated data is right on them: a voter votes at most once per
  election, never before registering or before registration + 15 days, only
  Democrats and Republicans vote in primaries; amounts are positive (a
  refund is ``refunded`` true with the amount still positive, as in ActBlue's
  export; the warehouse has no negative amounts); emails use example domains;
  sign-ups are made before the event starts; statuses, event types and vote
  methods are the clean values the data dictionary lists.
- Mess is only of the kinds the data dictionary documents and the checks
  clean away: upper case and spaces (never tabs or other white space) around
  emails, party codes spelled ``'D '`` or ``'dem'``, ``NULL`` emails and party
  codes. Sign-up statuses stay clean lower-case words: the first-flow checks
  accept an answer that does not clean them.
- Time stamps are written as a local time in America/New_York turned into an
  instant by DuckDB (``timezone(...)``), so the build needs no time-zone
  files in Python.
"""

from __future__ import annotations

import random
from datetime import date, timedelta

from .data import (
    EMAIL_DOMAINS,
    FIRST_NAMES,
    LAST_NAMES,
    LEARNER_SEED,
    PLACES,
    STREETS,
    _slug,
)
from .sql import _q, _Sql

NY = "America/New_York"

# The deadlines and elections the exercises filter on.
DEADLINE_2022, GENERAL_2022 = date(2022, 10, 24), date(2022, 11, 8)
DEADLINE_2024, GENERAL_2024 = date(2024, 10, 21), date(2024, 11, 5)
PRIMARY_2022, GENERAL_2020, GENERAL_2018 = date(2022, 5, 17), date(2020, 11, 3), date(2018, 11, 6)
ELECTION_TYPES = {GENERAL_2018: "general", GENERAL_2020: "general", PRIMARY_2022: "primary",
                  GENERAL_2022: "general", GENERAL_2024: "general"}

PEOPLE_COLUMNS = ("person_id", "first_name", "last_name", "email", "phone", "street_address", "city",
                  "state", "zip", "county", "congressional_district", "state_house_district", "party",
                  "birth_date", "registration_date", "voter_status")


def planted(seed: int) -> bool:
    """Whether a build with this seed gets the boundary rows: every build but the learner's."""
    return seed != LEARNER_SEED


def _local(ts: str) -> _Sql:
    """The instant at local time ``ts`` in Pennsylvania, as SQL."""
    return _Sql(f"timezone('{NY}', TIMESTAMP '{ts}')")


def _date(d: date | None) -> _Sql | None:
    return None if d is None else _Sql(f"DATE '{d.isoformat()}'")


def _values(rows: list[tuple]) -> str:
    return ",\n".join("(" + ", ".join(_q(v) for v in row) + ")" for row in rows)


def _insert(table: str, columns: tuple[str, ...], rows: list[tuple]) -> str:
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES\n{_values(rows)}"


class _People:
    """Made-up voter records, drawn from the generator's lists with a seeded random.Random."""

    def __init__(self, rng: random.Random, first_id: int):
        self.rng = rng
        self.next_id = first_id
        self.rows: list[tuple] = []
        self.votes: list[tuple] = []
        self.by_name: dict[str, dict] = {}

    def identity(self, place: tuple) -> dict:
        rng = self.rng
        first = rng.choice(FIRST_NAMES)[0]
        last = rng.choice(LAST_NAMES)
        domain = rng.choice([d for d, _ in EMAIL_DOMAINS])
        local = f"{_slug(first)}.{_slug(last)}{rng.randint(1, 999)}"
        street, suffix = rng.choice(STREETS)
        return {
            "first": first, "last": last,
            "email": f"{local}@{domain}",
            # the same address typed with capitals and a space at both ends
            "messy_email": f" {local.title()}@{domain.upper()} ",
            "phone": f"({place[6]}) 555-{rng.randint(1000, 9999)}",
            "street": f"{1 + rng.randint(0, 4998)} {street} {suffix}",
            "birth": date(1945, 1, 1) + timedelta(days=rng.randint(0, 45 * 365)),
            "place": place,
        }

    def add(self, key: str, place: tuple, house_district: int, *, registered: date, party: str | None,
            status: str = "active", email: bool = True, votes: tuple[date, ...] = (),
            identity: dict | None = None, email_text: str | None = None) -> int:
        """One voter record (and its votes); returns its person_id."""
        who = identity or self.identity(place)
        assert registered.year - who["birth"].year > 18, (key, who["birth"], registered)
        zip5, city, county, cd = place[0], place[1], place[2], place[3]
        pid = self.next_id
        self.next_id += 1
        if email_text is None:
            email_text = who["email"] if email else None
        self.rows.append((
            pid, who["first"], who["last"], email_text, who["phone"], who["street"], city, "PA", zip5,
            county, f"PA-{cd:02d}", f"HD-{house_district:03d}", party, _date(who["birth"]),
            _date(registered), status,
        ))
        for day in votes:
            assert day >= registered + timedelta(days=15), (key, day)
            method = self.rng.choice(["in_person", "in_person", "mail", "early"])
            self.votes.append((pid, _date(day), ELECTION_TYPES[day], method))
        self.by_name[key] = {**who, "person_id": pid}
        return pid


def statements(seed: int, s: dict[str, int]) -> list[str]:
    """The INSERT statements that add the boundary rows (none for the learner seed).

    ``s`` is the table sizes from common._sizes(): the generated tables hold
    exactly that many rows, so the planted rows take the ids after them.
    """
    if not planted(seed):
        return []
    rng = random.Random(f"flowcamp:boundaries:{seed}")
    people = _People(rng, s["people"] + 1)

    # -- Turnout (first-repository's query, graded in one-character and branch-merge; review-flow's
    #    2024 version) and party codes (sql-conflict): one state House district outside PA-07 holds a
    #    voter on the deadline and on each side of it, for both registration deadlines.
    here = rng.choice([p for p in PLACES if p[3] != 7])
    hd = rng.choice([here[4], here[5]])
    people.add("reg_2022_day_before", here, hd, registered=DEADLINE_2022 - timedelta(days=1), party="D",
               votes=(GENERAL_2022, GENERAL_2024))
    # registered on the deadline: exactly 15 days before the election, so eligible and voting
    people.add("reg_2022_on_deadline", here, hd, registered=DEADLINE_2022, party="D ",
               votes=(GENERAL_2022, GENERAL_2024))
    people.add("reg_2022_day_after", here, hd, registered=DEADLINE_2022 + timedelta(days=1), party="dem",
               email=False, votes=(GENERAL_2024,))
    people.add("inactive_on_deadline", here, hd, registered=DEADLINE_2022, party="R", status="inactive",
               email=False)
    people.add("reg_2024_day_before", here, hd, registered=DEADLINE_2024 - timedelta(days=1),
               party="Democratic", votes=(GENERAL_2024,))
    people.add("reg_2024_on_deadline", here, hd, registered=DEADLINE_2024, party="DEM", votes=(GENERAL_2024,))
    people.add("reg_2024_day_after", here, hd, registered=DEADLINE_2024 + timedelta(days=1), party="NPA")
    # an active voter with no party at all
    people.add("party_null", here, hd, registered=date(2016, 3, 14), party=None, votes=(GENERAL_2020,))

    # -- "Has not voted since 2022" in PA-07 (explore-warehouse): never voted, last voted before
    #    2022, and voted only in the first election on or after 1 January 2022.
    pa07 = rng.choice([p for p in PLACES if p[3] == 7])
    hd07 = rng.choice([pa07[4], pa07[5]])
    people.add("pa07_never_voted", pa07, hd07, registered=date(2012, 9, 4), party="D")
    people.add("pa07_last_voted_2020", pa07, hd07, registered=date(2010, 5, 3), party="R",
               votes=(GENERAL_2018, GENERAL_2020))
    people.add("pa07_voted_2022_primary", pa07, hd07, registered=date(2010, 5, 3), party="D",
               votes=(GENERAL_2020, PRIMARY_2022))

    # -- One address typed two ways (explore-warehouse's n_emails): a person and their duplicate
    #    record, the second with capitals and spaces at both ends of the same address.
    there = rng.choice(PLACES)
    hd_there = rng.choice([there[4], there[5]])
    people.add("email_clean", there, hd_there, registered=date(2014, 2, 10), party="D",
               votes=(GENERAL_2018, GENERAL_2020))
    twin = people.by_name["email_clean"]
    people.add("email_messy_duplicate", there, hd_there, registered=date(2021, 6, 1), party="DEM",
               identity=twin, email_text=twin["messy_email"], votes=(GENERAL_2022,))

    stmts = [
        _insert("voterfile.people", PEOPLE_COLUMNS, people.rows),
        _insert("voterfile.vote_history", ("person_id", "election_date", "election_type", "vote_method"),
                people.votes),
    ]
    stmts += _mobilize(rng, s, people.by_name, here)
    stmts += _actblue(rng, s, people.by_name)
    return stmts


def _mobilize(rng: random.Random, s: dict[str, int], who: dict[str, dict], place: tuple) -> list[str]:
    """Two events (first-flow, explore-warehouse's attended_share).

    The first has one person signed up twice with the same email typed two
    ways (one sign-up attended), a cancelled sign-up, a sign-up with no email
    and a no-show. The second has only a cancelled sign-up, so it gets no row
    in analytics.event_attendance.
    """
    e1, e2 = s["events"] + 1, s["events"] + 2
    day1 = date(2023, 9, 2) + timedelta(days=rng.randint(0, 420))
    day2 = date(2023, 9, 2) + timedelta(days=rng.randint(0, 420))
    start1 = _local(f"{day1.isoformat()} 10:00:00")
    start2 = _local(f"{day2.isoformat()} 18:00:00")
    city = place[1]
    events = [
        (e1, f"Door knock in {city}", "canvass", start1, _Sql(f"{start1} + INTERVAL 3 HOUR"), NY, city, "PA", False),
        (e2, "Evening phone bank", "phone_bank", start2, _Sql(f"{start2} + INTERVAL 2 HOUR"), NY, None, None, True),
    ]
    a, b, c = who["reg_2022_on_deadline"], who["email_clean"], who["reg_2022_day_before"]
    who_by_id = {w["person_id"]: w for w in (a, b, c)}
    sid = s["signups"]
    signups = []
    for i, (event, start, person, first, last, email, status) in enumerate([
        (e1, start1, a["person_id"], a["first"], a["last"], a["email"], "registered"),
        (e1, start1, a["person_id"], a["first"], a["last"], a["messy_email"], "attended"),
        (e1, start1, b["person_id"], b["first"], b["last"], b["email"], "cancelled"),
        (e1, start1, None, rng.choice(FIRST_NAMES)[0], rng.choice(LAST_NAMES), None, "attended"),
        (e1, start1, c["person_id"], c["first"], c["last"], c["email"], "no_show"),
        (e2, start2, b["person_id"], b["first"], b["last"], b["email"], "cancelled"),
    ], start=1):
        created = _Sql(f"{start} - INTERVAL {rng.randint(1, 20)} DAY - INTERVAL {rng.randint(0, 23)} HOUR")
        zip5 = None if person is None else who_by_id[person]["place"][0]
        signups.append((sid + i, event, person, first, last, email, None, zip5, status, created))
    return [
        _insert("mobilize.events", ("event_id", "title", "event_type", "starts_at", "ends_at", "timezone", "city",
                                    "state", "is_virtual"), events),
        _insert("mobilize.signups", ("signup_id", "event_id", "person_id", "first_name", "last_name", "email",
                                     "phone", "zip", "status", "created_at"), signups),
    ]


def _actblue(rng: random.Random, s: dict[str, int], who: dict[str, dict]) -> list[str]:
    """Donations on month edges, and a refund (explore-warehouse's monthly_totals).

    - 11:30 pm on 31 January 2023 in Pennsylvania: January here, February in
      UTC. It is the first month of the data, so nothing moves into January
      in UTC and a UTC answer can never match.
    - exactly local midnight on the first of a month (that month, here and in UTC);
    - exactly midnight UTC on the first of a month: still the month before here;
    - a refunded donation (the amount stays positive).
    """
    months = [date(2023 + m // 12, m % 12 + 1, 1) for m in range(1, 24)]  # February 2023 .. December 2024
    m_local, m_utc, m_refund = rng.sample(months, 3)
    p, q = who["reg_2022_day_before"], who["email_clean"]
    did = s["donations"]
    rows = []
    for i, (donor, when, amount, refunded) in enumerate([
        (p, _local("2023-01-31 23:30:00"), 50, False),
        (q, _local(f"{m_local.isoformat()} 00:00:00"), 25, False),
        (p, _Sql(f"TIMESTAMPTZ '{m_utc.isoformat()} 00:00:00+00'"), 100, False),
        (q, _local(f"{m_refund.isoformat()} 12:15:00"), 250, True),
    ], start=1):
        refunded_at = _Sql(f"{when} + INTERVAL 3 DAY") if refunded else None
        rows.append((did + i, donor["person_id"], donor["first"], donor["last"], donor["email"],
                     donor["place"][0], _Sql(f"{amount}::DECIMAL(10, 2)"), when, False, refunded, refunded_at,
                     None, None))
    return [_insert("actblue.donations", ("donation_id", "person_id", "donor_first_name", "donor_last_name",
                                          "donor_email", "zip", "amount", "donated_at", "is_recurring",
                                          "refunded", "refunded_at", "employer", "occupation"), rows)]
