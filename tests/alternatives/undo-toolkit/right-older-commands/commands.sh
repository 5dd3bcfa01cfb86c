# The commands from older tutorials: reset/checkout instead of restore, and a soft reset plus a
# new commit instead of --amend. The result is the same.
cd project
git reset -q HEAD voter_export.csv
git checkout -- run_turnout.py
git reset --soft HEAD~1
git add run_deadline_check.py
git commit -m "Add a check for late registrations, with its runner"
