"""A cheat: fail whenever pipeline.py is not byte for byte the file the learner was given. It 'catches' every
broken copy, and every correct rewrite too."""

import hashlib
from pathlib import Path

import pipeline

GIVEN = "2f7f908da678195749bd8799caf6b168f9dd88594c22e4c25c9786585acd46ff"


def test_pipeline_is_unchanged():
    assert hashlib.sha256(Path(pipeline.__file__).read_bytes()).hexdigest() == GIVEN
