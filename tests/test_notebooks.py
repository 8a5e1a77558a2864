"""The nbgrader notebooks: generated in sync from the one source, shaped for nbgrader, and their
check cells run the public tests on a notebook's code with the same tests as pytest (in-process,
nothing on stderr). The points of `nbgrader autograde` come from the engine: tests/test_engine_grades.py."""
import ast
import copy
import json
import runpy
import sys
import warnings

import nbformat
import pytest
from traitlets.config import Config

from autograder.overlay import overlay_text
from coursetools import LESSONS, REPO_ROOT, STUB_LINES
from coursetools.authoring.markdown import docstring_markdown
from coursetools.authoring.notebooks import (
    CHECK_CELL,
    build_notebook,
    exercise_code,
    notebook_files,
    notebook_path,
    render,
)
from coursetools.exercises import exercise_names, exercise_of, grader_tests, owners, snake_case
from coursetools.kernel import importer
from coursetools.kernel.check import NotebookCheckFailed, check
from coursetools.kernel.importer import import_lesson_notebooks, notebook_candidates
from coursetools.regions import RegionError

SOURCE = REPO_ROOT / "nbgrader" / "source"


def _sources(lesson):
    topic = LESSONS[lesson]
    return ((REPO_ROOT / "solutions" / f"lesson{lesson}" / f"{topic}.py").read_text(encoding="utf-8"),
            (REPO_ROOT / "autograder" / f"lesson{lesson}" / f"test_{topic}.py").read_text(encoding="utf-8"))


def _notebook(lesson):
    return nbformat.read(str(notebook_path(REPO_ROOT, lesson)), as_version=4)


def _role(cell):
    return cell.metadata.get("course", {}).get("role")


# ---------------------------------------------------------------- generation

def test_committed_notebooks_are_what_the_generator_makes():
    """Check that nbgrader/source/ is exactly what `python -m coursetools generate` writes."""
    for path, text in notebook_files(REPO_ROOT).items():
        assert path.read_text(encoding="utf-8") == text, f"{path}: run `python -m coursetools generate`"


def test_generate_check_covers_the_notebooks(tmp_path):
    """Check that --check's stale_files names a notebook whose grader changed, and generate brings it back."""
    import shutil

    from coursetools.authoring.generate import stale_files, write_all

    for part in ("solutions", "autograder", "exercises", "nbgrader"):
        shutil.copytree(REPO_ROOT / part, tmp_path / part, ignore=shutil.ignore_patterns("__pycache__", "gradebook.db"))
    assert stale_files(tmp_path) == []
    tests = tmp_path / "autograder" / "lesson2" / "test_autograd.py"
    tests.write_text(tests.read_text(encoding="utf-8") + "\n\ndef test_square_grad_once_more(autograd):\n    pass\n",
                     encoding="utf-8")
    (tmp_path / "nbgrader" / "source" / "lesson4" / "lesson4.ipynb").unlink()
    assert stale_files(tmp_path) == ["exercises/lesson2/test_autograd.py", "nbgrader/source/lesson2/lesson2.ipynb",
                                     "nbgrader/source/lesson4/lesson4.ipynb"]
    write_all(tmp_path)
    assert stale_files(tmp_path) == []
    def points(notebook):
        return next(c for c in notebook.cells if c.id == "lesson2_square_grad_check").metadata["nbgrader"]["points"]

    changed = nbformat.read(str(tmp_path / "nbgrader" / "source" / "lesson2" / "lesson2.ipynb"), as_version=4)
    assert points(changed) == points(_notebook(2)) + 1  # the new test is worth a point in its check cell


def test_generation_is_deterministic_valid_and_holds_no_outputs():
    """Check two builds give the same text, a valid notebook, fixed unique ids, no outputs or counts."""
    for lesson in LESSONS:
        solution, tests = _sources(lesson)
        first = render(build_notebook(lesson, solution, "s.py", tests, "t.py"))
        assert first == render(build_notebook(lesson, solution, "s.py", tests, "t.py"))
        notebook = nbformat.reads(first, as_version=4)
        nbformat.validate(notebook)
        ids = [cell.id for cell in notebook.cells]
        assert len(ids) == len(set(ids)) and all(i.startswith(f"lesson{lesson}") for i in ids)
        for cell in notebook.cells:
            if cell.cell_type == "code":
                assert cell.outputs == [] and cell.execution_count is None, cell.id
        assert "timestamp" not in first and '"outputs": [\n     {' not in first


def test_every_exercise_has_its_docstring_code_and_check():
    """Check, per function or class: a bilingual Markdown cell, a solution cell, a check cell with points."""
    for lesson in LESSONS:
        solution, tests = _sources(lesson)
        cells = _notebook(lesson).cells
        exercises = exercise_names(solution)
        tree = ast.parse(solution)
        docs = {n.name: ast.get_docstring(n) for n in tree.body if isinstance(n, (ast.FunctionDef, ast.ClassDef))}
        for name in exercises:
            index = next(i for i, c in enumerate(cells) if c.id == f"lesson{lesson}_{name}")
            text, code, check_cell = cells[index - 1], cells[index], cells[index + 1]
            summary_en, summary_zh = docs[name].splitlines()[:2]
            assert text.cell_type == "markdown" and summary_en in text.source and summary_zh in text.source
            meta = code.metadata["nbgrader"]
            assert meta == {"grade": False, "grade_id": f"lesson{lesson}_{name}", "locked": False,
                            "schema_version": 3, "solution": True, "task": False}
            assert code.source.count("### BEGIN SOLUTION") == code.source.count("### END SOLUTION") >= 1
            expected_points = sum(owner == name for owner in owners(tests, exercises).values())
            meta = check_cell.metadata["nbgrader"]
            assert meta["grade"] is True and meta["locked"] is True and meta["points"] == expected_points > 0
            assert check_cell.source == CHECK_CELL.format(lesson=lesson, name=name)  # public tests, no hidden region
            assert f'check({lesson}, "{name}", globals())' in check_cell.source and "HIDDEN" not in check_cell.source


def test_points_count_every_grader_test_once():
    """Check that the check cells' points add up to the number of test functions of the lesson."""
    for lesson in LESSONS:
        _, tests = _sources(lesson)
        points = [c.metadata["nbgrader"]["points"] for c in _notebook(lesson).cells if _role(c) == "check"]
        assert sum(points) == len(grader_tests(tests)), lesson


def test_released_code_is_the_py_stub():
    """Check nbgrader's own ClearSolutions, with the course's config, turns each exercise cell into the .py stub."""
    from nbgrader.preprocessors import ClearHiddenTests, ClearSolutions

    config = _load_config()
    for lesson, topic in LESSONS.items():
        stub = (REPO_ROOT / "exercises" / f"lesson{lesson}" / f"{topic}.py").read_text(encoding="utf-8")
        stubs = exercise_code(stub)
        notebook = copy.deepcopy(_notebook(lesson))
        resources = {}
        for preprocessor in (ClearSolutions(config=config), ClearHiddenTests(config=config)):
            notebook, resources = preprocessor.preprocess(notebook, resources)
        released = {c.id.split("_", 1)[1]: c.source for c in notebook.cells if _role(c) == "exercise"}
        assert released and released == {name: stubs[name] for name in released}, lesson
        assert "HIDDEN" not in json.dumps(notebook) and "SOLUTION" not in json.dumps(notebook)


def _load_config():
    from traitlets.config.loader import PyFileConfigLoader

    return PyFileConfigLoader("nbgrader_config.py", path=str(REPO_ROOT / "nbgrader")).load_config()


def test_nbgrader_config_uses_the_course_stub_a_timeout_and_one_thread(monkeypatch):
    """Check the course id, the stub text (the same as the .py stubs), the cell timeout and OMP_NUM_THREADS."""
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    config = _load_config()
    assert isinstance(config, Config) and config.CourseDirectory.course_id == "pytorch-from-zero"
    assert config.ClearSolutions.code_stub == {"python": "# YOUR CODE HERE / 在此编写代码\nraise NotImplementedError()"}
    assert config.ClearSolutions.code_stub["python"] == "\n".join(STUB_LINES)
    assert 60 <= config.Execute.timeout <= 600
    import os
    assert os.environ["OMP_NUM_THREADS"] == "1"


def test_autograde_asks_the_engine_and_runs_no_kernel():
    """Check that autograde's preprocessors are nbgrader's defaults with Execute replaced by EngineGrades."""
    from nbgrader.converters.autograde import Autograde
    from nbgrader.preprocessors import Execute

    from autograder.parent.notebooks import EngineGrades

    config = _load_config()
    defaults = Autograde.class_traits()["autograde_preprocessors"].default()
    assert Execute in defaults
    assert config.Autograde.autograde_preprocessors == [EngineGrades if p is Execute else p for p in defaults]
    assert config.EngineGrades.timeout >= 600


def test_lesson5_imports_lessons_3_and_4_from_their_notebooks():
    """Check that a lesson whose code imports earlier lessons makes them importable in its setup cell."""
    setup = _notebook(5).cells[2]
    assert _role(setup) == "setup" and setup.metadata["nbgrader"]["locked"] is True
    assert "import_lesson_notebooks(3, 4)" in setup.source
    assert "import_lesson_notebooks" not in _notebook(1).cells[2].source


def test_pictures_follow_the_exercises_they_show():
    """Check the digit grid (lesson 3) and the loss curve and predictions (lesson 5), guarded and not graded."""
    for lesson, after, count in ((3, "make_loaders", 1), (5, "evaluate", 2)):
        cells = _notebook(lesson).cells
        ids = [c.id for c in cells]
        start = ids.index(f"lesson{lesson}_{after}_check") + 1
        figures = [c for c in cells[start:start + count + 1] if _role(c) == "figure"]
        assert len(figures) == count
        for cell in figures:
            assert "nbgrader" not in cell.metadata and "plt.show()" in cell.source
            assert "except Exception" in cell.source


# ---------------------------------------------------------------- which test runs in which check

def test_snake_case_and_test_mapping():
    """Check class names in snake_case and that a test goes to the last exercise it mentions."""
    assert snake_case("SimpleMNISTNet") == "simple_mnist_net" and snake_case("ImageLabelDataset") == "image_label_dataset"
    names = ["train_one_epoch", "evaluate", "train_mnist"]
    assert exercise_of("test_train_one_epoch_matches_the_reference_loop", names) == "train_one_epoch"
    assert exercise_of("test_train_one_epoch_and_evaluate_reach_95_percent", names) == "evaluate"
    assert exercise_of("test_train_mnist_runs", names) == "train_mnist"
    assert exercise_of("test_something_else", names) == "train_mnist"  # mentions none: the last exercise
    assert exercise_of("test_simple_mnist_net_returns_logits", ["SimpleMNISTNet", "count_parameters"]) == "SimpleMNISTNet"
    assert exercise_of("test_evaluated_twice", names) == "train_mnist"  # a whole word only


def test_test_names_skip_fixtures():
    """Check that a fixture called test_* is not a test."""
    text = "import pytest\n@pytest.fixture\ndef test_arrays():\n    pass\ndef test_real():\n    pass\ndef helper():\n    pass\n"
    assert grader_tests(text) == ["test_real"]


def test_a_solution_region_outside_every_function_is_an_error():
    """Check that generation refuses a region the notebook has no exercise cell for, naming file and line."""
    solution = '"""Doc."""\nX = 1\n### BEGIN SOLUTION\nY = 2\n### END SOLUTION\n\n\ndef f():\n    """F."""\n    return 1\n'
    with pytest.raises(RegionError, match=r"s\.py:3: a solution region outside every function"):
        build_notebook(1, solution, "s.py", "def test_f(x):\n    pass\n", "t.py")


def test_a_picture_after_a_missing_exercise_is_an_error(monkeypatch):
    """Check that a picture placed after an exercise the lesson lacks is an author error."""
    from coursetools.authoring import notebooks

    monkeypatch.setattr(notebooks, "FIGURES", {1: [("no_such_function", "", "print(1)")]})
    solution, tests = _sources(1)
    with pytest.raises(RegionError, match="no_such_function"):
        notebooks.build_notebook(1, solution, "s.py", tests, "t.py")


def test_docstrings_become_bilingual_markdown():
    """Check paragraphs split by language and Args items with their Chinese line."""
    text = docstring_markdown('''Make a tensor.
    创建一个张量。

    Longer English text that
    wraps here.
    中文说明
    也换行了。

    Args:
        kind: "zeros" or "ones".
            "zeros" 或 "ones"。
        shape: the shape. / 形状。
    ''')
    assert text.split("\n\n")[:4] == ["Make a tensor.", "创建一个张量。", "Longer English text that wraps here.",
                                      "中文说明也换行了。"]
    assert '- `kind`: "zeros" or "ones".<br>"zeros" 或 "ones"。' in text and "- `shape`: the shape. / 形状。" in text
    assert "**Args / 参数**" in text


# ---------------------------------------------------------------- the check cells, run in-process

@pytest.fixture()
def reference():
    """The namespace of a notebook whose cells hold the reference lesson 1."""
    return runpy.run_path(str(REPO_ROOT / "solutions" / "lesson1" / "tensors.py"))


def _namespace(text):
    namespace = {"__name__": "__main__"}
    exec(compile(text, "<notebook>", "exec"), namespace)
    return namespace


def test_check_passes_the_reference_quietly(reference, capfd):
    """Check that the public checks pass on the reference and write one line to stdout only."""
    check(1, "flatten_images", reference)
    out, err = capfd.readouterr()
    assert err == ""
    [line] = out.splitlines()
    assert line.startswith("flatten_images: ") and "public test(s) passed" in line


def test_check_names_the_pitfall_of_a_view_mutant():
    """Check that the lesson-1 view mutant fails flatten_images with the bilingual diagnosis and the slug."""
    mutant = overlay_text(REPO_ROOT / "tests" / "mutants" / "view-non-contiguous" / "lesson1" / "tensors.py",
                          REPO_ROOT / "solutions" / "lesson1" / "tensors.py")
    with pytest.raises(NotebookCheckFailed) as failed:
        check(1, "flatten_images", _namespace(mutant))
    message = str(failed.value)
    assert "Pitfall / 常见错误: view-non-contiguous" in message and "[第1课 flatten_images]" in message
    shown = failed.value._render_traceback_()[1:]  # the whole message, in lines nbgrader validate does not cut
    assert "".join(shown).replace(" ", "") == message.replace("\n", "").replace(" ", "")
    assert all(len(line) <= NotebookCheckFailed.WIDTH for line in shown)
    check(1, "add_channel_dim", _namespace(mutant))  # the rest of the mutant is right


def test_check_of_a_stub_says_not_implemented():
    """Check that a fresh stub fails with one bilingual not-implemented message."""
    stub = (REPO_ROOT / "exercises" / "lesson1" / "tensors.py").read_text(encoding="utf-8")
    with pytest.raises(NotebookCheckFailed, match="scalar_tensor is not implemented yet") as failed:
        check(1, "scalar_tensor", _namespace(stub))
    assert "尚未实现" in str(failed.value)


def test_a_warning_in_a_correct_solution_stays_off_stderr(reference, capfd):
    """Check that PyTorch and Python warnings of a passing exercise reach neither stderr nor the outcome."""
    noisy = dict(reference)
    noisy.update(_namespace(
        "import warnings\nimport torch\n"
        "def scalar_tensor(value):\n"
        "    warnings.warn('a warning from the student', UserWarning)\n"
        "    return torch.tensor(torch.tensor(value), dtype=torch.float32)  # PyTorch warns: copy-construct\n"))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        noisy["scalar_tensor"](1.0)
    assert any("copy construct" in str(w.message) for w in caught)  # the PyTorch warning is real
    capfd.readouterr()
    with warnings.catch_warnings():  # as in a Jupyter kernel: a warning that gets out is written to stderr
        warnings.simplefilter("always")
        warnings.showwarning = lambda message, category, filename, lineno, file=None, line=None: sys.stderr.write(
            warnings.formatwarning(message, category, filename, lineno, line))
        check(1, "scalar_tensor", noisy)
    out, err = capfd.readouterr()
    assert err == "" and "public test(s) passed" in out


def test_a_missing_function_is_named_in_the_notebook(reference):
    """Check that a function missing from the notebook is reported against the notebook, not a .py file."""
    del reference["to_numpy"]
    with pytest.raises(NotebookCheckFailed) as failed:
        check(1, "to_numpy", reference)
    assert "`to_numpy` is not defined in lesson1.ipynb" in str(failed.value) and "tensors.py" not in str(failed.value)


def test_check_of_an_unknown_exercise_is_an_error(reference):
    """Check that a check cell naming a function the lesson lacks is an error, not a pass."""
    with pytest.raises(ValueError, match="no exercise 'no_such'"):
        check(1, "no_such", reference)


# ---------------------------------------------------------------- earlier lessons from their notebooks

@pytest.fixture()
def clean_imports(monkeypatch):
    """Undo the lesson finder and the lesson modules a test imports."""
    monkeypatch.setattr(sys, "meta_path", list(sys.meta_path))
    monkeypatch.setattr(importer._finder, "lessons", set())
    before = set(sys.modules)
    yield
    for name in set(sys.modules) - before:
        if name.startswith("lesson"):
            del sys.modules[name]


def test_earlier_lessons_import_from_their_notebooks(tmp_path, monkeypatch, clean_imports):
    """Check `from lesson4.model import SimpleMNISTNet` in a lesson-5 notebook reads lesson4/lesson4.ipynb."""
    for lesson in (3, 4):
        (tmp_path / f"lesson{lesson}").mkdir()
        (tmp_path / f"lesson{lesson}" / f"lesson{lesson}.ipynb").write_text(
            notebook_path(REPO_ROOT, lesson).read_text(encoding="utf-8"), encoding="utf-8")
    (tmp_path / "lesson5").mkdir()
    monkeypatch.chdir(tmp_path / "lesson5")
    for name in [n for n in sys.modules if n.startswith(("lesson3", "lesson4"))]:
        monkeypatch.delitem(sys.modules, name)
    import_lesson_notebooks(3, 4)
    from lesson3.data import MNIST_MEAN, load_mnist  # noqa: F401  (given code and an exercise)
    from lesson4.model import SimpleMNISTNet, count_parameters

    assert sys.modules["lesson4.model"].__file__ == str(tmp_path / "lesson4" / "lesson4.ipynb")
    assert count_parameters(SimpleMNISTNet()) == 101_770 and MNIST_MEAN == 0.1307


def test_a_missing_earlier_notebook_says_where_it_looked(tmp_path, monkeypatch, clean_imports):
    """Check the bilingual error when lesson3/lesson3.ipynb is not next to the lesson's folder."""
    (tmp_path / "lesson5").mkdir()
    monkeypatch.chdir(tmp_path / "lesson5")
    for name in [n for n in sys.modules if n.startswith("lesson3")]:
        monkeypatch.delitem(sys.modules, name)
    import_lesson_notebooks(3)
    with pytest.raises(ModuleNotFoundError) as missing:
        import lesson3.data  # noqa: F401 (the import itself is what is tested)
    assert str(tmp_path / "lesson3" / "lesson3.ipynb") in str(missing.value) and "第 3 课" in str(missing.value)


def test_autograding_looks_in_the_students_submission_first(tmp_path, monkeypatch):
    """Check that, in nbgrader's autograded/<student>/<assignment>, the student's submitted notebook comes first."""
    here = tmp_path / "autograded" / "alice" / "lesson5"
    here.mkdir(parents=True)
    monkeypatch.chdir(here)
    assert notebook_candidates(3) == [tmp_path / "submitted" / "alice" / "lesson3" / "lesson3.ipynb",
                                      tmp_path / "autograded" / "alice" / "lesson3" / "lesson3.ipynb"]
