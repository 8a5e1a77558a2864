"""nbgrader end to end, for real, on a temporary copy of the course directory (nbgrader/), and the
student version run top to bottom with nbclient.

Instructor side: `generate_assignment` for all six lessons; four submissions are autograded, the
points coming from the grading engine (autograder/parent/notebooks.py, no kernel): `solved` (the
source notebooks: full points), `released` (the release untouched: 0 on every check cell),
`pitfall` (lesson 1 only: flatten_images from the view mutant of tests/mutants/, and a
scalar_tensor that passes while PyTorch warns) and `patcher` (lesson 1 only: its first cell makes
the kernel's checks no-ops, the rest unsolved: no points for what it did not solve); autograde
writes no "checksum has changed" warning; `generate_feedback` names the pitfall; `export` writes
the gradebook CSV. Student side: the released notebooks with the exercises filled in run from top
to bottom with `jupyter execute` (nbclient), pictures included, with no hidden test.

The slowest file of the suite: about 3 minutes on a busy 2-core machine (load 2 to 3), of which
autograde takes about 2.5: the engine grades the 14 notebooks one by one, 6 to 16 s each. HOME and
the Jupyter folders point into a temporary folder, so nothing touches the user's configuration.
"""
import copy
import csv
import json
import subprocess
import time

import nbformat
import pytest

from autograder.overlay import overlay_text
from coursetools import LESSONS, REPO_ROOT, STUB_LINES
from coursetools.authoring.notebooks import exercise_code
from coursetools.regions import SOLUTION, find_regions
from harness.nbgrader_course import BIN, copy_course, isolated_env

pytestmark = [pytest.mark.slow, pytest.mark.mnist]

WARNING_SCALAR_TENSOR = '''\
import warnings


def scalar_tensor(value: float) -> torch.Tensor:
    warnings.warn("a warning from the student's code", UserWarning)
    return torch.tensor(torch.tensor(value), dtype=torch.float32)  # PyTorch warns: copy-construct from a tensor


scalar_tensor(2.0)  # at import, outside every test: the warnings are real'''
PATCHER_FIRST_CELL = '''\
import sys
import types

try:  # make every check of the kernel pass: the check function, its helpers, the hidden grade module
    import coursetools.kernel.check as checks

    checks.run_tests.__globals__["run_tests"] = lambda *args, **kwargs: None
    checks.check = lambda *args, **kwargs: print("all public test(s) passed")
    fake = types.ModuleType("autograder.notebook")
    fake.grade = lambda *args, **kwargs: None
    sys.modules["autograder.notebook"] = fake
except Exception:
    pass

'''
TIMES = {}


def _run(what, args, cwd, env, timeout=600):
    start = time.monotonic()
    run = subprocess.run([str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    TIMES[what] = round(time.monotonic() - start, 1)
    assert run.returncode == 0, f"{what} failed:\n{run.stdout[-3000:]}\n{run.stderr[-5000:]}"
    return run


def _nbgrader(course, *args):
    run = _run(" ".join(args[:2]), [BIN / "nbgrader", *args, f"--CourseDirectory.root={course.root}"],
               course.root, course.env)
    course.logs[args[0]] = run.stdout + run.stderr
    return run


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
        self.logs = {}  # nbgrader command -> what it printed

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
    _write(_patcher(course), course.notebook("submitted", "patcher", 1))
    _nbgrader(course, "autograde", "lesson*")
    _nbgrader(course, "generate_feedback", "lesson1", "--student=pitfall")
    _nbgrader(course, "export")
    return course


def _patcher(course):
    """Lesson 1 as released, but its first exercise cell patches the kernel's checks and solves scalar_tensor."""
    solved = exercise_code((REPO_ROOT / "solutions" / "lesson1" / "tensors.py").read_text(encoding="utf-8"))
    return _with_exercises(_read(course.notebook("release", ".", 1).resolve()),
                           {"scalar_tensor": PATCHER_FIRST_CELL + solved["scalar_tensor"]})


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
    """Check that the untouched release gets 0 on every code grade cell, each saying what is not implemented."""
    for lesson in LESSONS:
        grades = course.grades("released", lesson)
        assert grades and all(score == 0 for score, _ in grades.values()), (lesson, grades)
        for cell in _read(course.notebook("autograded", "released", lesson)).cells:
            if _role(cell) == "check":
                [error] = cell.outputs
                assert error.output_type == "error" and "not implemented yet" in "\n".join(error.traceback), cell.id


def test_autograde_warns_of_no_changed_cell(course):
    """Check that autograde of untouched and solved notebooks reports no changed checksum (no hidden regions)."""
    log = course.logs["autograde"]
    assert "Autograding" in log and "has changed" not in log, [line for line in log.splitlines() if "changed" in line]


def test_a_pitfall_loses_its_exercise_points_and_the_feedback_names_it(course):
    """Check that the view mutant loses points on flatten_images only and the feedback HTML names the pitfall.

    The check cell keeps the share of flatten_images' engine tests that pass (contiguous inputs work with view).
    """
    grades = course.grades("pitfall", 1)
    score, top = grades.pop("lesson1_flatten_images_check")
    assert 0 <= score < top
    assert all(points == most for points, most in grades.values())
    html = (course.root / "feedback" / "pitfall" / "lesson1" / "lesson1.html").read_text(encoding="utf-8")
    assert "Pitfall / 常见错误: view-non-contiguous" in html and "[第1课 flatten_images]" in html
    assert "reshape()" in html  # the hint
    # What the student's code printed names the notebook's cell, not the module the engine graded.
    assert "lesson1.ipynb [cell lesson1_scalar_tensor]" in html and "tensors.py" not in html


def test_the_feedback_page_wraps_long_lines_and_names_each_check(course):
    """Check the real feedback page: every output <pre> wraps (computed from the page's style sheets) and the
    table of contents names each check cell's function (not "Test cell" nine times)."""
    from bs4 import BeautifulSoup

    from harness.nbgrader_course import computed_style

    html = (course.root / "feedback" / "pitfall" / "lesson1" / "lesson1.html").read_text(encoding="utf-8")
    soup = BeautifulSoup(html, "html.parser")
    outputs = soup.select("div.output_subarea pre")
    assert len(outputs) >= 9  # one per check cell, two where partial credit adds the points
    for pre in outputs:
        assert computed_style(soup, pre, "white-space") == "pre-wrap"
        assert computed_style(soup, pre, "overflow-wrap") == "anywhere"
    entries = [li.get_text(" ", strip=True) for li in soup.select("#toc li")]
    assert len(entries) == 9 and "Test cell" not in " ".join(entries)
    assert any(entry.startswith("Check of flatten_images / flatten_images 的检查 (Score: ") for entry in entries)


def test_a_pytorch_warning_does_not_zero_a_passing_cell(course):
    """Check that the warning-emitting scalar_tensor gets full points, its check cell the engine's verdict on stdout."""
    score, top = course.grades("pitfall", 1)["lesson1_scalar_tensor_check"]
    assert score == top > 0
    cells = {c.id: c for c in _read(course.notebook("autograded", "pitfall", 1)).cells}
    [output] = cells["lesson1_scalar_tensor_check"].outputs
    assert output.output_type == "stream" and output.name == "stdout" and "grading engine" in output.text


def test_a_notebook_that_patches_its_kernel_checks_gets_no_points_for_it(course, tmp_path):
    """Check that making the kernel's checks pass earns nothing: the unsolved exercises get 0, the solved one all.

    In a kernel the patch works (every check cell passes); autograde asks the engine instead.
    """
    grades = course.grades("patcher", 1)
    assert grades.pop("lesson1_scalar_tensor_check")[0] > 0
    assert grades and all(score == 0 for score, _ in grades.values()), grades
    path = tmp_path / "lesson1" / "lesson1.ipynb"
    _write(_patcher(course), path)
    _run("nbclient patcher", [BIN / "jupyter-execute", "--inplace", "--timeout=300", path], path.parent, course.env)
    checks = [c for c in _read(path).cells if _role(c) == "check"]
    assert len(checks) > 3 and not [o for c in checks for o in c.outputs if o.output_type == "error"]


def test_export_writes_the_gradebook_csv(course):
    """Check nbgrader's CSV: one row per student and lesson, scores as expected."""
    with open(course.root / "grades.csv", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert {"assignment", "student_id", "score", "max_score"} <= set(rows[0])
    scores = {(r["student_id"], r["assignment"]): float(r["score"]) for r in rows}
    assert all(scores[("released", f"lesson{n}")] == 0 for n in LESSONS)
    assert 0 < scores[("pitfall", "lesson1")] < scores[("solved", "lesson1")]
    assert 0 < scores[("patcher", "lesson1")] < scores[("pitfall", "lesson1")]


STUDENT_RUNS = (1, 3, 5)  # the simplest lesson, and the two with MNIST, pictures and (5) earlier lessons' notebooks


def test_student_version_runs_top_to_bottom(course, tmp_path):
    """Check the released notebooks with the exercises written: nbclient runs every cell, no error, pictures drawn.

    Lessons 1, 3 and 5 here: the simplest, and those with pictures and earlier lessons' notebooks.
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
