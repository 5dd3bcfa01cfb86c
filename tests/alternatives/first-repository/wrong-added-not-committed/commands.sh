# Staged both files but forgot to commit.
cd project
git init
git config user.name "Sam Organizer"
git config user.email "sam@example.org"
git add turnout_by_district.sql run_turnout.py
git status
