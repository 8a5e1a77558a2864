"""The course's pytest plugin (registered as `course` through the pytest11 entry point).

It gives every test the implementation under test through the `submission`
fixture, so one test body serves the public tests in exercises/ and the hidden
grades in autograder/:

- `pytest exercises/lesson1`: the code next to the tests (the student's stubs);
- `pytest autograder/lesson1`: the reference in solutions/;
- `--submission DIR` (or the COURSE_SUBMISSION variable): any folder shaped like exercises/.

Every failure is one compact bilingual block, never a pytest traceback:

- a stub's NotImplementedError: one short line naming the function to write;
- an error raised by the student's code (or a library it called): what was called, on
  what, the error in one line, the submission's own line, and the hint and pitfall that
  `coursetools.checks.diagnosis` reads from the message (the pitfall is recorded as a `pitfall`
  user property of the report, so the grading engine tags it `pitfall:<slug>` too);
- a lesson file that cannot be imported: the full message for the first test that needs
  it, one short line for the later ones (the engine's results keep the full message);
- any other exception escaping a test (a check that could not use what the student
  returned, a fixture, a grader bug): which function's result, the error in one line,
  where in the test file, and whether it looks like the grader's problem.

Time limits when the student code runs in this process (`pytest exercises/lessonN`,
`course check`, `course watch`, the notebook checks; the grading engine has its own): each
test gets

    limit = max(lesson default, calibrated limit) x COURSE_TIME_FACTOR

where the lesson default is the lesson table's `time_limit` (coursetools/lessons.py): 20 s for
lessons 1 and 2 (tensor exercises that take well under a
second: an endless loop stops in 20 s) and 60 s for lessons 3 to 6 (the slowest public test,
lesson 5's 95 % check, takes about 5 s with the reference on a busy 2-core machine: 12 times
that); the calibrated limit is `max(10, 5 x the reference's time + 5)` when
`python -m autograder calibrate` measured this test for these graders on this machine
(coursetools/limits.py). Only tests marked `full` (train_mnist on all of MNIST, run
with --full) keep their `time_limit(s)` marker, the contract's budget for a whole training; and
so do the hidden graders when an author runs them in-process (`pytest autograder`).
The environment variable COURSE_TIME_FACTOR multiplies every limit
(0: no limit). The limit needs SIGALRM in the main thread (not on Windows): then the student
code is stopped where it is, and the test fails with "ran longer than N s: an endless loop?"
and the student's line.
"""
import json
import os
import random
import re
import sys
import zlib
from pathlib import Path

import pytest

from coursetools import REPO_ROOT, limits
from coursetools.boundary.proxy import ImportProblem, InProcess, StudentExit, StudentRaised, Submission
from coursetools.checks import diagnosis, evidence, records
from coursetools.checks.feedback import CallLog, CheckFailure, rendered
from coursetools.lessons import BY_NUMBER, marker_lines
from coursetools.text import Text


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


CONFIG = {"config": None}  # the running pytest's config (the in-process time limit's last resort needs the terminal)


def pytest_configure(config):
    CONFIG["config"] = config
    for line in marker_lines():  # `lessonN` for every lesson of the table (--strict-markers knows them)
        config.addinivalue_line("markers", line)
    config.addinivalue_line("markers", evidence.MARKER)  # what a graded test's pass rests on
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
        self.file.write(json.dumps(records.record_of(report), ensure_ascii=False) + "\n")
        self.file.flush()

    def pytest_unconfigure(self, config):
        self.file.close()


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
    if isinstance(chosen.transport, InProcess):
        limit = in_process_limit(request.node, CallLog.lesson)
    else:  # the grading engine's sandbox applies the marker (calibrated there) itself
        marker = request.node.get_closest_marker("time_limit")
        limit = float(marker.args[0]) if marker and marker.args else None
    chosen.transport.begin(seed, limit)
    try:
        yield
    finally:
        chosen.transport.end()


#: A test's time limit when it has no `time_limit(seconds)` marker (pyproject.toml: "default 60 s"; the grading
#: engine reads the marker through marker_limit), and the in-process limit of a test of no lesson.
DEFAULT_TIME_LIMIT = 60.0


def marker_limit(item) -> float:
    """The seconds of the test's `time_limit` marker, else DEFAULT_TIME_LIMIT."""
    marker = item.get_closest_marker("time_limit")
    return float(marker.args[0]) if marker and marker.args else DEFAULT_TIME_LIMIT


_calibration = {}


def _calibrated(name: str):
    """The calibrated limit of the test `lessonN/test_x.py::test_y` on this machine for these graders, or None."""
    if "limits" not in _calibration:
        _calibration["limits"] = {}
        try:
            if limits.cache_dir().is_dir() and any(limits.cache_dir().glob("calibration-*.json")):
                import torch  # only then (a calibration is per CUDA-or-not)

                _calibration["limits"] = limits.load(bool(torch.cuda.is_available()), full=False) or {}
        except Exception:  # no calibration (or an unreadable one): the defaults apply
            pass
    return _calibration["limits"].get(name)


def in_process_limit(item, lesson) -> float:
    """The time limit of a test whose student code runs in this process (rule: the module's docstring); 0: none."""
    try:
        factor = float(os.environ.get("COURSE_TIME_FACTOR", "1") or 1)
    except ValueError:
        factor = 1.0
    if factor <= 0:
        return 0.0
    limit = BY_NUMBER[lesson].time_limit if lesson in BY_NUMBER else DEFAULT_TIME_LIMIT
    path = Path(str(item.path))
    calibrated = _calibrated(f"{path.parent.name}/{path.name}::{item.name}")
    if calibrated:
        limit = max(limit, calibrated)
    marker = item.get_closest_marker("time_limit")
    hidden = (REPO_ROOT / "autograder") in path.parents  # the graders themselves, run in-process (CI, authors)
    if marker and marker.args and (hidden or item.get_closest_marker("full")):
        limit = max(limit, float(marker.args[0]))
    return limit * factor


@pytest.fixture(scope="session")
def mnist_root() -> Path:
    """The folder holding MNIST/raw/ (prepared once by `python -m course_data`)."""
    import course_data

    try:
        return course_data.require_mnist()
    except course_data.CourseDataError as error:
        raise CheckFailure(str(error)) from None


_import_reported = set()  # (submission, lesson file) whose import problem the terminal has shown in full


def shown_texts(reports) -> list:
    """The results tests show even when they pass (a "shown" property, Text.to_json(): lesson 5's accuracy against
    the 95 % goal), in run order, each once."""
    found = []
    for report in reports:
        text = Text.from_json(dict(report.user_properties).get("shown")) if report.when == "call" else None
        if text is not None and text not in found:
            found.append(text)
    return found


def pytest_terminal_summary(terminalreporter):
    """Print what the tests showed (the accuracy a student's training reached), after the usual summary."""
    from coursetools.text import choose

    texts = shown_texts(r for key in ("passed", "failed") for r in terminalreporter.stats.get(key, []))
    if texts:
        terminalreporter.section("results / 结果", sep="-")
        for text in texts:
            terminalreporter.write_line(text.pick(choose()))


def pytest_sessionstart(session):
    _import_reported.clear()  # per run (the notebook checks run pytest several times in one process)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    excinfo = call.excinfo
    if excinfo is None or report.passed or report.skipped:
        return
    error = excinfo.value
    pitfall = getattr(error, "pitfall", None)
    if pitfall:
        report.user_properties.append(("pitfall", pitfall))
    if isinstance(getattr(error, "text", None), Text):  # a course message (feedback.fail): keep its two languages
        report.user_properties.append(("message", error.text.to_json()))
    if isinstance(error, ImportProblem):
        key = (str(item.config.getoption("--submission") or ""), error.relpath)
        if key in _import_reported:  # the terminal said it in full above; the engine's results keep it all
            report.course_full_message = str(error.msg)
            report.longrepr = (f"same problem as above: {error.relpath} cannot be imported / "
                               f"同上：{error.relpath} 无法导入")
        else:
            _import_reported.add(key)
        return
    if isinstance(error, StudentRaised):
        if error.stub:
            where = error.frames[-1][0] if error.frames else "your lesson file"
            text = Text(f"{where}: {error.stub} is not implemented yet: write it where it says \"# YOUR CODE HERE\"",
                        f"{error.stub} 尚未实现：请在“在此编写代码”处完成它。")
            report.longrepr = text.pick("both", " / ")  # one short line
            report.user_properties += [("not_implemented", error.stub), ("message", text.to_json())]
        else:
            text, slug = student_error_text(CallLog.lesson, error)
            report.longrepr = rendered(text, slug)
            report.user_properties.append(("message", text.to_json()))
            found = diagnosis.of(error) if error.info.get("kind") == "raised" else None
            if found and found.slug:
                report.user_properties.append(("pitfall", found.slug))
        return
    if isinstance(error, (pytest.fail.Exception, pytest.skip.Exception, pytest.xfail.Exception, pytest.UsageError,
                          KeyboardInterrupt)) and not (isinstance(error, pytest.fail.Exception) and error.pytrace):
        return  # a course message (or pytest's own) already
    if _is_course_test(item):  # the course's own tests/ keep pytest's report
        text = escaped_message(item, call.when, excinfo)
        report.longrepr = str(text)
        report.user_properties.append(("message", text.to_json()))


def _is_course_test(item) -> bool:
    """A lesson's test (public or hidden): a lessonN marker, or the submission fixture."""
    return "submission" in getattr(item, "fixturenames", ()) or any(
        re.fullmatch(r"lesson\d+", m.name) for m in item.iter_markers())


def student_error_message(lesson, error) -> str:
    """student_error_text as pytest prints it (the pitfall line last)."""
    return rendered(*student_error_text(lesson, error))


def student_error_text(lesson, error) -> tuple:
    """Your code raised `error` (not caught by a check): what was called, the error, the submission's own line, the
    hint and pitfall the diagnosis table knows: (Text, pitfall or None)."""
    en, zh = (f"[lesson{lesson}]", f"[第{lesson}课]") if lesson else ("[grader]", "[评分]")
    kind = error.info.get("kind")
    detail = f"{type(error).__name__}: {diagnosis.one_line(str(error), 300)}"
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
        function = getattr(error, "function", None) or CallLog.function
        return diagnosis.raised_text(lesson, function, getattr(error, "call", None), error)
    return Text("\n".join([first, *diagnosis.where_lines(error.frames)]), last), None


_TRUSTED = (str(REPO_ROOT / "coursetools") + os.sep, str(REPO_ROOT / "autograder") + os.sep)


def escaped_message(item, when: str, excinfo) -> Text:
    """Any other exception that escaped a test, as one compact block: which student function's result the check
    could not use, the error in one line, where in the test file; and whether it looks like the grader's problem."""
    error = excinfo.value
    lesson, function = CallLog.lesson, CallLog.function
    test_file = os.path.realpath(str(item.path))
    in_test = None  # the innermost frame of the test file
    deeper_trusted = False  # the error came from course code below the test (an oracle, the kit, a replay)
    for entry in excinfo.traceback:
        path = os.path.realpath(str(entry.path))
        if path == test_file:
            in_test, deeper_trusted = entry, False
        elif in_test is not None and path.startswith(_TRUSTED):
            deeper_trusted = True
    grader = when != "call" or function is None or deeper_trusted or isinstance(error, (NameError, ImportError,
                                                                                         SyntaxError))
    detail = f"{type(error).__name__}: {diagnosis.one_line(str(error), 200)}"
    name = f" {function}" if function else ""
    en_head, zh_head = (f"[lesson{lesson}{name}]", f"[第{lesson}课{name}]") if lesson else (f"[grader{name}]",
                                                                                       f"[评分{name}]")
    where = where_zh = ""
    if in_test is not None:
        shown_file = f"{Path(test_file).parent.name}/{Path(test_file).name}"
        where = f"  in the test: {shown_file}, line {in_test.lineno + 1}"
        where_zh = f"  位于测试中：{shown_file} 第 {in_test.lineno + 1} 行"
        if _transport_factory is None:  # public tests: the student has the file
            try:
                statement = diagnosis.one_line(str(in_test.statement), 100)
                where, where_zh = f"{where}: {statement}", f"{where_zh}：{statement}"
            except Exception:
                pass
    phase = {"setup": "setting up the test", "teardown": "cleaning up after the test"}.get(when, "the check")
    phase_zh = {"setup": "准备测试时", "teardown": "测试结束清理时"}.get(when, "检查时")
    if isinstance(error, AssertionError) and not grader:
        lines = [f"{en_head} a check failed on what {function} returned: {detail}"]
        zh = f"{zh_head} 对 {function} 返回值的检查未通过：{detail}"
    elif grader:
        lines = [f"{en_head} {phase} failed with {detail}. This looks like a problem of the grader (or of this "
                 "machine), not of your code: tell your instructor."]
        zh = (f"{zh_head} {phase_zh}出错：{detail}。"
              "这看起来是评分程序（或本机）的问题，不是你的代码的问题：请告诉老师。")
    else:
        lines = [f"{en_head} the check could not use what {function} returned: {detail}"]
        zh = f"{zh_head} 检查无法使用 {function} 的返回值：{detail}"
    if where:
        lines.append(where)
    zh = [zh, where_zh] if where_zh else [zh]
    if not grader:
        lines.append(f"Hint: return exactly what the exercise asks for (type, shape, dtype): see {function}'s "
                     "docstring.")
        zh.append(f"提示：返回练习要求的内容（类型、形状、dtype）：见 {function} 的文档字符串。")
    return Text("\n".join(lines), "\n".join(zh))
