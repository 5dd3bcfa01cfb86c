# Committed on main by mistake, then the usual fix: a branch at that commit, main moved back, and the
# branch merged. The work reached main by a merge.
cd project
git config user.name "Kim Lee"
git config user.email "kim@example.org"
python3 -c "
from pathlib import Path
p = Path(\"turnout_by_district.sql\")
p.write_text(p.read_text().replace(\"AS turnout_pct\n\", \"AS turnout_pct,\n    COUNT(DISTINCT CASE WHEN p.voter_status = 'inactive' THEN p.person_id END) AS inactive\n\"))
"
git commit -am "Add inactive column"
git branch add-inactive
git reset --hard HEAD~1
git merge add-inactive
