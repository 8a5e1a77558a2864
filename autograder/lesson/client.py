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
import select
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
CLOSED_WAIT = 10.0  # seconds to wait for the student process to say how a test's child that closed its channel ended
SETTLED_NS = 200_000_000  # _open_shared trusts a folder's modification time once it is this old (ns)


class SandboxProblem(CheckFailure):
    """The student process timed out, flooded, broke the protocol or died: this test fails."""


class _TestDied(Exception):
    """The student process said that the running test's child died (its wait status)."""

    def __init__(self, status: int):
        super().__init__(status)
        self.status = status


class _ProcessGone(Exception):
    """The student process itself closed its channel (it died, or was killed)."""


class _Control:
    """The lesson process's end of the student process's own channel. The student process writes there only what it
    decides itself, never what a test's code does: `{"channel": seq}` with that test's channel passed along
    (SCM_RIGHTS), `{"died": status, "test": seq}`, and answers to requests out of place. The student process is not
    trusted either: every frame is checked, and a descriptor it passes must be a Unix stream socket."""

    MAX_BUFFER = 1 << 20

    def __init__(self, sock: socket.socket):
        self.sock, self.buffer, self.fds = sock, bytearray(), []

    def fileno(self) -> int:
        return self.sock.fileno()

    def pump(self):
        """Read what is waiting (the caller saw the channel readable); EOFError when the student process is gone."""
        data, fds, _, _ = socket.recv_fds(self.sock, 1 << 16, 4, socket.MSG_CMSG_CLOEXEC)
        self.fds.extend(fds)
        if not data:
            raise EOFError
        self.buffer += data
        if len(self.buffer) > self.MAX_BUFFER:
            raise wire.WireError("the student process wrote more than a megabyte on its own channel")

    def messages(self):
        """The whole frames read so far, decoded (WireError for a malformed one)."""
        while (frame := wire.take_frame(self.buffer, max_blobs=0)) is not None:
            yield wire.loads(frame, max_blobs=0)

    def take_channel(self):
        """The socket passed with the last `channel` frame, or None; any other descriptor passed is closed."""
        fds, self.fds = self.fds, []
        for extra in fds[:-1]:
            os.close(extra)
        if not fds:
            return None
        if not stat.S_ISSOCK(os.fstat(fds[-1]).st_mode):
            os.close(fds[-1])
            return None
        channel = socket.socket(fileno=fds[-1])
        if channel.family != socket.AF_UNIX or channel.type != socket.SOCK_STREAM:
            channel.close()
            return None
        return channel

    def close(self):
        self.sock.close()
        for fd in self.fds:
            os.close(fd)
        self.fds = []


class SandboxTransport(Transport):
    def __init__(self, plan: launch.Plan, lesson: int, isolated: bool, timeout_factor: float = 1.0):
        self.plan, self.lesson, self.isolated, self.timeout_factor = plan, lesson, isolated, timeout_factor
        self.process = None
        self.control = None  # the student process's own channel (_Control)
        self.channel = None  # the running test's channel, passed by the student process at `begin`
        self.reader = None
        self.test = None  # the sequence number of the running test's `begin`
        self.death = None  # the wait status of the running test's child, once the student process said it ended
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
        self.control, self.output_r = _Control(ours), out_r
        self.channel = self.reader = None
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
        self._close_test()
        if self.control is not None:
            self.control.close()
            os.close(self.output_r)
            self.control = self.output_r = None

    def _close_test(self):
        if self.channel is not None:
            self.channel.close()
            self.channel = self.reader = None

    def _abort_test(self):
        """Stop the running test's child (the student process kills it and stays, warm, for the next test)."""
        self._close_test()
        if self.control is None:
            return
        try:
            wire.write_frame(self.control.fileno(), wire.dumps({"op": "abort", "seq": None}))
        except OSError:
            self.stop()

    # -- output

    def _keep(self, chunk: bytes):
        """Count a chunk of the student's output; keep the first OUTPUT_KEEP bytes of the test's output."""
        self.output_total += len(chunk)
        if len(self.output) < OUTPUT_KEEP:
            self.output += chunk[:OUTPUT_KEEP - len(self.output)]

    def _drain(self, fds):
        if self.output_r in fds:
            try:
                self._keep(os.read(self.output_r, 1 << 16))
            except OSError:
                pass
        if self.control is not None and self.control.fileno() in fds:
            self._hear_control()

    def _hear_control(self) -> list:
        """Read the student process's own channel: _TestDied for the running test's child, _ProcessGone when it closed
        its channel; returns the other messages (the caller takes what it waits for, the rest is left over from an
        earlier test)."""
        try:
            self.control.pump()
            heard = list(self.control.messages())
        except (EOFError, OSError):
            raise _ProcessGone() from None
        except wire.WireError as error:
            self._fail(messages.protocol(self.lesson, str(error)), stop=True)
        for message in heard:
            if isinstance(message, dict) and "died" in message and message.get("test") == self.test:
                self.death = message["died"] if isinstance(message["died"], int) else 0
        if self.death is not None and not (self.channel is not None and select.select([self.channel], [], [], 0)[0]):
            raise _TestDied(self.death)  # (a reply it sent before it ended is read first)
        return heard

    def _wait_control(self, deadline):
        """Wait for the student process's channel (draining output meanwhile) until `deadline`: TimeoutError."""
        while True:
            timeout = max(0.0, deadline - time.monotonic())
            ready, _, _ = select.select([self.control.fileno(), self.output_r], [], [], timeout)
            if not ready:
                raise TimeoutError
            if self.output_r in ready:
                self._drain([self.output_r])
            if self.control.fileno() in ready:
                return

    def _open_test(self, message: dict, deadline: float):
        """Send `begin` to the student process and take the test's channel it passes back."""
        self._close_test()
        self.test, self.death = message["seq"], None
        try:
            wire.write_frame(self.control.fileno(), wire.dumps(message))
        except OSError:
            raise _ProcessGone() from None
        while True:
            self._wait_control(deadline)
            for reply in self._hear_control():  # no channel yet: the child's end is _TestDied at once
                if isinstance(reply, dict) and reply.get("channel") == self.test:
                    self.channel = self.control.take_channel()
                    if self.channel is None:
                        raise wire.WireError("the student process passed no test channel")
                    self.reader = wire.Reader(self.channel.fileno(), max_blobs=MAX_REPLY, on_idle=self._drain)
                    self.take_output()  # what the last test's child printed after its end is not this test's
                    self.output_total = 0
                    return

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
        self.output_total = 0
        self.output = bytearray()
        for attempt in (1, 2):
            self.broken = None
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
                break
            except SandboxProblem:  # no student code runs before `begin` is answered: this is the grader's problem
                if not fresh and attempt == 1:  # a warm student process that an earlier test left unable: a new one
                    self.stop()
                    continue
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
            self._abort_test()
        self._close_test()  # the test's child leaves after answering `end`

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
            if message.get("op") == "begin":
                self._open_test(message, deadline)
            elif self.channel is None:
                self._fail("the test's channel is closed (a previous problem in this test stopped it)")
            else:
                wire.write_frame(self.channel.fileno(), wire.dumps(message))
        except _TestDied as died:
            self._test_died(died.status)
        except (_ProcessGone, BrokenPipeError, ConnectionError, OSError):
            self._died()
        except TimeoutError:
            self._fail(messages.timeout(self.lesson, self.time_limit), stop=True)
        except wire.WireError as error:
            self._fail(messages.protocol(self.lesson, str(error)), stop=True)
        while True:
            if self.output_total > OUTPUT_LIMIT:
                self._fail(messages.output_flood(self.lesson, OUTPUT_LIMIT), stop=True)
            try:
                frame = self.reader.read(deadline=deadline, extra_fds=(self.output_r, self.control.fileno()))
            except _TestDied as died:
                self._test_died(died.status)
            except _ProcessGone:
                self._died()
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
                self._channel_closed()
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
                    self._fail(messages.output_flood(self.lesson, OUTPUT_LIMIT), stop=True)
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
        """The student process itself is gone: this test fails, the next one starts a new student process."""
        status = None
        if self.process is not None:
            try:
                status = self.process.wait(timeout=5)
            except Exception:
                status = None
        self._fail(messages.died(self.lesson, _wait_status(status)), stop=True)

    def _test_died(self, status: int):
        """The test's child died (the student process said so): this test fails, the student process stays."""
        self.broken = messages.died(self.lesson, status)
        self._close_test()
        raise SandboxProblem(self.broken)

    def _channel_closed(self):
        """The test's channel closed mid-request: its child ended. Wait a little for the student process to say how."""
        self._close_test()
        if self.death is not None:
            self._test_died(self.death)
        try:
            until = time.monotonic() + CLOSED_WAIT
            while True:
                self._wait_control(until)
                self._hear_control()
        except _TestDied as died:
            self._test_died(died.status)
        except _ProcessGone:
            self._died()
        except TimeoutError:  # its child closed the channel and lives on: it is stopped
            self._fail(messages.died(self.lesson, 9))
        except wire.WireError as error:
            self._fail(messages.protocol(self.lesson, str(error)), stop=True)

    def _fail(self, message: str, stop: bool = False):
        """Fail the running test: its child is stopped (`abort`), or with `stop` the whole student process (a flood
        of output, a broken channel of its own, or it is gone: the next test starts a new one)."""
        self.broken = message
        if stop:
            self.stop()
        else:
            self._abort_test()
        raise SandboxProblem(message)


def _wait_status(returncode):
    """Popen's returncode as a wait status for messages.died (negative: killed by that signal)."""
    if returncode is None:
        return 9
    return -returncode if returncode < 0 else returncode << 8
