# A merge commit, then the branch deleted: the merge commit still shows a branch was used.
cd project
git config user.name "Sam Organizer"
git config user.email "sam@example.org"
git switch -c tmp
sed -i 's/AS turnout_pct$/AS turnout_pct,\n    count(distinct p.person_id) filter (where p.voter_status = '"'"'inactive'"'"') as INACTIVE/' turnout_by_district.sql
git commit -am "inactive voters"
git switch main
git merge --no-ff -m "Merge the inactive column" tmp
git branch -d tmp
