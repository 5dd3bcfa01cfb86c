# Pushed the ticket's change, then put the review fix into the same commit with --amend and forced the
# push: the reviewed commit is gone from the branch.
git clone remote.git work
cd work
git config user.name "Sam Organizer"
git config user.email "sam@example.org"
git switch -c turnout-2024
sed -i.bak -e "s/2022-11-08/2024-11-05/" -e "s/2022-10-24/2024-10-21/" turnout_by_district.sql && rm -f *.bak
git commit -am "Update turnout to 2024"
git push -u origin turnout-2024
col=$(git show origin/review-notes:REVIEW.md | grep -o '`[a-z_]*`' | sed -n 2p | tr -d '`')
sed -i.bak "s/turnout_pct/${col}/" turnout_by_district.sql && rm -f *.bak
git commit -a --amend --no-edit
git push --force
