"""The notebook's check cells (coursetools/kernel/check.py) blame the right function and never hang.

- A stub reached through another function is named, with its lesson's notebook when it is an earlier
  lesson's: the lesson 5 `train_mnist` check with lesson 4 not written names `SimpleMNISTNet.__init__`.
- An endless loop in a student's function stops at the time limit with "ran longer than N s: an
  endless loop?", naming the function and its line, in-process and in a real Jupyter kernel.
- A test whose name names no exercise runs in the check of the exercise its body calls.
"""
import re
import runpy
import time

import nbformat
import pytest

from coursetools import REPO_ROOT
from coursetools.authoring.notebooks import exercise_code, notebook_path
from coursetools.exercises import exercise_names, owners
from coursetools.kernel import importer
from coursetools.kernel.check import NotebookCheckFailed, check


def _role(cell):
    return cell.metadata.get("course", {}).get("role")


def _namespace(lesson, *overrides, filename="/tmp/ipykernel_0/cell.py"):
    """A notebook's globals(): the reference lesson run as cells, then `overrides` (code defining functions)."""
    namespace = {"__name__": "__main__"}
    for number, cell in enumerate(nbformat.read(str(notebook_path(REPO_ROOT, lesson)), as_version=4).cells):
        if _role(cell) in ("setup", "exercise"):
            exec(compile(cell.source, filename.replace("cell", f"cell{number}"), "exec"), namespace)
    for number, code in enumerate(overrides):
        exec(compile(code, filename.replace("cell", f"override{number}"), "exec"), namespace)
    return namespace


@pytest.fixture()
def lesson_folders(tmp_path, monkeypatch):
    """A student's course folder with lessons 3 and 4 (lesson 4 as released: stubs), working in lesson5/."""
    monkeypatch.setattr(importer._finder, "lessons", set())
    stubs = exercise_code((REPO_ROOT / "exercises" / "lesson4" / "model.py").read_text(encoding="utf-8"))
    for lesson in (3, 4):
        notebook = nbformat.read(str(notebook_path(REPO_ROOT, lesson)), as_version=4)
        if lesson == 4:
            for cell in notebook.cells:
                if _role(cell) == "exercise":
                    cell.source = stubs[cell.id.split("_", 1)[1]]
        (tmp_path / f"lesson{lesson}").mkdir()
        nbformat.write(notebook, str(tmp_path / f"lesson{lesson}" / f"lesson{lesson}.ipynb"))
    (tmp_path / "lesson5").mkdir()
    monkeypatch.chdir(tmp_path / "lesson5")
    before = set(importer.sys.modules)
    yield tmp_path
    for name in set(importer.sys.modules) - before:
        if name.startswith("lesson"):
            del importer.sys.modules[name]


@pytest.mark.mnist
def test_a_later_check_names_the_earlier_lessons_stub(lesson_folders, monkeypatch):
    """Check the lesson 5 train_mnist check, lesson 4 not written: it names SimpleMNISTNet.__init__ and lesson 4,
    not "train_mnist is not implemented yet" (train_mnist is written)."""
    monkeypatch.setattr(importer.sys, "meta_path", list(importer.sys.meta_path))
    namespace = _namespace(5)
    with pytest.raises(NotebookCheckFailed) as failed:
        check(5, "train_mnist", namespace)
    message = str(failed.value)
    assert "train_mnist is not implemented" not in message
    assert "SimpleMNISTNet.__init__" in message and "lesson 4 notebook (lesson4/lesson4.ipynb" in message
    assert "第 4 课" in message and "尚未实现" in message


def test_a_check_names_the_stub_it_needs_in_the_same_notebook():
    """Check a lesson 2 check whose function calls a stub of the same notebook: that stub is named."""
    namespace = _namespace(2, "def zero_grads(params):\n    raise NotImplementedError()\n",
                           "def sgd_step(params, lr):\n    zero_grads(params)\n")
    with pytest.raises(NotebookCheckFailed) as failed:
        check(2, "sgd_step", namespace)
    message = str(failed.value)
    assert message.startswith("sgd_step needs zero_grads, which is not implemented yet")
    assert "sgd_step 需要 zero_grads" in message


def test_a_checks_own_stub_still_reads_not_implemented():
    """Check a stub of the check's own function: the short 'not implemented yet' message, as before."""
    namespace = _namespace(2, "def sgd_step(params, lr):\n    raise NotImplementedError()\n")
    with pytest.raises(NotebookCheckFailed, match="^sgd_step is not implemented yet"):
        check(2, "sgd_step", namespace)


ENDLESS = "def sgd_step(params, lr):\n    steps = 0\n    while True:\n        steps += 1\n"
SWALLOWING = ("def sgd_step(params, lr):\n    while True:\n        try:\n            while True:\n                pass\n"
              "        except:  # noqa: E722 (a student's bare except)\n            pass\n")


@pytest.mark.parametrize("code", [ENDLESS, SWALLOWING], ids=["endless", "bare-except"])
def test_an_endless_loop_stops_at_the_time_limit(code):
    """Check an endless sgd_step stops after the limit with a bilingual 'ran longer than' naming it and its line,
    also when it catches what stops it with a bare except."""
    namespace = _namespace(2, code)
    start = time.monotonic()
    with pytest.raises(NotebookCheckFailed) as failed:
        check(2, "sgd_step", namespace, time_limit=1.5)
    assert time.monotonic() - start < 30
    message = str(failed.value)
    assert "sgd_step ran longer than 1.5 s and was stopped: an endless loop?" in message
    assert "sgd_step 运行超过 1.5 秒" in message and "死循环" in message
    assert "lesson2.ipynb, line" in message
    assert len(message.splitlines()) <= 10 and "Traceback" not in message


def test_the_time_limit_leaves_no_handler_behind():
    """Check a passing check restores the signal handler it used and leaves no watchdog thread."""
    import signal
    import threading

    from coursetools.kernel import check as kernel_check

    before = signal.getsignal(kernel_check._SIGNAL)
    check(2, "sgd_step", runpy.run_path(str(REPO_ROOT / "solutions" / "lesson2" / "autograd.py")), time_limit=30)
    assert signal.getsignal(kernel_check._SIGNAL) is before
    assert not [t for t in threading.enumerate() if t.name == "notebook-check-time-limit"]


@pytest.mark.slow
def test_an_endless_loop_stops_in_a_jupyter_kernel(tmp_path):
    """Check the limit in a real kernel (nbclient): the check cell ends with the diagnosis, the next cell runs."""
    from harness.nbgrader_course import BIN, isolated_env

    notebook = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell(f"exec(open({str(REPO_ROOT / 'solutions' / 'lesson2' / 'autograd.py')!r}).read())"),
        nbformat.v4.new_code_cell(ENDLESS),
        nbformat.v4.new_code_cell("from coursetools.kernel.check import check\n"
                                  "check(2, 'sgd_step', globals(), time_limit=2)"),
        nbformat.v4.new_code_cell("print('the kernel is free')"),
    ])
    path = tmp_path / "lesson2" / "lesson2.ipynb"
    path.parent.mkdir()
    nbformat.write(notebook, str(path))
    import subprocess

    run = subprocess.run([str(BIN / "jupyter-execute"), "--allow-errors", "--inplace", "--timeout=120", str(path)],
                         cwd=path.parent, env=isolated_env(tmp_path / "home"), capture_output=True, text=True,
                         timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    cells = nbformat.read(str(path), as_version=4).cells
    [error] = cells[2].outputs
    text = "\n".join(error.traceback)
    assert error.ename == "NotebookCheckFailed" and "sgd_step ran longer than 2 s" in text
    assert re.search(r"It was at lesson2\.ipynb In \[2\], line [34]: `(while True:|steps \+= 1)`", text), text
    assert "the kernel is free" in cells[3].outputs[0].text


def test_a_test_naming_no_exercise_runs_in_the_check_of_what_it_calls():
    """Check lesson 6's optimizer-step test (hidden; it calls build_finetune_model) is scored with that check's
    points, not the last one's."""
    text = (REPO_ROOT / "autograder" / "lesson6" / "test_advanced.py").read_text(encoding="utf-8")
    exercises = exercise_names((REPO_ROOT / "solutions" / "lesson6" / "advanced.py").read_text(encoding="utf-8"))
    found = owners(text, exercises)
    assert found["test_one_optimizer_step_changes_only_the_trainable_layers"] == "build_finetune_model"
    assert found["test_checkpoint_round_trip_keeps_every_weight_and_buffer"] == "load_checkpoint"


def test_an_earlier_lessons_cells_show_their_lines_in_tracebacks(lesson_folders, monkeypatch):
    """Check the code imported from lesson4/lesson4.ipynb has its lines in tracebacks (the stub's raise line)."""
    import traceback

    from coursetools.kernel.importer import import_lesson_notebooks

    monkeypatch.setattr(importer.sys, "meta_path", list(importer.sys.meta_path))
    for name in [n for n in importer.sys.modules if n.startswith("lesson4")]:
        monkeypatch.delitem(importer.sys.modules, name)
    import_lesson_notebooks(4)
    from lesson4.model import SimpleMNISTNet

    with pytest.raises(NotImplementedError) as raised:
        SimpleMNISTNet()
    text = "".join(traceback.format_tb(raised.value.__traceback__))
    assert "raise NotImplementedError()" in text
    # the cell as JupyterLab shows it: the N-th cell from the top, markdown cells counted
    place = re.search(r"\"([^\"]*lesson4\.ipynb) \[cell (\d+) from the top\]", text)
    assert place, text
    import nbformat

    cell = nbformat.read(place.group(1), as_version=4).cells[int(place.group(2)) - 1]
    assert cell.cell_type == "code" and "class SimpleMNISTNet" in cell.source, cell.source[:200]


def test_one_diagnosis_is_shown_once_under_the_tests_that_gave_it():
    """Check that failures with the same text are listed once, under their tests' names."""
    from coursetools.kernel import check as kernel_check

    collector = kernel_check._Collector({"a", "b", "c"}, 1, "to_numpy", None)
    collector.results = [("test_a", "failed", "same diagnosis", "x::test_a"), ("test_b", "passed", "", "x::test_b"),
                         ("test_c", "failed", "same diagnosis", "x::test_c"),
                         ("test_d", "failed", "another one", "x::test_d")]
    with pytest.raises(NotebookCheckFailed) as failed:
        kernel_check._report(1, "to_numpy", collector, 1, "")
    lines = str(failed.value).splitlines()
    assert lines[0].startswith("to_numpy: 3 of 4 public tests failed.")
    assert lines[1:] == ["", "-- test_a, test_c", "same diagnosis", "", "-- test_d", "another one"]
