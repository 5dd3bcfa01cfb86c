# Wrote .gitignore first, then `git add .`: safe, because ignored files are skipped. Two commits.
cd project
printf '%s\n' '/.env' '**/*.duckdb' '**/__pycache__' '.ipynb_checkpoints' > .gitignore
git add .gitignore
git commit -m "Add a .gitignore"
git add .
git commit -m "Add the example settings and the notebook"
