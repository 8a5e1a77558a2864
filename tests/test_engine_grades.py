"""autograder/parent/notebooks.py: the notebook's code as the engine grades it, and check cells whose outputs
give nbgrader the engine's points (nbgrader's own determine_grade reads them here). The engine itself is
stood in for by a results dict; tests/test_nbgrader.py runs everything for real."""
import copy
import logging

import nbformat
import pytest

from autograder.parent import notebooks
from autograder.parent.notebooks import EngineGrades, GradingFailed
from coursetools import REPO_ROOT
from coursetools.authoring.notebooks import notebook_path
from coursetools.nbfiles import code_cells


def _notebook(lesson):
    return nbformat.read(str(notebook_path(REPO_ROOT, lesson)), as_version=4)


def _cell(notebook, cell_id):
    return next(cell for cell in notebook.cells if cell.id == cell_id)


def _test(name, score, top=1.0, output=""):
    return {"name": f"lesson1/test_tensors.py::{name}", "score": score, "max_score": top,
            "status": "passed" if score == top else "failed", "output": output}


def test_the_module_holds_setup_and_exercise_cells_in_order_under_their_ids():
    """Check each cell's code sits under `# cell <id>` at the line module_text reports, and the module compiles."""
    notebook = _notebook(5)
    text, notes, cells = notebooks.module_text(notebook, "lesson5.ipynb")
    compile(text, "lesson5/train.py", "exec")
    lines = text.splitlines()
    assert notes == [] and [cell for _, cell in cells] == [cell_id for _, cell_id, _ in code_cells(notebook)]
    for start, cell_id in cells:
        code = [line for line in _cell(notebook, cell_id).source.splitlines() if "import_lesson_notebooks" not in line]
        assert lines[start - 2] == f"# cell {cell_id}" and lines[start - 1:start - 1 + len(code)] == code, cell_id
    assert "import_lesson_notebooks" not in text and "check(5" not in text


def test_a_cell_that_is_not_python_is_left_out_with_a_note_and_magics_are_comments():
    """Check a syntax error costs its cell only, with a bilingual note, and `%matplotlib` lines are commented out."""
    notebook = copy.deepcopy(_notebook(1))
    _cell(notebook, "lesson1_scalar_tensor").source = "def scalar_tensor(value)\n    return value\n"
    _cell(notebook, "lesson1_filled").source = "%matplotlib inline\n" + _cell(notebook, "lesson1_filled").source
    text, [note], _ = notebooks.module_text(notebook, "lesson1.ipynb")
    compile(text, "lesson1/tensors.py", "exec")
    assert "# def scalar_tensor(value)" in text and "# %matplotlib inline" in text and "def filled(" in text
    assert note.startswith("Cell lesson1_scalar_tensor has a syntax error at its line 1") and "语法错误" in note


def test_places_in_the_module_are_named_as_notebook_cells():
    """Check that tracebacks and warnings name the notebook's cell and line, not the server's module path."""
    places = {1: [(3, "lesson1_setup"), (20, "lesson1_filled")]}
    text = ('File "/tmp/autograder-x/subs/0/sub/lesson1/tensors.py", line 22, in filled\n'
            "/tmp/autograder-x/sub/lesson1/tensors.py:4: UserWarning: careful\n"
            "lesson1/tensors.py is missing; lesson1/other.py stays")
    assert notebooks.cell_places(text, places).splitlines() == [
        'File "lesson1.ipynb [cell lesson1_filled]", line 3, in filled',
        "lesson1.ipynb [cell lesson1_setup]:2: UserWarning: careful",
        "lesson1.ipynb is missing; lesson1/other.py stays"]


def test_earlier_lessons_come_from_the_students_submitted_notebooks(tmp_path, caplog):
    """Check lesson 5 gets lesson3/data.py from the student's submitted lesson 3, and a clear error for lesson 4."""
    here = tmp_path / "autograded" / "alice" / "lesson5"
    here.mkdir(parents=True)
    submitted = tmp_path / "submitted" / "alice" / "lesson3" / "lesson3.ipynb"
    submitted.parent.mkdir(parents=True)
    lesson3 = copy.deepcopy(_notebook(3))
    _cell(lesson3, "lesson3_load_mnist").source += "\n\nSTUDENT_MARK = 3"
    nbformat.write(lesson3, str(submitted))
    caplog.set_level(logging.WARNING)
    notes, places = notebooks.write_submission(_notebook(5), 5, tmp_path / "sub", here, logging.getLogger("test"))
    assert notes == [] and sorted(places) == [3, 5]
    assert "STUDENT_MARK = 3" in (tmp_path / "sub" / "lesson3" / "data.py").read_text(encoding="utf-8")
    missing = (tmp_path / "sub" / "lesson4" / "model.py").read_text(encoding="utf-8")
    assert missing.startswith("raise ModuleNotFoundError(") and "lesson 4 notebook" in missing and "第 4 课" in missing
    assert "lesson4 notebook is not there" in caplog.text


def test_tests_go_to_their_exercise_with_their_points():
    """Check the engine's tests are summed per exercise as the check cells' points were set (exercise_of)."""
    results = {"tests": [_test("test_flatten_images_gives_n_by_784[a]", 1.0),
                         _test("test_flatten_images_accepts_non_contiguous_input", 0.0, output="view"),
                         _test("test_scalar_tensor_is_0dim_float32", 2.0, 2.0)],
               "extra_data": {"skipped": [{"name": "lesson1/test_tensors.py::test_to_device_moves_to_cuda"}]}}
    found = notebooks.verdicts(results, 1)
    assert found["flatten_images"][:2] == (1.0, 2.0) and [t["output"] for t in found["flatten_images"][2]] == ["view"]
    assert found["scalar_tensor"] == (2.0, 2.0, [], 0) and found["to_device"] == (0.0, 0.0, [], 1)
    with pytest.raises(GradingFailed, match="no test"):
        notebooks.verdicts({"tests": []}, 1)


def test_a_test_that_names_no_exercise_goes_to_the_one_it_calls():
    """Check the engine sums a test whose name names no exercise with the exercise its body calls, as the check
    cells' points were set (lesson 6: the optimizer-step test calls build_finetune_model, not load_checkpoint)."""
    results = {"tests": [{"name": "lesson6/test_advanced.py::test_one_optimizer_step_changes_only_the_trainable_layers[True]",
                          "score": 0.0, "max_score": 1.0, "status": "failed", "output": "frozen"},
                         {"name": "lesson6/test_advanced.py::test_checkpoint_round_trip_keeps_every_weight_and_buffer",
                          "score": 1.0, "max_score": 1.0, "status": "passed", "output": ""}]}
    found = notebooks.verdicts(results, 6)
    assert found["build_finetune_model"][:2] == (0.0, 1.0) and found["load_checkpoint"][:2] == (1.0, 1.0)
    notebook = _notebook(6)
    points = {c.metadata["course"].get("exercise"): c.metadata["nbgrader"]["points"] for c in notebook.cells
              if c.metadata.get("course", {}).get("role") == "check"}
    owners = notebooks.owners((REPO_ROOT / "autograder" / "lesson6" / "test_advanced.py").read_text(encoding="utf-8"),
                              list(points))
    assert owners["test_one_optimizer_step_changes_only_the_trainable_layers"] == "build_finetune_model"
    assert points == {name: list(owners.values()).count(name) for name in points}


def _grade(monkeypatch, tmp_path, results=None, failure=None):
    """Lesson 1's source notebook after EngineGrades, the engine answering `results` (or raising `failure`)."""
    def engine(*args):
        if failure:
            raise failure
        return results

    monkeypatch.setattr(notebooks, "run_engine", engine)
    resources = {"nbgrader": {"student": "alice", "assignment": "lesson1", "notebook": "lesson1"},
                 "metadata": {"path": str(tmp_path)}}
    notebook, _ = EngineGrades().preprocess(copy.deepcopy(_notebook(1)), resources)
    return notebook


def test_check_cells_get_the_engine_share_of_their_points(monkeypatch, tmp_path):
    """Check nbgrader's determine_grade reads full, partial and zero points, and the feedback shows the diagnosis."""
    from nbgrader.utils import determine_grade

    pitfall = "[lesson1 flatten_images] raised.\n[第1课 flatten_images] 抛出。\nPitfall / 常见错误: view-non-contiguous"
    results = {"tests": [_test("test_flatten_images_gives_n_by_784[a]", 1.0),
                         _test("test_flatten_images_accepts_non_contiguous_input", 0.0, output=pitfall),
                         _test("test_flatten_images_on_other_memory_layouts[t]", 1.0, 2.0, output=pitfall),
                         _test("test_scalar_tensor_is_0dim_float32", 0.0, output="not implemented"),
                         _test("test_filled_shape", 1.0)]}
    notebook = _grade(monkeypatch, tmp_path, results)
    grades = {c.id: determine_grade(c) for c in notebook.cells if c.metadata.get("nbgrader", {}).get("grade")}
    flatten = _cell(notebook, "lesson1_flatten_images_check")
    assert grades["lesson1_flatten_images_check"] == (flatten.metadata.nbgrader["points"] / 2,
                                                      flatten.metadata.nbgrader["points"])  # 2 of 4 test points
    text = flatten.outputs[0].text
    assert flatten.outputs[0].name == "stdout" and "This check cell: 2 of 4 point(s)." in text
    assert text.count(pitfall) == 1 and "-- test_flatten_images_accepts_non_contiguous_input, test_flatten_" in text
    assert grades["lesson1_scalar_tensor_check"][0] == 0
    assert "not implemented" in _cell(notebook, "lesson1_scalar_tensor_check").outputs[0].traceback
    assert grades["lesson1_filled_check"][0] == grades["lesson1_filled_check"][1] > 0
    # exercises with no test in the results: all of them skipped here, nothing to lose
    assert grades["lesson1_multiply_check"][0] == grades["lesson1_multiply_check"][1]


def test_when_the_engine_fails_every_grade_cell_gets_zero_and_the_log_says_why(monkeypatch, tmp_path, caplog):
    """Check a grading failure: 0 everywhere, a bilingual 'not a score of your code', the reason in the log."""
    from nbgrader.utils import determine_grade

    caplog.set_level(logging.ERROR)
    notebook = _grade(monkeypatch, tmp_path, failure=GradingFailed("a grader error", "lesson 1: collection failed"))
    checks = [c for c in notebook.cells if c.metadata.get("nbgrader", {}).get("grade")]
    assert checks and all(determine_grade(c)[0] == 0 for c in checks)
    text = "\n".join(checks[0].outputs[0].traceback)
    assert "not a score of your code" in text and "不是你的代码的得分" in text and "collection failed" not in text
    assert "grading failed" in caplog.text and "collection failed" in caplog.text


def test_a_broken_engine_run_is_a_grading_failure(tmp_path):
    """Check that no results (a usage error here) and a run past the time limit raise GradingFailed."""
    with pytest.raises(GradingFailed, match="wrote no results"):
        notebooks.run_engine(tmp_path / "no-such-folder", 1, tmp_path / "out", 120, 1.0)
    with pytest.raises(GradingFailed, match="ran past"):
        notebooks.run_engine(tmp_path, 1, tmp_path / "out", 0.05, 1.0)
