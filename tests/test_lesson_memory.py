"""Each lesson process (trusted: it runs the graders) has a memory limit of its own; the student process does not
share it; a test body's trusted work is bounded by the test's time limit.

每个单课进程（可信，运行评分测试）有自己的内存上限，学生进程不受其约束；测试中可信一侧的工作也受时间限制。

Real processes, real limits: a memory cgroup below this process's own where one can be made
(cgroup v1 memory controller as root here), RLIMIT_DATA otherwise (both paths are run).
"""
import os
import time

import pytest

from autograder.lesson import confine, worker
from autograder.parent import box, runner

LIMIT = 200 * 2**20
HOG = 400 * 2**20


def _in_child(body) -> int:
    """Run body() in a forked child; its wait status."""
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            code = body()
        finally:
            os._exit(code)
    return os.waitpid(pid, 0)[1]


def _hog() -> int:
    try:
        block = bytearray(HOG)  # zeroed, so every page is touched
        return 0 if len(block) == HOG else 2
    except MemoryError:
        return 3


@pytest.fixture(params=["cgroup", "rlimit"])
def lesson_memory(request):
    """(cgroup folder or None, its parent): the two ways a lesson process is bounded."""
    if request.param == "rlimit":
        yield None, None
        return
    folder = box.make_cgroup(f"autograder-test-{os.getpid()}", LIMIT)
    if folder is None:
        pytest.skip("no memory cgroup can be made here (not root, or no delegated memory controller)")
    yield folder, os.path.dirname(folder)
    box.remove_cgroup(folder)


def test_a_bloated_lesson_process_is_stopped_alone(lesson_memory):
    """Check that a lesson process growing past its limit fails (killed in its cgroup, or MemoryError) and this
    process, outside the limit, allocates the same amount afterwards."""
    folder, home = lesson_memory

    def lesson():
        how = confine.bound_lesson_memory(folder, home, LIMIT)
        assert how, "no limit was set"
        return _hog()

    status = _in_child(lesson)
    if folder:
        assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == 9 and box.cgroup_oom_kills(folder) >= 1
    else:
        assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 3
    assert _in_child(_hog) == 0  # the same allocation outside the lesson's limit: nobody else is touched


def test_the_student_process_leaves_the_lesson_limit(lesson_memory):
    """Check that a process started by a bounded lesson process (as launch.py starts the student process) is
    neither in its cgroup nor under its RLIMIT_DATA: a student's memory never counts against the trusted side."""
    folder, home = lesson_memory

    def lesson():
        confine.bound_lesson_memory(folder, home, LIMIT)

        def student():
            confine.leave_lesson_memory()
            return _hog()

        status = _in_child(student)
        return os.WEXITSTATUS(status) if os.WIFEXITED(status) else 100 + os.WTERMSIG(status)

    assert _in_child(lesson) == 0


def test_the_runner_gives_each_lesson_process_its_cgroup_and_names_a_bloat(tmp_path):
    """Check the runner end to end with a lesson limit far too small for any lesson process: that lesson's tests
    fail with the out-of-memory message (no grader error, no traceback) and the cgroup is removed afterwards."""
    if box.make_cgroup("autograder-probe", LIMIT) is None:
        pytest.skip("no memory cgroup can be made here")
    box.remove_cgroup(box.own_cgroup_dir("memory") + "/autograder-probe")
    from coursetools import REPO_ROOT

    options = runner.Options(lessons=[1], workers=1, lesson_memory_bytes=4 * 2**20)
    [result] = runner.grade_all([("tiny", str(REPO_ROOT / "solutions"), "tiny")], options)
    tests = list(result.tests())
    failed = [t for t in tests if t.status == "failed"]
    assert failed and result.complete, result.lessons[1].error
    assert all("ran out of its own memory" in t.message and "用完了它自己的内存" in t.message for t in failed)
    assert not [name for name in os.listdir(box.own_cgroup_dir("memory")) if name.startswith(f"autograder-{os.getpid()}-")]


def test_the_trusted_work_of_a_test_body_is_stopped_at_its_limit():
    """Check overtime_alarm: trusted Python past the limit is stopped with the bilingual message, also when the
    loop catches Exception, and the alarm is gone afterwards."""
    started = time.monotonic()
    with pytest.raises(worker.Overtime) as stopped:
        with worker.overtime_alarm(1.0, 3):
            while True:
                try:
                    sum(range(10_000))
                except Exception:  # a check that swallows errors cannot keep the test running
                    pass
    assert time.monotonic() - started < 5
    message = str(stopped.value.msg)
    assert "[lesson3] the test ran longer than 1 s" in message and "[第3课] 测试运行超过 1 秒" in message
    time.sleep(1.5)  # no alarm left behind


def test_the_cgroups_of_a_killed_grader_are_removed_by_the_next():
    """Check remove_abandoned_cgroups: a lesson cgroup named after a pid that no longer runs goes, ours stays."""
    dead = box.make_cgroup("autograder-999999999-1", LIMIT)
    if dead is None:
        pytest.skip("no memory cgroup can be made here")
    ours = box.make_cgroup(f"autograder-{os.getpid()}-1", LIMIT)
    try:
        box.remove_abandoned_cgroups()
        assert not os.path.exists(dead) and os.path.isdir(ours)
    finally:
        box.remove_cgroup(dead)
        box.remove_cgroup(ours)
