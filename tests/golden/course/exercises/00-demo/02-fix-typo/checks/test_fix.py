from flowcamp.checks import reset_hint


def test_fixed(repo):
    """query.sql counts people aged 18 again"""
    r = repo("repo")
    r.require_repo()
    assert ">= 18" in (r.show("HEAD", "query.sql") or ""), "The latest commit still has `> 18`."


def test_history_kept(repo):
    """The earlier commits are still there"""
    r = repo("repo")
    r.require_repo()
    start, head = r.facts["start"], r.head()
    kept = head is not None and head != start and r.is_ancestor(start, head)
    assert kept and r.is_clean(), f"Make a new commit on top; do not rewrite history. {reset_hint()}"
