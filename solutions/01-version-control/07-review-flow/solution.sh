# walk-through: review-flow
# Type each command in a terminal opened in the exercise folder (it holds remote.git).
# They work as typed in Git Bash and in PowerShell. Lines that start with # are notes.

# Get your own copy of the team's repository, in a folder called work.
git clone remote.git work

# Move into your copy. Every command from here runs in work/.
cd work

# Tell git who you are. You do this once per computer with --global; here it goes
# into this copy only, in case git has never asked you before.
git config user.name "Flowcamp Learner"

# And your email.
git config user.email "learner@example.org"

# Work on a branch of your own, never on main.
git switch -c turnout-2024

# Open turnout_by_district.sql in your editor and change the two dates for the 2024
# general election: the election day and the registration cutoff. Save.
#@ edit turnout_by_district.sql
#-       AND vh.election_date = '2022-11-08'
#+       AND vh.election_date = '2024-11-05'
#- WHERE p.registration_date <= '2022-10-24'
#+ WHERE p.registration_date <= '2024-10-21'

# Commit the change. -a stages every file git already tracks.
git commit -am "Count the 2024 general election"

# Push the branch. -u makes git remember where it goes, so later a plain git push is enough.
git push -u origin turnout-2024

# Read the review. The reviewer asks to rename turnout_pct: the new name, between
# backticks after "to", is <column> below.
git show origin/review-notes:REVIEW.md
#> column: to `([a-z_]+)`

# Open turnout_by_district.sql again and rename the column: type the reviewer's name
# instead of <column>. Save.
#@ edit turnout_by_district.sql
#-           / NULLIF(COUNT(DISTINCT p.person_id), 0), 1) AS turnout_pct
#+           / NULLIF(COUNT(DISTINCT p.person_id), 0), 1) AS <column>

# Commit it as a new commit on the same branch, so the reviewer sees just this change.
git commit -am "Rename the turnout column, as asked in review"

# Push again: the new commit joins the pull request.
git push

# Check: "Your branch is up to date with 'origin/turnout-2024'", nothing to commit.
git status
