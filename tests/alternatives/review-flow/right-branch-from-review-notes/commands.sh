# Branch made from the review notes branch (so REVIEW.md is in it), the query
# rewritten with DATE literals, pushed under a different name on the remote.
git clone remote.git work
cd work
git config user.name "Kim Lee"
git config user.email "kim@example.org"
git switch -c mine origin/review-notes
sed -i.bak -e "s/'2022-11-08'/DATE '2024-11-05'/" -e "s/'2022-10-24'/DATE '2024-10-21'/" turnout_by_district.sql && rm -f *.bak
git commit -am "2024 election"
col=$(grep -o '`[a-z_]*`' REVIEW.md | sed -n 2p | tr -d '`')
sed -i.bak "s/turnout_pct/${col}/" turnout_by_district.sql && rm -f *.bak
git commit -am "Column name from review"
git push -u origin mine:kim-turnout-2024
