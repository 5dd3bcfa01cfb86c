# The README's route, then the branch deleted after the fast-forward merge, as teams usually do.
cd project
git config user.name "Ana Field"
git config user.email "ana@example.org"
git switch -c add-inactive
python3 -c "
from pathlib import Path
p = Path(\"turnout_by_district.sql\")
p.write_text(p.read_text().replace(\"AS turnout_pct\n\", \"AS turnout_pct,\n    COUNT(DISTINCT CASE WHEN p.voter_status = 'inactive' THEN p.person_id END) AS inactive\n\"))
"
git add turnout_by_district.sql
git commit -m "Count inactive voters"
git switch main
git merge add-inactive
git branch -d add-inactive
