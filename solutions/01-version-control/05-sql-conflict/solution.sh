#!/usr/bin/env bash
# Model answer for `sql-conflict`. Runs in the learner's exercise folder.
set -euo pipefail
cd project

git switch main
# The merge stops with a conflict in active_voters.sql: that is expected, so do not stop the script.
git merge by-district || true

# Resolve it: write the query with both changes (what the learner types in their editor).
cat > active_voters.sql <<'SQL'
-- Active registered Democrats per state house district, and how many have an email.
-- Copied out of the Civis SQL script "Active voters (monthly)".

SELECT
    p.state_house_district AS district,
    COUNT(*) AS voters,
    COUNT(p.email) AS with_email
FROM voterfile.people AS p
WHERE p.voter_status = 'active'
  AND UPPER(TRIM(p.party)) IN ('D', 'DEM', 'DEMOCRAT', 'DEMOCRATIC')
GROUP BY p.state_house_district
ORDER BY 1;
SQL

git add active_voters.sql
git commit --quiet -m "Merge by-district: Democrats per district, with emails"
git log --oneline --graph --all
