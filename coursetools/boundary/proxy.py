"""The trusted side of the boundary: how tests reach student code, whatever process it runs in.

Tests never hold a student object. `submission.lesson1.flatten_images(x)` sends a
*call* through a transport and gets back *data* (tensors, numbers, containers) or a
`Remote`, a handle on an object that stays with the student code (a model, a
loader); a Remote's methods are calls too. Tensor and array arguments come back with
what the call did to them in place (values, `.grad`, `requires_grad`), so in-place
contracts (`sgd_step`, `zero_grads`, "inputs are not mutated") read as plain Python.

Two transports, one code path:
- `InProcess` (a student's `pytest exercises/lessonN`, `course check`, notebooks): the
  student-side server runs in this process; every request still crosses the wire format.
- the grading engine's pipe to the bubblewrap sandbox (`autograder.lesson.client`): the
  student code runs in another process; only frames cross.

A student error comes back as an exception of the nearest builtin class (a student's
`ValueError` is a `ValueError` here), carrying the submission's own lines.

可信一侧：测试只通过代理调用学生代码，得到的是数据或句柄，从不持有学生对象。
"""
import itertools
import re
import signal
import threading
import warnings

from coursetools import LESSONS
from coursetools.boundary import wire
from coursetools.checks.feedback import CallLog, CheckFailure

#: exceptions a student error may be re-raised as (the nearest one in its class's MRO)
_BUILTIN_ERRORS = {cls.__name__: cls for cls in (
    ArithmeticError, AssertionError, AttributeError, BufferError, EOFError, FileExistsError, FileNotFoundError,
    FloatingPointError, ImportError, IndexError, IsADirectoryError, KeyError, LookupError, MemoryError,
    ModuleNotFoundError, NameError, NotADirectoryError, NotImplementedError, OSError, OverflowError,
    PermissionError, RecursionError, ReferenceError, RuntimeError, StopIteration, TypeError, UnboundLocalError,
    UnicodeError, ValueError, ZeroDivisionError, LookupError, Exception)}


class StudentRaised:
    """Mixed into every exception re-raised from student code: `.info` is what the student side described."""

    info: dict = {}

    @property
    def frames(self) -> list:
        """[(path in the submission, line, function, source line)], as well-formed as the student side sent them."""
        frames = self.info.get("frames")
        return [(str(f[0])[:200], f[1] if isinstance(f[1], int) else 0, str(f[2])[:100], str(f[3])[:200])
                for f in (frames if isinstance(frames, list) else [])[-6:] if isinstance(f, list) and len(f) == 4]

    @property
    def stub(self):
        """The function name when a stub's `raise NotImplementedError()` was reached, else None."""
        stub = self.info.get("stub")
        return stub[:100] if isinstance(stub, str) and stub else None


class StudentExit(Exception):
    """The student's code ended the call with SystemExit, KeyboardInterrupt or a pytest outcome."""


_classes = {}


class TimedOut(CheckFailure):
    """The student code ran past the test's time limit (in-process alarm): the test fails, no check can catch it."""

    def __init__(self, info: dict, function=None, call=None):
        from coursetools.checks import diagnosis

        self.info, self.function, self.call = info, function, call
        seconds = info.get("seconds") if isinstance(info.get("seconds"), (int, float)) else 0
        super().__init__(diagnosis.timeout_message(CallLog.lesson, function, call, seconds,
                                                   StudentRaised.frames.fget(self)))


class ImportProblem(CheckFailure):
    """A lesson file that cannot be imported (missing, syntax error, error or endless loop at the top level)."""

    def __init__(self, text: str, relpath: str):
        super().__init__(text)
        self.relpath = relpath


def student_error(info: dict) -> Exception:
    """The exception to raise here for a student-side error description."""
    kind = info.get("kind")
    text = _import_problem(info)
    if text:
        return ImportProblem(text, str(info.get("relpath") or "")[:200])
    if kind == "timeout":
        return TimedOut(info, CallLog.function)
    if kind in ("protocol", "unsendable"):
        message = str(info.get("message", ""))[:500].removeprefix("WireError: ")  # course words, not the engine's
        too_large = kind == "unsendable" and "one message may carry" in message
        return (ResultTooLarge if too_large else StudentProtocolError)(message)
    base = StudentExit if kind == "exit" else next(
        (_BUILTIN_ERRORS[name] for name in info.get("bases") or [] if name in _BUILTIN_ERRORS), StudentExit)
    name = str(info.get("type") or base.__name__)[:80]
    key = (name, base)
    if key not in _classes:
        _classes[key] = type(name if name.isidentifier() else base.__name__, (base, StudentRaised),
                             {"__module__": "submission"})
    message = str(info.get("message", ""))[:2000]
    from coursetools.checks import diagnosis

    found = diagnosis.diagnose(name, message)
    if found and found.slug == "device-mismatch" and found.shown_en:
        # CUDA asked for where there is none: never the raw text (in the grader it names the grader's own fork)
        message = f"{found.shown_en}."
    error = _classes[key](message)
    error.info = info
    return error


class StudentProtocolError(Exception):
    """The student side sent something that is not an answer (or could not send its result)."""


class ResultTooLarge(StudentProtocolError):
    """What the student's function returned stands for more data than a reply may carry (a broadcast view of
    gigabytes, say): refused by the student side before sending, so the test fails and the process is kept."""


def _import_problem(info: dict):
    kind, relpath = info.get("kind"), info.get("relpath")
    if kind == "missing_file":
        return (f"{relpath} is missing from the submission: create it (or restore the stub).\n"
                f"提交中缺少 {relpath}：请创建它（或恢复原来的练习文件）。")
    if kind == "syntax":
        source = str(info.get("text") or "").strip()[:120]
        shown = f"\n  line {info.get('line')}: {source}" if source else ""
        return (f"{relpath} has a syntax error at line {info.get('line')}: {info.get('message')}. Fix it and run "
                f"the tests again.{shown}\n{relpath} 第 {info.get('line')} 行有语法错误（{info.get('message')}）。"
                "改正后重新运行测试。")
    if kind == "import_timeout":
        seconds = info.get("seconds")
        seconds = f"{seconds:g}" if isinstance(seconds, (int, float)) else "?"
        frames = info.get("frames") if isinstance(info.get("frames"), list) else []
        at = ""
        if frames and isinstance(frames[-1], list) and len(frames[-1]) == 4:
            at = f"\n  stopped at {frames[-1][0]}, line {frames[-1][1]}: {str(frames[-1][3])[:100]}"
        return (f"importing {relpath} ran longer than {seconds} s and was stopped: code at the top level "
                f"of the file (an endless loop, training) runs on import. Move it into a function.{at}\n"
                f"导入 {relpath} 运行超过 {seconds} 秒，已被停止：文件顶层的代码（死循环、训练）会在导入时运行。"
                "请把它移进函数里。")
    if kind == "import":
        detail = f"{info.get('type')}: {info.get('message')}"[:500]
        return (f"importing {relpath} raised {detail}. Code at the top level of the file runs on import: move it "
                f"into a function.\n导入 {relpath} 时抛出 {detail}。文件顶层的代码会在导入时运行：请把它移进函数里。")
    if kind == "shadowed":
        return (f"importing {relpath} found {info.get('found')} instead: another folder of that name is on the "
                f"import path. Rename or remove it.\n"
                f"导入 {relpath} 时找到的是 {info.get('found')}：导入路径上有另一个同名文件夹。")
    if kind == "missing_name":
        name = info.get("name")
        return (f"`{name}` is not defined in {relpath}: define it with exactly this name.\n"
                f"{relpath} 中没有定义 `{name}`：请用这个名字定义它。")
    return None


class Transport:
    """Sends one request and returns the decoded reply (subclasses: InProcess, the sandbox pipe)."""

    seq = 0

    def roundtrip(self, message: dict) -> dict:
        raise NotImplementedError

    def begin(self, seed: int, time_limit: float = None):
        self.request({"op": "begin", "seed": seed})

    def end(self):
        self.request({"op": "end"})

    def request(self, message: dict):
        self.seq += 1
        reply = self.roundtrip({**message, "seq": self.seq})
        if not isinstance(reply, dict):
            raise StudentProtocolError("the student side answered with something that is not a reply")
        if reply.get("warnings"):
            _reemit(reply["warnings"], getattr(self, "root", None))
        if "error" in reply:
            raise student_error(reply["error"] if isinstance(reply["error"], dict) else {"kind": "protocol"})
        return reply

    def _remote(self, handle: wire.Handle):
        return Remote(self, {"obj": handle}, handle)


def _reemit(records, root):
    """Show the warnings the student code raised during a request at the submission's line that led to them."""
    import os

    for record in records[:5] if isinstance(records, list) else []:
        if not isinstance(record, dict):
            continue
        name = str(record.get("category", ""))
        category = _WARNINGS.get(name, UserWarning)
        path = str(record.get("path", ""))[:200]
        if not re.fullmatch(r"lesson\d+/[A-Za-z_][A-Za-z0-9_]*\.py", path):  # student data: never a path elsewhere
            path = "submission.py"
        line = record.get("line") if isinstance(record.get("line"), int) else 0
        filename = os.path.join(str(root), path) if root else path
        warnings.warn_explicit(f"{name}: {str(record.get('message', ''))[:500]} (in {path}, line {line})"
                               if category is UserWarning and name != "UserWarning" else
                               str(record.get("message", ""))[:500], category, filename, line,
                               module=path.removesuffix(".py").replace("/", "."), registry={})


_WARNINGS = {cls.__name__: cls for cls in (UserWarning, DeprecationWarning, FutureWarning, RuntimeWarning,
                                           PendingDeprecationWarning, SyntaxWarning, ImportWarning,
                                           UnicodeWarning, BytesWarning, ResourceWarning)}


REPEAT_LIMIT = 10.0  # seconds for a function that already ran past a limit in this session
SWALLOWED_ALARMS = 10  # seconds the student code may go on catching the time limit's exception before it ends


def _give_up(seconds, frame, root):
    """The last resort against code that swallows every exception in an endless loop: say so and end the process."""
    import os

    from coursetools.checks import diagnosis

    frames = []
    root = os.path.realpath(root) + os.sep
    while frame is not None:
        path = os.path.realpath(frame.f_code.co_filename)
        if path.startswith(root):
            import linecache

            frames.insert(0, (path[len(root):], frame.f_lineno, frame.f_code.co_name,
                              linecache.getline(path, frame.f_lineno).strip()))
        frame = frame.f_back
    text = diagnosis.timeout_message(CallLog.lesson, CallLog.function, None, seconds, frames)
    extra = ("It also caught the exception that stops it (a bare `except:` or `except BaseException`), so the test "
             "run ends here. / 它还捕获了用来停止它的异常（裸 `except:` 或 `except BaseException`），测试运行到此结束。")
    try:  # pytest captures fd 2 during a test: give the terminal back first
        from coursetools.checks import pytest_plugin

        pytest_plugin.CONFIG["config"].pluginmanager.getplugin("capturemanager").suspend_global_capture(in_=False)
    except Exception:
        pass
    os.write(2, f"\n{text}\n{extra}\n".encode("utf-8", "replace"))
    os._exit(124)


class InProcess(Transport):
    """The student's code in this very process (public tests on the student's own machine).

    `begin(seed, time_limit)` arms an alarm (SIGALRM, main thread only): when the test's time is
    up it raises `TimeLimitExceeded` wherever the code is (inside the student's code, which the
    server turns into a `timeout` reply; again every second if the student code swallows it); the
    rest of the test's requests then fail at once with the same message (`TimedOut`). A function
    that ran out of time once in this session gets REPEAT_LIMIT seconds in later tests, so one
    endless loop does not cost a full limit per test that calls it."""

    def __init__(self, root):
        from coursetools.sandbox.server import Server

        self.root = str(root)
        self.server = Server(str(root), in_process=True)
        self.timed_out = None  # the TimedOut of this test, once its time is up
        self._previous = None
        self.looped = set()  # functions that ran past a limit in an earlier test of this session
        self._limit = None  # the armed limit of this test, in seconds

    def roundtrip(self, message: dict) -> dict:
        from coursetools.sandbox import server

        ending = message.get("op") == "end"
        if self.timed_out is None and server.STATE["timed_out"] is not None and not ending:
            self.timed_out = TimedOut({"kind": "timeout", "seconds": server.STATE["timed_out"]}, CallLog.function)
        if self.timed_out is not None and not ending:
            raise self.timed_out
        if self._limit and CallLog.function in self.looped and self._limit > REPEAT_LIMIT:
            self._limit = REPEAT_LIMIT  # it looped before: a short leash (the alarm's message says so)
            signal.setitimer(signal.ITIMER_REAL, REPEAT_LIMIT, 1.0)
        reply = wire.loads(self.server.serve(wire.dumps(message)), decode_handle=self._remote)
        error = reply.get("error") if isinstance(reply, dict) else None
        if isinstance(error, dict) and error.get("kind") == "timeout":
            self.timed_out = TimedOut(error, CallLog.function)
            self.looped.add(CallLog.function)
            raise self.timed_out
        return reply

    def begin(self, seed: int, time_limit: float = None):
        self._disarm()
        self.timed_out = None
        super().begin(seed, time_limit)
        if time_limit and time_limit > 0 and hasattr(signal, "setitimer") \
                and threading.current_thread() is threading.main_thread():
            from coursetools.sandbox import server

            fired = []

            def alarm(signum, frame):  # raises only inside a request (student code); elsewhere the next one fails
                server.STATE["timed_out"] = self._limit
                if not server.STATE["serving"]:
                    return
                fired.append(1)
                if len(fired) > SWALLOWED_ALARMS:  # the student code catches everything (a bare except in a loop)
                    _give_up(self._limit, frame, self.root)
                raise server.TimeLimitExceeded(self._limit)

            self._limit = time_limit
            self._previous = signal.signal(signal.SIGALRM, alarm)
            signal.setitimer(signal.ITIMER_REAL, time_limit, 1.0)

    def _disarm(self):
        from coursetools.sandbox import server

        self._limit = None
        if self._previous is not None:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, self._previous)
            self._previous = None
        server.STATE["timed_out"] = None

    def end(self):
        self._disarm()
        self.timed_out = None
        super().end()


def _encode_arg(value):
    if isinstance(value, Remote):
        return value._handle_for_wire()
    if isinstance(value, (list, tuple)):  # a named tuple too: it crosses as the tuple it is
        return (list if isinstance(value, list) else tuple)(_encode_arg(v) for v in value)
    if isinstance(value, dict):
        return {k: _encode_arg(v) for k, v in value.items()}
    return value


def _has_mutable(value) -> bool:
    import numpy
    import torch

    if isinstance(value, (torch.Tensor, numpy.ndarray)):
        return True
    return isinstance(value, (list, tuple)) and any(_has_mutable(v) for v in value)


def _write_back(original, after):
    """Apply what the call did in place to `original` (tensors: values, grad, requires_grad; arrays: values)."""
    import numpy
    import torch

    if after is None:
        return
    if isinstance(original, torch.Tensor) and isinstance(after, torch.Tensor):
        with torch.no_grad():
            try:
                if after.shape == original.shape and after.dtype == original.dtype and after.device.type != "meta" \
                        and original.device.type != "meta":
                    if not torch.equal(original, after.to(original.device)):
                        original.copy_(after.to(original.device))
                elif after.device.type != "meta" and original.device.type != "meta":
                    original.set_(after.detach().to(original.device).clone())
            except RuntimeError:  # a layout that cannot be written (broadcast): the values stay
                pass
        if original.is_leaf:
            if original.requires_grad != after.requires_grad and (original.is_floating_point() or not after.requires_grad):
                original.requires_grad_(after.requires_grad)
            original.grad = after.grad.to(original.device) if after.grad is not None and after.grad.shape == \
                original.shape and original.requires_grad else None
    elif isinstance(original, numpy.ndarray) and isinstance(after, numpy.ndarray):
        if after.shape == original.shape and original.flags.writeable:
            original[...] = after.astype(original.dtype, copy=False)
    elif isinstance(original, (list, tuple)) and isinstance(after, (list, tuple)) and len(original) == len(after):
        for o, a in zip(original, after):
            _write_back(o, a)


class Remote:
    """An object that stays with the student code: attributes and calls are requests.

    `remote.attr` fetches the attribute (data, or another Remote); `remote(...)` and
    `remote.method(...)` call it. `remote.type` / `remote.mro` name its class as the
    student side reported it; `is_a("torch.nn.Module")` checks that list.
    """

    def __init__(self, transport, target: dict, handle=None, label=None):
        object.__setattr__(self, "_transport", transport)
        object.__setattr__(self, "_target", target)
        object.__setattr__(self, "_handle", handle)
        object.__setattr__(self, "_label", label)

    # -- what it is
    @property
    def type(self) -> str:
        return self._handle.type if self._handle else ""

    @property
    def mro(self) -> tuple:
        return self._handle.mro if self._handle else ()

    def is_a(self, qualname: str) -> bool:
        return qualname in self.mro

    def __repr__(self):
        return self._handle.repr if self._handle else f"<{self._label}>"  # course words: never an engine word

    def _handle_for_wire(self):
        if self._handle is None:
            raise TypeError(f"{self._label} is a name in the student's module, not an object: call it first")
        return self._handle

    # -- requests
    def _sub(self, name: str) -> dict:
        return {**self._target, "path": [*(self._target.get("path") or []), name]}

    def __getattr__(self, name: str):
        if name.startswith("_"):
            raise AttributeError(name)
        return self.get(name)

    def get(self, name: str):
        """The attribute `name` (data, or a Remote), also where it collides with a method of Remote."""
        return self._transport.request({"op": "get", "target": self._sub(name)})["ok"]

    def __setattr__(self, name, value):
        raise AttributeError("set attributes of student objects through a kit function, not directly")

    def __call__(self, *args, **kwargs):
        return _call(self._transport, self._target, args, kwargs, self._label)

    def call(self, method: str, *args, **kwargs):
        """`remote.method(*args, **kwargs)` in one request."""
        return _call(self._transport, self._sub(method), args, kwargs, method)

    def __len__(self):
        value = self.call("__len__")
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise TypeError(f"len() of {self!r} gave {type(value).__name__}, not a non-negative int")
        return value

    def __getitem__(self, index):
        return self.call("__getitem__", index)

    def __iter__(self):
        iterator = self._transport.request({"op": "iter", "target": self._target})["ok"]
        if not isinstance(iterator, Remote):
            raise TypeError(f"iter() of {self!r} did not give an iterator")
        for _ in itertools.count():
            try:
                reply = self._transport.request({"op": "next", "target": iterator._target})
            except BaseException as error:  # name what was iterated (StudentRaised is a mix-in)
                if isinstance(error, StudentRaised) and getattr(error, "call", None) is None:
                    from coursetools.checks import diagnosis

                    error.call, error.function = f"iterating over {diagnosis.describe_value(self)}", CallLog.function
                raise
            if reply.get("stop"):
                return
            yield reply.get("ok")


def _call(transport, target, args, kwargs, label):
    if label and "module" in target:
        CallLog.function = label
    else:  # a kit function or a kit object's method (a spy's `call`) running the student's function: name that one
        named = [a._label for a in [*args, *kwargs.values()] if isinstance(a, Remote) and a._label
                 and "module" in a._target]
        if named:
            CallLog.function = named[0]
    writeback = _has_mutable(args) or _has_mutable(list(kwargs.values()))
    try:
        reply = transport.request({"op": "call", "target": target, "args": [_encode_arg(a) for a in args],
                                   "kwargs": {k: _encode_arg(v) for k, v in kwargs.items()}, "writeback": writeback})
    except BaseException as error:  # StudentRaised is a mix-in, not an exception class of its own
        if isinstance(error, (StudentRaised, TimedOut)):
            _name_the_call(error, transport, target, args, kwargs, label)
        raise
    if writeback:
        after = reply.get("args_after")
        if isinstance(after, list) and len(after) == len(args):
            for original, changed in zip(args, after):
                _write_back(original, changed)
        kwargs_after = reply.get("kwargs_after")
        if isinstance(kwargs_after, dict):
            for key, value in kwargs.items():
                _write_back(value, kwargs_after.get(key))
    return reply.get("ok")


def _name_the_call(error, transport, target, args, kwargs, label):
    """Say on the error what was called, on what (the message's first line): `evaluate(<Net>, <DataLoader>, 'cpu')`."""
    from coursetools.checks import diagnosis

    function = CallLog.function
    if label and "module" in target:
        call = diagnosis.describe_call(label, args, kwargs)
    elif label:  # a method of a student object: <MNIST>[0], <SimpleMNISTNet>.forward(<tensor (2, 1, 28, 28)>)
        handle = target.get("obj")
        owner = diagnosis.describe_value(handle) if isinstance(handle, wire.Handle) else "<object>"
        if label == "__getitem__" and len(args) == 1 and not kwargs:
            call = f"{owner}[{diagnosis.describe_value(args[0])}]"
        elif label == "__len__":
            call = f"len({owner})"
        else:
            call = diagnosis.describe_call(f"{owner}.{label}", args, kwargs)
    else:
        call = f"{function}(...)" if function else None
    if isinstance(error, TimedOut):
        if getattr(error, "call", None) is None:
            fresh = TimedOut(error.info, function, call)
            if isinstance(transport, InProcess) and transport.timed_out is error:
                transport.timed_out = fresh
            raise fresh from None
        return
    if getattr(error, "call", None) is None:
        error.call, error.function = call, function


class StudentModule:
    """`lessonN/<topic>.py` of the submission: attributes are fetched from the student side when used."""

    def __init__(self, transport, lesson: str, topic: str):
        self._transport, self._name = transport, f"{lesson}.{topic}"
        self._relpath = f"{lesson}/{topic}.py"

    def __getattr__(self, name: str):
        if name.startswith("_"):
            raise AttributeError(name)
        value = self._transport.request({"op": "get", "target": {"module": self._name, "path": [name]}})["ok"]
        if isinstance(value, Remote):  # a function or class: call it by name (handles last one test)
            return Remote(self._transport, {"module": self._name, "path": [name]}, value._handle, label=name)
        return value

    def __repr__(self):
        return f"<submission module {self._relpath}>"


class Kit:
    """`submission.kit.make_net(seed=0)`: builds course objects on the student side (coursetools.sandbox.kit)."""

    def __init__(self, transport):
        self._transport = transport

    def __getattr__(self, name: str):
        if name.startswith("_"):
            raise AttributeError(name)
        transport = self._transport
        return lambda *args, **kwargs: _call(transport, {"kit": name}, args, kwargs, None)


class Submission:
    """A folder shaped like exercises/, reached through `transport`.

    `submission.module("lesson1", "tensors")` or `submission.lesson1` give the lesson's
    module; `submission.kit` builds course objects next to the student code.
    """

    def __init__(self, root, transport: Transport = None):
        self.root = root
        self.transport = transport or InProcess(root)
        self.kit = Kit(self.transport)
        self._modules = {}

    def module(self, lesson: str, topic: str) -> StudentModule:
        key = (lesson, topic)
        if key not in self._modules:
            self._modules[key] = StudentModule(self.transport, lesson, topic)
        return self._modules[key]

    def __getattr__(self, name: str):
        if name.startswith("lesson") and name[6:].isdigit() and int(name[6:]) in LESSONS:
            return self.module(name, LESSONS[int(name[6:])])
        raise AttributeError(name)

    def release(self, *remotes):
        """Let the student side drop these objects now rather than at the end of the test (big models in a
        small grading box); the Remotes must not be used afterwards."""
        refs = [r._handle.id for r in remotes if isinstance(r, Remote) and r._handle is not None]
        if refs:
            self.transport.request({"op": "release", "refs": refs})

    def __repr__(self):
        return f"<submission {self.root}>"
