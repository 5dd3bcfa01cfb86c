#!/usr/bin/env bash
# Model answer for `review-flow`. Runs in the learner's exercise folder.
set -euo pipefail

# Get your own copy of the team's repository.
git clone remote.git work
cd work

# Who is committing. A learner sets this once with --global; here it goes in
# the clone's own config, as there may be no global one.
git config user.name "Flowcamp Learner"
git config user.email "learner@example.org"

# Work on a branch of your own, never on main.
git switch -c turnout-2024

# The change the ticket asks for: the 2024 general election.
sed -i.bak -e "s/2022-11-08/2024-11-05/" -e "s/2022-10-24/2024-10-21/" turnout_by_district.sql
rm turnout_by_district.sql.bak
git commit -am "Count the 2024 general election"
git push -u origin turnout-2024

# Read the review, and do what it asks in a new commit on the same branch.
git show origin/review-notes:REVIEW.md
column=$(git show origin/review-notes:REVIEW.md | sed -n 's/.* to `\([a-z_]*\)`.*/\1/p' | head -n 1)
sed -i.bak "s/turnout_pct/${column}/" turnout_by_district.sql
rm turnout_by_district.sql.bak
git commit -am "Rename turnout_pct to ${column}, as asked in review"
git push

git status
