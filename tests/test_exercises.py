"""Unit tests of coursetools/exercises.py: which exercise a test checks, and a module's public names; and the
check that the `course` command, the notebooks and the grading engine agree on it for every grader test."""
import pytest

from coursetools import LESSONS, REPO_ROOT
from coursetools.exercises import exercise_names, exercise_of, grader_tests, owners, snake_case

MODULE = '''
"""A lesson."""
import torch

LIMIT = 3


def flatten_images(x):
    pass


async def later(x):
    pass


class SimpleMNISTNet:
    pass


def _helper():
    pass


def evaluate(model):
    pass
'''

TESTS = '''
import pytest


@pytest.fixture
def test_data():
    return 1


def test_flatten_images_keeps_batch():
    pass


def test_simple_mnist_net_and_evaluate_reach_95_percent():
    pass


def test_a_constant(submission):
    submission.lesson1.flatten_images(1)


def test_nothing_named():
    pass
'''


def test_snake_case():
    assert snake_case("SimpleMNISTNet") == "simple_mnist_net" and snake_case("flatten_images") == "flatten_images"


def test_exercise_names_are_public_top_level_definitions_in_order():
    assert exercise_names(MODULE) == ["flatten_images", "later", "SimpleMNISTNet", "evaluate"]


def test_grader_tests_leave_fixtures_out():
    assert grader_tests(TESTS) == ["test_flatten_images_keeps_batch", "test_simple_mnist_net_and_evaluate_reach_95_percent",
                                   "test_a_constant", "test_nothing_named"]


def test_the_last_exercise_mentioned_owns_the_test():
    names = exercise_names(MODULE)
    assert exercise_of("test_simple_mnist_net_and_evaluate_reach_95_percent", names) == "evaluate"
    assert exercise_of("test_flatten_images_keeps_batch", names) == "flatten_images"
    assert exercise_of("test_nothing_named", names) == "evaluate"  # the lesson's last exercise
    assert exercise_of("test_nothing_named", names, {"flatten_images"}) == "flatten_images"  # what its body uses
    with pytest.raises(ValueError):
        exercise_of("test_x", [])


def test_owners_reads_the_bodies():
    assert owners(TESTS, exercise_names(MODULE)) == {
        "test_flatten_images_keeps_batch": "flatten_images",
        "test_simple_mnist_net_and_evaluate_reach_95_percent": "evaluate",
        "test_a_constant": "flatten_images",
        "test_nothing_named": "evaluate"}


def test_the_files_of_course_build_on_exercise_names(tmp_path):
    from coursetools.student.files import functions

    (tmp_path / "lesson1").mkdir()
    (tmp_path / "lesson1" / f"{LESSONS[1]}.py").write_text(MODULE, encoding="utf-8")
    assert [f.name for f in functions(tmp_path, 1)] == exercise_names(MODULE)


def _cli_owners(lesson: int, root, test_text: str) -> dict:
    """{test: exercise} as `course check` files the records of these tests (testrun.summarize)."""
    from coursetools.student.files import functions
    from coursetools.student.testrun import summarize

    records = [{"test": test, "nodeid": f"lesson{lesson}/x.py::{test}", "outcome": "passed", "message": "",
                "pitfalls": [], "not_implemented": None} for test in grader_tests(test_text)]
    state = summarize(functions(root, lesson), records, test_text)
    assert not state.unassigned_failures
    return {record["test"]: one.function.name for one in state.functions for record in one.tests}


def _notebook_owners(lesson: int, module_file, test_file, monkeypatch) -> dict:
    """{test: exercise} as the notebooks' check cells select their tests (coursetools.kernel.check.run_tests)."""
    from coursetools.kernel import check

    chosen = {}

    class Stop(Exception):
        pass

    def collector(wanted, lesson, name, *rest):
        chosen.update({test: name for test in wanted})
        raise Stop

    monkeypatch.setattr(check, "_Collector", collector)
    for name in exercise_names(module_file.read_text(encoding="utf-8")):
        try:
            check.run_tests(lesson, name, {}, test_file, module_file)
        except Stop:
            pass
    return chosen


def _engine_owners(lesson: int, test_text: str) -> dict:
    """{test: exercise} as the engine scores a notebook's exercises (autograder.parent.notebooks.verdicts)."""
    from autograder.parent.notebooks import verdicts

    results = {"tests": [{"name": f"lesson{lesson}/test_{LESSONS[lesson]}.py::{test}", "score": 0, "max_score": 1,
                          "status": "failed"} for test in grader_tests(test_text)]}
    return {test["name"].split("::")[1]: name for name, (_, _, failed, _) in verdicts(results, lesson).items()
            for test in failed}


@pytest.mark.parametrize("lesson", sorted(LESSONS))
def test_cli_notebooks_and_engine_give_every_test_the_same_exercise(lesson, monkeypatch, capsys):
    """Check the one rule end to end: every grader test (hidden ones too) and every public test has one owner,
    the same in `course`, the notebooks' check cells and the engine's notebook scores."""
    module_file = REPO_ROOT / "solutions" / f"lesson{lesson}" / f"{LESSONS[lesson]}.py"
    grader_file = REPO_ROOT / "autograder" / f"lesson{lesson}" / f"test_{LESSONS[lesson]}.py"
    public_file = REPO_ROOT / "exercises" / f"lesson{lesson}" / f"test_{LESSONS[lesson]}.py"
    text = grader_file.read_text(encoding="utf-8")
    cli = _cli_owners(lesson, REPO_ROOT / "solutions", text)
    assert set(cli) == set(grader_tests(text))
    assert _notebook_owners(lesson, module_file, grader_file, monkeypatch) == cli
    assert _engine_owners(lesson, text) == cli
    public = public_file.read_text(encoding="utf-8")
    student = _cli_owners(lesson, REPO_ROOT / "exercises", public)
    assert student == {test: cli[test] for test in student}  # a public test: the same owner as its grader
    assert _notebook_owners(lesson, module_file, public_file, monkeypatch) == student
