# Fixed the last commit first, so the staged export went into it too.
cd project
git restore run_turnout.py
git add run_deadline_check.py
git commit --amend -m "Add a check for late registrations"
