"""Constants and built-in lists the sample warehouse is generated from.

Changing any list (or its order) changes the generated data: bump
SCHEMA_VERSION when you do.
"""

from __future__ import annotations

LEARNER_SEED: int = 2026
"""The seed of the warehouse learners explore."""

DEFAULT_SCALE: float = 1.0
"""Scale 1 is about 10,000 voter records; scale 100 is about a million."""

HELDOUT_SCALE: float = 0.25
"""The scale of the held-out warehouses checks grade against (about 2,500 voter records, plus the rows on
every boundary). Small on purpose: a check copies it, runs the learner's code on it and computes its own
answer from it, and a flow passes its rows between tasks (Prefect walks every value it hands a task), so
each check's time grows with it. Large enough that every filter, join and group of the exercises still
has rows on each side; the curriculum tests prove every wrong alternative still fails on it."""

SCHEMA_VERSION: int = 2
"""Bump whenever the generator's output changes (tables, columns or values).

ensure() rebuilds any warehouse built with another version. 2: held-out
warehouses get the rows on every boundary (boundaries.py).
"""

PEOPLE_PER_SCALE = 10_000
SCHEMAS = ("voterfile", "mobilize", "actblue", "actionnetwork", "phonebank", "_flowcamp")

DUP_RATE = 0.03
"""Share of voter records that duplicate an earlier record."""

# --------------------------------------------------------------------------
# Built-in lists. Changing any of them changes the output: bump SCHEMA_VERSION.
# --------------------------------------------------------------------------

# (zip, city, county, congressional district, house district a, house district b,
#  area code, share of D among D+R, weight). Districts are plausible, not exact.
PLACES = [
    ("19104", "Philadelphia", "Philadelphia", 3, 188, 190, "215", 0.92, 6),
    ("19143", "Philadelphia", "Philadelphia", 3, 186, 191, "215", 0.95, 5),
    ("19139", "Philadelphia", "Philadelphia", 3, 190, 190, "215", 0.96, 4),
    ("19144", "Philadelphia", "Philadelphia", 3, 194, 201, "267", 0.93, 5),
    ("19121", "Philadelphia", "Philadelphia", 3, 181, 181, "267", 0.95, 4),
    ("19147", "Philadelphia", "Philadelphia", 3, 182, 184, "215", 0.88, 5),
    ("19125", "Philadelphia", "Philadelphia", 2, 175, 177, "215", 0.80, 4),
    ("19124", "Philadelphia", "Philadelphia", 2, 179, 180, "267", 0.85, 5),
    ("19149", "Philadelphia", "Philadelphia", 2, 173, 174, "215", 0.70, 4),
    ("19152", "Philadelphia", "Philadelphia", 2, 172, 172, "215", 0.58, 3),
    ("19148", "Philadelphia", "Philadelphia", 2, 184, 184, "267", 0.72, 4),
    ("15213", "Pittsburgh", "Allegheny", 12, 23, 24, "412", 0.88, 4),
    ("15206", "Pittsburgh", "Allegheny", 12, 24, 24, "412", 0.85, 3),
    ("15217", "Pittsburgh", "Allegheny", 12, 23, 23, "412", 0.86, 3),
    ("15212", "Pittsburgh", "Allegheny", 12, 20, 20, "412", 0.78, 3),
    ("15237", "Pittsburgh", "Allegheny", 17, 28, 30, "412", 0.52, 3),
    ("15102", "Bethel Park", "Allegheny", 17, 40, 40, "412", 0.50, 2),
    ("18102", "Allentown", "Lehigh", 7, 22, 134, "610", 0.75, 4),
    ("18104", "Allentown", "Lehigh", 7, 134, 187, "484", 0.58, 3),
    ("18015", "Bethlehem", "Northampton", 7, 135, 135, "610", 0.62, 3),
    ("18042", "Easton", "Northampton", 7, 136, 136, "610", 0.60, 2),
    ("19601", "Reading", "Berks", 6, 127, 129, "610", 0.74, 3),
    ("18505", "Scranton", "Lackawanna", 8, 113, 114, "570", 0.60, 3),
    ("18702", "Wilkes-Barre", "Luzerne", 8, 119, 121, "570", 0.50, 2),
    ("18201", "Hazleton", "Luzerne", 9, 116, 116, "570", 0.40, 1),
    ("16501", "Erie", "Erie", 16, 1, 2, "814", 0.62, 2),
    ("16509", "Erie", "Erie", 16, 4, 4, "814", 0.45, 1),
    ("17104", "Harrisburg", "Dauphin", 10, 103, 103, "717", 0.80, 2),
    ("17401", "York", "York", 10, 95, 95, "717", 0.66, 2),
    ("17602", "Lancaster", "Lancaster", 11, 49, 96, "717", 0.70, 3),
    ("17543", "Lititz", "Lancaster", 11, 13, 98, "717", 0.30, 1),
    ("16801", "State College", "Centre", 15, 77, 82, "814", 0.62, 2),
    ("16601", "Altoona", "Blair", 13, 79, 80, "814", 0.30, 2),
    ("15901", "Johnstown", "Cambria", 13, 71, 72, "814", 0.35, 1),
    ("17701", "Williamsport", "Lycoming", 15, 83, 84, "570", 0.33, 1),
    ("19013", "Chester", "Delaware", 5, 159, 159, "610", 0.90, 2),
    ("19082", "Upper Darby", "Delaware", 5, 163, 164, "610", 0.82, 3),
    ("19063", "Media", "Delaware", 5, 165, 168, "610", 0.60, 2),
    ("19401", "Norristown", "Montgomery", 4, 70, 70, "610", 0.78, 2),
    ("19001", "Abington", "Montgomery", 4, 153, 153, "215", 0.66, 2),
    ("19406", "King of Prussia", "Montgomery", 4, 149, 149, "610", 0.62, 2),
    ("19380", "West Chester", "Chester", 6, 156, 160, "610", 0.58, 2),
    ("19320", "Coatesville", "Chester", 6, 74, 74, "610", 0.55, 1),
    ("18901", "Doylestown", "Bucks", 1, 29, 143, "215", 0.53, 2),
    ("19057", "Levittown", "Bucks", 1, 140, 141, "215", 0.48, 2),
    ("15301", "Washington", "Washington", 14, 48, 50, "724", 0.35, 1),
    ("15601", "Greensburg", "Westmoreland", 14, 57, 58, "724", 0.33, 1),
    ("17325", "Gettysburg", "Adams", 13, 91, 91, "717", 0.30, 1),
    ("17201", "Chambersburg", "Franklin", 13, 89, 90, "717", 0.25, 1),
    ("17901", "Pottsville", "Schuylkill", 9, 123, 123, "570", 0.30, 1),
    ("18360", "Stroudsburg", "Monroe", 8, 115, 189, "570", 0.52, 1),
    ("15701", "Indiana", "Indiana", 14, 62, 62, "724", 0.35, 1),
    ("16001", "Butler", "Butler", 16, 11, 12, "724", 0.30, 1),
    ("16335", "Meadville", "Crawford", 16, 6, 6, "814", 0.30, 1),
    ("17801", "Sunbury", "Northumberland", 9, 108, 108, "570", 0.30, 1),
]

# The state House districts that held the February 2023 special election.
SPECIAL_2023_DISTRICTS = ("HD-020", "HD-023", "HD-024")

# (zip, state) for people who live out of state.
OUT_OF_STATE = [
    ("10025", "NY"), ("11215", "NY"), ("07030", "NJ"), ("08540", "NJ"),
    ("08002", "NJ"), ("21201", "MD"), ("20009", "DC"), ("44113", "OH"),
    ("94110", "CA"), ("02139", "MA"), ("19801", "DE"), ("60614", "IL"),
]

# (first name, nickname or None)
FIRST_NAMES = [
    ("James", "Jim"), ("Robert", "Bob"), ("John", "Jack"), ("Michael", "Mike"),
    ("David", "Dave"), ("William", "Bill"), ("Richard", "Rick"), ("Joseph", "Joe"),
    ("Thomas", "Tom"), ("Christopher", "Chris"), ("Charles", "Chuck"), ("Daniel", "Dan"),
    ("Matthew", "Matt"), ("Anthony", "Tony"), ("Steven", "Steve"), ("Andrew", "Andy"),
    ("Joshua", "Josh"), ("Kenneth", "Ken"), ("Edward", "Ed"), ("Benjamin", "Ben"),
    ("Samuel", "Sam"), ("Nicholas", "Nick"), ("Alexander", "Alex"), ("Jose", "Pepe"),
    ("Luis", None), ("Carlos", None), ("Juan", None), ("Andre", None),
    ("DeShawn", None), ("Jamal", None), ("Malik", None), ("Wei", None),
    ("Minh", None), ("Raj", None), ("Omar", None), ("Kwame", None),
    ("Mary", "Molly"), ("Patricia", "Pat"), ("Jennifer", "Jen"), ("Linda", None),
    ("Elizabeth", "Liz"), ("Barbara", "Barb"), ("Susan", "Sue"), ("Jessica", "Jess"),
    ("Sarah", None), ("Karen", None), ("Margaret", "Peggy"), ("Deborah", "Debbie"),
    ("Katherine", "Kate"), ("Rebecca", "Becky"), ("Victoria", "Vicky"), ("Stephanie", "Steph"),
    ("Christine", "Chris"), ("Kimberly", "Kim"), ("Samantha", "Sam"), ("Alexandra", "Alex"),
    ("Maria", None), ("Guadalupe", "Lupe"), ("Rosa", None), ("Ana", None),
    ("Keisha", None), ("Aaliyah", None), ("Tanisha", None), ("Mei", None),
    ("Priya", None), ("Fatima", None), ("Ngozi", None), ("Aisha", None),
    ("Olivia", None), ("Emma", None), ("Sophia", None), ("Madison", None),
    ("Abigail", "Abby"), ("Dorothy", "Dot"),
]

LAST_NAMES = [
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis",
    "Rodriguez", "Martinez", "Hernandez", "Lopez", "Gonzalez", "Wilson", "Anderson",
    "Thomas", "Taylor", "Moore", "Jackson", "Martin", "Lee", "Perez", "Thompson",
    "White", "Harris", "Sanchez", "Clark", "Ramirez", "Lewis", "Robinson", "Walker",
    "Young", "Allen", "King", "Wright", "Scott", "Torres", "Nguyen", "Hill", "Flores",
    "Green", "Adams", "Nelson", "Baker", "Hall", "Rivera", "Campbell", "Mitchell",
    "Carter", "Roberts", "Kowalski", "Nowak", "Schmidt", "Mueller", "O'Brien",
    "McCarthy", "Murphy", "Kelly", "Sullivan", "Russo", "Romano", "Kim", "Park",
    "Patel", "Shah", "Chen", "Wang", "Washington", "Jefferson", "Okafor", "Mensah",
    "Diaz", "Reyes", "De La Cruz", "Morales", "Ortiz", "Yoder", "Stoltzfus",
    "Zimmerman", "Hoffman", "Wagner", "Becker",
]

# (street name, abbreviated suffix)
STREETS = [
    ("Walnut", "St"), ("Broad", "St"), ("Germantown", "Ave"), ("Ridge", "Ave"),
    ("Lincoln", "Hwy"), ("Oak", "Ln"), ("Maple", "Ave"), ("Chestnut", "St"),
    ("Market", "St"), ("Spruce", "St"), ("Pine", "St"), ("Cedar", "Rd"), ("Elm", "St"),
    ("High", "St"), ("Church", "St"), ("Mill", "Rd"), ("Park", "Ave"),
    ("Washington", "Ave"), ("Franklin", "St"), ("Liberty", "Ave"), ("Union", "St"),
    ("Penn", "Ave"), ("Hill", "Rd"), ("Lake", "Dr"), ("River", "Rd"), ("2nd", "St"),
    ("3rd", "St"), ("4th", "St"), ("5th", "Ave"), ("Forbes", "Ave"),
    ("Spring Garden", "St"), ("Baltimore", "Ave"), ("Cherry", "Ln"), ("Highland", "Ave"),
    ("Sunset", "Dr"), ("Woodland", "Ave"), ("Meadow", "Ln"), ("Orchard", "Rd"),
    ("Valley", "Rd"), ("Ridgeview", "Dr"), ("Locust", "St"), ("Poplar", "St"),
    ("Hamilton", "St"), ("Jefferson", "St"), ("Madison", "Ave"), ("Center", "St"),
    ("Front", "St"), ("King", "St"), ("Queen", "St"), ("Roosevelt", "Blvd"),
]
SUFFIX_FULL = {"St": "Street", "Ave": "Avenue", "Rd": "Road", "Ln": "Lane",
               "Dr": "Drive", "Hwy": "Highway", "Blvd": "Boulevard"}

EMAIL_DOMAINS = [("example.com", 35), ("example.net", 20), ("example.org", 15),
                 ("mail.example.com", 12), ("inbox.example.net", 10), ("post.example.org", 8)]
ALT_EMAIL_DOMAINS = ["work.example.com", "union.example.net", "school.example.org"]
OTHER_AREA_CODES = ["267", "484", "412", "717", "570", "814", "724", "610", "215",
                    "917", "202", "646"]

# Elections: (date, type, description, turnout, share by mail, share early)
ELECTIONS = [
    ("2018-05-15", "primary", "2018 Primary", 0.30, 0.04, 0.02),
    ("2018-11-06", "general", "2018 General", 0.60, 0.05, 0.03),
    ("2020-06-02", "primary", "2020 Primary", 0.38, 0.50, 0.04),
    ("2020-11-03", "general", "2020 General", 0.78, 0.42, 0.08),
    ("2022-05-17", "primary", "2022 Primary", 0.34, 0.25, 0.04),
    ("2022-11-08", "general", "2022 General", 0.62, 0.25, 0.05),
    ("2023-02-07", "special", "2023 Special (state House)", 0.22, 0.25, 0.03),
    ("2024-04-23", "primary", "2024 Primary", 0.32, 0.28, 0.04),
    ("2024-11-05", "general", "2024 General", 0.80, 0.30, 0.06),
]

EVENT_TITLES = {
    "canvass": ["Door knock in {place}", "Weekend canvass: {place}",
                "Canvass for our endorsed candidates in {place}", "{place} neighborhood canvass"],
    "phone_bank": ["Phone bank: get out the vote", "Call voters from home",
                   "Phone bank for abortion rights", "Phone bank: fund our schools",
                   "Evening phone bank"],
    "text_bank": ["Text bank: get out the vote", "Text bank: vote by mail reminders",
                  "Lunchtime text bank"],
    "meeting": ["Monthly chapter meeting ({place})", "Volunteer social in {place}",
                "Campaign planning meeting"],
    "training": ["Canvass training", "Relational organizing 101",
                 "How to run a phone bank", "Data and tools training"],
}

# (type, title, launch date)
CAMPAIGNS = [
    ("petition", "Protect abortion access in Pennsylvania", "2022-06-24"),
    ("petition", "Raise the minimum wage to $15", "2023-03-01"),
    ("petition", "Fully fund our public schools", "2023-09-05"),
    ("petition", "Stop the pipeline", "2019-05-01"),
    ("petition", "Expand early voting in PA", "2024-01-15"),
    ("petition", "Cancel medical debt", "2024-05-01"),
    ("letter", "Tell Harrisburg: fund transit", "2023-05-10"),
    ("letter", "Write your state rep about housing", "2024-02-12"),
    ("letter", "Letter to the editor: vote by mail", "2020-08-01"),
    ("letter", "Tell the Senate: protect the right to organize", "2021-03-01"),
    ("event", "RSVP: Climate town hall", "2019-09-20"),
    ("event", "RSVP: Get out the vote rally", "2024-10-20"),
    ("event", "RSVP: Volunteer kickoff", "2024-06-01"),
    ("event", "RSVP: Election night watch party", "2022-10-25"),
    ("form", "Pledge to vote", "2020-09-01"),
    ("form", "Volunteer interest form", "2021-01-15"),
    ("form", "Share your story: child care", "2023-06-01"),
    ("form", "Pledge to vote 2024", "2024-08-01"),
    ("form", "Request a yard sign", "2024-09-01"),
]

CALLERS = ["Alex R.", "Jordan M.", "Priya S.", "Sam K.", "Taylor B.", "Chris D.",
           "Maria G.", "Devon W.", "Lee H.", "Kim N.", "Pat O.", "Robin F.", "Jamie L.",
           "Casey T.", "Morgan P.", "Ana V.", "Omar Z.", "Grace E.", "Hank J.", "Beth C."]

OCCUPATIONS = [("Teacher", 8), ("TEACHER", 2), ("Nurse", 5), ("Retired", 12), ("RETIRED", 5),
               ("retired", 3), ("Not Employed", 6), ("Software Engineer", 4), ("Attorney", 4),
               ("Lawyer", 2), ("Student", 4), ("Social Worker", 4), ("Professor", 3),
               ("Physician", 3), ("Organizer", 2), ("Self-Employed", 3), ("self employed", 1),
               ("Manager", 5), ("Writer", 2), ("Union Electrician", 2), (None, 20)]
EMPLOYERS = [("Self-Employed", 8), ("Self", 3), ("School District of Philadelphia", 6),
             ("University of Pittsburgh", 4), ("UPMC", 5), ("Penn Medicine", 5),
             ("City of Philadelphia", 4), ("Penn State", 4), ("Comcast", 3),
             ("Commonwealth of Pennsylvania", 4), ("N/A", 5), ("None", 5), (None, 44)]


# --------------------------------------------------------------------------
# Lists derived from the ones above, indexed by the generated SQL
# --------------------------------------------------------------------------


def _slug(text: str) -> str:
    """Lower-case letters only: "O'Brien" -> "obrien" (for email addresses)."""
    return "".join(ch for ch in text.lower() if "a" <= ch <= "z")


SLOTS = [p for p in PLACES for _ in range(p[8])]  # places repeated by weight
L_ZIP = [p[0] for p in SLOTS]
L_CITY = [p[1] for p in SLOTS]
L_COUNTY = [p[2] for p in SLOTS]
L_CD = [f"PA-{p[3]:02d}" for p in SLOTS]
L_HDA = [f"HD-{p[4]:03d}" for p in SLOTS]
L_HDB = [f"HD-{p[5]:03d}" for p in SLOTS]
L_AREA = [p[6] for p in SLOTS]
L_DLEAN = [p[7] for p in SLOTS]
L_FIRST = [f for f, _ in FIRST_NAMES]
L_NICK = [n for _, n in FIRST_NAMES]
L_FSLUG = [_slug(f) for f in L_FIRST]
L_LSLUG = [_slug(n) for n in LAST_NAMES]
L_STREET_V = ([f"{n} {x}" for n, x in STREETS] + [f"{n} {x}." for n, x in STREETS]
              + [f"{n} {SUFFIX_FULL[x]}" for n, x in STREETS])
