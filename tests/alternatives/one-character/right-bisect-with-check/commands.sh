# The route the lesson teaches: git bisect run with check_turnout.py against a real warehouse,
# bisect reset, then revert --no-edit. Along the way: a look at an old commit (detached HEAD) and back.
set -euo pipefail
python -c "from flowcamp import warehouse; warehouse.build('$PWD/wh.duckdb', seed=3)"
export FLOWCAMP_WAREHOUSE="$PWD/wh.duckdb"
cd pipeline
! python check_turnout.py
first=$(git rev-list --max-parents=0 HEAD)
git checkout -q "$first"
python check_turnout.py
git switch -q main
git bisect start
git bisect bad
git bisect good "$first"
git bisect run python check_turnout.py
bad=$(git rev-parse refs/bisect/bad)
git bisect reset
git revert --no-edit "$bad"
python check_turnout.py
rm "$FLOWCAMP_WAREHOUSE"
