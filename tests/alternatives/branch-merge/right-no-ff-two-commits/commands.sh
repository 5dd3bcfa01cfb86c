# A merge commit (--no-ff), two commits on the branch, and a different way to count.
cd project
git config user.name "Sam Organizer"
git config user.email "sam@example.org"
git switch -c feature/inactive-voters
python3 -c "
from pathlib import Path
p = Path('turnout_by_district.sql')
p.write_text(p.read_text().replace('AS turnout_pct\n', 'AS turnout_pct,\n    COUNT(*) AS inactive\n'))
"
git commit -am "Start on the inactive column"
python3 -c "
from pathlib import Path
p = Path('turnout_by_district.sql')
p.write_text(p.read_text().replace('COUNT(*) AS inactive', 'SUM(CASE WHEN p.voter_status = \'inactive\' THEN 1 ELSE 0 END) AS inactive'))
"
git commit -am "Count only inactive voters"
git switch main
git merge --no-ff --no-edit feature/inactive-voters
