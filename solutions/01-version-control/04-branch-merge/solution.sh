# walk-through: branch-merge
# Type each command in a terminal opened in the exercise folder (it holds project/).
# They work as typed in Git Bash and in PowerShell. Lines that start with # are notes.

# Move into the repository.
cd project

# Make a branch for the new column and move onto it. main stays as it is meanwhile.
git switch -c add-inactive

# Open turnout_by_district.sql in your editor. Put a comma after turnout_pct and add
# the new column on the next line. Save.
#@ edit turnout_by_district.sql
#-           / NULLIF(COUNT(DISTINCT p.person_id), 0), 1) AS turnout_pct
#+           / NULLIF(COUNT(DISTINCT p.person_id), 0), 1) AS turnout_pct,
#+     COUNT(DISTINCT CASE WHEN p.voter_status = 'inactive' THEN p.person_id END) AS inactive

# Stage the changed file.
git add turnout_by_district.sql

# Commit it. The commit goes onto add-inactive, the branch you are on.
git commit -m "Count inactive voters per district"

# Go back to main. The file goes back to main's version: no new column yet.
git switch main

# Bring the branch's commit into main. main had nothing new, so git just moves
# main forward (a "fast-forward").
git merge add-inactive

# The branch has done its job: delete it, as teams do after a merge. Its commit
# stays on main. (-d refuses if the branch is not merged yet.)
git branch -d add-inactive

# Look at the graph.
git log --oneline --graph --all
