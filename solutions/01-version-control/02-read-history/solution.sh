#!/usr/bin/env bash
# Model answer for `read-history`. Runs in the learner's exercise folder.
set -euo pipefail

cd pipeline
file=sql/turnout_by_district.sql

# Commits whose change adds or removes a line that matches the filter: the newest one
# changed it (the oldest one is where the file was first written).
sha=$(git log -1 --format=%H -G '^WHERE ' -- "$file")
author=$(git log -1 --format=%an "$sha")
day=$(git log -1 --format=%ad --date=short "$sha")
# In the commit's diff the old line starts with "-".
old=$(git show --format= "$sha" -- "$file" | grep '^-WHERE' | sed 's/^-//')

git show --stat "$sha"

cd ..
cat > answers.toml <<TOML
commit = "$sha"
author = "$author"
date = "$day"
old_line = "$old"
TOML
cat answers.toml
