# Ran git init in the exercise folder instead of in project/, and committed
# project/'s files from there: project/ is not its own repository.
git init .
git config user.name "Sam Organizer"
git config user.email "sam@example.org"
git add project/turnout_by_district.sql project/run_turnout.py
git commit -m "Add turnout files"
