# A different first branch name, and the identity given per command.
cd project
git init -b trunk
git add turnout_by_district.sql run_turnout.py
git -c user.name="Ana Field" -c user.email="ana@example.org" commit -m "Turnout query and runner"
