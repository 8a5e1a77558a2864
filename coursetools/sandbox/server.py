"""The student side of the boundary: the only code that imports a submission and touches its objects.

`Server.serve(frame) -> frame` answers one request of the trusted side (wire format:
`coursetools.boundary.wire`). It imports lesson files, looks names up, calls them,
and sends back *data*; objects that must stay here (models, loaders, optimizers)
stay in a table and cross as handles. Errors cross as descriptions (type, message,
the submission's own lines), never as objects.

When grading, this runs inside the bubblewrap sandbox (`python -m coursetools.sandbox`,
one forked child per test, see `__main__.py`); for a student's own `pytest
exercises/lessonN` it runs in the same process (`InProcess` transport): one code path.

学生一侧：唯一导入提交代码、接触学生对象的代码。评分时它在 bubblewrap 沙箱中运行，只把数据发回。
"""
import importlib
import os
import random
import re
import shutil
import sys
import tempfile
import traceback
import warnings

from coursetools.boundary import wire

_LESSON_PACKAGE = re.compile(r"^lesson\d+(\.|$)")
_MODULE = re.compile(r"^lesson\d+\.[A-Za-z_][A-Za-z0-9_]*$")
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
#: the folder the current test's student code may write in (kit.work_dir)
SCRATCH = {"dir": None}


class TimeLimitExceeded(BaseException):
    """Raised inside student code when the test's time is up (the in-process transport's alarm).

    A BaseException, so a student's `except Exception` does not swallow it; the alarm fires
    again every second while the student code still runs."""

    def __init__(self, seconds: float):
        super().__init__(f"ran longer than {seconds:g} s")
        self.seconds = seconds


#: timed_out: the seconds of the limit once the running test is over time (set by the in-process alarm)
#: serving: a request is being answered (the alarm raises only then)
STATE = {"timed_out": None, "serving": False}
MAX_WARNINGS = 5


class _ImportProblem(Exception):
    def __init__(self, info: dict):
        super().__init__(info.get("kind"))
        self.info = info


class Server:
    """Serves the trusted side's requests against the submission in `root`."""

    _active_root = None

    def __init__(self, root: str, in_process: bool = False):
        self.root = os.path.realpath(root)
        self.in_process = in_process
        self.objects = {}
        self.next_id = 1
        self.modules = {}
        self.ended = False  # the trusted side ended the test (the per-test process then exits)

    # -- frames

    def serve(self, frame: bytes) -> bytes:
        seq = None
        try:
            request = wire.loads(frame, decode_handle=self._resolve)
            if not isinstance(request, dict):
                raise wire.WireError("a request must be a dict")
            seq = request.get("seq")
            STATE["serving"] = True
            try:
                reply = self.dispatch(request)
            finally:
                STATE["serving"] = False
        except KeyboardInterrupt:
            if self.in_process:
                raise
            reply = {"error": self._describe(KeyboardInterrupt("interrupted"))}
        except TimeLimitExceeded as error:
            reply = {"error": {**self._describe(error), "kind": "timeout", "seconds": error.seconds}}
        except _ImportProblem as problem:
            reply = {"error": problem.info}
        except wire.WireError as error:
            reply = {"error": {"kind": "protocol", "message": str(error)}}
        except BaseException as error:  # student code: anything at all
            reply = {"error": self._describe(error)}
        reply["seq"] = seq if isinstance(seq, int) else None
        try:
            return wire.dumps(reply, self._register, max_logical=wire.MAX_REPLY)  # the trusted side refuses more
        except BaseException as error:  # a result that cannot be sent (or an encoder patched to fail)
            return wire.dumps({"seq": reply["seq"], "error": {"kind": "unsendable",
                                                              "message": f"{type(error).__name__}: {error}"[:500]}})

    def dispatch(self, request: dict):
        op = request.get("op")
        if op == "begin":
            self.begin(int(request.get("seed", 0)))
            return {"ok": None}
        if op == "end":
            self.objects.clear()
            self.ended = True
            if SCRATCH["dir"] and self.in_process:
                shutil.rmtree(SCRATCH["dir"], ignore_errors=True)
                SCRATCH["dir"] = None
            return {"ok": None}
        if op == "release":
            for ref in request.get("refs", []):
                self.objects.pop(ref, None)
            return {"ok": None}
        target = self._target(request.get("target"))
        if op == "get":
            return {"ok": target}
        if op == "call":
            args, kwargs = list(request.get("args") or []), dict(request.get("kwargs") or {})
            if not callable(target):
                raise TypeError(f"{type(target).__name__} object is not callable")
            caught = []
            value = self._student(caught, target, *args, **kwargs)
            reply = {"ok": value}
            if caught:
                reply["warnings"] = caught
            if request.get("writeback"):
                reply["args_after"] = [_mutable_part(a) for a in args]
                reply["kwargs_after"] = {k: _mutable_part(v) for k, v in kwargs.items()}
            return reply
        if op == "iter":
            caught = []
            reply = {"ok": self._student(caught, iter, target)}
            return {**reply, "warnings": caught} if caught else reply
        if op == "next":
            caught = []
            try:
                reply = {"ok": self._student(caught, next, target)}
            except StopIteration:
                reply = {"stop": True}
            return {**reply, "warnings": caught} if caught else reply
        raise wire.WireError(f"unknown request {str(op)[:40]!r}")

    def _student(self, caught: list, function, *args, **kwargs):
        """Run student code: warnings it raises are collected (with the submission's line that led to them) into
        `caught` for the trusted side to show; the time limit may stop it (TimeLimitExceeded)."""
        root = self.root + os.sep

        def show(message, category, filename, lineno, file=None, line=None):
            if len(caught) >= MAX_WARNINGS:
                return
            where = None
            if os.path.realpath(filename).startswith(root):
                where = (os.path.realpath(filename)[len(root):], lineno)
            else:  # raised inside a library: the innermost line of the submission that led there
                frame = sys._getframe(1)
                while frame is not None:
                    path = os.path.realpath(frame.f_code.co_filename)
                    if path.startswith(root):
                        where = (path[len(root):], frame.f_lineno)
                        break
                    frame = frame.f_back
            if where is None:  # not from the submission's files: shown as it was, after the call
                if len(others) < MAX_WARNINGS:
                    others.append((message, category, filename, lineno))
                return
            record = {"category": category.__name__, "message": str(message)[:500], "path": where[0],
                      "line": where[1]}
            if record not in caught:
                caught.append(record)

        others = []
        try:
            with warnings.catch_warnings():  # the filters in force decide which warnings show (as pytest's do)
                warnings.showwarning = show
                value = function(*args, **kwargs)
        finally:
            for message, category, filename, lineno in others:
                warnings.warn_explicit(message, category, filename, lineno)
        if STATE["timed_out"] is not None:  # the student code swallowed the alarm: still over time
            raise TimeLimitExceeded(STATE["timed_out"])
        return value

    def begin(self, seed: int):
        """A new test: no objects from the last one, fixed seeds, one thread."""
        import numpy
        import torch

        self.objects.clear()
        self.ended = False
        if self.in_process:
            SCRATCH["dir"] = tempfile.mkdtemp(prefix="course-scratch-")
        else:
            SCRATCH["dir"] = os.getcwd()
        random.seed(seed)
        numpy.random.seed(seed % 2**32)
        torch.manual_seed(seed)

    # -- targets and handles

    def _target(self, spec):
        if not isinstance(spec, dict):
            raise wire.WireError("malformed target")
        if "kit" in spec:
            from coursetools.sandbox import kit

            obj = kit.lookup(str(spec["kit"]))
        elif "module" in spec:
            obj = self.module(str(spec["module"]))
        elif "obj" in spec:
            obj = spec["obj"]
        else:
            raise wire.WireError("malformed target")
        for index, name in enumerate(spec.get("path") or []):
            if not isinstance(name, str) or not _NAME.match(name):
                raise wire.WireError(f"bad attribute name {str(name)[:40]!r}")
            try:
                obj = getattr(obj, name)
            except AttributeError:
                if index == 0 and "module" in spec:
                    raise _ImportProblem({"kind": "missing_name", "name": name,
                                          "relpath": spec["module"].replace(".", "/") + ".py"}) from None
                raise
        return obj

    def _resolve(self, handle: wire.Handle):
        try:
            return self.objects[handle.id]
        except KeyError:
            raise wire.WireError(f"handle {handle.id} is not (or no longer) known: objects live for one test") from None

    def _register(self, value) -> wire.Handle:
        cls = type(value)
        ident = self.next_id
        self.next_id += 1
        self.objects[ident] = value
        mro = [f"{c.__module__}.{c.__qualname__}" for c in getattr(cls, "__mro__", ())]
        try:
            text = repr(value)[:300]
        except BaseException:
            text = f"<{cls.__name__}>"
        return wire.Handle(ident, mro[0] if mro else cls.__name__, mro, text)

    # -- the submission's modules

    def module(self, name: str):
        if not _MODULE.match(name):
            raise wire.WireError(f"not a lesson module: {name[:60]!r}")
        if name not in self.modules:
            try:
                self.modules[name] = self._import(name)
            except _ImportProblem as problem:
                self.modules[name] = problem
        found = self.modules[name]
        if isinstance(found, _ImportProblem):
            raise found
        return found

    def _activate(self):
        if Server._active_root == self.root:
            return
        for name in [n for n in sys.modules if _LESSON_PACKAGE.match(n)]:
            del sys.modules[name]
        if Server._active_root is not None and Server._active_root in sys.path:
            sys.path.remove(Server._active_root)
        sys.path.insert(0, self.root)
        importlib.invalidate_caches()
        Server._active_root = self.root

    def _import(self, name: str):
        lesson, topic = name.split(".")
        relpath = f"{lesson}/{topic}.py"
        path = os.path.join(self.root, lesson, f"{topic}.py")
        if not os.path.isfile(path):
            raise _ImportProblem({"kind": "missing_file", "relpath": relpath})
        self._activate()
        try:
            module = importlib.import_module(name)
        except SyntaxError as error:
            raise _ImportProblem({"kind": "syntax", "relpath": relpath, "line": error.lineno,
                                  "message": str(error.msg)[:300], "text": str(error.text or "")[:200]}) from None
        except BaseException as error:
            if isinstance(error, KeyboardInterrupt) and self.in_process:
                raise
            if isinstance(error, TimeLimitExceeded):  # top-level code that never ends: every test needing it stops
                raise _ImportProblem({**self._describe(error), "kind": "import_timeout", "relpath": relpath,
                                      "seconds": error.seconds}) from None
            raise _ImportProblem({**self._describe(error), "kind": "import", "relpath": relpath}) from None
        if os.path.realpath(getattr(module, "__file__", "") or "") != os.path.realpath(path):
            raise _ImportProblem({"kind": "shadowed", "relpath": relpath, "found": str(module.__file__)[:300]})
        return module

    # -- errors

    def _describe(self, error: BaseException) -> dict:
        frames = []
        root = self.root + os.sep
        for frame in traceback.extract_tb(error.__traceback__):
            path = os.path.realpath(frame.filename)
            if path.startswith(root):
                frames.append([path[len(root):], frame.lineno, frame.name, (frame.line or "").strip()[:200]])
        stub = None
        if isinstance(error, NotImplementedError) and frames:
            path, _, name, _ = frames[-1]
            last = traceback.extract_tb(error.__traceback__)[-1]
            # only a `raise NotImplementedError` line of the submission itself (the stub) means "not written": torch's
            # own NotImplementedError ("Cannot copy out of meta tensor") raised at a student line means the code ran
            if os.path.realpath(last.filename).startswith(root) and not os.path.basename(path).startswith("test_") \
                    and is_stub_raise(last.line, error):
                code = _last_code(error.__traceback__)
                stub = getattr(code, "co_qualname", name) if code else name
        try:
            message = str(error)
        except BaseException:
            message = "(the error's message could not be read)"
        bases = [c.__name__ for c in type(error).__mro__ if c.__module__ == "builtins"]
        kind = "exit" if isinstance(error, SystemExit) else "raised"
        info = {"kind": kind, "type": type(error).__name__, "bases": bases, "message": message[:2000],
                "frames": frames[-6:], "stub": stub}
        if isinstance(error, SystemExit):
            info["code"] = repr(error.code)[:100]
        return info


def _mutable_part(value):
    """What a caller needs back of an argument after the call: its tensors and arrays (in place changes)."""
    import numpy
    import torch

    if type(value) in (torch.Tensor, torch.nn.Parameter, numpy.ndarray):
        return value
    if type(value) in (list, tuple):
        return [_mutable_part(v) for v in value]
    return None


_STUB_RAISE = re.compile(r"raise\s+NotImplementedError\b")


def is_stub_raise(line, error: BaseException = None) -> bool:
    """Whether a source line is a stub's `raise NotImplementedError(...)` (the line that means "not written yet").
    Where the line cannot be read (code run without a source file), a NotImplementedError `error` without a message
    is the stub's (the stub's has none; a library's always says what it cannot do)."""
    if (line or "").strip():
        return bool(_STUB_RAISE.match(line.strip()))
    return isinstance(error, NotImplementedError) and not str(error).strip()


def _last_code(tb):
    code = None
    while tb is not None:
        code = tb.tb_frame.f_code
        tb = tb.tb_next
    return code
