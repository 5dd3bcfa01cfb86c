# Write the ignore rules, check them, and commit them with the example settings and the notebook.
cd project
cat > .gitignore <<'RULES'
# Secrets: real values live only in .env
.env
# Data: the warehouse and any other DuckDB file
*.duckdb
# Files that programs make by themselves
__pycache__/
.ipynb_checkpoints/
RULES
git check-ignore -v .env warehouse.duckdb
git add .gitignore .env.example explore_signups.ipynb
git commit -m "Ignore secrets, data and caches; add the example settings"
git status
