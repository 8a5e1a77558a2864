"""Tests in a forked child: the lesson process forks, the child runs pytest items, the parent watches.

A child runs the tests of one module (or class) in order, like pytest would, so a
clean run costs one fork, not one per test. The child (which alone runs student
code) gets its own session, stdout/stderr on a pipe, limits on memory, file size and
processes, an unprivileged user when the grader is root, a fresh working folder,
fixed seeds and one torch thread per test, and no import route to the graders or the
solutions. It reports on a second pipe: `start`, one record per phase, `end`.

The parent enforces each test's wall-clock limit and output cap. When a test times
out, floods the output, crashes the process (os._exit, a signal, memory) or changes
torch, that test fails with a clear message, the child is killed with everything it
started, and a fresh child goes on with the next test: each problem costs only the
test that met it.

测试在 fork 出的子进程中运行：一个子进程按顺序运行同一模块的测试；某个测试超时、输出过多、
崩溃或修改 torch 时，只有该测试失败，子进程连同其残留进程被终止，新的子进程从下一个测试继续。
"""
import io
import json
import os
import random
import select
import shutil
import signal
import sys
import tempfile
import time
import zlib
from dataclasses import dataclass, field

from _pytest.runner import runtestprotocol

from autograder import confine, guard, messages

RESULT_LIMIT = 4 * 2**20  # bytes of JSON a child may send per test
OUTPUT_KEEP = 16 * 1024  # bytes of a test's output kept for its report


@dataclass
class Settings:
    """How every test of one lesson process is run."""

    lesson: int
    repo_root: str
    submission_root: str
    work_dir: str  # where children make their working folders (owned by the sandbox user)
    memory_bytes: int = 4 * 2**30
    max_file_bytes: int = 1 * 2**30
    output_limit: int = 8 * 2**20
    threads: int = 1
    sandbox_uid: int = None
    watch_modules: dict = field(default_factory=dict)


@dataclass
class Verdict:
    outcome: str  # passed, failed, skipped
    message: str = ""
    pitfalls: list = field(default_factory=list)
    not_implemented: str = None
    duration: float = 0.0
    output: str = ""


class _SameParent:
    """Stands for "the next test has the same parent": the child tears down the test only."""

    def __init__(self, item):
        self._chain = item.listchain()[:-1]

    def listchain(self):
        return self._chain


def seed_for(nodeid: str) -> int:
    return zlib.crc32(nodeid.encode("utf-8"))


def run_group(items, settings: Settings, timeouts) -> list:
    """Run `items` (same parent, set up already) in children; one Verdict per item, in order.

    A test that times out before its setup finished (say, a file that trains a model when
    imported) fails the rest of the group at once with the same message: each would
    import the same file and wait just as long.
    """
    verdicts = []
    while len(verdicts) < len(items):
        got, stuck_in_setup = _run_child(items[len(verdicts):], settings, timeouts[len(verdicts):])
        verdicts += got
        if stuck_in_setup:
            verdicts += [Verdict("failed", got[-1].message) for _ in items[len(verdicts):]]
    return verdicts


class _Watch:
    """What the parent knows about the test the child is running now."""

    def __init__(self, timeout, start):
        self.deadline = start + timeout
        self.start = start
        self.started = False
        self.crash = ""
        self.phases, self.output, self.total, self.result_bytes = [], bytearray(), 0, 0


class _Child:
    """The parent's side of one child: its pipes, and the verdicts it has earned so far."""

    def __init__(self, pid, result_r, out_r, settings, timeouts):
        self.pid, self.result_r, self.out_r = pid, result_r, out_r
        self.settings, self.timeouts = settings, timeouts
        self.buffer = b""
        self.verdicts = []
        self.current = _Watch(timeouts[0], time.monotonic())

    def take_result(self, chunk: bytes) -> bool:
        """Handle bytes of the report pipe; False when the child sent too much."""
        self.buffer += chunk
        self.current.result_bytes += len(chunk)
        if self.current.result_bytes > RESULT_LIMIT:
            return False
        *lines, self.buffer = self.buffer.split(b"\n")
        for line in lines:
            record = _parse(line)
            if record is None:
                continue
            if "start" in record:
                self.current.started = True
            elif "when" in record:
                self.current.phases.append(record)
            elif "end" in record:
                self.verdicts.append(_verdict(self.current, record, self.settings.lesson))
                if len(self.verdicts) < len(self.timeouts):
                    self.current = _Watch(self.timeouts[len(self.verdicts)], time.monotonic())
            elif "crash" in record:
                self.current.crash = str(record["crash"])
        return True

    def take_output(self, chunk: bytes) -> bool:
        """Handle bytes of stdout/stderr; False when the current test printed too much."""
        watch = self.current
        watch.total += len(chunk)
        if len(watch.output) < OUTPUT_KEEP:
            watch.output += chunk[: OUTPUT_KEEP - len(watch.output)]
        return watch.total <= self.settings.output_limit

    def finished(self) -> bool:
        return len(self.verdicts) == len(self.timeouts)


def _run_child(items, settings: Settings, timeouts) -> list:
    """Fork one child for `items`; return the verdicts of the tests it got through (at least one)."""
    result_r, result_w = os.pipe()
    out_r, out_w = os.pipe()
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:
        _child(items, settings, result_w, out_w)  # never returns
    os.close(result_w)
    os.close(out_w)
    child = _Child(pid, result_r, out_r, settings, timeouts)
    problem = None
    pidfd = os.pidfd_open(pid)
    readers = {result_r, out_r}
    try:
        while problem is None and not child.finished():
            remaining = child.current.deadline - time.monotonic()
            if remaining <= 0:
                problem = "timeout"
                break
            ready, _, _ = select.select([*readers, pidfd], [], [], remaining)
            if out_r in ready:  # output first: it was written before the record that follows it
                chunk = os.read(out_r, 1 << 16)
                if not chunk:
                    readers.discard(out_r)
                elif not child.take_output(chunk):
                    problem = "output"
            if result_r in ready and problem is None:
                chunk = os.read(result_r, 1 << 16)
                if not chunk:
                    readers.discard(result_r)
                elif not child.take_result(chunk):
                    problem = "died"
            if pidfd in ready and problem is None:
                _drain(child, readers)
                break
    finally:
        confine.kill_group(pid)
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        _, status = os.waitpid(pid, 0)
        confine.kill_descendants()
        os.close(pidfd)
        for fd in (result_r, out_r):
            os.close(fd)
    verdicts = child.verdicts
    stuck_in_setup = problem == "timeout" and not child.current.phases
    if not child.finished() and (child.current.started or not verdicts or problem):
        verdicts.append(_broken(child.current, problem, status, settings, timeouts[len(verdicts)]))
    return verdicts, stuck_in_setup


def _drain(child: _Child, readers):
    """The child has exited: read what its pipes still hold (without waiting for its descendants)."""
    for fd in list(readers):
        os.set_blocking(fd, False)
        while True:
            try:
                chunk = os.read(fd, 1 << 16)
            except BlockingIOError:
                break
            if not chunk:
                break
            if fd == child.result_r:
                if not child.take_result(chunk):
                    break
            elif not child.take_output(chunk):
                break


def _parse(line: bytes):
    try:
        record = json.loads(line)
    except ValueError:
        return None
    return record if isinstance(record, dict) else None


def _broken(watch: _Watch, problem, status, settings: Settings, timeout) -> Verdict:
    lesson = settings.lesson
    if problem == "timeout":
        message = messages.timeout(lesson, timeout, during_setup=not watch.phases)
    elif problem == "output":
        message = messages.output_flood(lesson, settings.output_limit)
    else:
        message = messages.died(lesson, status, watch.crash)
    return Verdict("failed", message, duration=time.monotonic() - watch.start,
                   output=watch.output.decode("utf-8", "replace"))


def _verdict(watch: _Watch, end: dict, lesson) -> Verdict:
    phases = watch.phases
    verdict = Verdict("passed", duration=sum(float(p.get("duration", 0)) for p in phases),
                      output=watch.output.decode("utf-8", "replace"))
    for phase in phases:
        verdict.pitfalls += [str(p) for p in phase.get("pitfalls", [])]
        if phase.get("not_implemented"):
            verdict.not_implemented = str(phase["not_implemented"])
    failed = [p for p in phases if p.get("outcome") == "failed"]
    skipped = [p for p in phases if p.get("outcome") == "skipped"]
    if end.get("tampered"):
        verdict.outcome, verdict.message = "failed", messages.tampered(lesson, [str(n) for n in end["tampered"]])
    elif failed:
        verdict.outcome, verdict.message = "failed", str(failed[0].get("message", ""))
    elif skipped:
        verdict.outcome, verdict.message = "skipped", str(skipped[0].get("message", ""))
    elif len(phases) > 3 or not any(p.get("when") == "call" for p in phases):
        verdict.outcome, verdict.message = "failed", messages.forked(lesson)
    return verdict


# ---------------------------------------------------------------- the child


def _child(items, settings: Settings, result_w: int, out_w: int):
    """Set up the walls, run the items, report each; always ends with os._exit."""
    global _REPORT_FD
    code = 0
    try:
        _REPORT_FD = result_w
        os.setsid()
        _redirect(out_w, result_w)
        confine.limit_resources(settings.memory_bytes, settings.max_file_bytes,
                                512 if settings.sandbox_uid is not None else 0)
        if settings.sandbox_uid is not None:
            confine.drop_privileges(settings.sandbox_uid)
        confine.die_with_parent()
        import numpy
        import torch

        torch.set_num_threads(settings.threads)
        guard.close_import_routes(settings.repo_root)
        for index, item in enumerate(items):
            _send(result_w, {"start": index})
            cwd = tempfile.mkdtemp(prefix="test-", dir=settings.work_dir)
            os.chdir(cwd)
            os.environ["TMPDIR"] = tempfile.tempdir = cwd
            seed = seed_for(item.nodeid)
            random.seed(seed)
            numpy.random.seed(seed % 2**32)
            torch.manual_seed(seed)
            module = getattr(item, "module", None)
            snapshot = guard.Snapshot({**settings.watch_modules, "the test module": module})
            nextitem = items[index + 1] if index + 1 < len(items) else _SameParent(item)
            runtestprotocol(item, log=False, nextitem=nextitem)  # phases reported by report_phase as they end
            tampered = snapshot.changes()
            sys.stdout.flush()
            sys.stderr.flush()
            _send(result_w, {"end": index, "tampered": tampered})
            os.chdir(settings.work_dir)
            shutil.rmtree(cwd, ignore_errors=True)
            if tampered:
                break  # the next test needs an unchanged torch: a fresh child
    except BaseException as error:  # KeyboardInterrupt, pytest.exit, anything the protocol let through
        code = 1
        try:
            _send(result_w, {"crash": messages.clip(f"{type(error).__name__}: {error}", 1000)})
        except BaseException:
            pass
    finally:
        os._exit(code)


def _redirect(out_w: int, result_w: int):
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.dup2(out_w, 1)
    os.dup2(out_w, 2)
    for name in os.listdir("/proc/self/fd"):
        if int(name) > 2 and int(name) != result_w:
            try:
                os.close(int(name))
            except OSError:
                pass
    sys.stdin = open(os.devnull, encoding="utf-8")
    sys.stdout = sys.__stdout__ = io.TextIOWrapper(io.FileIO(1, "w", closefd=False), encoding="utf-8",
                                                   errors="backslashreplace", line_buffering=True)
    sys.stderr = sys.__stderr__ = io.TextIOWrapper(io.FileIO(2, "w", closefd=False), encoding="utf-8",
                                                   errors="backslashreplace", line_buffering=True)


_REPORT_FD = None  # in a child: where report_phase writes


def report_phase(report):
    """Send one finished phase of the running test to the parent (called from makereport, in the child)."""
    if _REPORT_FD is not None:
        _send(_REPORT_FD, _phase_record(report))


def _send(fd: int, record: dict):
    data = (json.dumps(record, ensure_ascii=False) + "\n").encode("utf-8")
    while data:
        data = data[os.write(fd, data):]


def _phase_record(report) -> dict:
    message = getattr(report, "course_message", None)
    if message is None and not report.passed:
        message = str(report.longrepr[2]) if isinstance(report.longrepr, tuple) else str(report.longrepr)
    properties = [(k, v) for k, v in report.user_properties if isinstance(k, str)]
    return {
        "when": report.when,
        "outcome": report.outcome,
        "message": messages.clip(message or ""),
        "pitfalls": [str(v) for k, v in properties if k == "pitfall"],
        "not_implemented": next((str(v) for k, v in properties if k == "not_implemented"), None),
        "duration": round(report.duration, 4),
    }
