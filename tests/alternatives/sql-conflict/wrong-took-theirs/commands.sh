# Clicked "Accept Incoming" everywhere: the Democrats filter from dem-only is lost.
cd project
git config user.name "Sam Organizer"
git config user.email "sam@example.org"
git merge by-district || true
git checkout --theirs active_voters.sql
git add active_voters.sql
git commit --no-edit
