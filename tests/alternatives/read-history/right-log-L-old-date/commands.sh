# Line-history route: git log -L follows the WHERE line through history.
# The answer gives only the old date as old_line, the author in lower case,
# and the date as git prints it by default.
set -euo pipefail
cd pipeline
f=sql/turnout_by_district.sql
sha=$(git log -L '/^WHERE/,+1:sql/turnout_by_district.sql' --format='COMMIT %H' | grep '^COMMIT' | head -1 | cut -d' ' -f2)
who=$(git log -1 --format=%an "$sha" | tr 'A-Z' 'a-z')
when=$(git log -1 --format=%ad "$sha")
old_date=$(git show "$sha^:$f" | grep '^WHERE' | grep -o "[0-9]\{4\}-[0-9]\{2\}-[0-9]\{2\}")
cd ..
cat > answers.toml <<TOML
commit = "  $sha  "
author = "  $who "
date = "$when"
old_line = "'$old_date'"
TOML
