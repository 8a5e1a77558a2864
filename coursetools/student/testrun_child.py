"""The child side of `course`'s time limits: a pytest plugin that says which test is running.

`course` 时间限制的子进程一侧：一个报告当前正在运行哪个测试的 pytest 插件。

coursetools/student/testrun.py starts pytest with `-p coursetools.student.testrun_child --course-progress FILE`.
This plugin then appends one JSON line to FILE when the tests are collected (each test's nodeid
and time limit, in run order: see time_limit), when a test starts and when it ends. The parent reads FILE while
pytest runs: a test that started and did not end within its limit is the one that hangs, and
the parent stops pytest's whole process group. `--course-skip FILE` deselects the tests whose
nodeids FILE lists (exactly, one a line): the parent runs the rest again after a hang.
testrun.py 用 `-p coursetools.student.testrun_child --course-progress FILE` 启动 pytest。本插件在
收集完测试（每个测试的 nodeid 和时间限制，按运行顺序）、每个测试开始和结束时向 FILE 追加一行
JSON。父进程在 pytest 运行时读取 FILE：开始后超过时间限制仍未结束的测试就是卡住的那个，父进程
会结束 pytest 的整个进程组。`--course-skip FILE` 取消选择 FILE 中列出的测试（精确匹配，每行一个）。

The plugin also ends pytest when the parent is gone (a closed terminal), so an endless loop
never outlives `course`.
父进程消失时（例如终端被关闭）插件也会结束 pytest，死循环不会比 `course` 活得更久。
"""
import json
import os
import threading
import time

#: Seconds past pytest's own limit (and its last resort) before the parent stops pytest.
GRACE = 10.0


def pytest_addoption(parser):
    parser.addoption("--course-progress", metavar="FILE", default=None,
                     help="append a JSON line when the tests are collected and when each starts and ends")
    parser.addoption("--course-skip", metavar="FILE", default=None,
                     help="deselect the tests whose nodeids FILE lists, one a line")


class _Progress:
    def __init__(self, path):
        self.file = open(path, "a", encoding="utf-8")

    def write(self, **event):
        self.file.write(json.dumps(event, ensure_ascii=False) + "\n")
        self.file.flush()

    def pytest_collection_modifyitems(self, session, config, items):
        path = config.getoption("--course-skip")
        if not path:
            return
        with open(path, encoding="utf-8") as file:
            skip = {line.strip() for line in file if line.strip()}
        kept = [item for item in items if item.nodeid not in skip]
        if len(kept) < len(items):
            config.hook.pytest_deselected(items=[item for item in items if item.nodeid in skip])
            items[:] = kept

    def pytest_collection_finish(self, session):
        self.write(collected=[[item.nodeid, time_limit(item)] for item in session.items])

    def pytest_runtest_logstart(self, nodeid, location):
        self.write(start=nodeid)

    def pytest_runtest_logfinish(self, nodeid, location):
        self.write(finish=nodeid)

    def pytest_unconfigure(self, config):
        self.file.close()


def time_limit(item):
    """Seconds after which the parent stops pytest during this test; None: never (COURSE_TIME_FACTOR=0).

    pytest's own in-process limit (coursetools.checks.pytest_plugin.in_process_limit) stops an endless loop
    first, with the student's line, and ends pytest SWALLOWED_ALARMS s later when the student code
    catches its exception; this is later still (GRACE): the net for code that the alarm cannot
    reach (it cancels or ignores SIGALRM, or loops in C). A marker pytest cannot read: the
    default limit (pytest_plugin.DEFAULT_TIME_LIMIT) plus GRACE.
    """
    from coursetools.boundary import proxy
    from coursetools.checks import pytest_plugin

    try:
        lesson = next((int(m.name[6:]) for m in item.iter_markers() if m.name[6:].isdigit()
                       and m.name.startswith("lesson")), None)
        limit = pytest_plugin.in_process_limit(item, lesson)
        return limit + proxy.SWALLOWED_ALARMS + GRACE if limit else None
    except (TypeError, ValueError):
        return pytest_plugin.DEFAULT_TIME_LIMIT + GRACE


def _end_when_orphaned(parent: int) -> None:
    while True:
        time.sleep(1)
        if os.getppid() != parent:
            os._exit(3)


def pytest_configure(config):
    path = config.getoption("--course-progress", None)
    if path:
        config.pluginmanager.register(_Progress(path), "course-progress")
        threading.Thread(target=_end_when_orphaned, args=(os.getppid(),), daemon=True,
                         name="course-orphan-check").start()
