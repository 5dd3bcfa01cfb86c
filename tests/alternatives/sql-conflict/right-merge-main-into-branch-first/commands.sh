# Merge main into by-district, resolve there (columns in another order), then fast-forward main.
cd project
git config user.name "Ana Field"
git config user.email "ana@example.org"
git switch by-district
git merge main || true
cat > active_voters.sql <<'SQL'
-- Active Democrats per state house district
SELECT COUNT(p.email) AS with_email, COUNT(p.person_id) AS voters, p.state_house_district AS district
FROM voterfile.people p
WHERE p.voter_status = 'active' AND upper(trim(p.party)) IN ('D','DEM','DEMOCRAT','DEMOCRATIC')
GROUP BY 3
ORDER BY 3;
SQL
git add active_voters.sql
git commit --no-edit
git switch main
git merge by-district
