# walk-through: gitignore
# Type each command in a terminal opened in the exercise folder (it holds project/).
# They work as typed in Git Bash and in PowerShell. Lines that start with # are notes.

# Move into the repository.
cd project

# Make a file called .gitignore in project/ with your editor, write these lines, and save.
# One pattern per line; lines that start with # are notes.
#@ write .gitignore
#+ # Secrets: real values live only in .env
#+ .env
#+ # Data: the warehouse and any other DuckDB file
#+ *.duckdb
#+ # Files that programs make by themselves
#+ __pycache__/
#+ .ipynb_checkpoints/

# Ask git which rule ignores each file. Both should be named with a line of .gitignore.
git check-ignore -v .env warehouse.duckdb

# Stage the rules, the example settings and the notebook: the files that belong in history.
git add .gitignore .env.example explore_signups.ipynb

# Commit them.
git commit -m "Ignore secrets, data and caches; add the example settings"

# Check: nothing is left to commit, and .env is not listed.
git status
