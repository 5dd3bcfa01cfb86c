# The learner checked out the commit before the change to look at the old file,
# and left the repository there (detached HEAD). The answers are still right.
set -euo pipefail
cd pipeline
f=sql/turnout_by_district.sql
sha=$(git log -1 --format=%H -S "$(grep '^WHERE' "$f")" -- "$f")
git checkout -q "$sha^"
old=$(grep '^WHERE' "$f")
who=$(git log -1 --format=%an "$sha")
day=$(git log -1 --format=%ad --date=short "$sha")
cd ..
cat > answers.toml <<TOML
commit = "${sha:0:10}"
author = "$who"
date = "$day"
old_line = "$old"
TOML
