import pytest


def test_small(learner):
    """add(2, 3) is 5"""
    calc = learner.load("calc.py")
    add = learner.get(calc, "add")
    got = learner.call(add, 2, 3)
    assert got == 5, f"add(2, 3) gave {got!r}; it should give 5."


@pytest.mark.points(2)
def test_negative(learner):
    """add works with negative numbers"""
    calc = learner.load("calc.py")
    got = learner.call(calc.add, -2, -3)
    assert got == -5, f"add(-2, -3) gave {got!r}; it should give -5."
