"""Graders for the generator's golden test."""
import pytest


def test_public():
    """Check something every student may see."""
    assert 1 + 1 == 2, "arithmetic"


### BEGIN HIDDEN TESTS
import math


def test_hidden():
    """Check something only the grader sees."""
    assert math.isclose(0.1 + 0.2, 0.3), "floats"
### END HIDDEN TESTS


def test_public_again():
    """Check something else in public."""
    assert "a".upper() == "A", "strings"
