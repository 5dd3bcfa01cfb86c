# Forgot to git add before the second commit and forced it with --allow-empty.
cd project
git init
git config user.name "Sam Organizer"
git config user.email "sam@example.org"
git add turnout_by_district.sql run_turnout.py
git commit -m "Add turnout query and runner"
git commit --allow-empty -m "Update runner"
