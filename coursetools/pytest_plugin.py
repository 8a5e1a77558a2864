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
import json
import os
import random
import re
import zlib
from pathlib import Path

import sys

import pytest

from coursetools import REPO_ROOT
from coursetools.boundary.proxy import InProcess, StudentExit, StudentRaised, Submission
from coursetools.feedback import CallLog, CheckFailure



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


FULL_SKIP = ("train_mnist on all of MNIST takes a minute or two: run with --full to include it / "
             "在完整 MNIST 上训练需要一两分钟：加 --full 运行")
CUDA_SKIP = "no CUDA device on this machine / 本机没有 CUDA 设备"


def pytest_collection_modifyitems(config, items):
    """Skips that the machine and the options decide are decided here, at collection, before any student
    code runs: a grader knows its maximum score before it grades (`cuda` tests without CUDA, `full`
    tests without --full)."""
    cuda = None
    full = bool(config.getoption("--full", default=False))
    for item in items:
        if item.get_closest_marker("full") and not full:
            item.add_marker(pytest.mark.skip(reason=FULL_SKIP))
        if item.get_closest_marker("cuda"):
            if cuda is None:
                import torch

                cuda = torch.cuda.is_available()
            if not cuda:
                item.add_marker(pytest.mark.skip(reason=CUDA_SKIP))


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


_transport_factory = None  # set by the grading engine: root -> transport to the sandbox


def use_transport(factory):
    """Reach submissions through `factory(root)` instead of in this process (the grading engine's sandbox)."""
    global _transport_factory
    _transport_factory = factory
    _submissions.clear()


def _default_root(test_path: Path) -> Path:
    """exercises/lessonN/test_x.py grades exercises/; autograder/lessonN/test_x.py grades solutions/."""
    folder = test_path.parent
    has_code = any(p.suffix == ".py" and not p.name.startswith(("test_", "conftest", "__init__"))
                   for p in folder.iterdir())
    return folder.parent if has_code else REPO_ROOT / "solutions"


_submissions = {}


@pytest.fixture(scope="module")
def submission(request) -> Submission:
    """The submission under test: --submission, else COURSE_SUBMISSION, else the default for this test file.

    Tests reach it only through this proxy (`submission.lesson1.flatten_images(x)`): the
    student's code runs in this process for a student's own tests and in the sandbox
    when grading; either way only data comes back (coursetools.boundary.proxy).
    """
    chosen = request.config.getoption("--submission") or os.environ.get("COURSE_SUBMISSION")
    root = Path(chosen) if chosen else _default_root(Path(request.path))
    if not root.is_dir():
        raise pytest.UsageError(f"--submission {root}: no such folder")
    root = root.resolve()
    if root not in _submissions:
        transport = _transport_factory(root) if _transport_factory else InProcess(root)
        _submissions[root] = Submission(root, transport)
    return _submissions[root]


def seed_for(nodeid: str) -> int:
    return zlib.crc32(nodeid.encode("utf-8"))


@pytest.fixture(autouse=True)
def _student_test(request):
    """Each test starts the student side afresh (new objects, seeds from the test's name) and ends it."""
    CallLog.lesson = next((int(m.name[6:]) for m in request.node.iter_markers() if re.fullmatch(r"lesson\d+", m.name)),
                          None)
    CallLog.function = None
    seed = seed_for(request.node.nodeid)
    random.seed(seed)
    if "numpy" in sys.modules:
        sys.modules["numpy"].random.seed(seed % 2**32)
    if "torch" in sys.modules:
        sys.modules["torch"].manual_seed(seed)
    if "submission" not in request.fixturenames:
        yield
        return
    chosen = request.getfixturevalue("submission")
    limit = request.node.get_closest_marker("time_limit")
    chosen.transport.begin(seed, float(limit.args[0]) if limit and limit.args else None)
    try:
        yield
    finally:
        chosen.transport.end()


@pytest.fixture(scope="session")
def mnist_root() -> Path:
    """The folder holding MNIST/raw/ (prepared once by `python -m course_data`)."""
    import course_data

    try:
        return course_data.require_mnist()
    except course_data.CourseDataError as error:
        raise CheckFailure(str(error)) from None


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
    error = excinfo.value
    if isinstance(error, StudentRaised):
        if error.stub:
            where = error.frames[-1][0] if error.frames else "your lesson file"
            report.longrepr = (
                f"{where}: {error.stub} is not implemented yet: write it where it says \"# YOUR CODE HERE\" "
                f"/ {error.stub} 尚未实现：请在“在此编写代码”处完成它。"
            )
            report.user_properties.append(("not_implemented", error.stub))
        else:
            report.longrepr = student_error_message(CallLog.lesson, error)


def student_error_message(lesson, error) -> str:
    """Your code raised `error` (not caught by a check): the error and the submission's own lines, EN + 中文."""
    en, zh = (f"[lesson{lesson}]", f"[第{lesson}课]") if lesson else ("[grader]", "[评分]")
    kind = error.info.get("kind")
    detail = f"{type(error).__name__}: {str(error)[:1500]}"
    if kind == "exit":
        code = error.info.get("code", "")
        first = (f"{en} your code called sys.exit({code}) (or exit()/quit()) during the test. Graded functions must "
                 "return their result, never end the program.")
        last = f"{zh} 测试期间你的代码调用了 sys.exit({code})（或 exit()/quit()）。被评分的函数应返回结果，不能结束程序。"
    elif isinstance(error, StudentExit):
        first = (f"{en} your code stopped the check with {detail} (a pytest skip/xfail or KeyboardInterrupt raised "
                 "by your code); a check your code skips counts as failed.")
        last = f"{zh} 你的代码用 {detail} 中止了检查（pytest.skip/xfail 或 KeyboardInterrupt）；被跳过的检查按失败计。"
    else:
        first, last = f"{en} your code raised {detail}", f"{zh} 你的代码抛出了 {detail}"
    lines = [first]
    for path, line, function, source in error.frames[-4:]:
        lines.append(f"  {path}, line {line}, in {function}: {source}")
    lines.append(last)
    return "\n".join(lines)
