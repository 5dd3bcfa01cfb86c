# Learner code that breaks the libraries and the environment of its own process: none of it may reach
# the check that grades it (it runs elsewhere) or the next check.
import os

import duckdb
import pytest

duckdb.connect = None
pytest.fail = lambda *a, **k: None
os.environ.clear()


def add(a, b):
    return a + b
