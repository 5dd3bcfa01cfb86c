#!/usr/bin/env bash
# Model answer for `one-character`. Runs in the learner's exercise folder.
# Find the commit that broke the turnout query with git bisect, undo it with git revert.
set -euo pipefail

cd pipeline

# The newest commit is bad; the very first commit (straight from Civis) was good.
first=$(git rev-list --max-parents=0 HEAD)
git bisect start HEAD "$first"

# A learner runs the real check against the warehouse:
#     git bisect run uv run python check_turnout.py
# Here a plain text test stands in for it, so the script needs no warehouse:
# the good query has all three of these pieces.
git bisect run sh -c '
  grep -q "ROUND(100.0 \* COUNT" sql/turnout_by_district.sql &&
  grep -q "voter_status = '"'"'active'"'"'" sql/turnout_by_district.sql &&
  grep -q "DATE '"'"'2022-11-08'"'"'" sql/turnout_by_district.sql
'

# bisect names the first bad commit in refs/bisect/bad. Remember it, then leave bisect.
bad=$(git rev-parse refs/bisect/bad)
git bisect reset

# Undo that commit with a new commit. --no-edit keeps git's own message, so no editor opens.
git revert --no-edit "$bad"

git log --oneline -3
