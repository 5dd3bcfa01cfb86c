# walk-through: first-repository
# Type each command in a terminal opened in the exercise folder (it holds project/).
# They work as typed in Git Bash and in PowerShell. Lines that start with # are notes.

# Move into the folder that becomes the repository.
cd project

# Make it a git repository. git keeps its history in a hidden .git folder here.
git init

# Tell git who you are. You do this once per computer with --global; here it goes
# into this repository only, in case git has never asked you before.
git config user.name "Flowcamp Learner"

# And your email, which git writes into every commit next to your name.
git config user.email "learner@example.org"

# Stage the SQL script on its own: one idea per commit.
git add turnout_by_district.sql

# Commit it, with a message that says what and why.
git commit -m "Add the turnout by district query, copied from Civis"

# Now stage the Python script that runs the query.
git add run_turnout.py

# And commit it too.
git commit -m "Add the script that runs the turnout query"

# Look at what you made: two commits, newest first.
git log --oneline
