# A good .gitignore, but the password was copied out of .env into the code, and committed there.
cd project
printf '%s\n' '.env' '*.duckdb' '__pycache__/' '.ipynb_checkpoints/' > .gitignore
grep WAREHOUSE_PASSWORD .env | sed 's/^/# /' >> load_signups.py
git add .gitignore .env.example explore_signups.ipynb load_signups.py
git commit -m "Ignore secrets, data and caches"
