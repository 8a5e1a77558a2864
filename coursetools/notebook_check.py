"""Run a lesson's tests on the code of a notebook: the check cells of the course's notebooks.

在笔记本里运行一课的测试：课程笔记本中“检查”单元格背后的代码。

A check cell calls `check(1, "scalar_tensor", globals())`: the public tests of
that function (exercises/lesson1/test_tensors.py) run in-process with pytest
against the notebook's own namespace, exactly as `pytest exercises/lesson1`
runs them against a .py file. This is the student's feedback only: the points
`nbgrader autograde` records come from the grading engine, run outside the
kernel on the notebook's code (autograder/parent/notebooks.py), which uses
`exercise_of` below to give each check cell its exercise's tests.

- A test belongs to the last exercise its name mentions in snake_case
  (`test_flatten_images_...` -> `flatten_images`, `test_simple_mnist_net_...`
  -> `SimpleMNISTNet`, `test_train_one_epoch_and_evaluate_...` -> `evaluate`);
  a test that mentions none goes with the lesson's last exercise.
- The notebook's namespace reaches the course's pytest plugin as a small
  module file in a temporary submission folder (`lessonN/<topic>.py`) that
  copies the namespace, so the plugin's `submission` fixture needs no change.
- A failure raises `NotebookCheckFailed` (an AssertionError) whose text is the
  bilingual diagnosis, pitfall line included; nbgrader shows it as feedback.
- Nothing reaches stderr from a passing check: pytest captures output and
  warnings, and Python-level stderr is redirected while the tests run
  (nbgrader scores a grade cell 0 when it writes to stderr).
- Earlier lessons that a lesson's code imports come from the student's own
  notebooks: coursetools/notebook_lessons.py.
"""
import ast
import contextlib
import io
import os
import re
import shutil
import tempfile
from pathlib import Path

from coursetools import LESSONS, REPO_ROOT

_SHIM = (
    "# The code of a notebook, handed to the course's pytest plugin by coursetools.notebook_check.\n"
    "from coursetools.notebook_check import registered_namespace as _registered\n"
    "globals().update(_registered(__name__))\n"
)
_namespaces = {}


# ---------------------------------------------------------------- which tests belong to which exercise

def snake_case(name: str) -> str:
    """`SimpleMNISTNet` -> `simple_mnist_net`; `flatten_images` stays as it is."""
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", name).lower()


def exercise_names(module_text: str) -> list:
    """The public top-level functions and classes of a lesson module, in source order."""
    tree = ast.parse(module_text)
    return [node.name for node in tree.body
            if isinstance(node, (ast.FunctionDef, ast.ClassDef)) and not node.name.startswith("_")]


def _is_fixture(node) -> bool:
    return any("fixture" in ast.unparse(decorator) for decorator in node.decorator_list)


def grader_tests(test_text: str) -> list:
    """The test functions (top-level `test_*` functions that are not fixtures) of a test file, in order."""
    tree = ast.parse(test_text)
    return [node.name for node in tree.body if isinstance(node, ast.FunctionDef)
            and node.name.startswith("test_") and not _is_fixture(node)]


def exercise_of(test_name: str, exercises: list) -> str:
    """The exercise whose check runs `test_name`.

    That is the last exercise, in the module's order, that the test's name mentions
    (`test_train_one_epoch_and_evaluate_reach_95_percent` -> `evaluate`), so every
    exercise the test needs is defined before its check cell runs. A test that
    mentions none (`test_mnist_constants`, `test_checkpoint_round_trip_...`) goes
    with the last exercise, when all of the lesson's code is defined.
    """
    if not exercises:
        raise ValueError("a lesson module without functions or classes has no exercise for the tests")
    words = test_name + "_"
    mentioned = [name for name in exercises if f"_{snake_case(name)}_" in words]
    return mentioned[-1] if mentioned else exercises[-1]


# ---------------------------------------------------------------- results and failures

class NotebookCheckFailed(AssertionError):
    """Failed checks of one exercise; the text is the whole bilingual diagnosis.

    Jupyter shows only this text (no traceback into the course's machinery).
    """

    def _render_traceback_(self):
        return [f"{type(self).__name__}:"] + str(self).splitlines()


def registered_namespace(module_name: str) -> dict:
    """The namespace registered for `module_name` (what the temporary lesson module copies)."""
    namespace = _namespaces[module_name]
    return {key: value for key, value in namespace.items() if not (key.startswith("__") and key.endswith("__"))}


class _Collector:
    """A pytest plugin object: keeps the selected tests only and records their outcomes."""

    def __init__(self, wanted: set):
        self.wanted = wanted
        self.results = []  # (test name, outcome, message, nodeid)
        self.errors = []   # collection errors
        self.not_implemented = set()  # nodeids that failed on a stub's NotImplementedError

    def pytest_collection_modifyitems(self, session, config, items):
        kept = [item for item in items if getattr(item, "originalname", item.name) in self.wanted]
        dropped = [item for item in items if item not in kept]
        if dropped:
            config.hook.pytest_deselected(items=dropped)
        items[:] = kept

    def pytest_collectreport(self, report):
        if report.failed:
            self.errors.append(str(report.longrepr))

    def pytest_runtest_makereport(self, item, call):
        if call.excinfo is not None and call.excinfo.errisinstance(NotImplementedError):
            self.not_implemented.add(item.nodeid)

    def pytest_runtest_logreport(self, report):
        if report.failed or report.skipped or report.when == "call":
            message = "" if report.passed else _text(report)
            self.results.append((report.nodeid.split("::")[-1], report.outcome, message, report.nodeid))


def _text(report) -> str:
    if report.skipped and isinstance(report.longrepr, tuple):
        return str(report.longrepr[2])
    lines = str(report.longrepr).rstrip().splitlines()
    return "\n".join(lines if len(lines) <= 40 else lines[:10] + ["..."] + lines[-29:])


def run_tests(lesson: int, name: str, namespace: dict, test_file: Path, module_file: Path) -> None:
    """Run the public tests of exercise `name` in `test_file` against `namespace`.

    Args:
        lesson: the lesson number. / 课号。
        name: the exercise (function or class name). / 练习名（函数或类名）。
        namespace: the notebook's globals(). / 笔记本的 globals()。
        test_file: the pytest file holding the tests. / 存放测试的 pytest 文件。
        module_file: the lesson module (solution or stub) that lists the exercises.
            列出练习的课程模块（参考答案或练习文件）。

    Raises:
        NotebookCheckFailed: when a test fails, with the diagnosis of every failure.
    """
    import pytest

    test_file, topic = Path(test_file), LESSONS[lesson]
    for path, what in ((test_file, "test file"), (module_file, "lesson module")):
        if not Path(path).is_file():
            raise FileNotFoundError(f"{what} {path} is missing: run `python -m coursetools generate` in the course "
                                    f"repository. / 缺少 {path}：请在课程仓库中运行 `python -m coursetools generate`。")
    exercises = exercise_names(Path(module_file).read_text(encoding="utf-8"))
    if name not in exercises:
        raise ValueError(f"lesson {lesson} has no exercise {name!r}; its exercises are {exercises}")
    wanted = {test for test in grader_tests(test_file.read_text(encoding="utf-8"))
              if exercise_of(test, exercises) == name}
    if not wanted:
        print(f"{name}: no public tests here. / {name}：这里没有公开测试。")
        return
    collector = _Collector(wanted)
    module_name = f"lesson{lesson}.{topic}"
    folder = Path(tempfile.mkdtemp(prefix="notebook-submission-"))
    (folder / f"lesson{lesson}").mkdir()
    (folder / f"lesson{lesson}" / f"{topic}.py").write_text(_SHIM, encoding="utf-8")
    args = [str(test_file), f"--submission={folder}", "-q", "--tb=short", "-p", "no:cacheprovider",
            "-p", "no:faulthandler", "-p", "no:unraisableexception", "-p", "no:threadexception",
            "--import-mode=importlib", "-o", "console_output_style=classic"]
    if os.environ.get("PYTEST_DISABLE_PLUGIN_AUTOLOAD"):
        args += ["-p", "coursetools.pytest_plugin"]
    output = io.StringIO()
    _namespaces[module_name] = namespace
    try:
        with contextlib.redirect_stdout(output), contextlib.redirect_stderr(output):
            code = pytest.main(args, plugins=[collector])
    finally:
        _namespaces.pop(module_name, None)
        shutil.rmtree(folder, ignore_errors=True)
    # The course's messages name the module (lesson1/tensors.py); here the code is in the notebook.
    for index, (test, outcome, message, nodeid) in enumerate(collector.results):
        collector.results[index] = (test, outcome, message.replace(f"lesson{lesson}/{topic}.py",
                                                                   f"lesson{lesson}.ipynb"), nodeid)
    _report(lesson, name, collector, code, output.getvalue())


def _report(lesson, name, collector, code, output) -> None:
    kind, zh_kind = "public", "公开测试"
    failed = [r for r in collector.results if r[1] == "failed"]
    passed = [r for r in collector.results if r[1] == "passed"]
    if collector.errors or (code not in (0, 1) and not failed):
        detail = "\n".join(collector.errors) or output[-3000:]
        raise NotebookCheckFailed(f"[lesson{lesson} {name}] the {kind} tests could not run (pytest exit code {int(code)}):\n"
                                  f"[第{lesson}课 {name}] {zh_kind}无法运行（pytest 退出码 {int(code)}）：\n{detail}")
    if not failed:
        skipped = len(collector.results) - len(passed)
        en, zh = (f" ({skipped} skipped on this machine)", f"（{skipped} 项在本机跳过）") if skipped else ("", "")
        print(f"{name}: {len(passed)} {kind} test(s) passed{en}. / {name}：{len(passed)} 项{zh_kind}通过{zh}。")
        return
    if any(r[3] in collector.not_implemented for r in failed):
        raise NotebookCheckFailed(
            f"{name} is not implemented yet: write it where it says \"# YOUR CODE HERE\", run its cell, "
            f"then run this check again.\n"
            f"{name} 尚未实现：请在“在此编写代码”处完成它，运行那个单元格后再运行本检查。")
    lines = [f"{name}: {len(failed)} of {len(collector.results)} {kind} tests failed. / "
             f"{name}：{len(collector.results)} 项{zh_kind}中有 {len(failed)} 项未通过。"]
    for test, _, message, _ in failed:
        lines += ["", f"-- {test}", message]
    raise NotebookCheckFailed("\n".join(lines))


# ---------------------------------------------------------------- the students' public checks

def check(lesson: int, name: str, namespace: dict) -> None:
    """Run the public tests of exercise `name` of `lesson` against a notebook's `globals()`.

    对笔记本的 `globals()` 运行第 `lesson` 课练习 `name` 的公开测试。

    Raises:
        NotebookCheckFailed: with the diagnosis when a test fails. / 测试未通过时抛出，附带诊断信息。
    """
    folder = REPO_ROOT / "exercises" / f"lesson{lesson}"
    run_tests(lesson, name, namespace, folder / f"test_{LESSONS[lesson]}.py", folder / f"{LESSONS[lesson]}.py")
