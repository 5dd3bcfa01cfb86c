cd repo
printf 'select count(*) from people where age >= 18;  -- adults\n' > query.sql
git commit -q --amend -am "Tidy"
