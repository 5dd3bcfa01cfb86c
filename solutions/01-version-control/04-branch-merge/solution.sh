#!/usr/bin/env bash
# Model answer for `branch-merge`. Runs in the learner's exercise folder.
set -euo pipefail
cd project

# A branch of its own for the new column.
git switch -c add-inactive

# Add the column after turnout_pct: a comma on the line before, then the new line.
python3 - <<'PY'
from pathlib import Path
p = Path("turnout_by_district.sql")
old = "AS turnout_pct\n"
new = ("AS turnout_pct,\n"
       "    COUNT(DISTINCT CASE WHEN p.voter_status = 'inactive' THEN p.person_id END) AS inactive\n")
p.write_text(p.read_text().replace(old, new))
PY

git add turnout_by_district.sql
git commit --quiet -m "Count inactive voters per district"

# Back to main, and bring the branch in (a fast-forward here).
git switch main
git merge add-inactive
git log --oneline --graph --all
