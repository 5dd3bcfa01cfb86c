# Used `git rm -f` to unstage the export: that deletes the file from disk too.
cd project
git rm -q -f voter_export.csv
git restore run_turnout.py
git add run_deadline_check.py
git commit --amend -m "Add a check for late registrations"
