"""nbgrader end to end, for real, on a temporary copy of the course directory (nbgrader/), and the
student version run top to bottom with nbclient.

Instructor side: `generate_assignment` for all six lessons; three submissions are autograded:
`solved` (the source notebooks: full points), `released` (the release untouched: 0 on every check
cell) and `pitfall` (lesson 1 only: flatten_images from the view mutant of tests/mutants/, and a
scalar_tensor that passes while PyTorch warns); `generate_feedback` names the pitfall; `export`
writes the gradebook CSV. Student side: the released notebooks with the exercises filled in run
from top to bottom with `jupyter execute` (nbclient), pictures included, with no hidden test.

The slowest file of the suite: about 4 minutes on a busy 2-core machine (load 3 to 4), of which
autograde of the 13 notebooks takes about 2.5 minutes and the three student runs about 40 s. HOME and the Jupyter folders point into a temporary folder, so nothing
touches the user's configuration.
"""
import copy
import csv
import json
import subprocess
import time

import nbformat
import pytest

from coursetools import LESSONS, REPO_ROOT, STUB_LINES
from coursetools.nbgrader_course import BIN, copy_course, isolated_env
from coursetools.notebooks import exercise_code
from coursetools.regions import SOLUTION, find_regions
from autograder.overlay import overlay_text

pytestmark = [pytest.mark.slow, pytest.mark.mnist]

WARNING_SCALAR_TENSOR = '''\
import warnings


def scalar_tensor(value: float) -> torch.Tensor:
    warnings.warn("a warning from the student's code", UserWarning)
    return torch.tensor(torch.tensor(value), dtype=torch.float32)  # PyTorch warns: copy-construct from a tensor


scalar_tensor(2.0)  # here, outside the check, the warnings reach stderr: proof that they are real'''
TIMES = {}


def _run(what, args, cwd, env, timeout=600):
    start = time.monotonic()
    run = subprocess.run([str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    TIMES[what] = round(time.monotonic() - start, 1)
    assert run.returncode == 0, f"{what} failed:\n{run.stdout[-3000:]}\n{run.stderr[-5000:]}"
    return run


def _nbgrader(course, *args):
    return _run(" ".join(args[:2]), [BIN / "nbgrader", *args, f"--CourseDirectory.root={course.root}"],
                course.root, course.env)


def _read(path):
    return nbformat.read(str(path), as_version=4)


def _role(cell):
    return cell.metadata.get("course", {}).get("role")


def _write(notebook, path):
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook, str(path))


def _with_exercises(notebook, code: dict):
    """A copy of `notebook` whose exercise cells hold `code[name]` (a student's answers)."""
    notebook = copy.deepcopy(notebook)
    for cell in notebook.cells:
        name = cell.id.split("_", 1)[1] if _role(cell) == "exercise" else None
        if name in code:
            cell.source = code[name]
    return notebook


def _region_lines(text: str, inside: bool) -> set:
    """The stripped non-blank lines of `text` inside (or outside) its solution regions, markers excluded."""
    lines = text.splitlines()
    regions = find_regions(text, "text", SOLUTION)
    within = {number for r in regions for number in range(r.begin, r.end + 1)}
    return {line.strip() for number, line in enumerate(lines, start=1) if line.strip()
            and "SOLUTION" not in line and (number in within) == inside}


class Course:
    def __init__(self, root, env):
        self.root, self.env = root, env

    def notebook(self, step, student, lesson):
        return self.root / step / student / f"lesson{lesson}" / f"lesson{lesson}.ipynb"

    def grades(self, student, lesson):
        """{grade_id: (score, max_score)} of a student's autograded notebook, from nbgrader's gradebook."""
        from nbgrader.api import Gradebook

        with Gradebook(f"sqlite:///{self.root / 'gradebook.db'}") as gradebook:
            notebook = gradebook.find_submission_notebook(f"lesson{lesson}", f"lesson{lesson}", student)
            return {grade.name: (grade.score, grade.max_score) for grade in notebook.grades}


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    """The course directory after generate_assignment, autograde, generate_feedback and export."""
    base = tmp_path_factory.mktemp("nbgrader")
    course = Course(copy_course(base / "course"), isolated_env(base / "home"))
    _nbgrader(course, "generate_assignment", "lesson*")
    for lesson in LESSONS:
        _write(_read(course.notebook("source", ".", lesson).resolve()), course.notebook("submitted", "solved", lesson))
        _write(_read(course.notebook("release", ".", lesson).resolve()), course.notebook("submitted", "released", lesson))
    mutant = exercise_code(overlay_text(REPO_ROOT / "tests" / "mutants" / "view-non-contiguous" / "lesson1" / "tensors.py",
                                        REPO_ROOT / "solutions" / "lesson1" / "tensors.py"))
    pitfall = _with_exercises(_read(course.notebook("source", ".", 1).resolve()),
                              {"flatten_images": mutant["flatten_images"], "scalar_tensor": WARNING_SCALAR_TENSOR})
    _write(pitfall, course.notebook("submitted", "pitfall", 1))
    _nbgrader(course, "autograde", "lesson*")
    _nbgrader(course, "generate_feedback", "lesson1", "--student=pitfall")
    _nbgrader(course, "export")
    return course


def test_release_is_valid_and_holds_no_solution_and_no_hidden_test(course):
    """Check each released notebook: valid, the course's stub in place, no solution line, no hidden test."""
    for lesson, topic in LESSONS.items():
        released = course.notebook("release", ".", lesson).resolve()
        text = released.read_text(encoding="utf-8")
        nbformat.validate(_read(released))
        assert "HIDDEN" not in text and "autograder" not in text and "SOLUTION" not in text
        assert STUB_LINES[0] in text and STUB_LINES[1] in text
        source = (REPO_ROOT / "solutions" / f"lesson{lesson}" / f"{topic}.py").read_text(encoding="utf-8")
        solution_lines = _region_lines(source, inside=True)
        elsewhere = set()  # lines the source notebook also has outside solution regions (imports, pictures)
        for cell in _read(course.notebook("source", ".", lesson).resolve()).cells:
            if _role(cell) != "check":  # check cells hold hidden-test regions, not solutions
                elsewhere |= _region_lines(cell.source, inside=False)
        solution_only = {line for line in solution_lines - elsewhere if not line.startswith("#")}
        assert len(solution_only) >= 3, lesson
        released_lines = {line.strip() for cell in _read(released).cells for line in cell.source.splitlines()}
        assert not solution_only & released_lines, (lesson, sorted(solution_only & released_lines))


def test_solved_notebooks_get_full_points(course):
    """Check that the source notebooks, handed in as they are, get every point of every lesson."""
    with open(course.root / "grades.csv", encoding="utf-8") as f:
        rows = {(r["student_id"], r["assignment"]): r for r in csv.DictReader(f)}
    for lesson in LESSONS:
        row = rows[("solved", f"lesson{lesson}")]
        assert float(row["score"]) == float(row["max_score"]) > 0, (lesson, course.grades("solved", lesson))


def test_released_notebooks_get_zero_on_every_check_cell(course):
    """Check that the untouched release gets 0 on every code grade cell, and its pictures do not crash."""
    for lesson in LESSONS:
        grades = course.grades("released", lesson)
        assert grades and all(score == 0 for score, _ in grades.values()), (lesson, grades)
        for cell in _read(course.notebook("autograded", "released", lesson)).cells:
            if _role(cell) == "figure":
                assert not [o for o in cell.outputs if o.output_type == "error"]
                assert "No " in "".join(o.get("text", "") for o in cell.outputs)  # "No picture yet ..."


def test_a_pitfall_loses_its_exercise_points_and_the_feedback_names_it(course):
    """Check that the view mutant loses exactly flatten_images' points and the feedback HTML names the pitfall."""
    grades = course.grades("pitfall", 1)
    assert grades["lesson1_flatten_images_check"][0] == 0 < grades["lesson1_flatten_images_check"][1]
    assert all(score == top for name, (score, top) in grades.items() if name != "lesson1_flatten_images_check")
    html = (course.root / "feedback" / "pitfall" / "lesson1" / "lesson1.html").read_text(encoding="utf-8")
    assert "Pitfall / 常见错误: view-non-contiguous" in html and "[第1课 flatten_images]" in html
    assert "reshape()" in html  # the hint


def test_a_pytorch_warning_does_not_zero_a_passing_cell(course):
    """Check that the warning-emitting scalar_tensor gets full points: its warnings stay off the check cell's stderr."""
    score, top = course.grades("pitfall", 1)["lesson1_scalar_tensor_check"]
    assert score == top > 0
    cells = {c.id: c for c in _read(course.notebook("autograded", "pitfall", 1)).cells}
    answer_stderr = "".join(o.get("text", "") for o in cells["lesson1_scalar_tensor"].outputs if o.get("name") == "stderr")
    assert "copy construct" in answer_stderr and "from the student" in answer_stderr  # the warnings are real
    outputs = cells["lesson1_scalar_tensor_check"].outputs
    assert outputs and all(o.output_type == "stream" and o.name == "stdout" for o in outputs)


def test_export_writes_the_gradebook_csv(course):
    """Check nbgrader's CSV: one row per student and lesson, scores as expected."""
    with open(course.root / "grades.csv", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert {"assignment", "student_id", "score", "max_score"} <= set(rows[0])
    scores = {(r["student_id"], r["assignment"]): float(r["score"]) for r in rows}
    assert all(scores[("released", f"lesson{n}")] == 0 for n in LESSONS)
    assert 0 < scores[("pitfall", "lesson1")] < scores[("solved", "lesson1")]


STUDENT_RUNS = (1, 3, 5)  # the simplest lesson, and the two with MNIST, pictures and (5) earlier lessons' notebooks


def test_student_version_runs_top_to_bottom(course, tmp_path):
    """Check the released notebooks with the exercises written: nbclient runs every cell, no error, pictures drawn.

    Lessons 1, 3 and 5 here (the solved source notebooks of all six run top to bottom in autograde above).
    """
    work = tmp_path / "student"
    for lesson in LESSONS:  # a student's course folder: one folder per lesson, side by side
        answers = {c.id.split("_", 1)[1]: c.source for c in _read(course.notebook("source", ".", lesson).resolve()).cells
                   if _role(c) == "exercise"}
        _write(_with_exercises(_read(course.notebook("release", ".", lesson).resolve()), answers),
               work / f"lesson{lesson}" / f"lesson{lesson}.ipynb")
    for lesson in STUDENT_RUNS:
        path = work / f"lesson{lesson}" / f"lesson{lesson}.ipynb"
        _run(f"nbclient lesson{lesson}", [BIN / "jupyter-execute", "--inplace", "--timeout=300", path],
             path.parent, course.env)
        notebook = _read(path)
        for cell in notebook.cells:
            if cell.cell_type != "code":
                continue
            errors = [o for o in cell.outputs if o.output_type == "error" or o.get("name") == "stderr"
                      and _role(cell) == "check"]
            assert not errors, (lesson, cell.id, errors)
            if _role(cell) == "check":
                assert "public test(s) passed" in "".join(o.get("text", "") for o in cell.outputs), (lesson, cell.id)
            if _role(cell) == "figure":
                assert any("image/png" in o.get("data", {}) for o in cell.outputs), (lesson, cell.id)
    print(json.dumps(TIMES, indent=1))
