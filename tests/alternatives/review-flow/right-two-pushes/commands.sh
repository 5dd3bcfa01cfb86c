# The README's route: push after the first commit, push again after the review fix.
git clone remote.git work
cd work
git config user.name "Sam Organizer"
git config user.email "sam@example.org"
git checkout -b update-2024
sed -i.bak -e "s/2022-11-08/2024-11-05/" -e "s/2022-10-24/2024-10-21/" turnout_by_district.sql && rm -f *.bak
git add turnout_by_district.sql
git commit -m "Update turnout to 2024"
git push --set-upstream origin update-2024
col=$(git show origin/review-notes:REVIEW.md | grep -o '`[a-z_]*`' | sed -n 2p | tr -d '`')
sed -i.bak "s/AS turnout_pct/AS ${col}/" turnout_by_district.sql && rm -f *.bak
git add turnout_by_district.sql
git commit -m "Review: rename column"
git push
