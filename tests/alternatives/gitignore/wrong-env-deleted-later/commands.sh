# Ran `git add .` before writing .gitignore, so .env went into a commit; then removed it in a later commit.
# The passwords are still in the history.
cd project
git add .env .env.example explore_signups.ipynb
git commit -m "Add settings and notebook"
printf '%s\n' '.env' '*.duckdb' '__pycache__/' '.ipynb_checkpoints/' > .gitignore
git rm --cached .env
git add .gitignore
git commit -m "Stop tracking .env"
