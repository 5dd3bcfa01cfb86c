"""Cohort grading: what a learner hands in (:mod:`.layout`, ``flowcamp submit``) and how an instructor grades a
cohort's work with the course's own checks, in isolation (``flowcamp grade``)."""
