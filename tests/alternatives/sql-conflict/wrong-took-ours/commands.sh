# Clicked "Accept Current" everywhere: the per-district change is lost.
cd project
git config user.name "Sam Organizer"
git config user.email "sam@example.org"
git merge by-district || true
git checkout --ours active_voters.sql
git add active_voters.sql
git commit --no-edit
