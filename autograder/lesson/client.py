"""The lesson process's end of the pipe to the student process: a transport for the test proxies.

`SandboxTransport` starts the student process (launch.py) when a test needs it, sends
requests in the wire format and waits for the reply with the test's deadline while it
drains the student's output. A timeout, a flood of output, a malformed reply or a dead
student process fails the running test with a clear message (a pytest failure, so no
check can swallow it) and the next test gets a fresh student process. Nothing the
student side sends is more than data: replies are matched by sequence number and
decoded by the wire format's allow-list.

单课进程一侧的管道：按测试时限等待学生进程的回复，超时、输出过多、回复损坏或进程死亡只让当前测试失败。
"""
import os
import signal
import socket
import stat
import time

from autograder.lesson import confine, launch, messages
from coursetools.boundary import wire
from coursetools.boundary.proxy import REPEAT_LIMIT, Transport
from coursetools.checks.feedback import CallLog, CheckFailure

OUTPUT_LIMIT = 8 * 2**20
OUTPUT_KEEP = 16 * 1024
START_TIMEOUT = 120.0  # seconds for a fresh student process to import torch and answer
MAX_REPLY = wire.MAX_REPLY  # bytes of tensor data in one reply: one cap, the one the student side also applies
#: A function that ran past a test's limit gets REPEAT_LIMIT seconds per call in the lesson's later tests (the
#: student tools' leash, coursetools/boundary/proxy.py), and after LEASHED_LOOPS more timeouts its calls fail at
#: once: one endless loop costs one limit plus about LEASHED_LOOPS x REPEAT_LIMIT seconds, not a limit per test.
LEASHED_LOOPS = 1
SETTLED_NS = 200_000_000  # _open_shared trusts a folder's modification time once it is this old (ns)


class SandboxProblem(CheckFailure):
    """The student process timed out, flooded, broke the protocol or died: this test fails."""


class SandboxTransport(Transport):
    def __init__(self, plan: launch.Plan, lesson: int, isolated: bool, timeout_factor: float = 1.0):
        self.plan, self.lesson, self.isolated, self.timeout_factor = plan, lesson, isolated, timeout_factor
        self.process = None
        self.channel = None
        self.reader = None
        self.output_r = None
        self.output = bytearray()
        self.output_total = 0
        self.deadline = None
        self.time_limit = 60.0
        self.broken = None  # the message every further request of this test fails with
        self.starts = 0
        self.imported = set()  # lesson modules that answered in the running student process
        self.hung = {}  # module -> message: its import never finished (the tests that need it fail at once)
        self.looped = {}  # student function -> times it ran past its limit in this lesson (the leash)
        self.warming = None  # monotonic start of a student process that has not answered yet (prestart)
        self.opened, self.subfolders = {}, {}  # _open_shared: folder -> its mtime when opened, its subfolders

    # -- the process

    def _start(self):
        ours, theirs = socket.socketpair()
        out_r, out_w = os.pipe()
        try:
            self.process = launch.start(self.plan, theirs.fileno(), out_w, self.isolated)
        finally:
            theirs.close()
            os.close(out_w)
        self.channel, self.output_r = ours, out_r
        self.reader = wire.Reader(ours.fileno(), max_blobs=MAX_REPLY, on_idle=self._drain)
        self.starts += 1
        self.imported = set()
        self.warming = time.monotonic()

    def prestart(self):
        """Start the student process now (bubblewrap, python, torch, the lesson's preloads), so that it imports
        while pytest collects here; the first test's `begin` then waits for it with the start's own timeout."""
        if self.process is None:
            self._start()

    def stop(self):
        if self.process is not None:
            try:
                os.killpg(self.process.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            try:
                self.process.kill()
            except ProcessLookupError:
                pass
            self.process.wait()
            self.process = None
            self.warming = None
            confine.reap()  # bubblewrap's inner process, re-parented to this subreaper
        if self.channel is not None:
            self.channel.close()
            os.close(self.output_r)
            self.channel = self.output_r = self.reader = None

    # -- output

    def _keep(self, chunk: bytes):
        """Count a chunk of the student's output; keep the first OUTPUT_KEEP bytes of the test's output."""
        self.output_total += len(chunk)
        if len(self.output) < OUTPUT_KEEP:
            self.output += chunk[:OUTPUT_KEEP - len(self.output)]

    def _drain(self, fds):
        try:
            self._keep(os.read(self.output_r, 1 << 16))
        except OSError:
            pass

    def take_output(self) -> str:
        """The output kept for the test that ends (reading what is still in the pipe first)."""
        if self.output_r is not None:
            os.set_blocking(self.output_r, False)
            try:
                while chunk := os.read(self.output_r, 1 << 16):
                    self._keep(chunk)
            except (BlockingIOError, OSError):
                pass
            os.set_blocking(self.output_r, True)
        text = self.output.decode("utf-8", "replace")
        self.output = bytearray()
        return text

    # -- tests

    def begin(self, seed: int, time_limit: float = None):
        self.time_limit = (time_limit or 60.0) * self.timeout_factor
        self.broken = None
        self.output_total = 0
        self.output = bytearray()
        started = time.monotonic()
        fresh = self.process is None or self.process.poll() is not None
        if fresh:
            self.stop()
            self._start()
        if self.warming is not None:  # started here or ahead (prestart): it may still be importing
            fresh = True
            self.deadline = self.warming + START_TIMEOUT * self.timeout_factor
        else:
            self.deadline = started + self.time_limit
        try:
            self.request({"op": "begin", "seed": seed})
        except SandboxProblem:  # no student code runs before `begin` is answered: this is the grader's problem
            detail = (f"the student process did not {'start' if fresh else 'begin the test'}: "
                      f"{self.take_output()[-1500:] or 'no output'}")
            self.broken = messages.grader_error(self.lesson, detail)
            raise SandboxProblem(self.broken) from None
        self.warming = None
        self.deadline = time.monotonic() + self.time_limit

    def end(self):
        if self.broken is not None or self.process is None:
            return
        try:
            self.deadline = time.monotonic() + 30
            self.request({"op": "end"})
        except CheckFailure:
            self.stop()

    def roundtrip(self, message: dict) -> dict:
        if self.broken is not None:
            raise SandboxProblem(self.broken)
        module = (message.get("target") or {}).get("module") if isinstance(message.get("target"), dict) else None
        if module in self.hung:
            self.broken = self.hung[module]
            raise SandboxProblem(self.broken)
        if self.plan.uid is not None:
            self._open_shared()
        function = CallLog.function
        deadline = self.deadline
        if function in self.looped:  # it looped in an earlier test: a short leash, or none left
            if self.looped[function] > LEASHED_LOOPS:
                self.broken = messages.cut_short(self.lesson, function, REPEAT_LIMIT, self.looped[function])
                raise SandboxProblem(self.broken)
            deadline = min(deadline, time.monotonic() + REPEAT_LIMIT * self.timeout_factor)
        if self.process is None:
            self._fail("the student process is not running (a previous problem in this test stopped it)")
        try:
            wire.write_frame(self.channel.fileno(), wire.dumps(message))
        except (BrokenPipeError, ConnectionError, OSError):
            self._died()
        while True:
            if self.output_total > OUTPUT_LIMIT:
                self._fail(messages.output_flood(self.lesson, OUTPUT_LIMIT))
            try:
                frame = self.reader.read(deadline=deadline, extra_fds=(self.output_r,))
            except TimeoutError:
                if module and module not in self.imported:  # stuck importing the file: every test needing it would
                    self.hung[module] = messages.timeout(self.lesson, self.time_limit, during_setup=True)
                    self._fail(self.hung[module])
                leashed = deadline < self.deadline
                seconds = REPEAT_LIMIT * self.timeout_factor if leashed else self.time_limit
                if function:
                    self.looped[function] = self.looped.get(function, 0) + 1
                self._fail(messages.timeout(self.lesson, seconds, function=function, leashed=leashed,
                                            repeat=REPEAT_LIMIT * self.timeout_factor))
            except (EOFError, ConnectionError, OSError):
                self._died()
            except wire.WireError as error:
                self._fail(messages.protocol(self.lesson, str(error)))
            try:
                reply = wire.loads(frame, decode_handle=self._remote, max_blobs=MAX_REPLY)
            except wire.WireError as error:
                self._fail(messages.protocol(self.lesson, str(error)))
            if not isinstance(reply, dict):
                self._fail(messages.protocol(self.lesson, "a reply that is not a dict"))
            if "died" in reply:  # the per-test process died; the sandbox itself waits for the next test
                status = reply["died"] if isinstance(reply["died"], int) else 0
                self.broken = messages.died(self.lesson, status)
                raise SandboxProblem(self.broken)
            if reply.get("seq") is None and isinstance(reply.get("error"), dict):
                return reply  # the student side could not read the request (so cannot name its number)
            if reply.get("seq") == message["seq"]:
                if module:
                    self.imported.add(module)
                if self.output_total > OUTPUT_LIMIT:
                    self._fail(messages.output_flood(self.lesson, OUTPUT_LIMIT))
                return reply
            # a stale reply (to a request of a test that already failed): skip it

    def _open_shared(self):
        """Let the sandbox user read what the tests wrote for it (pytest makes its folders 0700). Called before every
        request: a folder whose entries have not changed since it was last opened (the same modification time) is
        not read again, so a folder of many files (MNIST, a digit folder) costs one stat per request, not one per file.
        """
        for top in self.plan.shared:
            self._open_folder(top)

    def _open_folder(self, folder: str):
        try:
            info = os.lstat(folder)
        except OSError:
            return
        if not stat.S_ISDIR(info.st_mode):
            return
        if info.st_mode & 0o055 != 0o055:
            try:
                os.chmod(folder, (info.st_mode | 0o055) & 0o7777)
            except OSError:
                pass
        if self.opened.get(folder) == info.st_mtime_ns:  # no entry added, removed or renamed since
            for name in self.subfolders.get(folder, ()):
                self._open_folder(os.path.join(folder, name))
            return
        subfolders = []
        try:
            entries = list(os.scandir(folder))
        except OSError:
            return
        for entry in entries:
            try:
                mode = entry.stat(follow_symlinks=False).st_mode
            except OSError:
                continue
            if stat.S_ISDIR(mode):
                subfolders.append(entry.name)
                self._open_folder(entry.path)
            elif not stat.S_ISLNK(mode) and mode & 0o044 != 0o044:
                try:
                    os.chmod(entry.path, (mode | 0o044) & 0o7777)
                except OSError:
                    pass
        # a modification time too close to now may be shared by a later change (timestamps are taken from a coarse
        # clock): such a folder is read again next time
        settled = time.time_ns() - info.st_mtime_ns > SETTLED_NS
        self.opened[folder], self.subfolders[folder] = (info.st_mtime_ns if settled else None), subfolders

    def _died(self):
        status = None
        if self.process is not None:
            try:
                status = self.process.wait(timeout=5)
            except Exception:
                status = None
        self._fail(messages.died(self.lesson, _wait_status(status)))

    def _fail(self, message: str):
        self.broken = message
        self.stop()
        raise SandboxProblem(message)


def _wait_status(returncode):
    """Popen's returncode as a wait status for messages.died (negative: killed by that signal)."""
    if returncode is None:
        return 9
    return -returncode if returncode < 0 else returncode << 8
