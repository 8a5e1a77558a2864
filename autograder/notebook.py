"""The hidden grade cells of the nbgrader notebooks: run the hidden graders on a notebook's code.

nbgrader 笔记本中的隐藏评分单元格：用隐藏评分测试检查笔记本里的代码。

A grade cell of a source notebook reads (the hidden region exists only for instructors)::

    from coursetools.notebook_check import check
    check(1, "flatten_images", globals())        # the public tests, as students run them
    <hidden region>
    from autograder.notebook import grade
    grade(1, "flatten_images", globals())        # the hidden tests of autograder/lesson1/test_tensors.py
    <end of hidden region>

`grade` runs the tests of autograder/lessonN/test_<topic>.py that the public
file does not have, with the same pytest machinery and the same test bodies as
`pytest autograder/lessonN`, so a notebook and a .py submission are graded by
the same code.
"""
from pathlib import Path

from coursetools import LESSONS, REPO_ROOT
from coursetools.notebook_check import run_tests, grader_tests
from coursetools.regions import strip_hidden

HERE = Path(__file__).resolve().parent


def hidden_test_names(test_file: Path) -> set:
    """Test functions of `test_file` that sit in hidden regions (the public file lacks them)."""
    text = Path(test_file).read_text(encoding="utf-8")
    return set(grader_tests(text)) - set(grader_tests(strip_hidden(text, test_file)))


def grade(lesson: int, name: str, namespace: dict, public: bool = False) -> None:
    """Run the hidden tests (and the public ones too with `public`) of exercise `name` on a notebook.

    Raises:
        coursetools.notebook_check.NotebookCheckFailed: with the bilingual diagnosis of every failure.
    """
    topic = LESSONS[lesson]
    test_file = HERE / f"lesson{lesson}" / f"test_{topic}.py"
    module_file = REPO_ROOT / "solutions" / f"lesson{lesson}" / f"{topic}.py"
    only = None if public else hidden_test_names(test_file)
    run_tests(lesson, name, namespace, test_file, module_file, "all" if public else "hidden", only=only)
