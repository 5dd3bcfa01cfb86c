# A broad .env* pattern with an exception for the example file, and the rules for Python and Jupyter.
cd project
cat > .gitignore <<'RULES'
.env*
!.env.example
*.duckdb
*.duckdb.wal
__pycache__/
*.pyc
.ipynb_checkpoints/
RULES
git add -A
git commit -m "Ignore secrets and data, commit the rest"
