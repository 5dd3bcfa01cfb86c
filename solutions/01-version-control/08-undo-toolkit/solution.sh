# Undo the three mistakes, in this order, so the export never reaches a commit.
cd project
git status
# (a) Unstage the export; the file stays on disk.
git restore --staged voter_export.csv
# (b) Bring back the deleted runner from the last commit.
git restore run_turnout.py
# (c) Add the missing script to the last commit and fix its message.
git add run_deadline_check.py
git commit --amend -m "Add a check for people who registered after the deadline"
git log --oneline
git status
