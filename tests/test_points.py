"""Points as a unit (autograder/parent/results.py, autograder/lesson/worker.py): what a score adds up to.

分数的单元测试：分数如何相加，跳过的测试不计分，成绩册的一行。
"""
from types import SimpleNamespace

import pytest

from autograder.lesson.worker import DEFAULT_POINTS, points_of
from autograder.parent.results import LessonResult, SubmissionResult, gradebook_row, to_gradescope
from autograder.parent.results import TestResult as Verdict  # (not a pytest class)
from coursetools.checks.pytest_plugin import DEFAULT_TIME_LIMIT, marker_limit


def made(name, lesson, points, status, score=None, **kwargs):
    return Verdict(name=name, lesson=lesson, max_score=points, status=status,
                      score=points if score is None and status == "passed" else (score or 0.0), **kwargs)


@pytest.fixture
def result():
    one = LessonResult(1, [made("lesson1/t.py::a", 1, 2, "passed"),
                           made("lesson1/t.py::b", 1, 3, "failed", tags=["pitfall:view-non-contiguous"]),
                           made("lesson1/t.py::c", 1, 5, "skipped")], isolated=True)
    two = LessonResult(2, [made("lesson2/t.py::a", 2, 4, "passed")], isolated=True)
    return SubmissionResult("alice", "/x/alice", {1: one, 2: two}, finished=True, folder="alice")


def test_a_skipped_test_is_not_scored(result):
    """Check skipped tests count in neither score nor maximum."""
    assert (result.lessons[1].score, result.lessons[1].max_score) == (2, 5)
    assert (result.score, result.max_score) == (6, 9)


def test_the_results_json_adds_up(result):
    """Check results.json's score is the sum of its tests and lists no skipped test among them."""
    data = to_gradescope(result)
    assert data["score"] == sum(t["score"] for t in data["tests"]) == 6
    assert data["max_score"] == sum(t["max_score"] for t in data["tests"]) == 9
    assert [t["name"] for t in data["tests"]] == ["lesson1/t.py::a", "lesson1/t.py::b", "lesson2/t.py::a"]
    assert data["extra_data"]["skipped"][0]["name"] == "lesson1/t.py::c"
    assert data["extra_data"]["complete"] is True


def test_a_lesson_that_failed_makes_the_grading_incomplete(result):
    """Check a grader error marks the submission incomplete, whatever its score."""
    result.lessons[2].error = "lesson process crashed"
    data = to_gradescope(result)
    assert data["extra_data"]["complete"] is False
    assert data["extra_data"]["errors"] == ["lesson2: lesson process crashed"]


def test_a_gradebook_row(result):
    """Check a gradebook row: points per lesson, total, maximum, percent, pitfalls."""
    row = gradebook_row(to_gradescope(result), [1, 2, 3])
    assert row[:7] == ["alice", "2", "4", "", "6", "9", "66.7"]
    assert row[7] == "view-non-contiguous"


def test_an_unfinished_grading_says_so_in_the_gradebook(result):
    """Check partial results are marked in the error column."""
    result.finished = False
    row = gradebook_row(to_gradescope(result), [1, 2])
    assert row[-2].startswith("grading did not finish")


class FakeItem:
    """The part of a pytest item points_of and marker_limit read: its closest markers."""

    def __init__(self, **markers):
        self.markers = markers

    def get_closest_marker(self, name):
        args = self.markers.get(name)
        return None if args is None else SimpleNamespace(name=name, args=args, kwargs={})


@pytest.mark.parametrize("markers, points, limit", [
    ({}, DEFAULT_POINTS, DEFAULT_TIME_LIMIT),
    ({"points": (3,), "time_limit": (120,)}, 3.0, 120.0),
    ({"points": (0.5,)}, 0.5, DEFAULT_TIME_LIMIT),
    ({"points": ()}, DEFAULT_POINTS, DEFAULT_TIME_LIMIT),  # a marker without its argument keeps the default
])
def test_points_and_time_limits_from_markers(markers, points, limit):
    """Check a test's worth and time limit come from its markers, else the defaults."""
    item = FakeItem(**markers)
    assert points_of(item) == points and marker_limit(item) == limit
