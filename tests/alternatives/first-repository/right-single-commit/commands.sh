# Both files in one commit, staged with "git add ." .
cd project
git init
git config user.name "Sam Organizer"
git config user.email "sam@example.org"
git add .
git commit -m "Bring the turnout script over from Civis"
