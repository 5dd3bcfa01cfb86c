# walk-through: undo-toolkit
# Type each command in a terminal opened in the exercise folder (it holds project/).
# They work as typed in Git Bash and in PowerShell. Lines that start with # are notes.
# The order matters: unstage the export before you fix the commit, or it goes in too.

# Move into the repository.
cd project

# See all three mistakes: a staged export, a deleted file, and a commit to fix.
git status

# (a) Take the export out of the next commit. The file stays on disk.
git restore --staged voter_export.csv

# (b) Bring back the deleted runner, as it was in the last commit.
git restore run_turnout.py

# (c) Stage the script the last commit is missing.
git add run_deadline_check.py

# (c) Replace the last commit with one that has the script and a message spelled right.
git commit --amend -m "Add a check for people who registered after the deadline"

# Look: still two commits, the newest with your new message.
git log --oneline

# And nothing left staged or changed, except the export, which git lists as untracked.
git status
