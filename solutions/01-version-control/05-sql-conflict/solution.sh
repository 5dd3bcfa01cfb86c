# walk-through: sql-conflict
# Type each command in a terminal opened in the exercise folder (it holds project/).
# They work as typed in Git Bash and in PowerShell. Lines that start with # are notes.

# Move into the repository.
cd project

# Make sure you are on main, the branch that receives the merge.
git switch main

# Merge by-district. Both branches changed the same lines, so git stops with a
# conflict in active_voters.sql. That is expected: you decide what the file says.
git merge by-district
#! exit 1

# Open active_voters.sql in your editor. Replace everything in it with the query
# below: main's filter on Democrats and by-district's rows per district, with no
# conflict markers (<<<<<<<, =======, >>>>>>>) left. Save.
#@ write active_voters.sql
#+ -- Active registered Democrats per state house district, and how many have an email.
#+ -- Copied out of the Civis SQL script "Active voters (monthly)".
#+
#+ SELECT
#+     p.state_house_district AS district,
#+     COUNT(*) AS voters,
#+     COUNT(p.email) AS with_email
#+ FROM voterfile.people AS p
#+ WHERE p.voter_status = 'active'
#+   AND UPPER(TRIM(p.party)) IN ('D', 'DEM', 'DEMOCRAT', 'DEMOCRATIC')
#+ GROUP BY p.state_house_district
#+ ORDER BY 1;

# Stage the file: this tells git the conflict is solved.
git add active_voters.sql

# Commit: this finishes the merge.
git commit -m "Merge by-district: Democrats per district, with emails"

# Look at the graph: the merge commit joins the two branches.
git log --oneline --graph --all
