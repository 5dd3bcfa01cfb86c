# Right commit, date and old line, but the author of the newest commit
# (the top of `git log`) instead of the author of the change.
set -euo pipefail
cd pipeline
f=sql/turnout_by_district.sql
sha=$(git log -1 --format=%H -G '^WHERE ' -- "$f")
who=$(git log -1 --format=%an HEAD)
test "$who" != "$(git log -1 --format=%an "$sha")"
day=$(git log -1 --format=%ad --date=short "$sha")
old=$(git show "$sha" -- "$f" | grep '^-WHERE' | sed 's/^-//')
cd ..
cat > answers.toml <<TOML
commit = "$sha"
author = "$who"
date = "$day"
old_line = "$old"
TOML
