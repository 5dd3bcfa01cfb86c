# Made a new commit instead of amending, with the export swept in; then took the export out in yet
# another commit. The export is still in history, and the last commit is not the fixed one.
cd project
git restore run_turnout.py
git add run_deadline_check.py
git commit -m "Add the runner for the deadline check"
git rm -q --cached voter_export.csv
git commit -m "Take the export out again"
