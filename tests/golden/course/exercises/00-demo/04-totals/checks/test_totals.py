"""Checks for exercise totals: the notebook sets `total` to the sum of `numbers`.

The notebook runs in a kernel of its own; only the value of `total` comes back. The right answer is
worked out here, from the numbers the locked setup cell gives, never from anything the notebook set.
"""

import pytest

NOTEBOOK = "totals.ipynb"
NUMBERS = [2, 3, 4]  # the locked setup cell's list


@pytest.mark.points(2)
def test_total(notebook):
    """total is the sum"""
    run = notebook.run(NOTEBOOK, answers=["total"])
    with run.checking("total"):
        total = run.answer("total", missing=(
            "total is not defined yet: write your answer in its cell, in place of raise NotImplementedError(), "
            "and run the cells from the top."))
        assert total == sum(NUMBERS), f"total is {total!r}; it should be {sum(NUMBERS)}"
