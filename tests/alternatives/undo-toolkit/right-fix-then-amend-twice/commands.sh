# Fix the message first, then amend again to add the script; ignore the export file for good.
cd project
git restore --staged voter_export.csv
git commit --amend -m "Add a check for the registration deadline"
git add run_deadline_check.py
git commit --amend --no-edit
git restore run_turnout.py
echo "voter_export.csv" >> .git/info/exclude
