"""Checks for `read-history`: the answers in answers.toml match the history of pipeline/.

The truth is read from the repository itself (never from the seed), so any route to
the answers passes: git log -p, git blame, git log -S, VS Code's timeline, ...
"""

import re
import tomllib
from datetime import date, datetime

import pytest

from flowcamp.checks import reset_hint

SQL = "sql/turnout_by_district.sql"
ANSWERS = "answers.toml"
FIELDS = ("commit", "author", "date", "old_line")


# ------------------------------------------------------------------------------ reading the answers


def _answers(learner, first: bool = False) -> dict:
    """The answers, read from answers.toml. Only the first check explains a broken file in full."""
    text = learner.read(ANSWERS)
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        where = re.search(r"line (\d+)", str(e))
        line_no = int(where.group(1)) if where else None
        if not first:
            raise AssertionError(
                f"Waiting for the first check: {ANSWERS} cannot be read"
                f"{f' (line {line_no})' if line_no else ''}."
            ) from None
        lines = text.splitlines()
        shown = ""
        if line_no and 0 < line_no <= len(lines):
            shown = f" That line is `{lines[line_no - 1].strip()}`."
        raise AssertionError(
            f"{ANSWERS} cannot be read: there is a mistake on line {line_no or '?'} ({e}).{shown} "
            f"Every answer goes between double quotes, like: author = \"Sam Organizer\". "
            f"A line that starts with # is a comment and may say anything."
        ) from None


def _answer(learner, field: str) -> str:
    value = _answers(learner).get(field)
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    assert value is not None, (
        f"{ANSWERS} has no `{field}` line. Add one, like: {field} = \"...\" "
        f"(or get the starter file back: {reset_hint()})"
    )
    value = str(value).strip()
    assert value, f"`{field}` in {ANSWERS} is still empty. Write your answer between the double quotes."
    return value


# ------------------------------------------------------------------------------ reading the truth


def _filter_line(text):
    """The turnout filter: the WHERE line of the turnout query (None if there is none)."""
    if text is None:
        return None
    for line in text.splitlines():
        if re.match(r"\s*where\b", line, re.IGNORECASE):
            return line.strip()
    return None


class Change:
    def __init__(self, pipeline, commit):
        self.commit = commit
        self.new = _filter_line(pipeline.show(commit.sha, SQL))
        self.old = _filter_line(pipeline.show(commit.parents[0], SQL))
        fmt = pipeline.git("log", "-1", "--format=%ad%n%cd", "--date=short", commit.sha).split()
        self.dates = {date.fromisoformat(d) for d in fmt}


def _pipeline(repo):
    pipeline = repo("pipeline")
    assert pipeline.path.is_dir() and pipeline.is_repo(), (
        f"The pipeline/ repository is missing or broken. {reset_hint()} It builds pipeline/ again."
    )
    return pipeline


def _changes(pipeline):
    """Every commit that changed the filter line (not the one that first wrote it), oldest first."""
    changes = []
    for c in reversed(pipeline.commits(all_refs=True)):
        if len(c.parents) != 1 or SQL not in pipeline.changed_files(c.sha):
            continue
        ch = Change(pipeline, c)
        if ch.old is not None and ch.new != ch.old:
            changes.append(ch)
    assert changes, (
        f"In pipeline/, no commit changes the turnout filter any more. Was the history rewritten? {reset_hint()}"
    )
    return changes


def _find(pipeline, text):
    """The commits whose id starts with text."""
    return [c for c in pipeline.commits(all_refs=True) if c.sha.startswith(text)]


def _clean_hash(text: str) -> str:
    text = text.strip().lower()
    text = re.sub(r"^commit\s+", "", text)
    return text.split()[0] if text.split() else ""


def _named(learner, pipeline, changes):
    """The commit the learner named, when it is a real commit but not one that changed the filter."""
    try:
        given = _clean_hash(str(_answers(learner).get("commit") or ""))
    except AssertionError:
        return None
    if len(given) < 7 or any(ch.commit.sha.startswith(given) for ch in changes):
        return None
    found = _find(pipeline, given)
    return found[0] if found else None


def _target(learner, pipeline, changes):
    """The change the learner is asked about: the one they named, if they named one; else the first."""
    try:
        given = _clean_hash(str(_answers(learner).get("commit") or ""))
    except AssertionError:
        given = ""
    for ch in changes:
        if len(given) >= 7 and ch.commit.sha.startswith(given):
            return ch
    return changes[0]


def _norm(text: str) -> str:
    return " ".join(text.split()).casefold()


# ------------------------------------------------------------------------------ the checks


@pytest.mark.points(1)
def test_answers_file_is_readable(learner):
    """answers.toml can be read and every answer is filled in"""
    answers = _answers(learner, first=True)
    empty = [f for f in FIELDS if not str(answers.get(f, "")).strip()]
    assert not empty, (
        f"These answers in {ANSWERS} are still empty or missing: {', '.join(empty)}. "
        f"Write each one between the double quotes."
    )


@pytest.mark.points(3)
def test_commit(learner, repo):
    """The commit that changed the turnout filter"""
    pipeline = _pipeline(repo)
    changes = _changes(pipeline)
    given = _clean_hash(_answer(learner, "commit"))
    assert re.fullmatch(r"[0-9a-f]+", given), (
        f"`commit` in {ANSWERS} is \"{given}\", which is not a commit id. An id is made of the digits 0-9 and "
        f"the letters a-f, like \"3f9c2a1\". `git log --oneline` shows the first 7 characters of each one."
    )
    assert len(given) >= 7, (
        f"`commit` in {ANSWERS} is only {len(given)} characters long. Give at least the first 7 characters "
        f"of the id, as `git log --oneline` shows them."
    )
    if any(ch.commit.sha.startswith(given) for ch in changes):
        return
    found = _find(pipeline, given)
    assert found, (
        f"No commit in pipeline/ has an id that starts with {given}. Copy the id from "
        f"`git log --oneline` inside pipeline/."
    )
    c = found[0]
    if SQL not in pipeline.changed_files(c.sha):
        raise AssertionError(
            f"Commit {c.sha[:7]} (\"{c.subject}\") does not change {SQL} at all, whatever its message says. "
            f"Messages can mislead: look at what a commit really changed with `git show {c.sha[:7]}`. "
            f"Try `git log -p -- {SQL}` or `git blame {SQL}` to find the commit that changed the WHERE line."
        )
    if c.parents and _filter_line(pipeline.show(c.parents[0], SQL)) is None:
        raise AssertionError(
            f"Commit {c.sha[:7]} (\"{c.subject}\") is where {SQL} was first written. We are looking for a later "
            f"commit that changed its WHERE line. `git log -p -- {SQL}` shows every change to the file."
        )
    raise AssertionError(
        f"Commit {c.sha[:7]} (\"{c.subject}\") changes {SQL}, but not its WHERE line (the turnout filter). "
        f"Run `git show {c.sha[:7]}` to see which lines it changed, then keep looking: `git blame {SQL}` "
        f"shows which commit last changed each line."
    )


def _same_person(given: str, name: str, email: str) -> bool:
    g = _norm(given)
    options = {_norm(name), _norm(email), _norm(f"{name} <{email}>"), _norm(f"{name} {email}")}
    return g in options or g.strip("<>") in options


@pytest.mark.points(1)
def test_author(learner, repo):
    """Who made that commit"""
    pipeline = _pipeline(repo)
    changes = _changes(pipeline)
    ch = _target(learner, pipeline, changes)
    given = _answer(learner, "author")
    c = ch.commit
    if _same_person(given, c.author_name, c.author_email):
        return
    named = _named(learner, pipeline, changes)
    if named and _same_person(given, named.author_name, named.author_email):
        raise AssertionError(
            f"{given} made commit {named.sha[:7]}, the one you named, but that commit did not change the "
            f"turnout filter. Fix `commit` first (see the check above), then give the author of the right commit."
        )
    latest = pipeline.commits("HEAD")[:1]
    if latest and _same_person(given, latest[0].author_name, latest[0].author_email):
        raise AssertionError(
            f"{given} made the newest commit in pipeline/ (\"{latest[0].subject}\"), not the one that changed "
            f"the turnout filter. `git log` shows the author of each commit under its id: read the author "
            f"of the commit that changed the WHERE line."
        )
    if _norm(given) in _norm(c.author_name).split():
        raise AssertionError(
            f"`author` in {ANSWERS} is \"{given}\": write the person's full name, as `git log` shows it on the "
            f"`Author:` line."
        )
    raise AssertionError(
        f"`author` in {ANSWERS} is \"{given}\", but that is not who made the commit that changed the turnout "
        f"filter. `git log -1 <id>` shows the author of a commit on its `Author:` line."
    )


def _parse_date(text: str):
    text = text.strip().strip("\"'")
    m = re.fullmatch(r"(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?:[ T].*)?", text)
    if m:
        try:
            return date(int(m[1]), int(m[2]), int(m[3]))
        except ValueError:
            return None
    for fmt in ("%a %b %d %H:%M:%S %Y %z", "%a %b %d %H:%M:%S %Y"):  # git's own format, copied whole
        try:
            return datetime.strptime(" ".join(text.split()), fmt).date()
        except ValueError:
            pass
    return None


@pytest.mark.points(1)
def test_date(learner, repo):
    """When that commit was made"""
    pipeline = _pipeline(repo)
    changes = _changes(pipeline)
    ch = _target(learner, pipeline, changes)
    given = _answer(learner, "date")
    when = _parse_date(given)
    assert when is not None, (
        f"`date` in {ANSWERS} is \"{given}\", which is not a date we can read. Write it as YYYY-MM-DD, "
        f"like \"2024-03-05\"."
    )
    named = _named(learner, pipeline, changes)
    if named and when not in ch.dates:
        named_days = set(pipeline.git("log", "-1", "--format=%ad%n%cd", "--date=short", named.sha).split())
        assert when.isoformat() not in named_days, (
            f"{when.isoformat()} is the day of commit {named.sha[:7]}, the one you named, but that commit did not "
            f"change the turnout filter. Fix `commit` first (see the check above), then give the right commit's day."
        )
    assert when in ch.dates, (
        f"`date` in {ANSWERS} is {when.isoformat()}, but that is not the day the commit that changed the "
        f"turnout filter was made. `git log -1 --date=short <id>` shows it on the `Date:` line."
    )


@pytest.mark.points(2)
def test_old_line(learner, repo):
    """The filter line as it was before that commit"""
    pipeline = _pipeline(repo)
    ch = _target(learner, pipeline, _changes(pipeline))
    given = _answer(learner, "old_line")
    g = _norm(re.sub(r"^\s*-\s*", "", given)).rstrip(";").strip()
    old, new = _norm(ch.old).rstrip(";"), _norm(ch.new or "").rstrip(";")
    # The whole line, or a part of it that holds what changed (like the old date, with or without quotes).
    changed = [t.strip("'\";(),") for t in old.split() if t not in new.split()]
    if g and g in old and g not in new and all(t in g for t in changed):
        return
    added = [t.strip("'\";(),") for t in new.split() if t not in old.split()]
    if g and g in new and g not in old and all(t in g for t in added):
        raise AssertionError(
            f"`old_line` in {ANSWERS} is the filter line as it is AFTER the change. We want the line as it was "
            f"before. In `git show <id>`, the old line starts with `-` and the new one with `+`."
        )
    if g and g in old:
        raise AssertionError(
            f"`old_line` in {ANSWERS} is \"{given}\", only a part of the old line that does not show what changed. "
            f"Copy the whole line from `git show <id>`: the one that starts with `-` (without the `-`)."
        )
    raise AssertionError(
        f"`old_line` in {ANSWERS} is \"{given}\", which is not the turnout filter as it was before the change. "
        f"Run `git show <id>` on the commit that changed it: the old line starts with `-`. Copy it without the `-`."
    )
