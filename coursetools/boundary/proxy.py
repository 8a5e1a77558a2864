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

from coursetools import LESSONS
from coursetools.boundary import wire
from coursetools.feedback import CallLog, CheckFailure

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


def student_error(info: dict) -> Exception:
    """The exception to raise here for a student-side error description."""
    kind = info.get("kind")
    text = _import_problem(info)
    if text:
        return CheckFailure(text)
    if kind in ("protocol", "unsendable"):
        return StudentProtocolError(f"{info.get('message', '')}")
    base = StudentExit if kind == "exit" else next(
        (_BUILTIN_ERRORS[name] for name in info.get("bases") or [] if name in _BUILTIN_ERRORS), StudentExit)
    name = str(info.get("type") or base.__name__)[:80]
    key = (name, base)
    if key not in _classes:
        _classes[key] = type(name if name.isidentifier() else base.__name__, (base, StudentRaised),
                             {"__module__": "submission"})
    error = _classes[key](str(info.get("message", ""))[:2000])
    error.info = info
    return error


class StudentProtocolError(Exception):
    """The student side sent something that is not an answer (or could not send its result)."""


def _import_problem(info: dict):
    kind, relpath = info.get("kind"), info.get("relpath")
    if kind == "missing_file":
        return (f"{relpath} is missing from the submission: create it (or restore the stub).\n"
                f"提交中缺少 {relpath}：请创建它（或恢复原来的练习文件）。")
    if kind == "syntax":
        return (f"{relpath} has a syntax error at line {info.get('line')}: {info.get('message')}. Fix it and run "
                f"the tests again.\n{relpath} 第 {info.get('line')} 行有语法错误：{info.get('message')}。改正后重新运行测试。")
    if kind == "import":
        detail = f"{info.get('type')}: {info.get('message')}"[:500]
        return (f"importing {relpath} raised {detail}. Code at the top level of the file runs on import: move it "
                f"into a function.\n导入 {relpath} 时抛出 {detail}。文件顶层的代码会在导入时运行：请把它移进函数里。")
    if kind == "shadowed":
        return (f"importing {relpath} found {info.get('found')} instead: another folder of that name is on the "
                f"import path. Rename or remove it.\n导入 {relpath} 时找到的是 {info.get('found')}：导入路径上有另一个同名文件夹。")
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
        if "error" in reply:
            raise student_error(reply["error"] if isinstance(reply["error"], dict) else {"kind": "protocol"})
        return reply

    def _remote(self, handle: wire.Handle):
        return Remote(self, {"obj": handle}, handle)


class InProcess(Transport):
    """The student's code in this very process (public tests on the student's own machine)."""

    def __init__(self, root):
        from coursetools.sandbox.server import Server

        self.server = Server(str(root), in_process=True)

    def roundtrip(self, message: dict) -> dict:
        return wire.loads(self.server.serve(wire.dumps(message)), decode_handle=self._remote)


def _encode_arg(value):
    if isinstance(value, Remote):
        return value._handle_for_wire()
    if isinstance(value, (list, tuple)):
        return type(value)(_encode_arg(v) for v in value)
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
        return self._handle.repr if self._handle else f"<remote {self._label}>"

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
            reply = self._transport.request({"op": "next", "target": iterator._target})
            if reply.get("stop"):
                return
            yield reply.get("ok")


def _call(transport, target, args, kwargs, label):
    if label and "module" in target:
        CallLog.function = label
    elif "kit" in target:  # a kit function calling the student's function on the student side: name that one
        named = [a._label for a in [*args, *kwargs.values()] if isinstance(a, Remote) and a._label
                 and "module" in a._target]
        if named:
            CallLog.function = named[0]
    writeback = _has_mutable(args) or _has_mutable(list(kwargs.values()))
    reply = transport.request({"op": "call", "target": target, "args": [_encode_arg(a) for a in args],
                               "kwargs": {k: _encode_arg(v) for k, v in kwargs.items()}, "writeback": writeback})
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
