"""Run a lesson's public tests in a child pytest and read what each function's tests said.

在子进程中运行一课的公开测试，并读出每个函数的测试结果。

The child writes one JSON line per test phase (the plugin's --course-report, coursetools.checks.records). A
test belongs to the function that coursetools.exercises says (the last one its name mentions: the rule of the
notebooks and the grading engine too).
子进程为每个测试写一行 JSON（插件的 --course-report）。测试属于哪个函数由 coursetools.exercises 决定
（测试名中最后提到的那个：笔记本和评分引擎也用这条规则）。

No hang: the child runs in its own process group with coursetools/student/testrun_child.py, which says
which test is running and its limit. A test past its limit (an endless loop that pytest's own
time limit could not stop) gets the group killed and a bilingual "ran longer than N s" record
naming its lesson and function; the tests after it then run in a new child.
不会卡住：子进程在自己的进程组中运行，并加载 coursetools/student/testrun_child.py 报告正在运行的测试
及其时间限制。超时的测试（pytest 自己的时间限制没能停止的死循环）会使整个进程组被结束，并得到
一条说明课和函数的双语“运行超过 N 秒”记录；其后的测试在新的子进程中继续运行。
"""
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from coursetools import REPO_ROOT
from coursetools.checks import records as test_records
from coursetools.exercises import exercise_of, owners
from coursetools.student.files import Function
from coursetools.text import Text

_NODE = re.compile(r"^lesson(\d+)/[^:]*::([^\[]+)")
_SUMMARY = re.compile(r"\b(passed|failed|skipped|errors?|deselected)\b.* in [\d.]+s\b")

#: Set to a number of seconds after which `course` stops any public test (default: pytest's own
#: in-process limit, which COURSE_TIME_FACTOR scales, plus 20 s; see coursetools/student/testrun_child.py).
#: Handy for trying a hang in seconds.
#: 设为秒数后，`course` 会停止运行超过该时间的任何公开测试（默认：pytest 自身的进程内限制
#: 加 20 秒，COURSE_TIME_FACTOR 可以缩放它）。用来在几秒内试出死循环。
TIME_LIMIT_ENV = "COURSE_TEST_TIME_LIMIT"
#: Seconds pytest may take to start and collect, and between two tests (fixtures, teardown).
#: pytest 启动和收集测试、以及两个测试之间允许的秒数。
IDLE_LIMIT = 120.0
#: Hung tests after which the remaining ones are not run again (each costs its limit).
#: 出现这么多个卡住的测试后，剩下的测试不再重新运行（每个都要等满时间限制）。
MAX_HANGS = 2
#: The exit status of a pytest that its in-process time limit ended (coursetools/boundary/proxy.py:
#: the student code caught the exception meant to stop it).
GAVE_UP = 124
_POLL = 0.2
#: Seconds after which a test still running is announced (`slow`), naming its function, while it runs (a third of
#: its limit when that is shorter).
#: 测试运行超过这么多秒（或其时间限制的三分之一，取较短者）仍未结束时，就在运行期间说出它属于哪个函数。
SLOW_AFTER = 10.0


class PublicTestsError(Exception):
    """pytest itself could not run the public tests (a broken test file, a collection error)."""


class Cancelled(Exception):
    """The run was stopped because `cancel()` said so (a lesson file was saved during `course watch`)."""


def time_limit_override():
    """The seconds of $COURSE_TEST_TIME_LIMIT, or None when it is unset or not a positive number."""
    try:
        value = float(os.environ.get(TIME_LIMIT_ENV, ""))
    except ValueError:
        return None
    return value if value > 0 else None


@dataclass
class _Child:
    """How one child pytest ended."""

    returncode: int
    output: list  # its stdout and stderr lines
    collected: list  # [[nodeid, limit or None], ...] in run order
    culprit: str = None  # the test that was running when it was stopped or ended itself
    message: str = ""  # what pytest said about the culprit before it ended (its own time limit)
    idle: bool = False  # stopped for doing nothing visible for IDLE_LIMIT s


def run_public_tests(exercises: Path, lessons: list, cancel=None, slow=None) -> dict:
    """Run the public tests of `lessons` in a child pytest; return {lesson: [record, ...]}.

    A record is {"test", "nodeid", "outcome", "message", "pitfalls", "not_implemented"},
    one per test (a failing teardown after a passing call makes the test failed), in run order.
    A test that runs past its time limit is stopped with pytest's whole process group, and so
    is one whose pytest ended itself over its time limit (exit status GAVE_UP); it is recorded
    as failed with a bilingual message naming its lesson and function. The tests after it run
    in a new pytest, up to MAX_HANGS stopped tests; those left are recorded as "not run".
    `cancel`, when given, is called a few times a second; when it returns true the run stops
    and Cancelled is raised. `slow`, when given, is called once per test that is still running
    after SLOW_AFTER seconds, with slow_message(...) naming its function, while it runs.

    Raises:
        PublicTestsError: pytest stopped before reporting the tests of every lesson.
        Cancelled: `cancel()` returned true.
    """
    exercises = Path(exercises).resolve()
    override = time_limit_override()
    raw, order, hung = [], [], {}
    with tempfile.TemporaryDirectory(prefix="course-report-") as tmp:
        tmp = Path(tmp)
        report, skip = tmp / "report.jsonl", tmp / "skip.txt"
        command = [sys.executable, "-m", "pytest", *(str(exercises / f"lesson{n}") for n in lessons),
                   "--rootdir", str(exercises), "--submission", str(exercises), "--course-report", str(report),
                   "-q", "--tb=short", "-p", "no:cacheprovider", "-p", "coursetools.student.testrun_child"]
        config = REPO_ROOT / "pyproject.toml"
        if config.is_file():  # the course's markers and options, wherever the exercises folder is
            command[3:3] = ["-c", str(config)]
        attempt = 0
        while True:
            progress = tmp / f"progress{attempt}.jsonl"
            extra = ["--course-progress", str(progress)] + (["--course-skip", str(skip)] if attempt else [])
            announce = (lambda nodeid, seconds, limit: slow(slow_message(exercises, nodeid, seconds, limit))) \
                if slow is not None else None
            child = _run_child(command + extra, exercises, tmp, progress, override, cancel, announce)
            known = set(order)
            order += [nodeid for nodeid, _ in child.collected if nodeid not in known]
            raw = _read_lines(report)
            if child.culprit is None:
                break
            seconds = override or dict(map(tuple, child.collected)).get(child.culprit)
            hung[child.culprit] = child.message or hang_message(exercises, child.culprit, seconds)
            finished = {line.get("nodeid") for line in raw}
            remaining = [n for n in order if n not in finished and n not in hung]
            attempt += 1
            if not remaining or len(hung) >= MAX_HANGS:
                break
            skip.write_text("".join(f"{n}\n" for n in finished | set(hung)), encoding="utf-8")
    finished = {line.get("nodeid") for line in raw}
    raw += [{"nodeid": n, "outcome": "failed", "message": str(message),
             "text": message.to_json() if isinstance(message, Text) else None} for n, message in hung.items()]
    raw += [{"nodeid": n, "outcome": "not run"} for n in order if n not in finished and n not in hung]
    records = _by_test(raw, order)
    missing = [n for n in lessons if n not in records]
    stopped = child.culprit is not None  # the last pytest was stopped: no summary line to expect
    output, returncode = child.output, child.returncode
    summarized = stopped or any(_SUMMARY.search(line) for line in output[-3:])
    names = ", ".join(f"lesson{n}" for n in (missing or lessons))
    tail = "\n".join("    " + line for line in output[-12:]) or "    (nothing)"
    if child.idle:
        raise PublicTestsError(
            f"pytest ran for {IDLE_LIMIT:g} s without starting or finishing a public test of {names} and was "
            f"stopped: an endless loop outside any function of your lesson file? pytest's last lines:\n{tail}\n"
            f"pytest 运行了 {IDLE_LIMIT:g} 秒，{names} 的公开测试既没有开始也没有结束，已被停止："
            f"是课程文件中函数之外的死循环吗？")
    if (returncode not in (0, 1) and not stopped) or missing or not summarized:
        raise PublicTestsError(
            f"pytest stopped before reporting every public test of {names} (exit status {returncode}): "
            f"your code may have ended Python (os._exit, a crash), or a test_*.py file was changed "
            f"(restore it with `git checkout -- exercises/`). pytest's last lines:\n{tail}\n"
            f"pytest 在报告 {names} 的全部公开测试之前就停止了（退出码 {returncode}）：可能是你的代码"
            f"结束了 Python（os._exit、崩溃），或者 test_*.py 文件被改动了（用 `git checkout -- exercises/` 恢复）。")
    return records


def _read_lines(path: Path) -> list:
    """The complete JSON lines of a file another process is appending to (a torn last line is left out)."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return []
    found = []
    for line in text.splitlines():
        try:
            found.append(json.loads(line))
        except ValueError:
            continue
    return found


def _running(events: list):
    """The nodeid of the test that started and has not ended, from the progress events; else None."""
    last = next((e for e in reversed(events) if "start" in e or "finish" in e), None)
    return last.get("start") if last else None


def _run_child(command: list, cwd: Path, tmp: Path, progress: Path, override, cancel, slow=None) -> _Child:
    """Run pytest in its own process group, stopping the group when a test overruns its limit; `slow(nodeid,
    seconds, limit)` once for a test still running after SLOW_AFTER seconds."""
    log = tmp / "output.txt"
    with open(log, "w", encoding="utf-8") as sink:
        child = subprocess.Popen(command, cwd=cwd, stdin=subprocess.DEVNULL, stdout=sink, stderr=subprocess.STDOUT,
                                 process_group=0)
    collected, culprit, seen, since, idle, announced = [], None, None, time.monotonic(), False, set()
    try:
        while child.poll() is None:
            time.sleep(_POLL)
            if cancel is not None and cancel():
                raise Cancelled()
            events = _read_lines(progress)
            collected = collected or next((e["collected"] for e in events if "collected" in e), [])
            current, now = _running(events), time.monotonic()
            if (current, len(events)) != seen:  # something happened: the clock starts again
                seen, since = (current, len(events)), now
            if current is None:  # starting, collecting, between two tests, finishing
                if now - since > IDLE_LIMIT:
                    idle = True
                    break
                continue
            limit = override or dict(map(tuple, collected)).get(current)
            if slow is not None and now - since > min(SLOW_AFTER, (limit or SLOW_AFTER * 3) / 3) \
                    and current not in announced:
                announced.add(current)
                slow(current, now - since, limit)
            if limit and now - since > limit:
                culprit = current
                break
    finally:
        if child.poll() is None:
            _stop(child)
    output = log.read_text(encoding="utf-8", errors="replace").strip().splitlines()
    events = _read_lines(progress)
    collected = collected or next((e["collected"] for e in events if "collected" in e), [])
    message = ""
    if culprit is None and not idle and child.returncode == GAVE_UP and _running(events):
        culprit = _running(events)  # pytest's own time limit ended it during this test
        message = _said_about_time(output)
    return _Child(child.returncode, output, collected, culprit, message, idle)


def _said_about_time(output: list) -> str:
    """The course message pytest printed when its time limit ended it (`[lessonN fn] ... ran longer than`)."""
    heads = [n for n, line in enumerate(output) if line.startswith("[lesson") and "ran longer than" in line]
    if not heads:
        return ""
    lines = []
    for line in output[heads[-1]:]:
        if lines and not line.strip():
            break
        lines.append(line)
        if line.startswith("提示："):  # the end of the block (what follows says the run ends: not here)
            break
    return "\n".join(lines)


def _stop(child) -> None:
    """Kill pytest and everything it started (data loader workers), then reap it."""
    try:
        os.killpg(child.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        child.kill()
    child.wait()


def _lesson_and_function(exercises: Path, nodeid: str) -> tuple:
    """(lesson, the function its test belongs to (else the test's name), the test's name) of a node id."""
    match = _NODE.match(nodeid)
    lesson, test = (int(match.group(1)), match.group(2)) if match else (0, nodeid)
    name = test
    try:
        from coursetools.student.files import StudentFileError, functions, public_test_text

        found = owner_of(test, functions(exercises, lesson), public_test_text(exercises, lesson)) if lesson else None
        name = found.name if found is not None else test
    except StudentFileError:  # an unreadable lesson file: the test's name will do
        pass
    return lesson, name, test


def slow_message(exercises: Path, nodeid: str, seconds: float, limit=None) -> Text:
    """What a test still running after `seconds` is doing, while it runs: its lesson, function and limit."""
    lesson, name, test = _lesson_and_function(exercises, nodeid)
    stop = f"; it is stopped after {limit:g} s" if limit else ""
    stop_zh = f"；超过 {limit:g} 秒会被停止" if limit else ""
    return Text(f"[lesson{lesson} {name}] {test} has been running for {seconds:.0f} s: {name} is running long "
                f"(an endless loop?){stop}.",
                f"[第{lesson}课 {name}] {test} 已运行 {seconds:.0f} 秒：{name} 运行时间很长（死循环？）{stop_zh}。")


def hang_message(exercises: Path, nodeid: str, seconds: float) -> Text:
    """The bilingual message of a test stopped after `seconds`, naming its lesson and function."""
    lesson, name, test = _lesson_and_function(exercises, nodeid)
    shown = f"{seconds:g}" if seconds else "?"
    return Text(f"[lesson{lesson} {name}] {test} ran longer than {shown} s and was stopped: an endless loop?\n"
                f"Hint: look for a loop in {name} that never ends (a `while` whose condition stays true, a counter "
                f"never increased), or far more work than asked.",
                f"[第{lesson}课 {name}] {test} 运行超过 {shown} 秒，已被停止：是死循环吗？\n"
                f"提示：检查 {name} 中永远不会结束的循环（条件一直为真的 `while`、从不递增的计数器），"
                f"或计算量远超要求。")


def _by_test(raw: list, order=()) -> dict:
    """Group the JSON lines by lesson, one record per test, in run order (the collection order `order`)."""
    tests = {}
    for line in raw:
        if _NODE.match(line.get("nodeid", "")):
            test_records.merge(tests, line)
    rank = {nodeid: number for number, nodeid in enumerate(order)}
    grouped = {}
    for record in sorted(tests.values(), key=lambda r: rank.get(r["nodeid"], len(rank))):
        match = _NODE.match(record["nodeid"])
        grouped.setdefault(int(match.group(1)), []).append({"test": match.group(2), **record})
    return grouped


@dataclass
class FunctionState:
    """One function of a lesson: done, todo (still raises NotImplementedError), failing or unknown
    (some of its tests did not run)."""

    function: Function
    status: str
    tests: list = field(default_factory=list)  # its records, in run order

    @property
    def first_failure(self):
        return next((r for r in self.tests if r["outcome"] == "failed"), None)


@dataclass
class LessonState:
    """A lesson after its public tests ran: each function's state and the test counts."""

    functions: list
    records: list
    unassigned_failures: list  # failing tests that belong to no function (a module constant, say)

    def count(self, outcome: str) -> int:
        """How many of the lesson's tests ended with `outcome` (passed, failed, skipped, "not run")."""
        return sum(r["outcome"] == outcome for r in self.records)

    passed = property(lambda self: self.count("passed"))
    skipped = property(lambda self: self.count("skipped"))
    failed = property(lambda self: self.count("failed"))
    #: tests left out after a test had to be stopped (see run_public_tests)
    not_run = property(lambda self: self.count("not run"))

    @property
    def done(self) -> int:
        return sum(f.status == "done" for f in self.functions)

    @property
    def complete(self) -> bool:
        return self.done == len(self.functions) and not self.failed and not self.not_run


def _owners(functions: list, test_text: str) -> dict:
    """{test: function name} by coursetools.exercises.owners for the lesson's public test file ({} without it)."""
    try:
        return owners(test_text, [f.name for f in functions]) if test_text and functions else {}
    except SyntaxError:  # a test file the student broke: the test names alone decide (exercise_of)
        return {}


def owner_of(test: str, functions: list, test_text: str = "", rule: dict = None):
    """The Function whose check `test` is, by coursetools.exercises (the notebooks' and the engine's rule):
    `rule` (from _owners) or the test's name; None when the lesson has no function."""
    if not functions:
        return None
    name = (rule if rule is not None else _owners(functions, test_text)).get(test) \
        or exercise_of(test, [f.name for f in functions])
    return next(f for f in functions if f.name == name)


def summarize(functions: list, records: list, test_text: str = "") -> LessonState:
    """Each function's state from the records of its lesson's public tests (`test_text`: that test file, which
    decides the owner of a test whose name mentions no function)."""
    not_implemented = {r["not_implemented"].split(".")[0] for r in records if r.get("not_implemented")}
    tests = {f.name: [] for f in functions}
    unassigned = []
    rule = _owners(functions, test_text)
    for record in records:
        owner = owner_of(record["test"], functions, rule=rule)
        if owner is not None:
            tests[owner.name].append(record)
        elif record["outcome"] == "failed":
            unassigned.append(record)
    states = []
    for function in functions:
        mine = tests[function.name]
        if function.name in not_implemented:
            status = "todo"
        elif any(r["outcome"] == "failed" for r in mine):
            status = "failing"
        elif not mine and function.untouched:
            status = "todo"
        elif any(r["outcome"] == "not run" for r in mine):
            status = "unknown"  # some of its tests did not run: not known to be done
        else:
            status = "done"
        states.append(FunctionState(function, status, mine))
    return LessonState(states, records, unassigned)


def not_started(functions: list) -> LessonState:
    """The state of a lesson whose every function still holds the stub (no need to run anything)."""
    return LessonState([FunctionState(f, "todo") for f in functions], [], [])
