# Committed the SQL script but never added the runner.
cd project
git init
git config user.name "Sam Organizer"
git config user.email "sam@example.org"
git add turnout_by_district.sql
git commit -m "Add the turnout query"
