# Right answers, but written without the double quotes, so answers.toml is not valid TOML.
set -euo pipefail
cd pipeline
f=sql/turnout_by_district.sql
sha=$(git log -1 --format=%H -G '^WHERE ' -- "$f")
who=$(git log -1 --format=%an "$sha")
day=$(git log -1 --format=%ad --date=short "$sha")
old=$(git show "$sha" -- "$f" | grep '^-WHERE' | sed 's/^-//')
cd ..
cat > answers.toml <<TOML
commit = ${sha:0:7}
author = $who
date = $day
old_line = $old
TOML
