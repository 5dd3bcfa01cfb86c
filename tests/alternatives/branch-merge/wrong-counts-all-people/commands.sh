# Branch and merge are fine, but the column counts every registered voter, not the inactive ones.
cd project
git config user.name "Sam Organizer"
git config user.email "sam@example.org"
git switch -c add-inactive
python3 -c "
from pathlib import Path
p = Path('turnout_by_district.sql')
p.write_text(p.read_text().replace('AS turnout_pct\n', 'AS turnout_pct,\n    COUNT(p.voter_status) AS inactive\n'))
"
git commit -am "Add inactive column"
git switch main
git merge add-inactive
