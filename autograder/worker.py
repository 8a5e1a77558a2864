"""The lesson process: runs pytest on one lesson's graders, each test in its own forked child.

It is forked by the grading parent and never runs student code itself. It collects
the tests (from a private copy of autograder/lessonN), tells the parent what it
found, builds the walls (hidden folders, sandbox user), then for every test computes
the trusted module/session fixtures once (MNIST tensors, prepared folders: every
fixture that does not reach `submission` or `request`), forks the child that runs
the test, and sends the parent one JSON line per verdict.

单课进程：对一课的评分测试运行 pytest，每个测试都在单独 fork 的子进程中运行；它自己从不运行学生代码。
"""
import json
import linecache
import os
import sys

import pytest
from _pytest.fixtures import TopRequest

from autograder import confine, messages, points, sandbox
from coursetools.regions import HIDDEN, find_regions

GRADERS_PACKAGE = "_course_graders"


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


def _hidden_lines(path) -> list:
    try:
        text = open(path, encoding="utf-8").read()
        return [(r.begin, r.end) for r in find_regions(text, path, HIDDEN)]
    except (OSError, ValueError):
        return []


def _is_hidden(item, regions: dict) -> bool:
    function = getattr(item, "function", None)
    code = getattr(function, "__code__", None)
    if code is None:
        return False
    path = str(item.path)
    if path not in regions:
        regions[path] = _hidden_lines(path)
    return any(begin < code.co_firstlineno < end for begin, end in regions[path])


def trusted_fixtures(item) -> list:
    """Higher-scoped fixtures of `item` that reach neither `submission` nor `request` (safe to run here)."""
    definitions = item._fixtureinfo.name2fixturedefs
    params = getattr(getattr(item, "callspec", None), "params", {})
    memo = {}

    def trusted(name, stack=()):
        if name in memo:
            return memo[name]
        if name in ("request", "submission") or name in params or name in stack:
            return False
        found = definitions.get(name)
        if not found:
            return False
        definition = found[-1]
        memo[name] = definition.params is None and all(trusted(arg, stack + (name,)) for arg in definition.argnames)
        return memo[name]

    return [name for name in item.fixturenames
            if name in definitions and definitions[name][-1].scope != "function" and trusted(name)]


class LessonPlugin:
    """Registered in the lesson process's pytest run: collection report, per-test fork, messages."""

    def __init__(self, channel: Channel, settings: sandbox.Settings, timeout_factor: float, hide: list):
        self.channel = channel
        self.settings = settings
        self.timeout_factor = timeout_factor
        self.hide = hide
        self.walls = confine.Walls()
        self.basetemp = None

    # -- collection, in the trusted lesson process

    def pytest_collectreport(self, report):
        if report.failed:
            self.channel.send({"type": "error", "message": f"collecting {report.nodeid}: {report.longrepr}"})

    def pytest_collection_modifyitems(self, session, config, items):
        regions = {}
        self.channel.send({"type": "collected", "tests": [
            {"name": test_name(item.nodeid), "hidden": _is_hidden(item, regions)} for item in items]})

    def pytest_collection_finish(self, session):
        config = session.config
        self.basetemp = str(config._tmp_path_factory.getbasetemp())
        home = os.path.join(self.settings.work_dir, "home")
        os.makedirs(home, exist_ok=True)
        os.environ.update(HOME=home, XDG_CACHE_HOME=os.path.join(home, ".cache"),
                          MPLCONFIGDIR=os.path.join(home, ".matplotlib"), TORCH_HOME=os.path.join(home, ".torch"))
        needed = self._needed_paths()
        root = confine.privileged()
        mounts = confine.private_mounts() if root else False
        uid = self.settings.sandbox_uid if root else None
        if uid is not None:
            if mounts:
                confine.open_paths(needed, stash_dir=os.getcwd())
            self._give_to(uid)
            if not self._uid_can_work(uid, needed):
                uid = None
        self.settings.sandbox_uid = self.walls.sandbox_uid = uid
        self.walls.hidden = confine.hide_folders(self.hide) if mounts else []
        self.walls.offline = confine.no_network()
        linecache.clearcache()
        self.channel.send({"type": "walls", "description": self.walls.describe()})

    def _needed_paths(self) -> list:
        """What the test children must read: Python, site-packages, course packages, data, submission, folders."""
        import coursetools
        import torch

        paths = [os.path.dirname(os.__file__), os.path.dirname(os.path.dirname(torch.__file__)),
                 os.path.dirname(coursetools.__file__), self.settings.submission_root, self.settings.work_dir,
                 self.basetemp]
        paths += [p for p in sys.path if "lib-dynload" in p]
        data = _data_root()
        if data:
            paths.append(data)
        return paths

    def _give_to(self, uid):
        for top in (self.settings.work_dir, self.basetemp):
            for folder, dirs, files in os.walk(top):
                for name in [folder, *(os.path.join(folder, f) for f in dirs + files)]:
                    try:
                        if os.lstat(name).st_uid != uid:
                            os.lchown(name, uid, uid)
                    except OSError:
                        pass

    def _uid_can_work(self, uid, probe) -> bool:
        """Can `uid` read what the tests need and write its folders? (else: no uid drop)"""
        pid = os.fork()
        if pid == 0:
            ok = True
            try:
                confine.drop_privileges(uid)
                for folder in probe:
                    os.listdir(folder)
                open(os.path.join(self.basetemp, ".probe"), "w").close()
            except BaseException:
                ok = False
            os._exit(0 if ok else 1)
        _, status = os.waitpid(pid, 0)
        return os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0

    # -- running: one child per group of tests with the same parent, a fresh one after any trouble

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtestloop(self, session):
        if session.testsfailed and not session.config.option.continue_on_collection_errors:
            raise session.Interrupted(f"{session.testsfailed} error(s) during collection")
        items = list(session.items)
        groups = []
        for item in items:
            if groups and groups[-1][-1].parent is item.parent:
                groups[-1].append(item)
            else:
                groups.append([item])
        for index, group in enumerate(groups):
            self._run_group(group)
            following = groups[index + 1][0] if index + 1 < len(groups) else None
            try:
                session._setupstate.teardown_exact(following)
            except BaseException as error:
                print(f"teardown after {group[-1].nodeid}: {error!r}", file=sys.stderr)
        return True

    def _run_group(self, group):
        names = [test_name(item.nodeid) for item in group]
        timeouts = [points.timeout_for(name) * self.timeout_factor for name in names]
        try:
            self._prepare(group)
            verdicts = sandbox.run_group(group, self.settings, timeouts)
        except Exception as error:  # the grader's own failure: report it, keep grading
            detail = messages.grader_error(self.settings.lesson, repr(error))
            verdicts = [sandbox.Verdict("failed", detail) for _ in group]
        for item, name, verdict in zip(group, names, verdicts):
            self.channel.send({"type": "result", "name": name, "outcome": verdict.outcome, "message": verdict.message,
                               "pitfalls": verdict.pitfalls, "not_implemented": verdict.not_implemented,
                               "duration": round(verdict.duration, 3), "output": verdict.output})
            item.ihook.pytest_runtest_logstart(nodeid=item.nodeid, location=item.location)
            report = pytest.TestReport(item.nodeid, item.location, {}, verdict.outcome,
                                       None if verdict.outcome == "passed" else verdict.message, "call",
                                       duration=verdict.duration)
            item.ihook.pytest_runtest_logreport(report=report)
            item.ihook.pytest_runtest_logfinish(nodeid=item.nodeid, location=item.location)

    def _prepare(self, group):
        """Set up the group's collectors here, and its trusted fixtures, so every child inherits them."""
        state = group[0].session._setupstate
        state.setup(group[0].parent)
        for item in group:
            names = trusted_fixtures(item)
            if not names:
                continue
            state.stack[item] = ([], None)
            try:
                request = TopRequest(item, _ispytest=True)
                for name in names:
                    try:
                        request.getfixturevalue(name)
                    except BaseException:
                        break  # the child meets the same cached error in its own setup
            finally:
                finalizers, _ = state.stack.pop(item)
                for finalizer in reversed(finalizers):
                    try:
                        finalizer()
                    except BaseException:
                        pass
        if self.settings.sandbox_uid is not None:
            self._give_to(self.settings.sandbox_uid)

    # -- in the child: one student-facing message per failed phase

    @pytest.hookimpl(wrapper=True, tryfirst=True)
    def pytest_runtest_makereport(self, item, call):
        report = yield
        if call.excinfo is not None and not report.passed:
            self._explain(report, call.excinfo)
        sandbox.report_phase(report)
        return report

    def _explain(self, report, excinfo):
        """Give a failed (or student-skipped) phase one student-facing message, without the grader's source."""
        lesson = self.settings.lesson
        error = excinfo.value
        frames = messages.student_frames(excinfo.traceback, self.settings.submission_root)
        if isinstance(error, (pytest.skip.Exception, pytest.xfail.Exception)) or report.skipped:
            if frames:
                report.outcome = "failed"
                report.course_message = messages.student_skip(lesson, str(getattr(error, "msg", error)))
        elif isinstance(report.longrepr, str):  # already a course message (a stub's NotImplementedError)
            report.course_message = report.longrepr
        elif isinstance(error, pytest.fail.Exception) and not error.pytrace:
            report.course_message = str(error.msg)
        else:
            report.course_message = messages.exception(lesson, error, frames)


def pytest_args(job: dict) -> list:
    """The pytest command line of a lesson process (only the course plugin; `--full` passed through)."""
    args = [job["tests"], "-c", job["inifile"], "--rootdir", job["graders_root"], "--confcutdir", job["graders_root"],
            "--import-mode=importlib", "-p", "coursetools.pytest_plugin", "-p", "no:cacheprovider",
            "-p", "no:faulthandler", "-p", "no:unraisableexception", "-p", "no:threadexception",
            "--capture=no", "-q", "-rN", "--basetemp", job["basetemp"], "--submission", job["submission"]]
    if job["full"]:
        args.append("--full")
    return args


def run_lesson(channel_fd: int, job: dict) -> int:
    """Body of the forked lesson process; returns its exit code."""
    channel = Channel(channel_fd)
    try:
        confine.become_subreaper()
        settings = sandbox.Settings(
            lesson=job["lesson"], repo_root=job["repo_root"], submission_root=job["submission"],
            work_dir=job["work_dir"], memory_bytes=job["memory_bytes"], threads=job["threads"],
            sandbox_uid=job["sandbox_uid"], watch_modules=_watch_modules())
        plugin = LessonPlugin(channel, settings, job["timeout_factor"], job["hide"])
        args = pytest_args(job)
        os.environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"  # only the course plugin: faster, nothing unknown
        code = pytest.main(args, plugins=[plugin])
        channel.send({"type": "done", "exit_code": int(code)})
        return 0
    except BaseException as error:
        channel.send({"type": "error", "message": f"{type(error).__name__}: {error}"})
        return 1


def _data_root():
    import course_data

    try:
        root = course_data.data_root()
    except Exception:
        return None
    return str(root) if os.path.isdir(root) else None


def _watch_modules() -> dict:
    import coursetools.feedback
    import coursetools.pytest_plugin

    return {"coursetools.feedback": coursetools.feedback, "coursetools.pytest_plugin": coursetools.pytest_plugin}
