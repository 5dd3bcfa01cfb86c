# Blame route: blame names the commit that last changed the WHERE line.
# Short id, "Name <email>" as author, a TOML date without quotes, the old line
# copied from `git show` with its leading "-" and a trailing space.
set -euo pipefail
cd pipeline
f=sql/turnout_by_district.sql
line=$(grep -n '^WHERE' "$f" | cut -d: -f1)
sha=$(git blame -l -L "$line,$line" "$f" | cut -c1-40)
short=${sha:0:7}
who=$(git log -1 --format='%an <%ae>' "$sha")
day=$(git log -1 --format=%ad --date=short "$sha")
old=$(git show "$sha" -- "$f" | grep '^-WHERE')
cd ..
cat > answers.toml <<TOML
commit = "$short"
author = "$who"
date = $day
old_line = "$old "
TOML
