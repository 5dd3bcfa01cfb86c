# A merge in the history: this exercise asks for one straight line.
cd project
git init -b main
git config user.name "Sam Organizer"
git config user.email "sam@example.org"
git add turnout_by_district.sql
git commit -m "Add turnout query"
git checkout -b runner
git add run_turnout.py
git commit -m "Add runner"
git checkout main
printf '%s\n' '-- Owner: data team' >> turnout_by_district.sql
git commit -am "Say who owns the query"
git merge --no-edit runner
