#!/usr/bin/env bash
# Model answer for `first-repository`. Runs in the learner's exercise folder.
set -euo pipefail

cd project
git init --quiet

# Who is committing. A learner would normally set this once with --global;
# here it goes in this repository's own config, as there may be no global one.
git config user.name "Flowcamp Learner"
git config user.email "learner@example.org"

# First the SQL script on its own...
git add turnout_by_district.sql
git commit --quiet -m "Add the turnout by district query, copied from Civis"

# ...then the Python script that runs it.
git add run_turnout.py
git commit --quiet -m "Add the script that runs the turnout query"

git log --oneline
