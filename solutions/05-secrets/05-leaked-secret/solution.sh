# walk-through: leaked-secret
# Type each command in a terminal opened in the exercise folder (it holds pipeline/).
# They work as typed in Git Bash and in PowerShell. Lines that start with # are notes.
# This route keeps the history as it is and rotates the password. The lesson shows the other route
# (git filter-repo), which rewrites every commit.

# Move into the pipeline's repository.
cd pipeline

# Search the history for the word "password": -G finds commits whose changes add or remove a line that
# matches, -i ignores upper and lower case, -p shows those changes. In the commit
# "Add the production warehouse settings", the added line of settings.py that starts with
# +WAREHOUSE_PASSWORD = holds the password between its quotes: that text is <secret> below.
# (In a terminal, git shows long output one page at a time: press space for more, q to quit.)
git log -p -i -G password
#> secret: WAREHOUSE_PASSWORD = "([^"]+)"

# Now search for the value itself, in every commit: -S lists the commits that add or remove it.
# There are two: settings.py, and a notebook saved with its outputs a week later.
git log --oneline -S "<secret>"

# Open settings.py in your editor. Take out the line with the password, and let production_url()
# read it from the environment variable WAREHOUSE_PASSWORD. Save.
#@ edit settings.py
#- WAREHOUSE_PASSWORD = "<secret>"
#+ # The password is never written here: production_url() reads it from the environment.
#- def production_url() -> str:
#-     """The production warehouse's address, with the user and password in it."""
#-     return f"postgresql://{WAREHOUSE_USER}:{WAREHOUSE_PASSWORD}@{WAREHOUSE_HOST}:{WAREHOUSE_PORT}/events"
#+ def production_url() -> str:
#+     """The production warehouse's address, with the user and password in it: never print it."""
#+     password = os.environ["WAREHOUSE_PASSWORD"]
#+     return f"postgresql://{WAREHOUSE_USER}:{password}@{WAREHOUSE_HOST}:{WAREHOUSE_PORT}/events"

# Open explore_attendance.ipynb in VS Code. In its second cell, stop printing the password: keep the
# host and the user only. (Shown here as the change in the notebook file's text.) Save.
#@ edit explore_attendance.ipynb
#-     "print(\"Connecting to\", settings.WAREHOUSE_HOST, \"as\", settings.WAREHOUSE_USER,\n",
#-     "      \"with password\", settings.WAREHOUSE_PASSWORD)"
#+     "print(\"Connecting to\", settings.WAREHOUSE_HOST, \"as\", settings.WAREHOUSE_USER)"

# Clear the notebook's outputs: the password is in the saved output of that cell. In VS Code, the
# notebook's toolbar has a Clear All Outputs button (then save); this command does the same.
uv run python -m nbconvert --clear-output --inplace explore_attendance.ipynb

# Write the rotation note: a new file ROTATION.md in pipeline/. It says which credential was changed,
# when (YYYY-MM-DD: the day you changed it; here 2025-05-07) and where the new one lives. Never a value.
#@ write ROTATION.md
#+ # Rotation note
#+
#+ The production warehouse password was committed to settings.py on 2025-04-08 (commit
#+ "Add the production warehouse settings") and shown in a notebook output a week later.
#+ We treat it as public. History is kept as it is: the old password no longer works.
#+
#+ - Credential: WAREHOUSE_PASSWORD (the etl_nightly user of the production warehouse)
#+ - Rotated on: 2025-05-07
#+ - New value kept in: the environment variable WAREHOUSE_PASSWORD, set from .env on laptops and from a Prefect Secret block in production

# Write the hook's settings: a new file .pre-commit-config.yaml in pipeline/. The hook runs
# detect-secrets on every file you commit. It is a local hook: nothing is downloaded. uv finds the
# course's environment, so it also works where that environment is not active (VS Code's commit button).
#@ write .pre-commit-config.yaml
#+ # Before every commit: stop if a staged file holds something that looks like a password or a key.
#+ repos:
#+   - repo: local
#+     hooks:
#+       - id: detect-secrets
#+         name: Look for passwords and keys
#+         entry: uv run detect-secrets-hook
#+         language: unsupported

# Install the hook in this repository: pre-commit writes .git/hooks/pre-commit, which git runs before
# every commit. (`uv run pre-commit install` does the same.)
uv run python -m pre_commit install

# Stage the four changed or new files.
git add settings.py explore_attendance.ipynb ROTATION.md .pre-commit-config.yaml

# Commit. From now on the hook looks at every commit first: this one passes, because nothing in it
# is a secret any more.
git commit -m "Read the warehouse password from the environment; rotation note; secret-scanning hook"

# Search for the value again: three commits now. The two old ones still hold it (it no longer works,
# it is rotated), and yours took it out.
git log --oneline -S "<secret>"
