# SQL, then runner, then a committed edit to the SQL.
cd project
git init
git config user.name "Sam Organizer"
git config user.email "sam@example.org"
git add turnout_by_district.sql
git commit -m "Add turnout query"
git add run_turnout.py
git commit -m "Add runner"
printf '%s\n' '-- Owner: data team. Questions go to #data-help.' >> turnout_by_district.sql
git commit -am "Say who owns the turnout query"
