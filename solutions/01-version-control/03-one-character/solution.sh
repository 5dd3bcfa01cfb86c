# walk-through: one-character
# Type each command in a terminal opened in the exercise folder (it holds pipeline/).
# They work as typed in Git Bash and in PowerShell. Lines that start with # are notes.

# Move into the repository.
cd pipeline

# List the commits, oldest first. The first one came straight from Civis and its
# numbers were right: its id, at the start of the top line, is <first> below.
git log --oneline --reverse
#> first: ^([0-9a-f]{7,40}) 

# Start a bisect: the newest commit (HEAD) is bad, the first one was good.
# Type the id you found instead of <first>.
git bisect start HEAD <first>

# Let git test the commits in between for you. check_turnout.py says OK (good) or
# WRONG (bad) for each one. At the end git prints "<bad> is the first bad commit":
# note that id.
git bisect run uv run python check_turnout.py
#> bad: ^([0-9a-f]{40}) is the first bad commit

# Leave bisect: git puts you back on main, where you started.
git bisect reset

# Undo the bad commit with a new commit that does the opposite. Type the id you
# noted instead of <bad>. --no-edit keeps git's own message, so no editor opens.
git revert --no-edit <bad>

# Look: the newest commit is the revert.
git log --oneline
