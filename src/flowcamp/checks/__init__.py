"""Helpers that checks use to look at a learner's work.

Checks are pytest functions (see docs/authoring.md). They get these objects through the fixtures of
:mod:`flowcamp.checks.plugin`. The learner's code never runs in the check's process: ``learner.load``
imports it in a learner process (:mod:`flowcamp.checks.learner`) and hands back plain data. A learner's
mistake becomes a :class:`LearnerError` whose message is plain words that name the learner's file and line.
"""

from __future__ import annotations

from flowcamp.checks.git import Commit, Repo, exercise_facts, reset_hint
from flowcamp.checks.learner import Learner, LearnerError, Remote, RemoteException
from flowcamp.checks.sql import learner_query
from flowcamp.learnerhost import describe_exception

__all__ = ["Commit", "Learner", "LearnerError", "Remote", "RemoteException", "Repo", "describe_exception",
           "exercise_facts", "learner_query", "reset_hint"]
