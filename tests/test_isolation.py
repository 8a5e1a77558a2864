"""Check that hostile submissions cost only the tests they touch, with a clear message, and the batch goes on.

Each case in tests/hostile/<case>/ is an overlay on solutions/ (see autograder/overlay.py:
`# APPEND` adds code after the reference file, `# REMOVE` deletes it). All cases are
graded in two batches (lessons 1 and 2 with short time limits; lessons 1, 4 and 5),
then each case is checked: which tests failed, what their message says, and that the
lessons it does not touch kept full marks.

检查恶意提交只影响它们触及的测试、给出清楚的信息，且批量评分继续进行。
"""
import json
import time
from pathlib import Path

import pytest

from autograder import overlay
from coursetools import REPO_ROOT

HOSTILE = REPO_ROOT / "tests" / "hostile"
WALLS_ONLY = "needs the bubblewrap sandbox (without it this code would really kill or read the grader)"

#: case -> (lesson it breaks, substrings one of which every failed test's name holds (None: any), substring of
#: every failed test's output)
CASES = {
    "syntax-error": (1, None, "syntax error"),
    "import-error": (2, None, "boom while importing"),
    "missing-file": (2, None, "is missing from the submission"),
    "missing-name": (1, "multiply", "`multiply` is not defined"),
    "wrong-return-type": (1, "flatten_images", "list"),
    "infinite-loop": (2, "square_grad", "square_grad"),  # "ran longer than", later "again" or "cut short"
    "loop-filled": (1, "filled", "filled"),  # every call loops: one limit, two leashes, the rest cut short
    "import-hang": (2, None, "while setting up the test"),
    "sys-exit": (1, "scalar_tensor", "sys.exit(3)"),
    "os-exit": (2, "zero_grads", "exited with status 7"),
    "os-exit-zero": (2, "zero_grads", "exited with status 0"),  # at once, not at the test's limit
    "memory-hog": (1, "add_channel_dim", "allocate"),
    "print-flood": (1, "multiply", "printed more than"),
    "monkeypatch-torch": (2, None, ""),  # only the student's own torch changes: its gradients are wrong
    "patch-grader": (1, "flatten_images", "flatten_images"),  # the checks are not in its process to patch
    "write-results": (None, None, None),
    "read-hidden-tests": (None, None, None),
    "kill-grader": (2, "accumulated_grad", ""),  # it can reach its own sandbox only: that test fails, nothing else
    "nan-loss": (5, ("train_one_epoch", "train_mnist"), ""),  # train_mnist runs the student's loop
    "import-reference": (4, None, "No module named 'solutions"),
}
SLOW_LESSONS = {"nan-loss", "import-reference"}  # graded with lessons 1, 4, 5 instead of 1, 2
#: Not even run without the sandbox: without its PID namespace and show-list this code really would kill
#: the grader (and pytest) and read the graders.
WALLS_ONLY_CASES = {"kill-grader", "read-hidden-tests"}


def _walls() -> bool:
    from autograder.lesson import launch

    return not launch.bwrap_available()


def test_every_hostile_case_is_listed():
    """Check that each folder in tests/hostile has its expectations here, and the other way round."""
    assert sorted(p.name for p in HOSTILE.iterdir() if p.is_dir()) == sorted(CASES)


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """{case: results.json} for every hostile case, graded in two batches."""
    results = {}
    runnable = [c for c in CASES if _walls() or c not in WALLS_ONLY_CASES]
    for cases, options in (
        ([c for c in runnable if c not in SLOW_LESSONS], ["--lessons", "1", "2", "--timeout-factor", "0.1"]),
        (sorted(SLOW_LESSONS), ["--lessons", "1", "4", "5"]),
    ):
        submissions = tmp_path_factory.mktemp("hostile")
        for case in cases:
            overlay.build(HOSTILE / case, submissions / case)
        out = tmp_path_factory.mktemp("hostile-out")
        results.update(overlay.grade_batch(submissions, out, "--workers", "2", *options))
        results.setdefault("_out", []).append(out)
    time.sleep(3)  # a daemon left by write-results would strike now
    return results


def _lesson_of(test, case):
    """train_mnist is the student's whole pipeline: it also fails when lesson 3 or 4 is broken (CURRICULUM.md)."""
    if CASES[case][0] in (3, 4) and "train_mnist" in test["name"]:
        return CASES[case][0]
    return test["extra_data"]["lesson"]


def _skip_unless_root(case):
    if case in WALLS_ONLY_CASES and not _walls():
        pytest.skip(WALLS_ONLY)


@pytest.mark.slow
@pytest.mark.parametrize("case", sorted(CASES))
def test_hostile_case_is_contained(graded, case):
    """Check that the case fails only the tests it touches, says why, and leaves other lessons whole."""
    _skip_unless_root(case)
    result = graded[case]
    lesson, name_part, says = CASES[case]
    assert result["extra_data"]["complete"], f"{case}: grading did not complete: {result['output']}"
    failed = [t for t in result["tests"] if t["status"] == "failed"]
    for test in failed:
        assert _lesson_of(test, case) == lesson, f"{case}: {test['name']} failed:\n{test['output']}"
        if name_part:
            parts = (name_part,) if isinstance(name_part, str) else name_part
            assert any(part in test["name"] for part in parts), f"{case}: {test['name']} failed:\n{test['output']}"
        assert says in test["output"], f"{case}: {test['name']} says:\n{test['output']}"
    if lesson is not None:
        assert failed, f"{case}: no test failed"
    for number, summary in result["extra_data"]["lessons"].items():
        if int(number) != lesson and not any(_lesson_of(t, case) == lesson for t in failed
                                             if t["extra_data"]["lesson"] == int(number)):
            assert summary["score"] == summary["max_score"] > 0, f"{case}: lesson{number} lost points"


@pytest.mark.slow
def test_results_files_are_the_graders_after_a_student_overwrote_them(graded):
    """Check that results.json and gradebook.csv hold the engine's output, not the student's, after grading."""
    for out in graded["_out"]:
        gradebook = (out / "gradebook.csv").read_text(encoding="utf-8")
        assert gradebook.startswith("submission,lesson1"), gradebook[:200]
        for folder in out.iterdir():
            if folder.is_dir() and folder.name != "report":  # report/: the class report, written by the engine
                data = json.loads((folder / "results.json").read_text(encoding="utf-8"))
                assert data["score"] <= data["max_score"] and data["tests"], folder
    assert graded["write-results"]["score"] == graded["write-results"]["max_score"]


@pytest.mark.slow
def test_results_json_is_strict_json_after_a_nan_loss(graded):
    """Check that a NaN loss leaves no NaN in results.json (Gradescope needs strict JSON)."""
    for out in graded["_out"]:
        text = (Path(out) / "nan-loss" / "results.json").read_text(encoding="utf-8") \
            if (Path(out) / "nan-loss").is_dir() else "{}"
        json.loads(text, parse_constant=lambda name: pytest.fail(f"{name} in results.json"))


@pytest.mark.slow
def test_student_code_cannot_import_the_reference(graded):
    """Check that `from solutions... import *` fails inside the sandbox, costing that lesson only."""
    tests = [t for t in graded["import-reference"]["tests"] if t["extra_data"]["lesson"] == 4]
    assert tests and all(t["status"] == "failed" for t in tests)


@pytest.mark.slow
def test_student_code_cannot_read_the_hidden_tests(graded):
    """Check that reading the graders' files, their source through frames, or importing them fails."""
    _skip_unless_root("read-hidden-tests")
    result = graded["read-hidden-tests"]
    leaks = [t["output"] for t in result["tests"] if "LEAKED" in t["output"]]
    assert not leaks, leaks[0]
    assert result["score"] == result["max_score"]


def test_answers_installed_where_the_sandbox_looks_are_covered_there(tmp_path, monkeypatch):
    """Check that `solutions` and `autograder` in a shown folder of the import path (a course installed without -e,
    `pip install .`, puts them in site-packages) are empty in the sandbox, while without the cover a sandboxed
    process reads them (the attack the cover stops)."""
    import shutil
    import subprocess
    import sys

    from autograder.lesson import launch

    site = tmp_path / "site"
    answer = site / "solutions" / "lesson1" / "tensors.py"
    answer.parent.mkdir(parents=True)
    answer.write_text("ANSWER = 'the reference'\n", encoding="utf-8")
    (site / "autograder").mkdir()
    (site / "autograder" / "hidden.py").write_text("HIDDEN = 'a grader'\n", encoding="utf-8")
    (site / "coursetools").mkdir()
    cover = launch.hide_answers([str(site)], path=[str(site)])
    assert cover == ["--tmpfs", str(site / "solutions"), "--remount-ro", str(site / "solutions"),
                     "--tmpfs", str(site / "autograder"), "--remount-ro", str(site / "autograder")]
    assert launch.hide_answers([str(tmp_path / "elsewhere")], path=[str(site)]) == []  # not shown: nothing to cover
    monkeypatch.setattr(launch, "course_paths", lambda: [str(site)])
    monkeypatch.setattr(sys, "path", [str(site), *sys.path])
    argv = launch.bwrap_argv(launch.Plan(root=str(tmp_path / "submission")), 3)
    assert " ".join(cover) in " ".join(argv[:argv.index("--")])
    if not shutil.which("bwrap") or subprocess.run(["bwrap", "--ro-bind", "/", "/", "true"]).returncode:
        pytest.skip("bubblewrap cannot start here (install the Debian package bubblewrap)")
    walls = ["bwrap", "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc"]
    read = ["--", "cat", str(answer), str(site / "autograder" / "hidden.py")]
    bare = subprocess.run(walls + read, capture_output=True, text=True)
    assert "the reference" in bare.stdout and "a grader" in bare.stdout  # without the cover: read
    covered = subprocess.run(walls + cover + read, capture_output=True, text=True)
    assert covered.returncode != 0 and not covered.stdout, covered.stdout
