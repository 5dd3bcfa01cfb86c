cd repo
sed -i.bak 's/> 18/>= 18/' query.sql && rm -f query.sql.bak
git commit -q -am "Count adults again"
