# Committed both files, then changed the SQL and did not commit again.
cd project
git init
git config user.name "Sam Organizer"
git config user.email "sam@example.org"
git add turnout_by_district.sql run_turnout.py
git commit -m "Add turnout query and runner"
printf '%s\n' '-- TODO: check the registration deadline date' >> turnout_by_district.sql
