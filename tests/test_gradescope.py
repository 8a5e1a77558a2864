"""The Gradescope bundle (`python -m autograder gradescope-bundle`), unpacked into a folder laid out as
Gradescope's /autograder, and its `run_autograder` run on real uploads with this venv's Python
(setup.sh's installs are skipped: AUTOGRADER_PYTHON points at the current interpreter). Only lessons
1 and 2 are graded (AUTOGRADER_LESSONS), to keep the file fast. Every results.json is checked
against the fields of https://gradescope-autograders.readthedocs.io/en/latest/specs/.
"""
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from autograder.parent import gradescope
from coursetools import REPO_ROOT

VISIBILITY = {"hidden", "after_due_date", "after_published", "visible"}


def check_gradescope_format(results: dict) -> None:
    """Fail unless `results` follows Gradescope's results.json specification."""
    assert isinstance(results.get("score"), (int, float)) and results["score"] >= 0
    assert isinstance(results.get("tests"), list)
    for key in ("visibility", "stdout_visibility"):
        assert key not in results or results[key] in VISIBILITY, (key, results[key])
    assert isinstance(results.get("output", ""), str)
    json.dumps(results, allow_nan=False)  # strict JSON: no NaN or Infinity
    for test in results["tests"]:
        assert isinstance(test["name"], str) and test["name"]
        assert isinstance(test["score"], (int, float)) and isinstance(test["max_score"], (int, float))
        assert 0 <= test["score"] <= test["max_score"]
        assert test["status"] in {"passed", "failed"}
        assert test["status"] == ("passed" if test["score"] == test["max_score"] else "failed"), test
        assert isinstance(test.get("output", ""), str)
        assert all(isinstance(tag, str) for tag in test.get("tags", []))
        assert test.get("visibility", "visible") in VISIBILITY
    if results["tests"]:
        assert results["score"] == pytest.approx(sum(t["score"] for t in results["tests"]))


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    """The bundle as an instructor builds it: `calibrate` on this machine (lessons 1 and 2, in a cache folder of
    its own), then `gradescope-bundle`, which ships the reference's times."""
    env = {**os.environ, "AUTOGRADER_CACHE": str(tmp_path_factory.mktemp("cache")), "PYTHONHASHSEED": "0"}
    subprocess.run([sys.executable, "-m", "autograder", "calibrate", "--lessons", "1", "2", "--quiet"], cwd=REPO_ROOT,
                   env=env, check=True, capture_output=True, timeout=900)
    out = tmp_path_factory.mktemp("bundle") / "autograder.zip"
    subprocess.run([sys.executable, "-m", "autograder", "gradescope-bundle", "--out", str(out)], cwd=REPO_ROOT,
                   env=env, check=True, capture_output=True, timeout=300)
    return out


@pytest.fixture
def autograder_root(bundle, tmp_path):
    """A folder laid out like Gradescope's /autograder: source/ (the unpacked zip), submission/, results/."""
    root = tmp_path / "autograder"
    with zipfile.ZipFile(bundle) as archive:
        archive.extractall(root / "source")
    (root / "submission").mkdir()
    return root


def run_autograder(root: Path, python=sys.executable, lessons="1 2", **extra) -> dict:
    env = {**os.environ, "AUTOGRADER_ROOT": str(root), "AUTOGRADER_PYTHON": str(python), "AUTOGRADER_LESSONS": lessons,
           **extra}
    env.pop("COURSE_SUBMISSION", None)
    if "AUTOGRADER_CACHE" not in extra:  # the image's own cache ($AUTOGRADER_ROOT/cache), as on Gradescope
        env.pop("AUTOGRADER_CACHE", None)
    done = subprocess.run(["bash", str(root / "source" / "run_autograder")], cwd=root, env=env,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    results = json.loads((root / "results" / "results.json").read_text(encoding="utf-8"))
    check_gradescope_format(results)
    return results


def test_bundle_holds_the_scripts_at_its_root_and_the_engine_but_no_data_or_solutions(bundle):
    """Check the zip: setup.sh and an executable run_autograder at the root, the graders, no MNIST, no solutions."""
    with zipfile.ZipFile(bundle) as archive:
        names = set(archive.namelist())
        modes = {info.filename: info.external_attr >> 16 for info in archive.infolist()}
    assert {"setup.sh", "calibrate.sh", "reference-times.json", "run_autograder", "pyproject.toml",
            "autograder/lesson5/test_train.py",
            "autograder/parent/gradescope.py", "coursetools/checks/pytest_plugin.py", "course_data/__main__.py"} <= names
    assert modes["run_autograder"] & 0o111 and modes["setup.sh"] & 0o111
    assert not [n for n in names if n.startswith(("solutions/", "exercises/")) or "/MNIST/" in n or "__pycache__" in n]
    assert bundle.stat().st_size < 2_000_000


def _calibrate_image(root: Path, python=sys.executable):
    """setup.sh's calibration step (calibrate.sh) in the unpacked bundle, with the image's own cache folder."""
    env = {**os.environ, "AUTOGRADER_ROOT": str(root), "AUTOGRADER_PYTHON": str(python)}
    env.pop("AUTOGRADER_CACHE", None)
    return subprocess.run(["bash", str(root / "source" / "calibrate.sh")], cwd=root, env=env, capture_output=True,
                          text=True, timeout=300)


def test_the_image_is_calibrated_from_the_shipped_times_without_the_reference(autograder_root):
    """Check calibrate.sh in the unpacked bundle (no solutions/): limits from the reference's times measured at
    build time, scaled by the speed probe; an endless loop in `filled` then costs its calibrated 10 s, not 60 s."""
    source = autograder_root / "source"
    assert not (source / "solutions").exists() and 'bash "$SOURCE/calibrate.sh"' in (source / "setup.sh").read_text()
    shipped = json.loads((source / "reference-times.json").read_text(encoding="utf-8"))
    assert shipped["probe"] > 0 and any(name.startswith("lesson1/") for name in shipped["seconds"])
    done = _calibrate_image(autograder_root)
    assert done.returncode == 0, done.stdout + done.stderr
    [made] = (autograder_root / "cache").glob("calibration-*-cpu.json")
    calibration = json.loads(made.read_text(encoding="utf-8"))
    scale = calibration["scaled_from"]["scale"]
    assert set(calibration["limits"]) == set(shipped["seconds"]) and scale >= 0.5
    for name, seconds in shipped["seconds"].items():
        assert calibration["seconds"][name] == pytest.approx(seconds * scale, rel=2e-3, abs=0.002)
    (autograder_root / "submission" / "tensors.py").write_text(
        (REPO_ROOT / "solutions" / "lesson1" / "tensors.py").read_text(encoding="utf-8")
        + "\n\ndef filled(shape, kind):\n    while True:\n        pass\n", encoding="utf-8")
    results = run_autograder(autograder_root, lessons="1")
    first = next(t for t in results["tests"] if t["status"] == "failed")
    limit = calibration["limits"][first["name"]]
    assert limit < 60 and f"filled ran longer than {limit:g} s" in first["output"], first["output"]


def test_a_failed_calibration_stops_the_image_setup_with_a_message(autograder_root):
    """Check that calibrate.sh (under setup.sh's `set -e`) fails loudly on unreadable shipped times."""
    (autograder_root / "source" / "reference-times.json").write_text("{not json", encoding="utf-8")
    done = _calibrate_image(autograder_root)
    assert done.returncode != 0
    assert "cannot read the reference's times" in done.stderr and "the image is not ready" in done.stderr


def test_a_bundle_without_a_calibration_here_is_refused_unless_asked_for(tmp_path):
    """Check gradescope-bundle on a machine without a calibration: exit 2 naming `calibrate`; with
    --graders-time-limits a bundle whose calibrate.sh says the graders' own limits apply."""
    env = {**os.environ, "AUTOGRADER_CACHE": str(tmp_path / "empty-cache")}
    refused = subprocess.run([sys.executable, "-m", "autograder", "gradescope-bundle", "--out", str(tmp_path / "a.zip")],
                             cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert refused.returncode == 2 and "python -m autograder calibrate" in refused.stderr
    assert not (tmp_path / "a.zip").exists()
    built = subprocess.run([sys.executable, "-m", "autograder", "gradescope-bundle", "--graders-time-limits", "--out",
                            str(tmp_path / "b.zip")], cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert built.returncode == 0, built.stderr
    with zipfile.ZipFile(tmp_path / "b.zip") as archive:
        archive.extractall(tmp_path / "root" / "source")
    done = _calibrate_image(tmp_path / "root")
    assert done.returncode == 0 and "the graders' own time limits apply" in done.stdout


def test_bundle_runs_its_own_copy_of_the_engine(autograder_root):
    """Check that run_autograder's working folder imports the engine from the bundle, not from the repository."""
    where = subprocess.run([sys.executable, "-c", "import autograder, coursetools; print(autograder.__file__); "
                            "print(coursetools.REPO_ROOT)"], cwd=autograder_root / "source",
                           capture_output=True, text=True, check=True).stdout.split()
    assert where == [str(autograder_root / "source" / "autograder" / "__init__.py"), str(autograder_root / "source")]


def test_solution_files_loose_and_in_lesson_folders_get_full_marks(autograder_root):
    """Check an upload of tensors.py at the top level and lesson2/autograd.py: every test of lessons 1 and 2 passes."""
    submission = autograder_root / "submission"
    shutil.copy(REPO_ROOT / "solutions" / "lesson1" / "tensors.py", submission)
    (submission / "lesson2").mkdir()
    shutil.copy(REPO_ROOT / "solutions" / "lesson2" / "autograd.py", submission / "lesson2")
    (submission / "notes.txt").write_text("not a lesson file")
    results = run_autograder(autograder_root)
    assert results["tests"] and all(t["status"] == "passed" for t in results["tests"])
    assert results["score"] == results["max_score"] > 0
    assert {t["name"].split("/")[0] for t in results["tests"]} == {"lesson1", "lesson2"}
    assert "lesson1/tensors.py <- tensors.py" in results["output"]
    assert {t["visibility"] for t in results["tests"]} == {"visible", "after_published"}


def test_zip_of_fresh_exercises_scores_zero_with_not_implemented(autograder_root):
    """Check a zip of the untouched exercises/ folder: 0 points, every test failed, the stubs named."""
    with zipfile.ZipFile(autograder_root / "submission" / "exercises.zip", "w") as archive:
        for path in (REPO_ROOT / "exercises").rglob("*.py"):
            archive.write(path, Path("exercises") / path.relative_to(REPO_ROOT / "exercises"))
    results = run_autograder(autograder_root)
    assert results["score"] == 0 and results["tests"]
    assert all(t["status"] == "failed" for t in results["tests"])
    assert "lesson2/autograd.py <- exercises.zip/exercises/lesson2/autograd.py" in results["output"]
    assert any("not implemented" in t["output"].lower() or "NotImplementedError" in t["output"]
               for t in results["tests"])


def test_upload_without_lesson_files_gets_zero_and_says_what_to_upload(autograder_root):
    """Check an upload with no lesson file: a valid results.json, 0 points, the expected file names."""
    (autograder_root / "submission" / "answers.txt").write_text("hello")
    results = run_autograder(autograder_root)
    assert results["score"] == 0 and results["tests"] == []
    assert "lesson1/tensors.py" in results["output"] and "没有找到" in results["output"]


def test_grader_crash_still_leaves_a_valid_results_json(autograder_root):
    """Check that a broken engine (its runner.py raises at import) gives 0 points and a clear message."""
    (autograder_root / "source" / "autograder" / "parent" / "runner.py").write_text('raise RuntimeError("a broken engine")\n')
    shutil.copy(REPO_ROOT / "solutions" / "lesson1" / "tensors.py", autograder_root / "submission")
    results = run_autograder(autograder_root)
    assert results["score"] == 0 and "Grading could not complete" in results["output"]


def test_missing_python_still_leaves_a_valid_results_json(autograder_root):
    """Check that run_autograder writes results.json even when its Python does not exist."""
    results = run_autograder(autograder_root, python=autograder_root / "no-such-python")
    assert results["score"] == 0 and "could not start" in results["output"]


def test_a_file_in_its_lesson_folder_wins_over_a_loose_copy(tmp_path):
    """Check shape_submission's choice among files of one name: lessonN/ first, then the shallowest."""
    upload, dest = tmp_path / "upload", tmp_path / "shaped"
    (upload / "old" / "deep").mkdir(parents=True)
    (upload / "lesson1").mkdir()
    (upload / "tensors.py").write_text("loose = True\n")
    (upload / "lesson1" / "tensors.py").write_text("in_folder = True\n")
    (upload / "old" / "deep" / "model.py").write_text("deep = True\n")
    (upload / "old" / "model.py").write_text("shallow = True\n")
    found = gradescope.shape_submission(upload, dest)
    assert found == {"lesson1/tensors.py": "lesson1/tensors.py", "lesson4/model.py": "old/model.py"}
    assert (dest / "lesson1" / "tensors.py").read_text() == "in_folder = True\n"
    assert (dest / "lesson4" / "model.py").read_text() == "shallow = True\n"


@pytest.mark.slow
@pytest.mark.parametrize("case", ["forge-replies", "read-reference", "patch-harness"])
def test_red_team_uploads_score_no_more_than_honest_code(bundle, tmp_path, case):
    """Check red-team submissions (tests/redteam/) uploaded to the bundle: no test passes that the honest code fails."""
    from autograder import overlay

    scores = {}
    for name in ("_honest", case):
        root = tmp_path / name
        with zipfile.ZipFile(bundle) as archive:
            archive.extractall(root / "source")
        built = overlay.build(REPO_ROOT / "tests" / "redteam" / name, tmp_path / f"{name}-files",
                              reference=REPO_ROOT / "tests" / "redteam" / "_honest") if name != "_honest" \
            else REPO_ROOT / "tests" / "redteam" / "_honest"
        shutil.copytree(built, root / "submission")
        scores[name] = run_autograder(root)
    honest, attack = scores["_honest"], scores[case]
    assert attack["max_score"] == honest["max_score"]
    base = {t["name"]: t["status"] for t in honest["tests"]}
    gained = [t["name"] for t in attack["tests"] if t["status"] == "passed" and base.get(t["name"]) != "passed"]
    assert not gained, f"{case} passed tests the honest code fails: {gained}"
    assert attack["score"] <= honest["score"]


@pytest.mark.slow
def test_a_run_past_the_time_budget_still_reports_every_finished_test(autograder_root):
    """Check AUTOGRADER_TIMEOUT: an upload with an endless loop is stopped with SIGTERM at the budget, and
    results.json still holds the tests that finished (with their points), says the time ran out, and keeps
    the maximum score of a complete run."""
    source = (REPO_ROOT / "solutions" / "lesson2" / "autograd.py").read_text(encoding="utf-8")
    start = source.index("def sgd_step")
    body = source.index('    """\n', source.index('"""', start) + 3) + len('    """\n')
    (autograder_root / "submission" / "autograd.py").write_text(
        source[:body] + "    while True:\n        pass\n" + source[body:], encoding="utf-8")
    results = run_autograder(autograder_root, lessons="2", AUTOGRADER_TIMEOUT="25")
    assert "time ran out" in results["output"] and "时间已用完" in results["output"]
    passed = [t for t in results["tests"] if t["status"] == "passed"]
    assert passed and results["score"] == sum(t["score"] for t in passed) > 0
    full = subprocess.run([sys.executable, "-m", "autograder", "grade", "solutions", "--lessons", "2", "--quiet",
                           "--out", autograder_root / "reference"], cwd=REPO_ROOT, capture_output=True, text=True)
    reference = json.loads((autograder_root / "reference" / "results.json").read_text(encoding="utf-8"))
    assert full.returncode == 0 and results["max_score"] == reference["max_score"] == reference["score"]
    assert any("not graded yet" in t["output"] or "timed out" in t["output"] or "stopped" in t["output"]
               for t in results["tests"] if t["status"] == "failed")


@pytest.mark.slow
def test_kit_rebinding_on_stubs_scores_zero_in_the_bundle(autograder_root, tmp_path):
    """Check the on-stubs red team (tests/redteam/_on-stubs/kit-rebinding) uploaded to the bundle: the stubs' 0."""
    from autograder import overlay

    built = overlay.build(REPO_ROOT / "tests" / "redteam" / "_on-stubs" / "kit-rebinding", tmp_path / "upload",
                          reference=REPO_ROOT / "exercises")
    for lesson in ("lesson1", "lesson2"):
        shutil.copytree(built / lesson, autograder_root / "submission" / lesson)
    results = run_autograder(autograder_root)
    assert results["max_score"] > 0 and results["tests"]
    assert results["score"] == 0, [t["name"] for t in results["tests"] if t["score"]]
