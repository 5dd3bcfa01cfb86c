# Fixed the file and staged it, but never ran git commit: the merge is still in progress.
cd project
git config user.name "Sam Organizer"
git config user.email "sam@example.org"
git merge by-district || true
cat > active_voters.sql <<'SQL'
SELECT p.state_house_district AS district, COUNT(*) AS voters, COUNT(p.email) AS with_email
FROM voterfile.people AS p
WHERE p.voter_status = 'active'
  AND UPPER(TRIM(p.party)) IN ('D', 'DEM', 'DEMOCRAT', 'DEMOCRATIC')
GROUP BY p.state_house_district
ORDER BY 1;
SQL
git add active_voters.sql
