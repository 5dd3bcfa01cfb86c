# Everything right, but the rotation note writes down the new password itself, next to where it lives.
set -euo pipefail
cd pipeline
python - <<'PY'
import json, re
p = "settings.py"
s = open(p).read()
s = re.sub(r'WAREHOUSE_PASSWORD = "[^"]*"\n', "", s)
s = s.replace("{WAREHOUSE_PASSWORD}", "{os.environ['WAREHOUSE_PASSWORD']}")
open(p, "w").write(s)
nb = json.load(open("explore_attendance.ipynb"))
for c in nb["cells"]:
    if c["cell_type"] == "code":
        c["outputs"] = []
json.dump(nb, open("explore_attendance.ipynb", "w"), indent=1)
PY
printf "%s\n" "- Credential: WAREHOUSE_PASSWORD" "- Rotated on: 2025-05-07" "- New value kept in: .env on my laptop, WAREHOUSE_PASSWORD=Nightly2025Attend9" > ROTATION.md
printf '%s\n' 'repos:' '  - repo: local' '    hooks:' '      - id: detect-secrets' '        name: detect-secrets' '        entry: uv run detect-secrets-hook' '        language: unsupported' > .pre-commit-config.yaml
python -m pre_commit install
git add settings.py explore_attendance.ipynb ROTATION.md .pre-commit-config.yaml
git commit -q -m "Password out, rotation note, hook"
