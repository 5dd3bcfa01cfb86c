# Found the bad commit by reading `git log -p` (here: a search for the broken pieces), then git revert
# with git's own message, opened in an "editor" that just saves it.
set -euo pipefail
cd pipeline
bad=$(git log --format=%H -G"ROUND\(10\.0 |'activ'|'2022-1-08'" -- sql/turnout_by_district.sql | tail -1)
GIT_EDITOR=true git revert "$bad"
