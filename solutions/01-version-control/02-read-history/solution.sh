# walk-through: read-history
# Type each command in a terminal opened in the exercise folder (it holds pipeline/).
# They work as typed in Git Bash and in PowerShell. Lines that start with # are notes.

# Move into the repository.
cd pipeline

# List the commits, newest first. Messages can mislead: some talk about the filter
# without changing it, so do not pick a commit by its message.
git log --oneline

# git blame prints every line of the file with the commit that last changed it: its
# short id, its author and its date. Find the line that starts with WHERE. Its id is
# <commit>, its author <author> and its date <date>.
git blame --date=short sql/turnout_by_district.sql
#> commit: ^\^?([0-9a-f]{7,40}) .*\d{4}-\d{2}-\d{2}\s+\d+\)\s*WHERE
#> author: ^\^?[0-9a-f]{7,40} .*?\((.+?)\s+\d{4}-\d{2}-\d{2}\s+\d+\)\s*WHERE
#> date: ^\^?[0-9a-f]{7,40} .*\((?:.+?)\s+(\d{4}-\d{2}-\d{2})\s+\d+\)\s*WHERE

# Show that commit's change (type the id you found instead of <commit>). The line that
# starts with "-" is the filter as it was before: write it down as <old_line>, without the "-".
git show <commit>
#> old_line: ^-(WHERE .*?)\s*$

# Go back up to the exercise folder, where answers.toml is.
cd ..

# Open answers.toml in your editor, write what you found between the double quotes
# (your own values, not the words in angle brackets), and save.
#@ edit answers.toml
#- commit = ""
#+ commit = "<commit>"
#- author = ""
#+ author = "<author>"
#- date = ""
#+ date = "<date>"
#- old_line = ""
#+ old_line = "<old_line>"
