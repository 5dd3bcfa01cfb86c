# A new learner's cheat (trial 40): no detect-secrets, a pygrep hook that blocks any line with a word like
# "password" or "api_key" before a colon or an equals sign. A password inside a database address
# (postgresql://user:PASSWORD@host) has no such word, and goes through. The rest is right.
set -euo pipefail
cd pipeline
python - <<'PY'
import json, re
p = "settings.py"
s = open(p).read()
s = re.sub(r'WAREHOUSE_PASSWORD = "[^"]*"\n', "", s)
s = s.replace("{WAREHOUSE_PASSWORD}", "{os.getenv('WAREHOUSE_PASSWORD')}")
open(p, "w").write(s)
nb = json.load(open("explore_attendance.ipynb"))
nb["cells"] = [c for c in nb["cells"] if "WAREHOUSE_PASSWORD" not in "".join(c["source"])]
for c in nb["cells"]:
    if c["cell_type"] == "code":
        c["outputs"], c["execution_count"] = [], None
json.dump(nb, open("explore_attendance.ipynb", "w"), indent=1)
PY
cat > ROTATION.md <<NOTE
Rotation of a leaked credential

* credential: WAREHOUSE_PASSWORD
* rotated on: $(date +%F)
* new value kept in: the team's password manager, copied into the server's environment variable WAREHOUSE_PASSWORD
NOTE
cat > .pre-commit-config.yaml <<'CFG'
repos:
  - repo: local
    hooks:
      - id: no-secrets
        name: No passwords or keys in commits
        language: pygrep
        entry: '(?i)(password|passwd|secret|token|api_?key)\s*[:=]'
CFG
python -m pre_commit install
git add settings.py explore_attendance.ipynb ROTATION.md .pre-commit-config.yaml
git commit -q -m "Move the warehouse password out; block secrets"
