"""Check the grading engine end to end: solutions/ score 100 %, fresh exercises/ score 0, the output formats,
the command line, and that grading twice gives the same result.

检查评分引擎：solutions/ 满分，未作答的 exercises/ 零分，输出格式、命令行，以及两次评分结果相同。
"""
import ast
import csv
import json
import os
import shutil
import subprocess
import sys

import pytest

from autograder.lesson import worker
from autograder.parent import results
from coursetools import LESSONS, REPO_ROOT

GRADESCOPE_STATUSES = {"passed", "failed"}
GRADESCOPE_VISIBILITY = {"hidden", "after_due_date", "after_published", "visible"}


def autograder(*args, cwd=REPO_ROOT):
    """Run `python -m autograder *args`; return the finished process."""
    return subprocess.run([sys.executable, "-m", "autograder", *map(str, args)], cwd=cwd, capture_output=True,
                          text=True, timeout=1800)


def graded(tmp_path, submission, *options):
    out = tmp_path / "out"
    done = autograder("grade", submission, "--out", out, "--quiet", *options)
    data = json.loads((out / "results.json").read_text(encoding="utf-8")) if (out / "results.json").exists() else None
    return done, data


@pytest.fixture(scope="module")
def solutions(tmp_path_factory):
    """`grade solutions` (a relative path, all lessons): (process, results.json)."""
    return graded(tmp_path_factory.mktemp("solutions"), "solutions")


@pytest.fixture(scope="module")
def exercises(tmp_path_factory):
    return graded(tmp_path_factory.mktemp("exercises"), "exercises")


@pytest.mark.slow
def test_solutions_score_full_marks(solutions):
    """Check that the reference scores 100 % in every lesson, with exit status 0."""
    done, data = solutions
    assert done.returncode == 0, done.stderr
    failed = [f"{t['name']}:\n{t['output']}" for t in data["tests"] if t["status"] != "passed"]
    assert not failed, "\n\n".join(failed)
    assert data["score"] == data["max_score"] > 0
    assert sorted(int(n) for n in data["extra_data"]["lessons"]) == sorted(LESSONS)


@pytest.mark.slow
def test_fresh_exercises_score_zero_and_every_failure_says_not_implemented(exercises):
    """Check that the untouched stubs score 0, each failure naming the function still to write; exit status 0."""
    done, data = exercises
    assert done.returncode == 0, done.stderr
    passed = [t["name"] for t in data["tests"] if t["status"] == "passed"]
    assert not passed, f"tests passing on the fresh stubs: {passed}"
    other = [f"{t['name']}: {t['output']}" for t in data["tests"]
             if not t["extra_data"]["not_implemented"] or "not implemented" not in t["output"]]
    assert not other, "\n".join(other)
    assert data["score"] == 0


@pytest.mark.slow
def test_results_json_follows_the_gradescope_format(solutions):
    """Check the keys and value types Gradescope reads, and that the total is the sum of the tests."""
    _, data = solutions
    assert isinstance(data["score"], float) and isinstance(data["execution_time"], float)
    assert data["visibility"] in GRADESCOPE_VISIBILITY and data["stdout_visibility"] in GRADESCOPE_VISIBILITY
    for test in data["tests"]:
        assert {"name", "score", "max_score", "status", "output", "tags", "visibility"} <= set(test)
        assert test["status"] in GRADESCOPE_STATUSES and test["visibility"] in GRADESCOPE_VISIBILITY
        assert test["max_score"] == _stated_points(test["name"])
        assert all(tag.startswith("pitfall:") for tag in test["tags"])
    assert data["score"] == sum(t["score"] for t in data["tests"])
    assert data["max_score"] == sum(t["max_score"] for t in data["tests"])
    assert len({t["name"] for t in data["tests"]}) == len(data["tests"])


def _stated_points(name: str) -> float:
    """What the grader file states on the test (`@pytest.mark.points(n)`), read from its source."""
    path, function = name.split("::", 1)
    function = function.split("[", 1)[0]
    tree = ast.parse((REPO_ROOT / "autograder" / path).read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name == function:
            for decorator in node.decorator_list:
                text = ast.unparse(decorator)
                if text.startswith("pytest.mark.points("):
                    return float(ast.literal_eval(decorator.args[0]))
    return 1.0


def _public_test_functions():
    names = set()
    for path in (REPO_ROOT / "exercises").glob("lesson*/test_*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        names |= {node.name for node in ast.walk(tree) if isinstance(node, ast.FunctionDef)}
    return names


@pytest.mark.slow
def test_public_tests_are_visible_and_hidden_tests_after_publishing(solutions):
    """Check that tests students have (exercises/) are visible, the hidden ones only after grades are published."""
    _, data = solutions
    public = _public_test_functions()
    for test in data["tests"]:
        function = test["name"].split("::", 1)[1].split("[", 1)[0]
        expected = "visible" if function in public else "after_published"
        assert test["visibility"] == expected, test["name"]
    assert {t["visibility"] for t in data["tests"]} == {"visible", "after_published"}


@pytest.mark.slow
def test_terminal_table_shows_every_lesson_and_the_total(solutions):
    """Check the table printed by `grade`."""
    done, _ = solutions
    for number, topic in LESSONS.items():
        assert f"{number} {topic}" in done.stdout
    assert "total" in done.stdout and "(100.0 %)" in done.stdout


@pytest.mark.slow
def test_grading_twice_gives_the_same_results(solutions, tmp_path):
    """Check that a second grading (one worker instead of several) gives the same score for every test."""
    _, first = solutions
    _, second = graded(tmp_path, REPO_ROOT / "solutions", "--workers", "1")
    assert [(t["name"], t["status"], t["score"]) for t in second["tests"]] == \
        [(t["name"], t["status"], t["score"]) for t in first["tests"]]


@pytest.mark.slow
def test_grading_without_root_walls_still_gives_full_marks(tmp_path):
    """Check the unprivileged path (no sandbox user, no namespaces), as on a laptop or a CI runner."""
    out = tmp_path / "out"
    done = subprocess.run([sys.executable, "-m", "autograder", "grade", "solutions", "--lessons", "1", "2", "--quiet",
                           "--out", str(out)], cwd=REPO_ROOT, capture_output=True, text=True,
                          env={**os.environ, "AUTOGRADER_UNPRIVILEGED": "1"})
    assert done.returncode == 0, done.stderr
    data = json.loads((out / "results.json").read_text(encoding="utf-8"))
    assert data["score"] == data["max_score"] > 0
    for lesson in data["extra_data"]["lessons"].values():
        assert "bubblewrap sandbox" in lesson["isolation"] and "unprivileged uid" not in lesson["isolation"]
    assert data["extra_data"]["isolated"] is True


@pytest.mark.slow
def test_grading_without_bubblewrap_says_not_isolated_and_still_scores(tmp_path):
    """Check the fallback where the sandbox cannot be built: full marks still, and NOT ISOLATED said plainly."""
    out = tmp_path / "out"
    done = subprocess.run([sys.executable, "-m", "autograder", "grade", "solutions", "--lessons", "1", "--out",
                           str(out)], cwd=REPO_ROOT, capture_output=True, text=True,
                          env={**os.environ, "AUTOGRADER_NO_BWRAP": "1"})
    assert done.returncode == 0, done.stderr
    data = json.loads((out / "results.json").read_text(encoding="utf-8"))
    assert data["score"] == data["max_score"] > 0
    assert data["extra_data"]["isolated"] is False and "NOT ISOLATED" in data["extra_data"]["isolation"]
    assert "NOT ISOLATED" in data["output"] and "NOT ISOLATED" in done.stdout and "NOT ISOLATED" in done.stderr


@pytest.mark.slow
def test_batch_writes_results_per_submission_and_a_gradebook(tmp_path):
    """Check `batch`: one results.json per subfolder, gradebook.csv with a row each, a bad one does not stop it."""
    submissions = tmp_path / "class"
    shutil.copytree(REPO_ROOT / "solutions", submissions / "alice")
    shutil.copytree(REPO_ROOT / "exercises", submissions / "bob")
    (submissions / "carol").mkdir()  # an empty submission: every file missing
    (submissions / "notes.txt").write_text("not a submission")
    out = tmp_path / "out"
    done = autograder("batch", submissions, "--out", out, "--workers", "2", "--lessons", "1", "2", "--quiet")
    assert done.returncode == 0, done.stdout + done.stderr
    rows = {row["submission"]: row for row in csv.DictReader((out / "gradebook.csv").open(encoding="utf-8"))}
    assert sorted(rows) == ["alice", "bob", "carol"]
    assert rows["alice"]["percent"] == "100.0" and rows["bob"]["total"] == "0" and rows["carol"]["total"] == "0"
    assert list(rows["alice"])[:4] == ["submission", "lesson1", "lesson2", "total"]
    for name in rows:
        data = json.loads((out / name / "results.json").read_text(encoding="utf-8"))
        assert sorted(data["extra_data"]["lessons"]) == ["1", "2"]
    carol = json.loads((out / "carol" / "results.json").read_text(encoding="utf-8"))
    assert all("is missing from the submission" in t["output"] for t in carol["tests"])


@pytest.mark.slow
def test_grade_writes_to_grading_results_by_default(tmp_path):
    """Check that without --out, results go to grading-results/<submission name>/ under the current folder."""
    done = autograder("grade", REPO_ROOT / "exercises", "--lessons", "2", "--quiet", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    data = json.loads((tmp_path / "grading-results" / "exercises" / "results.json").read_text(encoding="utf-8"))
    assert data["score"] == 0 and sorted(data["extra_data"]["lessons"]) == ["2"]


@pytest.mark.parametrize("args, says", [
    (["grade", "no/such/folder"], "no such folder"),
    (["batch", "no/such/folder", "--out", "x"], "no such folder"),
    (["batch", "solutions"], "--out"),
    (["grade", "solutions", "--lessons", str(max(LESSONS) + 1)], "invalid choice"),  # after the table's last
    (["mark", "solutions"], "invalid choice"),
])
def test_usage_errors_exit_2_with_a_message(args, says):
    """Check that a wrong command line exits with status 2 and says what is wrong."""
    done = autograder(*args)
    assert done.returncode == 2
    assert says in done.stderr


def test_grading_mnist_lessons_without_mnist_is_a_usage_error(tmp_path):
    """Check that lessons graded on MNIST refuse to start (status 2) when the data is not prepared."""
    done = subprocess.run([sys.executable, "-m", "autograder", "grade", "solutions", "--lessons", "5"], cwd=REPO_ROOT,
                          capture_output=True, text=True, env={**os.environ, "COURSE_DATA_ROOT": str(tmp_path)})
    assert done.returncode == 2 and "python -m course_data" in done.stderr


def test_batch_of_a_folder_without_submissions_is_a_usage_error(tmp_path):
    done = autograder("batch", tmp_path, "--out", tmp_path / "out")
    assert done.returncode == 2 and "no submission folders" in done.stderr


@pytest.mark.slow
def test_points_and_time_limits_come_from_the_tests(solutions):
    """Check the weights stated on the tests: the two 95 % checks 5 points, train_mnist 3, every other test 1."""
    _, data = solutions
    weights = {t["name"]: t["max_score"] for t in data["tests"]}
    assert weights["lesson4/test_model.py::test_simple_mnist_net_reaches_95_percent_with_the_reference_loop"] == 5 \
        if "lesson4/test_model.py::test_simple_mnist_net_reaches_95_percent_with_the_reference_loop" in weights else True
    assert sorted({w for w in weights.values()}) == [1.0, 3.0, 5.0]
    assert sum(w == 5.0 for w in weights.values()) == 2 and sum(w == 3.0 for w in weights.values()) == 1


def test_full_option_is_passed_to_the_graders():
    """Check that `--full` reaches pytest in each lesson process (autograder/conftest.py declares it)."""
    job = {"tests": "t", "inifile": "i", "graders_root": "g", "basetemp": "b", "submission": "s", "full": True}
    assert "--full" in worker.pytest_args(job)
    assert "--full" not in worker.pytest_args({**job, "full": False})
    assert "--full" in (REPO_ROOT / "autograder" / "conftest.py").read_text(encoding="utf-8")


def test_gradescope_export_leaves_out_skipped_tests_and_shows_printed_output():
    """Check the exporter on a hand-made result: skipped tests are not scored, a failure shows what was printed."""
    lesson = results.LessonResult(1, tests=[
        results.TestResult("lesson1/t.py::a", 1, 1.0, status="passed", score=1.0),
        results.TestResult("lesson1/t.py::b", 1, 2.0, hidden=True, message="[lesson1] wrong", output="hello",
                           tags=["pitfall:view-non-contiguous"]),
        results.TestResult("lesson1/t.py::c", 1, 1.0, status="skipped", message="needs CUDA"),
    ])
    data = results.to_gradescope(results.SubmissionResult("s", "/s", lessons={1: lesson}))
    assert (data["score"], data["max_score"]) == (1.0, 3.0)
    assert [t["name"] for t in data["tests"]] == ["lesson1/t.py::a", "lesson1/t.py::b"]
    failed = data["tests"][1]
    assert failed["visibility"] == "after_published" and failed["tags"] == ["pitfall:view-non-contiguous"]
    assert "[lesson1] wrong" in failed["output"] and "hello" in failed["output"]
    assert data["extra_data"]["skipped"] == [{"name": "lesson1/t.py::c", "reason": "needs CUDA"}]


def test_grading_needs_no_solutions_or_graders_on_the_import_path_of_the_parent():
    """Check that the engine runs from any folder (the parent finds the repository by itself)."""
    done = subprocess.run([sys.executable, "-m", "autograder", "--help"], cwd=os.path.expanduser("~"),
                          capture_output=True, text=True)
    assert done.returncode == 0 and "grade" in done.stdout
