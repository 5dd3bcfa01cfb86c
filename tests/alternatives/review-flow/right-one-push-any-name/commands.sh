# Both commits first, one push at the end, an unusual branch name, date change in two
# commits and the rename in a third; the clone given an absolute path with file://.
git clone "file://$PWD/remote.git" work
cd work
git config user.name "Ana Field"
git config user.email "ana@example.org"
git switch -c ana/ticket-42
sed -i.bak "s/2022-11-08/2024-11-05/" turnout_by_district.sql && rm -f *.bak
git commit -am "Election date 2024"
sed -i.bak "s/2022-10-24/2024-10-21/" turnout_by_district.sql && rm -f *.bak
git commit -am "Registration cutoff 2024"
col=$(git show origin/review-notes:REVIEW.md | grep -o '`[a-z_]*`' | sed -n 2p | tr -d '`')
sed -i.bak "s/turnout_pct/${col}/" turnout_by_district.sql && rm -f *.bak
git commit -am "Rename the turnout column"
git push origin HEAD
