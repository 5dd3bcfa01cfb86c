# Staged both files, but `git commit` failed: git does not know who the learner is
# (no user.name or user.email anywhere; the tests run with an empty global git config).
set -u
unset GIT_AUTHOR_NAME GIT_AUTHOR_EMAIL GIT_COMMITTER_NAME GIT_COMMITTER_EMAIL EMAIL
cd project
git init
# Never guess a name from the computer's own name, as git does where it can: fail as a new learner's git does.
git config user.useConfigOnly true
git add turnout_by_district.sql run_turnout.py
git commit -m "Add the turnout query and its script" || true
# The commit must really have failed.
! git rev-parse --quiet --verify HEAD
