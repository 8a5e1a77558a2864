"""The course's pytest plugin (registered as `course` through the pytest11 entry point).

It gives every test the implementation under test through the `submission`
fixture, so one test body serves the public tests in exercises/ and the hidden
grades in autograder/:

- `pytest exercises/lesson1`: the code next to the tests (the student's stubs);
- `pytest autograder/lesson1`: the reference in solutions/;
- `--submission DIR` (or the COURSE_SUBMISSION variable): any folder shaped like exercises/.

It also turns a NotImplementedError raised by a stub into one short line that
names the function to write, and records the pitfall a check diagnosed as a
`pitfall` user property of the report.
"""
import importlib
import json
import os
import re
import sys
from pathlib import Path

import pytest

from coursetools import REPO_ROOT
from coursetools.feedback import CheckFailure

_LESSON_PACKAGE = re.compile(r"^lesson\d+(\.|$)")


def pytest_addoption(parser):
    parser.addoption(
        "--submission",
        metavar="DIR",
        default=None,
        help="grade the submission in DIR (a folder shaped like exercises/) instead of the default "
        "(exercises next to the tests, solutions/ for autograder/)",
    )
    parser.addoption(
        "--course-report",
        metavar="FILE",
        default=None,
        help="append one JSON line per test result to FILE (nodeid, outcome, message, pitfalls, ...) for tools",
    )


def pytest_configure(config):
    # One thread per process: the course's small models train several times faster that way
    # on a busy 2-core machine than with two threads fighting (measured: 1.3 s vs 21 s an epoch).
    # An explicit OMP_NUM_THREADS wins.
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(int(os.environ["OMP_NUM_THREADS"]))
    path = config.getoption("--course-report", None)
    if path:
        config.pluginmanager.register(JsonLinesReport(path), "course-report")


class JsonLinesReport:
    """Writes one JSON line per finished test (its failing phase, or its call phase) for tools to read."""

    def __init__(self, path):
        self.file = open(path, "a", encoding="utf-8")

    def pytest_runtest_logreport(self, report):
        if report.when != "call" and report.passed:
            return
        if report.when == "teardown" and not report.failed:
            return
        properties = dict(report.user_properties)
        record = {
            "nodeid": report.nodeid,
            "when": report.when,
            "outcome": report.outcome,
            "message": "" if report.passed else _message(report),
            "pitfalls": [value for key, value in report.user_properties if key == "pitfall"],
            "not_implemented": properties.get("not_implemented"),
            "duration": round(report.duration, 3),
        }
        self.file.write(json.dumps(record, ensure_ascii=False) + "\n")
        self.file.flush()

    def pytest_unconfigure(self, config):
        self.file.close()


def _message(report) -> str:
    if report.skipped and isinstance(report.longrepr, tuple):
        return str(report.longrepr[2])
    return str(report.longrepr) if report.longrepr is not None else ""


class StudentModule:
    """A lesson module of a submission; a missing name or a broken file fails the test that uses it."""

    def __init__(self, relpath: str, module=None, error=None):
        self._relpath = relpath
        self._module = module
        self._error = error

    def __getattr__(self, name):
        if self._error is not None:
            raise CheckFailure(self._error)
        try:
            return getattr(self._module, name)
        except AttributeError:
            raise CheckFailure(
                f"`{name}` is not defined in {self._relpath}: define it with exactly this name.\n"
                f"{self._relpath} 中没有定义 `{name}`：请用这个名字定义它。"
            ) from None

    def __repr__(self):
        return f"<submission module {self._relpath}>"


class Submission:
    """A folder shaped like exercises/, importable as `lessonN.<topic>` with the folder on sys.path."""

    _active_root = None

    def __init__(self, root: Path):
        self.root = Path(root).resolve()
        self._modules = {}

    def _activate(self):
        """Put this submission's root first on sys.path and forget another submission's lessons."""
        if Submission._active_root == self.root:
            return
        for name in [n for n in sys.modules if _LESSON_PACKAGE.match(n)]:
            del sys.modules[name]
        if Submission._active_root is not None and str(Submission._active_root) in sys.path:
            sys.path.remove(str(Submission._active_root))
        sys.path.insert(0, str(self.root))
        importlib.invalidate_caches()
        Submission._active_root = self.root

    def module(self, lesson: str, topic: str) -> StudentModule:
        """Import `<lesson>/<topic>.py` of this submission (once) and wrap it."""
        key = (lesson, topic)
        if key not in self._modules:
            self._modules[key] = self._import(lesson, topic)
        return self._modules[key]

    def _import(self, lesson: str, topic: str) -> StudentModule:
        relpath = f"{lesson}/{topic}.py"
        path = self.root / lesson / f"{topic}.py"
        if not path.is_file():
            return StudentModule(relpath, error=(
                f"{relpath} is missing from the submission {self.root}: create it (or restore the stub).\n"
                f"提交文件夹 {self.root} 中缺少 {relpath}：请创建它（或恢复原来的练习文件）。"))
        self._activate()
        try:
            module = importlib.import_module(f"{lesson}.{topic}")
        except SyntaxError as error:
            return StudentModule(relpath, error=(
                f"{relpath} has a syntax error at line {error.lineno}: {error.msg}. Fix it and run the tests again.\n"
                f"{relpath} 第 {error.lineno} 行有语法错误：{error.msg}。改正后重新运行测试。"))
        except (Exception, SystemExit) as error:
            return StudentModule(relpath, error=(
                f"importing {relpath} raised {type(error).__name__}: {error}. Code at the top level of the file "
                f"runs on import: move it into a function.\n"
                f"导入 {relpath} 时抛出 {type(error).__name__}：{error}。文件顶层的代码会在导入时运行：请把它移进函数里。"))
        if Path(module.__file__).resolve() != path.resolve():
            return StudentModule(relpath, error=(
                f"`import {lesson}.{topic}` found {module.__file__}, not {path}: another `{lesson}` is on the "
                f"import path. Rename or remove it.\n"
                f"`import {lesson}.{topic}` 找到的是 {module.__file__}，而不是 {path}：导入路径上有另一个 `{lesson}`。"))
        return StudentModule(relpath, module=module)


def _default_root(test_path: Path) -> Path:
    """exercises/lessonN/test_x.py grades exercises/; autograder/lessonN/test_x.py grades solutions/."""
    folder = test_path.parent
    has_code = any(p.suffix == ".py" and not p.name.startswith(("test_", "conftest", "__init__"))
                   for p in folder.iterdir())
    return folder.parent if has_code else REPO_ROOT / "solutions"


_submissions = {}


@pytest.fixture(scope="module")
def submission(request) -> Submission:
    """The submission under test: --submission, else COURSE_SUBMISSION, else the default for this test file."""
    chosen = request.config.getoption("--submission") or os.environ.get("COURSE_SUBMISSION")
    root = Path(chosen) if chosen else _default_root(Path(request.path))
    if not root.is_dir():
        raise pytest.UsageError(f"--submission {root}: no such folder")
    root = root.resolve()
    if root not in _submissions:
        _submissions[root] = Submission(root)
    return _submissions[root]


@pytest.fixture(scope="session")
def mnist_root() -> Path:
    """The folder holding MNIST/raw/ (prepared once by `python -m course_data`)."""
    import course_data

    try:
        return course_data.require_mnist()
    except course_data.CourseDataError as error:
        raise CheckFailure(str(error)) from None


def _stub_frame(excinfo):
    """The traceback entry where a stub raised NotImplementedError, when it is in a lesson file."""
    entry = excinfo.traceback[-1]
    path = Path(str(entry.path))
    if path.name.startswith("test_") or not re.fullmatch(r"lesson\d+", path.parent.name):
        return None
    return entry, path


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    excinfo = call.excinfo
    if excinfo is None:
        return
    pitfall = getattr(excinfo.value, "pitfall", None)
    if pitfall:
        report.user_properties.append(("pitfall", pitfall))
    if excinfo.errisinstance(NotImplementedError):
        found = _stub_frame(excinfo)
        if found is not None:
            entry, path = found
            code = entry.frame.code.raw
            name = getattr(code, "co_qualname", code.co_name)
            where = f"{path.parent.name}/{path.name}"
            report.longrepr = (
                f"{where}: {name} is not implemented yet: write it where it says \"# YOUR CODE HERE\" "
                f"/ {name} 尚未实现：请在“在此编写代码”处完成它。"
            )
            report.user_properties.append(("not_implemented", name))
