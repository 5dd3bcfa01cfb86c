# Staged and committed the file with git's conflict markers still in it.
cd project
git config user.name "Sam Organizer"
git config user.email "sam@example.org"
git merge by-district || true
git add active_voters.sql
git commit --no-edit
