# Wrote a good .gitignore and committed the other files, but never committed .gitignore itself.
cd project
printf '%s\n' '.env' '*.duckdb' '__pycache__/' '.ipynb_checkpoints/' > .gitignore
git add .env.example explore_signups.ipynb
git commit -m "Add the example settings and the notebook"
