"""The lesson process: runs one lesson's graders with pytest; it never runs student code.

Forked by the grading parent. It collects the tests of a private copy of
`autograder/lessonN` (points, time limit and visibility read from each test), starts
the lesson's student process (bubblewrap, launch.py) and points the tests' proxies at
it (client.py), runs every test here, in this trusted process, and sends the parent
one JSON line per verdict. Student code only ever answers calls with data.

单课进程：用 pytest 运行一课的评分测试；它自己从不运行学生代码，学生代码只在沙箱进程中回答调用。
"""
import contextlib
import json
import os
import signal
import subprocess
import threading

import pytest
from _pytest.skipping import evaluate_skip_marks  # the skip/skipif marks, as pytest reads them

from autograder.lesson import confine, launch, messages
from autograder.lesson.client import SandboxTransport
from coursetools.boundary.proxy import StudentRaised
from coursetools.checks import mnist as checks_mnist
from coursetools.checks import pytest_plugin, records
from coursetools.checks.feedback import CheckFailure
from coursetools.lessons import BY_NUMBER, number_in, preloads
from coursetools.regions import HIDDEN, find_regions

GRADERS_PACKAGE = "_course_graders"
#: The folder for trusted work that every submission repeats identically (lesson 4's trusted training of the
#: student's net, keyed by every byte of its start weights): only the grading user can read it, no sandbox shows it;
#: it lasts from run to run when grading as root (runner.lasting_trusted_cache), else it goes with the run folder.
#: Read by the graders (autograder/lesson4/test_model.py) only with the walls up.
TRUSTED_CACHE = "AUTOGRADER_TRUSTED_CACHE"
DEFAULT_POINTS = 1.0


class Channel:
    """JSON lines to the grading parent."""

    def __init__(self, fd: int):
        self.fd = fd

    def send(self, record: dict):
        data = (json.dumps(record, ensure_ascii=False) + "\n").encode("utf-8")
        while data:
            data = data[os.write(self.fd, data):]


def test_name(nodeid: str) -> str:
    """'_course_graders/lesson1/test_tensors.py::test_x[a]' -> 'lesson1/test_tensors.py::test_x[a]'."""
    return nodeid.split(f"{GRADERS_PACKAGE}/", 1)[-1]


def lesson_of(name: str, default: int = None) -> int:
    """The lesson of a test from its name or node id ('lesson3/test_data.py::...' -> 3); `default` when none."""
    return number_in(test_name(name), default)


def _hidden_lines(path) -> list:
    try:
        text = open(path, encoding="utf-8").read()
        return [(r.begin, r.end) for r in find_regions(text, path, HIDDEN)]
    except (OSError, ValueError):
        return []


def is_hidden(item, regions: dict) -> bool:
    """A test defined inside a `### BEGIN HIDDEN TESTS` region of its file."""
    code = getattr(getattr(item, "function", None), "__code__", None)
    if code is None:
        return False
    path = str(item.path)
    if path not in regions:
        regions[path] = _hidden_lines(path)
    return any(begin < code.co_firstlineno < end for begin, end in regions[path])


def points_of(item) -> float:
    marker = item.get_closest_marker("points")
    return float(marker.args[0]) if marker and marker.args else DEFAULT_POINTS


def describe(items, job: dict) -> list:
    """The tests as the parent needs them, known before any student code runs: names, points, visibility,
    time limits (calibrated ones set on the items), and the skips this machine and these options decide,
    so the maximum score is fixed by the graders and the machine."""
    regions, tests = {}, []
    limits = job.get("time_limits") or {}
    for item in items:
        name = test_name(item.nodeid)
        limit = pytest_plugin.marker_limit(item)
        if name in limits:  # calibrated on this machine (autograder/parent/calibrate.py): never above the grader's
            limit = min(limit, float(limits[name]))
            item.add_marker(pytest.mark.time_limit(limit), append=False)
        skip = evaluate_skip_marks(item)
        tests.append({"name": name, "hidden": is_hidden(item, regions), "points": points_of(item),
                      "time_limit": limit * job["timeout_factor"], "skip": skip.reason if skip else None})
    return tests


class CollectPlugin:
    """The collection of every lesson at once, before grading starts (the parent's list of expected tests)."""

    def __init__(self, channel: Channel, job: dict):
        self.channel, self.job = channel, job

    def pytest_collectreport(self, report):
        if report.failed:
            self.channel.send({"type": "error", "message": f"collecting {report.nodeid}: {report.longrepr}"})

    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(self, session, config, items):
        self.channel.send({"type": "collected", "tests": describe(items, self.job)})


def collect_lessons(channel_fd: int, job: dict) -> int:
    """Body of the forked collection process: report the tests of every lesson; runs no test."""
    channel = Channel(channel_fd)
    try:
        os.environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
        code = pytest.main(pytest_args(job) + ["--collect-only"], plugins=[CollectPlugin(channel, job)])
        channel.send({"type": "done", "exit_code": int(code)})
        return 0
    except BaseException as error:
        channel.send({"type": "error", "message": f"{type(error).__name__}: {error}"})
        return 1


#: Seconds a test's body may run past its time limit before it is stopped: the wait for the student's replies
#: ends at the limit itself (client.py), so only the trusted work on what came back can reach this.
TRUSTED_GRACE = 5.0


class Overtime(CheckFailure):
    """The test's body (the trusted checks included) ran past its time limit."""


@contextlib.contextmanager
def overtime_alarm(seconds: float, lesson: int):
    """Stop the body inside with Overtime after `seconds` (SIGALRM, then again every second: a check that caught
    it cannot keep the lesson). Student code never runs here; only the trusted side's own Python can be stopped."""
    if not seconds or seconds <= 0 or threading.current_thread() is not threading.main_thread():
        yield
        return

    def alarm(signum, frame):
        raise Overtime(messages.overtime(lesson, seconds))

    previous = signal.signal(signal.SIGALRM, alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds, 1.0)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


class LessonPlugin:
    """Registered in the lesson process's pytest run: collection report, one record per test."""

    def __init__(self, channel: Channel, job: dict, transport: SandboxTransport):
        self.channel, self.job, self.transport = channel, job, transport
        self.lessons = job["lessons"]  # one or more lessons of the table's same `process`, graded one after another
        self.current = {}

    def lesson(self, nodeid: str) -> int:
        return lesson_of(nodeid, self.lessons[0])

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_setup(self, item):
        self.transport.lesson = self.lesson(item.nodeid)  # the student process's messages name the test's lesson

    def pytest_collectreport(self, report):
        if report.failed:
            self.channel.send({"type": "error", "message": f"collecting {report.nodeid}: {report.longrepr}"})

    @pytest.hookimpl(trylast=True)  # after the course plugin has marked the skips the machine decides
    def pytest_collection_modifyitems(self, session, config, items):
        self.channel.send({"type": "collected", "tests": describe(items, self.job)})

    @pytest.hookimpl(wrapper=True, tryfirst=True)
    def pytest_runtest_call(self, item):
        """The test's time limit covers its trusted work too: its body stops TRUSTED_GRACE s after the limit."""
        seconds = pytest_plugin.marker_limit(item) * self.job["timeout_factor"]
        try:
            with overtime_alarm(seconds + TRUSTED_GRACE, self.lesson(item.nodeid)):
                return (yield)
        except Overtime:
            self.transport.stop()  # it may have been stopped mid-reply: the next test gets a fresh student process
            raise

    @pytest.hookimpl(wrapper=True, tryfirst=True)
    def pytest_runtest_makereport(self, item, call):
        report = yield
        if call.excinfo is not None and not report.passed:
            report.course_message = self._explain(report, call.excinfo, self.lesson(item.nodeid))
        return report

    def _explain(self, report, excinfo, lesson: int) -> str:
        """One student-facing message per failed phase; never the grader's source."""
        error = excinfo.value
        if getattr(report, "course_full_message", None):  # the terminal shortened it (an import problem seen above)
            return report.course_full_message
        if isinstance(report.longrepr, str):  # a course message already (stub, student error, escaped error)
            return report.longrepr
        if isinstance(error, pytest.fail.Exception) and not error.pytrace:
            return str(error.msg)
        if isinstance(error, (pytest.skip.Exception, pytest.xfail.Exception)) or report.skipped:
            return str(getattr(error, "msg", error))
        if isinstance(error, StudentRaised):
            return pytest_plugin.student_error_message(lesson, error)
        return messages.check_error(lesson, error)

    def pytest_runtest_logreport(self, report):
        record = records.record_of(report, getattr(report, "course_message", None) if report.failed else None)
        if report.failed:
            record["message"] = messages.clip(record["message"])
        records.merge(self.current, record)
        if report.when == "teardown":
            state = self.current.pop(report.nodeid)
            state.pop("nodeid")
            self.channel.send({"type": "result", "name": test_name(report.nodeid), **state,
                               "duration": round(state["duration"], 3), "output": self.transport.take_output()})


def pytest_args(job: dict) -> list:
    """The pytest command line of a lesson process (only the course plugin; `--full` passed through)."""
    tests = job["tests"] if isinstance(job["tests"], list) else [job["tests"]]
    args = [*tests, "-c", job["inifile"], "--rootdir", job["graders_root"], "--confcutdir", job["graders_root"],
            "--import-mode=importlib", "-p", "coursetools.checks.pytest_plugin", "-p", "no:cacheprovider",
            "-p", "no:faulthandler", "-p", "no:unraisableexception", "-p", "no:threadexception",
            "-p", "no:logging",  # no grader logs; its handlers cost about 7 ms a test here
            "--capture=no", "-q", "-rN", "--basetemp", job["basetemp"], "--submission", job["submission"]]
    if job["full"]:
        args.append("--full")
    return args


def isolation(plan: launch.Plan) -> str:
    """'' when the bubblewrap sandbox starts here with this plan, else the reason it does not."""
    reason = launch.bwrap_available()
    if reason:
        return reason
    argv = launch.bwrap_argv(plan, 0)
    argv = argv[:argv.index("--") + 1] + ["/usr/bin/true"]

    def as_user():
        if plan.uid is not None:
            confine.drop_privileges(plan.uid)

    try:
        probe = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, timeout=60, preexec_fn=as_user)
    except (OSError, subprocess.TimeoutExpired) as error:
        return f"bubblewrap did not start: {error}"
    finally:
        confine.reap()  # bubblewrap's inner process comes back to us (a subreaper) when it ends
    if probe.returncode != 0:
        return f"bubblewrap refused to start: {probe.stderr.decode('utf-8', 'replace').strip()[:300]}"
    return ""


def run_lesson(channel_fd: int, job: dict) -> int:
    """Body of the forked lesson process of `job["lessons"]` (one lesson, or several of the table's same `process`:
    one student process and one pytest run for them all); returns its exit code."""
    channel = Channel(channel_fd)
    transport = None
    try:
        confine.become_subreaper()
        memory = confine.bound_lesson_memory(job.get("lesson_cgroup"), job.get("home_cgroup"),
                                             job.get("lesson_memory_bytes", 0))
        print(f"lesson process memory limit: {memory or 'none'}", flush=True)  # lesson.log
        # pytest empties and remakes --basetemp when a test first needs it: share the folder above it
        shared = os.path.dirname(job["basetemp"])
        os.makedirs(shared, exist_ok=True)
        os.chmod(shared, 0o755)
        # training points rest on data the submission could not know: MNIST changed in secret, drawn here anew
        secret = any(BY_NUMBER[number].secret_mnist for number in job["lessons"])
        copy = str(checks_mnist.changed_copy(os.path.join(shared, "mnist"))) if secret else None
        plan = launch.Plan(root=job["submission"], shared=[shared], uid=job["sandbox_uid"],
                           memory_bytes=job["memory_bytes"], preload=preloads(job["lessons"]),
                           threads=job["threads"], work_dir=job["work_dir"], mnist=copy)
        cache = confine.held_folder(job["cache_dir"]) if job.get("cache_dir") else None  # before any folder is covered
        if plan.uid is not None and confine.private_mounts():
            confine.open_paths(launch.course_paths() + [job["submission"], shared])
        reason = isolation(plan)
        channel.send({"type": "walls", "isolated": not reason, "reason": reason,
                      "description": launch.describe(plan, reason)})
        transport = SandboxTransport(plan, job["lessons"][0], isolated=not reason, timeout_factor=job["timeout_factor"])
        transport.prestart()  # the student process imports torch while pytest collects here
        if cache and not reason:  # trusted work repeated for every submission, done once per run
            os.environ[TRUSTED_CACHE] = cache
        pytest_plugin.use_transport(lambda root: transport)
        plugin = LessonPlugin(channel, job, transport)
        os.environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"  # only the course plugin: faster, nothing unknown
        code = pytest.main(pytest_args(job), plugins=[plugin])
        channel.send({"type": "done", "exit_code": int(code), "sandbox_starts": transport.starts})
        return 0
    except BaseException as error:
        channel.send({"type": "error", "message": f"{type(error).__name__}: {error}"})
        return 1
    finally:
        if transport is not None:
            transport.stop()
        confine.kill_descendants()
