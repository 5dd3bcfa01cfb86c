# Take by-district's whole file, then type the Democrats filter back in by hand (lower-case spelling).
cd project
git config user.name "Sam Organizer"
git config user.email "sam@example.org"
git merge by-district || true
git checkout --theirs active_voters.sql
sed -i "s/^WHERE p.voter_status = 'active'$/WHERE p.voter_status = 'active'\n  and lower(trim(p.party)) in ('d', 'dem', 'democrat', 'democratic')/" active_voters.sql
grep -q "lower(trim" active_voters.sql
git add active_voters.sql
git commit -m "Merge by-district, keeping the Democrats filter"
