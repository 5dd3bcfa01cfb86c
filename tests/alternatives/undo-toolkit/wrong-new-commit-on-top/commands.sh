# Unstaged and restored correctly, but made a new commit instead of amending the last one.
cd project
git restore --staged voter_export.csv
git restore run_turnout.py
git add run_deadline_check.py
git commit -m "Fix typo and add the missing runner"
