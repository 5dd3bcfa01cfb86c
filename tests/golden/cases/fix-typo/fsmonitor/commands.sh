# A repository whose own config would run commands when git reads it: hooks, fsmonitor, an external diff,
# a textconv filter and an alias. The checks must run none of them (each would create PWNED-*).
cd repo
here=$(pwd)
git config core.fsmonitor "touch $here/../PWNED-fsmonitor"
mkdir -p .git/evil-hooks && printf "#!/bin/sh\ntouch %s/../PWNED-hook\n" "$here" > .git/evil-hooks/post-index-change && chmod +x .git/evil-hooks/post-index-change
git config core.hooksPath .git/evil-hooks
git config diff.external "sh -c 'touch $here/../PWNED-diff'"
git config diff.sql.textconv "sh -c 'touch $here/../PWNED-textconv; cat' --"
echo "*.sql diff=sql" > .git/info/attributes
git config alias.log "!touch $here/../PWNED-alias"
rm -f ../PWNED-*
sed -i.bak 's/> 18/>= 18/' query.sql && rm -f query.sql.bak
git -c core.fsmonitor=false -c core.hooksPath=/dev/null commit -q -am "Count adults again"
rm -f ../PWNED-*
