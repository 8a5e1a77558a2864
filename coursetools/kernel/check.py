"""Run a lesson's tests on the code of a notebook: the check cells of the course's notebooks.

在笔记本里运行一课的测试：课程笔记本中“检查”单元格背后的代码。

A check cell calls `check(1, "scalar_tensor", globals())`: the public tests of
that function (exercises/lesson1/test_tensors.py) run in-process with pytest
against the notebook's own namespace, exactly as `pytest exercises/lesson1`
runs them against a .py file. This is the student's feedback only: the points
`nbgrader autograde` records come from the grading engine, run outside the
kernel on the notebook's code (autograder/parent/notebooks.py), which uses
`exercise_of` below to give each check cell its exercise's tests.

- A test belongs to the last exercise its name mentions in snake_case
  (`test_flatten_images_...` -> `flatten_images`, `test_simple_mnist_net_...`
  -> `SimpleMNISTNet`, `test_train_one_epoch_and_evaluate_...` -> `evaluate`);
  a test that mentions none goes with the last exercise its body calls
  (`advanced.build_finetune_model(...)`), else with the lesson's last exercise.
- A stub reached through another function is named as the cause: the
  `train_mnist` check with lesson 4 not written says that `SimpleMNISTNet.__init__`
  of the lesson 4 notebook is not implemented (the notebook's frames are
  described like a .py submission's, with their notebook and cell).
- Every test has a time limit (as under `pytest exercises/lessonN`: the course
  plugin's in_process_limit): code still running then is stopped with "ran
  longer than N s: an endless loop?" naming the function and the line it was
  at, and the check's other tests are not run. A watchdog thread signals the
  kernel's main thread (SIGUSR2); code that catches the stop with a bare
  `except:` gets it again at each of its lines. The kernel is never ended.
- The notebook's namespace reaches the course's pytest plugin as a small
  module file in a temporary submission folder (`lessonN/<topic>.py`) that
  copies the namespace, so the plugin's `submission` fixture needs no change.
- A failure raises `NotebookCheckFailed` (an AssertionError) whose text is the
  bilingual diagnosis, pitfall line included; nbgrader shows it as feedback.
- Nothing reaches stderr from a passing check: pytest captures output and
  warnings, and Python-level stderr is redirected while the tests run
  (nbgrader scores a grade cell 0 when it writes to stderr).
- Earlier lessons that a lesson's code imports come from the student's own
  notebooks: coursetools/kernel/importer.py.
"""
import contextlib
import io
import os
import re
import shutil
import signal
import sys
import tempfile
import threading
import time
import types
from pathlib import Path

import pytest

from coursetools import LESSONS, REPO_ROOT
from coursetools.checks import records
from coursetools.checks.feedback import CallLog, message
from coursetools.exercises import exercise_names, owners  # noqa: F401 (part of the check cells' API)
from coursetools.text import Text

_SHIM = (
    "# The code of a notebook, handed to the course's pytest plugin by coursetools.kernel.check.\n"
    "from coursetools.kernel.check import registered_namespace as _registered\n"
    "globals().update(_registered(__name__))\n"
)
_namespaces = {}


# ---------------------------------------------------------------- results and failures

class NotebookCheckFailed(AssertionError):
    """Failed checks of one exercise; the text is the whole bilingual diagnosis.

    Jupyter shows only this text (no traceback into the course's machinery), in lines of at most
    WIDTH characters: `nbgrader validate` cuts longer ones (at its Validator.width, 90, less its indent).
    """

    WIDTH = 80

    def _render_traceback_(self):
        return [f"{type(self).__name__}:"] + wrapped(str(self), self.WIDTH)


def wrapped(text: str, width: int) -> list:
    """The lines of `text`, each longer one broken into lines of at most `width` characters (at spaces where it
    has them, anywhere in Chinese), the pieces after the first indented like it plus two spaces; nothing dropped."""
    import textwrap

    lines = []
    for line in text.splitlines():
        indent = line[:len(line) - len(line.lstrip())]
        lines += textwrap.wrap(line, width, subsequent_indent=indent + "  ", break_on_hyphens=False,
                               replace_whitespace=False) or [line]
    return lines


def registered_namespace(module_name: str) -> dict:
    """The namespace registered for `module_name` (what the temporary lesson module copies)."""
    namespace = _namespaces[module_name]
    return {key: value for key, value in namespace.items() if not (key.startswith("__") and key.endswith("__"))}


class _TimeLimit(BaseException):
    """Raised into the notebook's code when a test ran past its limit (not an Exception: `except Exception`
    in the student's code does not swallow it)."""


#: The signal a check's watchdog sends to the kernel's main thread (SIGALRM is left to the pytest plugin).
_SIGNAL = getattr(signal, "SIGUSR2", signal.SIGINT)


class _NotebookCode:
    """Which code objects are the notebook's (its cells, and the earlier lessons' notebooks) and how to name them."""

    def __init__(self, lesson: int, namespace: dict):
        self.lesson = lesson
        self.cells = {}  # filename -> "In [n]" when IPython knows it
        try:
            import IPython

            shell = IPython.get_ipython()
            for filename, number in dict(getattr(getattr(shell, "compile", None), "_filename_map", {}) or {}).items():
                self.cells[filename] = f"In [{number}]"
        except Exception:  # noqa: BLE001 (no IPython, or another one: the cells are still found below)
            pass
        for value in list(namespace.values()):
            try:  # the notebook's objects may be anything: only functions and classes tell where code is
                members = [value, *(vars(value).values() if isinstance(value, type) else ())]
                codes = [getattr(getattr(f, "__func__", f), "__code__", None) for f in members
                         if callable(f) or isinstance(f, (staticmethod, classmethod))]
            except Exception:  # noqa: BLE001 (any object of the namespace: unreadable ones are skipped)
                continue
            for code in codes:
                if isinstance(code, types.CodeType) \
                        and not code.co_filename.startswith(("<frozen", sys.prefix, sys.base_prefix)) \
                        and not code.co_filename.startswith(str(REPO_ROOT / "coursetools")):
                    self.cells.setdefault(code.co_filename, "")

    def place(self, filename: str):
        """`lesson4.ipynb [cell 5 from the top]` or `lesson5.ipynb In [7]` for the notebook's code, else None."""
        match = re.search(r"(lesson\d+\.ipynb) (\[cell \d+ from the top\])$", filename)
        if match:  # an earlier lesson's notebook (coursetools/kernel/importer.py compiles it so)
            return f"{match.group(1)} {match.group(2)}"
        if filename in self.cells:
            return " ".join(part for part in (f"lesson{self.lesson}.ipynb", self.cells[filename]) if part)
        return None

    def frames(self, tb) -> list:
        """[(place, line, function, source)] of the notebook's frames of a traceback, outermost first."""
        import linecache

        found = []
        while tb is not None:
            code = tb.tb_frame.f_code
            place = self.place(code.co_filename)
            if place:
                source = linecache.getline(code.co_filename, tb.tb_lineno).strip()
                found.append([place, tb.tb_lineno, getattr(code, "co_qualname", code.co_name), source[:200]])
            tb = tb.tb_next
        return found

    def stack(self, frame) -> list:
        """The notebook's frames of a running stack (innermost `frame`), outermost first, up to the call the
        test made (the student side's server): not the check cell that runs the tests."""
        import linecache

        from coursetools.sandbox import server

        boundary = os.path.realpath(server.__file__)
        found = []
        while frame is not None and os.path.realpath(frame.f_code.co_filename) != boundary:
            code = frame.f_code
            place = self.place(code.co_filename)
            if place:
                source = linecache.getline(code.co_filename, frame.f_lineno).strip()
                found.append([place, frame.f_lineno, getattr(code, "co_qualname", code.co_name), source[:200]])
            frame = frame.f_back
        return found[::-1]


def _notebook_transport(code: _NotebookCode):
    """A factory for the plugin's use_transport: the student side in this process, describing the
    notebook's frames (with their notebook and cell) like a .py submission's."""
    import linecache

    from coursetools.boundary.proxy import InProcess
    from coursetools.sandbox.server import Server, is_stub_raise

    class NotebookServer(Server):
        def _describe(self, error):
            info = super()._describe(error)
            frames = code.frames(error.__traceback__)
            if frames and not info.get("frames"):
                info["frames"] = frames[-6:]
            last = error.__traceback__
            while last is not None and last.tb_next is not None:
                last = last.tb_next
            if isinstance(error, NotImplementedError) and not info.get("stub") and last is not None \
                    and code.place(last.tb_frame.f_code.co_filename) and is_stub_raise(linecache.getline(
                        last.tb_frame.f_code.co_filename, last.tb_lineno), error):  # the stub's, not torch's error
                info["stub"] = getattr(last.tb_frame.f_code, "co_qualname", last.tb_frame.f_code.co_name)
                info["frames"] = frames[-6:]
            return info

    class NotebookInProcess(InProcess):
        def __init__(self, root):
            super().__init__(root)
            self.server = NotebookServer(str(root), in_process=True)

        def begin(self, seed, time_limit=None):
            # The check's own limit (_Collector) stops the code: one mechanism, which never ends the process
            # (here the kernel) however the code catches what stops it.
            super().begin(seed, None)

    return NotebookInProcess


def _stub_of(error):
    """(stub, place) when `error`, or an error it was raised from, is a stub's NotImplementedError."""
    seen = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        info = getattr(error, "info", None)
        if isinstance(info, dict) and isinstance(error, NotImplementedError):
            frames = info.get("frames") or []
            where = str(frames[-1][0]) if frames and isinstance(frames[-1], (list, tuple)) else None
            return (info.get("stub") if isinstance(info.get("stub"), str) else None), where
        if isinstance(error, NotImplementedError):
            return None, None
        error = error.__cause__ or error.__context__
    return None


class _Collector:
    """A pytest plugin object: keeps the selected tests only, records their outcomes, limits their time."""

    def __init__(self, wanted: set, lesson: int, name: str, code: _NotebookCode, time_limit=None):
        self.wanted = wanted
        self.lesson, self.name, self.code, self.time_limit = lesson, name, code, time_limit
        self.records = {}  # nodeid -> its record (coursetools.checks.records), in run order
        self.results = []  # (test name, outcome, message, nodeid) of each record, set after the run
        self.errors = []   # collection errors
        self.not_implemented = {}  # nodeid -> (stub or None, place or None) of a stub's NotImplementedError
        self.timed_out = {}  # nodeid -> the time-limit message

    def pytest_collection_modifyitems(self, session, config, items):
        kept = [item for item in items if getattr(item, "originalname", item.name) in self.wanted]
        dropped = [item for item in items if item not in kept]
        if dropped:
            config.hook.pytest_deselected(items=dropped)
        items[:] = kept

    def pytest_collectreport(self, report):
        if report.failed:
            self.errors.append(str(report.longrepr))

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_setup(self, item):
        with self._limited(item):
            yield

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_call(self, item):
        with self._limited(item):
            yield

    def pytest_runtest_makereport(self, item, call):
        if call.excinfo is not None:
            stub = _stub_of(call.excinfo.value)
            if stub is not None:
                self.not_implemented[item.nodeid] = stub

    def pytest_runtest_logreport(self, report):
        records.merge(self.records, records.record_of(report, self.timed_out.get(report.nodeid)))

    # -- the time limit

    def limit_of(self, item) -> float:
        """Seconds the test may run: `time_limit` if given, else the rule of `pytest exercises/lessonN` (the course's
        pytest plugin: in_process_limit); 0: no limit."""
        if self.time_limit is not None:
            return float(self.time_limit)
        from coursetools.checks import pytest_plugin

        return float(pytest_plugin.in_process_limit(item, self.lesson))

    @contextlib.contextmanager
    def _limited(self, item):
        """Stop the code running `limit_of(item)` seconds from now (again every second, should it catch that)."""
        seconds = self.limit_of(item)
        if seconds <= 0 or item.nodeid in self.timed_out or threading.current_thread() is not threading.main_thread():
            yield
            return
        main, stop = threading.main_thread().ident, threading.Event()
        tracing = sys.gettrace()

        def trap(event_frame, event, arg):
            # Once a `try: ... except: pass` has swallowed the stop: every line of the notebook's code raises it
            # again, so it leaves each handler that catches it.
            if not self.code.place(event_frame.f_code.co_filename):
                return None
            if event == "line" and not stop.is_set():
                raise _TimeLimit(f"ran longer than {seconds:g} s")
            return trap

        def stopped(signum, frame):
            if stop.is_set():
                return
            if time.monotonic() < deadline - 0.1:  # not the watchdog (SIGINT where there is no SIGUSR2): an interrupt
                raise KeyboardInterrupt
            if item.nodeid not in self.timed_out:
                self.timed_out[item.nodeid] = self._timeout_message(seconds, frame)
                item.session.shouldstop = "a test ran past its time limit"  # the check's other tests: not run
            else:  # still running a second later: the code caught it
                running = frame
                while running is not None:
                    if self.code.place(running.f_code.co_filename):
                        running.f_trace, running.f_trace_lines = trap, True
                    running = running.f_back
                sys.settrace(trap)
            raise _TimeLimit(f"ran longer than {seconds:g} s")

        def watchdog():
            if stop.wait(seconds):
                return
            while not stop.is_set():
                if hasattr(signal, "pthread_kill"):
                    signal.pthread_kill(main, _SIGNAL)
                else:  # no pthread_kill: the handler runs between two bytecodes of the main thread
                    import _thread

                    _thread.interrupt_main(_SIGNAL)
                if stop.wait(1.0):
                    return

        deadline = time.monotonic() + seconds
        previous = signal.signal(_SIGNAL, stopped)
        thread = threading.Thread(target=watchdog, name="notebook-check-time-limit", daemon=True)
        thread.start()
        try:
            yield
        finally:
            stop.set()
            thread.join()
            signal.signal(_SIGNAL, previous)
            if sys.gettrace() is not tracing:
                sys.settrace(tracing)

    def _timeout_message(self, seconds: float, frame) -> str:
        frames = self.code.stack(frame)
        called = frames[0][2] if frames else (CallLog.function or self.name)
        en = zh = ""
        if frames:
            place, line, function, source = frames[-1]
            inside = f" in {function}" if function != called else ""
            inside_zh = f"（{function} 中）" if function != called else ""
            shown, shown_zh = (f": `{source}`", f"：`{source}`") if source else ("", "")
            en = f" It was at {place}, line {line}{inside}{shown}."
            zh = f"当时运行到 {place} 第 {line} 行{inside_zh}{shown_zh}。"
        return message(
            self.lesson, self.name,
            en=f"{called} ran longer than {seconds:g} s and was stopped: an endless loop?{en}",
            zh=f"{called} 运行超过 {seconds:g} 秒，已被停止：是死循环吗？{zh}",
            hint_en="make sure every loop ends: a `while` whose condition becomes false, or a `for` over a "
                    "finite sequence; the check's other tests were not run.",
            hint_zh="确保每个循环都会结束：`while` 的条件最终会变为假，或者用 `for` 遍历有限的序列；本检查的其他测试没有运行。")


def _clipped(message: str) -> str:
    lines = message.rstrip().splitlines()
    return "\n".join(lines if len(lines) <= 40 else lines[:10] + ["..."] + lines[-29:])


def run_tests(lesson: int, name: str, namespace: dict, test_file: Path, module_file: Path,
              time_limit: float = None) -> None:
    """Run the public tests of exercise `name` in `test_file` against `namespace`.

    Args:
        lesson: the lesson number. / 课号。
        name: the exercise (function or class name). / 练习名（函数或类名）。
        namespace: the notebook's globals(). / 笔记本的 globals()。
        test_file: the pytest file holding the tests. / 存放测试的 pytest 文件。
        module_file: the lesson module (solution or stub) that lists the exercises.
            列出练习的课程模块（参考答案或练习文件）。
        time_limit: seconds each test may run; None: the limit of `pytest exercises/lessonN` (in_process_limit).
            每项测试可运行的秒数；None 表示使用 `pytest exercises/lessonN` 的限制（in_process_limit）。

    Raises:
        NotebookCheckFailed: when a test fails, with the diagnosis of every failure.
    """
    from coursetools.checks import pytest_plugin

    test_file, topic = Path(test_file), LESSONS[lesson]
    for path, what in ((test_file, "test file"), (module_file, "lesson module")):
        if not Path(path).is_file():
            raise FileNotFoundError(f"{what} {path} is missing: run `python -m coursetools generate` in the course "
                                    f"repository. / 缺少 {path}：请在课程仓库中运行 `python -m coursetools generate`。")
    exercises = exercise_names(Path(module_file).read_text(encoding="utf-8"))
    if name not in exercises:
        raise ValueError(f"lesson {lesson} has no exercise {name!r}; its exercises are {exercises}")
    wanted = {test for test, owner in owners(test_file.read_text(encoding="utf-8"), exercises).items()
              if owner == name}
    if not wanted:
        print(f"{name}: no public tests here. / {name}：这里没有公开测试。")
        return
    code = _NotebookCode(lesson, namespace)
    collector = _Collector(wanted, lesson, name, code, time_limit)
    module_name = f"lesson{lesson}.{topic}"
    folder = Path(tempfile.mkdtemp(prefix="notebook-submission-"))
    (folder / f"lesson{lesson}").mkdir()
    (folder / f"lesson{lesson}" / f"{topic}.py").write_text(_SHIM, encoding="utf-8")
    args = [str(test_file), f"--submission={folder}", "-q", "--tb=short", "-p", "no:cacheprovider",
            "-p", "no:faulthandler", "-p", "no:unraisableexception", "-p", "no:threadexception",
            "--import-mode=importlib", "-o", "console_output_style=classic"]
    if os.environ.get("PYTEST_DISABLE_PLUGIN_AUTOLOAD"):
        args += ["-p", "coursetools.checks.pytest_plugin"]
    output = io.StringIO()
    _namespaces[module_name] = namespace
    before = getattr(pytest_plugin, "_transport_factory", None)
    pytest_plugin.use_transport(_notebook_transport(code))
    try:
        with contextlib.redirect_stdout(output), contextlib.redirect_stderr(output):
            exit_code = pytest.main(args, plugins=[collector])
    finally:
        pytest_plugin.use_transport(before)
        _namespaces.pop(module_name, None)
        shutil.rmtree(folder, ignore_errors=True)
    # The course's messages name the module (lesson1/tensors.py); here the code is in the notebook.
    collector.results = [(nodeid.split("::")[-1], record["outcome"],
                          _clipped(record["message"].replace(f"lesson{lesson}/{topic}.py", f"lesson{lesson}.ipynb")),
                          nodeid) for nodeid, record in collector.records.items()]
    _report(lesson, name, collector, exit_code, output.getvalue())


def _cell_zh(cell: str) -> str:
    """A cell's place in Chinese: "cell 5 from the top" (every cell counts, as JupyterLab shows them) or "In [7]"."""
    return re.sub(r"^cell (\d+) from the top$", r"从上往下第 \1 个单元格", cell)


def _not_implemented(lesson: int, name: str, stub, where) -> str:
    """The message for a check stopped by a stub: the check's own function, or the one it needs (maybe of an
    earlier lesson's notebook)."""
    found = re.match(r"lesson(\d+)\.ipynb", where or "")
    other = int(found.group(1)) if found else lesson
    cell = re.sub(r"^lesson\d+\.ipynb\s*", "", where or "").strip("[] ")  # "cell 5 from the top", "In [7]" or ""
    if not stub or stub.split(".")[0] == name and other == lesson:
        return (f"{name} is not implemented yet: write it where it says \"# YOUR CODE HERE\", run its cell, "
                f"then run this check again.\n"
                f"{name} 尚未实现：请在“在此编写代码”处完成它，运行那个单元格后再运行本检查。")
    if other != lesson:
        cell_zh = _cell_zh(cell)
        at, at_zh = (f", {cell}", f"，{cell_zh}") if cell else ("", "")
        return (f"{name} needs {stub} from your lesson {other} notebook (lesson{other}/lesson{other}.ipynb{at}), "
                f"which is not implemented yet: finish lesson {other} first (write it there and save that "
                f"notebook), then run this check again.\n"
                f"{name} 需要你第 {other} 课笔记本（lesson{other}/lesson{other}.ipynb{at_zh}）中的 {stub}，"
                f"但它尚未实现：请先完成第 {other} 课（在那里写好并保存该笔记本），然后再运行本检查。")
    cell_zh = _cell_zh(cell)
    at, at_zh = (f" ({cell})", f"（{cell_zh}）") if cell else ("", "")
    return (f"{name} needs {stub}, which is not implemented yet: write it above in this notebook{at}, run "
            f"its cell, then run this check again.\n"
            f"{name} 需要 {stub}，但它尚未实现：请先在本笔记本上方{at_zh}完成它并运行那个单元格，然后再运行本检查。")


def _report(lesson, name, collector, code, output) -> None:
    kind, zh_kind = "public", "公开测试"
    failed = [r for r in collector.results if r[1] == "failed"]
    passed = [r for r in collector.results if r[1] == "passed"]
    if collector.errors or (code not in (0, 1) and not failed):
        detail = "\n".join(collector.errors) or output[-3000:]
        raise NotebookCheckFailed(f"[lesson{lesson} {name}] the {kind} tests could not run (pytest exit code {int(code)}):\n"
                                  f"[第{lesson}课 {name}] {zh_kind}无法运行（pytest 退出码 {int(code)}）：\n{detail}")
    if not failed:
        skipped = len(collector.results) - len(passed)
        en, zh = (f" ({skipped} skipped on this machine)", f"（{skipped} 项在本机跳过）") if skipped else ("", "")
        print(f"{name}: {len(passed)} {kind} test(s) passed{en}. / {name}：{len(passed)} 项{zh_kind}通过{zh}。")
        for record in collector.records.values():  # what a test shows when it passes: lesson 5's accuracy vs 95 %
            shown = Text.from_json(record.get("shown"))
            if shown is not None:
                print("\n".join(wrapped(str(shown), NotebookCheckFailed.WIDTH)))
        return
    stubs = [collector.not_implemented[r[3]] for r in failed if r[3] in collector.not_implemented]
    if stubs and not any(r[3] in collector.timed_out for r in failed):
        elsewhere = [stub for stub in stubs if stub[0] and stub[0].split(".")[0] != name]
        raise NotebookCheckFailed(_not_implemented(lesson, name, *(elsewhere or stubs)[0]))
    lines = [f"{name}: {len(failed)} of {len(collector.results)} {kind} tests failed. / "
             f"{name}：{len(collector.results)} 项{zh_kind}中有 {len(failed)} 项未通过。"]
    same = {}  # one diagnosis, once, under the tests that gave it
    for test, _, text, _ in failed:
        same.setdefault(text, []).append(test)
    for text, tests in same.items():
        more = f", ... ({len(tests)} tests)" if len(tests) > 3 else ""
        lines += ["", f"-- {', '.join(tests[:3])}{more}", text]
    raise NotebookCheckFailed("\n".join(lines))


# ---------------------------------------------------------------- the students' public checks

def check(lesson: int, name: str, namespace: dict, time_limit: float = None) -> None:
    """Run the public tests of exercise `name` of `lesson` against a notebook's `globals()`.

    对笔记本的 `globals()` 运行第 `lesson` 课练习 `name` 的公开测试。

    `time_limit`: seconds each test may run (None: the test's own limit, see run_tests).
    `time_limit`：每项测试可运行的秒数（None 表示使用测试自己的限制，见 run_tests）。

    Raises:
        NotebookCheckFailed: with the diagnosis when a test fails. / 测试未通过时抛出，附带诊断信息。
    """
    folder = REPO_ROOT / "exercises" / f"lesson{lesson}"
    run_tests(lesson, name, namespace, folder / f"test_{LESSONS[lesson]}.py", folder / f"{LESSONS[lesson]}.py",
              time_limit)
