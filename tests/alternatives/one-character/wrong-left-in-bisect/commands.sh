# Bisected to the bad commit, then reverted it right there, without `git bisect reset`:
# the fix sits on a detached HEAD, not on main.
set -euo pipefail
cd pipeline
first=$(git rev-list --max-parents=0 HEAD)
git bisect start HEAD "$first"
git bisect run sh -c "! grep -qE \"ROUND\\(10\\.0 |'activ'|'2022-1-08'\" sql/turnout_by_district.sql"
bad=$(git rev-parse refs/bisect/bad)
git checkout -q "$bad"
git revert --no-edit "$bad"
