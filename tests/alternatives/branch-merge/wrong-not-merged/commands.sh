# Made the change on a branch, switched back to main, and never merged.
cd project
git config user.name "Sam Organizer"
git config user.email "sam@example.org"
git switch -c add-inactive
python3 -c "
from pathlib import Path
p = Path(\"turnout_by_district.sql\")
p.write_text(p.read_text().replace(\"AS turnout_pct\n\", \"AS turnout_pct,\n    COUNT(DISTINCT CASE WHEN p.voter_status = 'inactive' THEN p.person_id END) AS inactive\n\"))
"
git commit -am "Add inactive column"
git switch main
