# Never ran git init in project/: committed the files to the workspace's own
# repository instead (forcing past its .gitignore with -f).
git add -f project/turnout_by_district.sql project/run_turnout.py
git -c user.name="Sam Organizer" -c user.email="sam@example.org" commit -m "Add turnout files"
