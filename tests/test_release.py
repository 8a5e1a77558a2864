"""The student release end to end: `python -m coursetools release OUT`, installed with its own README's command in a
fresh venv, used as a student would (pytest, `course status`), solved lessons passing, and no answer anywhere in it.

The fresh venv has no site-packages of its own but a .pth naming this venv's (torch, torchvision, jupyterlab...
already installed): `pip install -e .`, the README's command, then installs the release itself and downloads nothing
else (nor puts a `pytest` script in the venv: the tests run `python -m pytest`, the same pytest). The README's
other pip line (PyTorch's CPU index) is not run: this machine reaches PyPI only, and CI's
CPU-only venv (scripts/cpu-venv.sh) is checked by tests/test_box.py.
"""
import os
import re
import shutil
import subprocess
import sys
import sysconfig

import nbformat
import pytest

from coursetools import LESSONS, REPO_ROOT
from coursetools.regions import HIDDEN, SOLUTION, find_regions, make_stub, strip_hidden

SHIPPED = {"README.md", "pyproject.toml", ".gitignore", "LICENSE", "exercises", "notebooks", "coursetools",
           "course_data"}
NEVER = ("solutions", "autograder", "nbgrader", "tests", "harness", "benchmarks", "deploy", ".git", "build",
         "coursetools/authoring", "coursetools/__main__.py", "course_data/MNIST", "course_data/digits")


def _run(args, cwd, env=None, timeout=600):
    return subprocess.run([str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def release(tmp_path_factory):
    out = tmp_path_factory.mktemp("release") / "template"
    run = _run([sys.executable, "-m", "coursetools", "release", out], REPO_ROOT)
    assert run.returncode == 0, run.stdout + run.stderr
    return out


def _lines(text: str) -> set:
    return {line.strip() for line in text.splitlines() if line.strip()}


def _region_lines(text: str, path, kind: str) -> set:
    """Stripped code lines inside `kind` regions (no comments, no marker lines)."""
    lines = text.splitlines()
    return {lines[n - 1].strip() for region in find_regions(text, path, kind) for n in range(region.begin, region.end + 1)
            if lines[n - 1].strip() and not lines[n - 1].strip().startswith("#") and kind not in lines[n - 1]}


def answers() -> dict:
    """{line: where} for every line of a solution region of solutions/ or a hidden region of autograder/ that the
    repository has nowhere outside those regions (a line that is also public, `return model` in the course's tools
    or a public test's own oracle, gives nothing away by being released)."""
    secret, public = {}, set()
    for folder in ("coursetools", "course_data"):
        public |= {line for p in (REPO_ROOT / folder).rglob("*.py") for line in _lines(p.read_text(encoding="utf-8"))}
    for lesson, topic in LESSONS.items():
        for path, kind, without in ((REPO_ROOT / "solutions" / f"lesson{lesson}" / f"{topic}.py", SOLUTION, make_stub),
                                    (REPO_ROOT / "autograder" / f"lesson{lesson}" / f"test_{topic}.py", HIDDEN,
                                     strip_hidden)):
            rel, text = path.relative_to(REPO_ROOT).as_posix(), path.read_text(encoding="utf-8")
            public |= _lines(without(text, rel))
            for line in _region_lines(text, rel, kind):
                secret.setdefault(line, rel)
    return {line: where for line, where in secret.items() if line not in public}


def released_lines(root) -> dict:
    """{stripped line: first file} of every file under `root`: notebooks by their cells' sources and outputs."""
    found = {}
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        rel = path.relative_to(root).as_posix()
        if path.suffix == ".ipynb":
            notebook = nbformat.read(str(path), as_version=4)
            texts = [cell.source for cell in notebook.cells]
            texts += [str(output.get("text", "")) + str(output.get("data", {})) for cell in notebook.cells
                      for output in cell.get("outputs", [])]
            text = "\n".join(texts)
        else:
            text = path.read_bytes().decode("utf-8", "replace")
        for line in text.splitlines():
            found.setdefault(line.strip(), rel)
    return found


def leaks(root) -> list:
    shipped = released_lines(root)
    return sorted(f"{shipped[line]}: {line!r} (from {where})" for line, where in answers().items() if line in shipped)


def test_release_holds_what_students_get_and_nothing_else(release):
    """Check the top of the template: stubs, public tests, notebooks, tools, data package; no reference, no grader."""
    assert {p.name for p in release.iterdir()} == SHIPPED
    assert not [name for name in NEVER if (release / name).exists()]
    for lesson, topic in LESSONS.items():
        for name in (f"exercises/lesson{lesson}/{topic}.py", f"exercises/lesson{lesson}/test_{topic}.py",
                     f"notebooks/lesson{lesson}/lesson{lesson}.ipynb"):
            assert (release / name).is_file(), name
    assert not [p for p in release.rglob("*") if p.is_file() and p.stat().st_size > 2**20]  # no MNIST binaries
    for folder in ("exercises", "notebooks"):  # the marker words live only in coursetools/regions.py (the parser)
        for path in (p for p in (release / folder).rglob("*") if p.is_file()):
            text = path.read_text(encoding="utf-8")
            assert SOLUTION not in text and HIDDEN not in text, path


def test_release_holds_no_line_of_a_solution_or_a_hidden_test(release):
    """Check every file, notebooks included, against every line of every solution region and hidden region."""
    assert len(answers()) > 100, len(answers())  # the scan has something to look for
    found = leaks(release)
    assert not found, "the release gives answers away:\n" + "\n".join(found)


def test_the_leak_scan_finds_a_solution_and_a_hidden_test(release, tmp_path):
    """Check the scan can fail: a release whose lesson 1 stub is the reference and whose public tests are the
    grader's whole file is caught, both ways."""
    planted = tmp_path / "planted"
    shutil.copytree(release, planted)
    shutil.copy2(REPO_ROOT / "solutions" / "lesson1" / "tensors.py", planted / "exercises" / "lesson1" / "tensors.py")
    shutil.copy2(REPO_ROOT / "autograder" / "lesson2" / "test_autograd.py", planted / "notebooks" / "grader.py")
    found = leaks(planted)
    assert any("solutions/lesson1/tensors.py" in leak for leak in found), found
    assert any("autograder/lesson2/test_autograd.py" in leak for leak in found), found


@pytest.fixture(scope="module")
def student_venv(release, tmp_path_factory):
    """A fresh venv with the release installed by its README's command (dependencies from this venv, see above)."""
    venv = tmp_path_factory.mktemp("student") / "venv"
    made = _run([sys.executable, "-m", "venv", venv], release)
    assert made.returncode == 0, made.stderr
    site = next((venv / "lib").glob("python3*/site-packages"))
    (site / "course_dependencies.pth").write_text(sysconfig.get_path("purelib") + "\n")
    readme = (release / "README.md").read_text(encoding="utf-8")
    commands = re.findall(r"^pip install (.+?)\s*(?:#.*)?$", readme, re.MULTILINE)
    assert "-e ." in commands and any("download.pytorch.org/whl/cpu" in c for c in commands), commands
    installed = _run([venv / "bin" / "pip", "install", "--quiet", "-e", "."], release)
    assert installed.returncode == 0, installed.stdout + installed.stderr
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "COURSE_EXERCISES")}
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env['PATH']}"
    env["COURSE_DATA_ROOT"] = str(REPO_ROOT / "course_data")  # MNIST prepared once for the suite
    where = _run([venv / "bin" / "python", "-c", "import coursetools, course_data; print(coursetools.__file__); "
                  "print(course_data.__file__)"], release, env)
    assert where.returncode == 0 and all(line.startswith(str(release)) for line in where.stdout.split()), where
    return venv, env


def test_fresh_stubs_say_not_implemented_yet_in_one_line_each(release, student_venv):
    """Check `pytest exercises/lesson1` in the installed release: every function fails with its one-line message."""
    venv, env = student_venv
    run = _run([venv / "bin" / "python", "-m", "pytest", "exercises/lesson1"], release, env)
    output = run.stdout + run.stderr
    assert run.returncode == 1, output[-3000:]
    assert "Traceback" not in output and "passed" not in output.splitlines()[-1], output[-3000:]
    stubbed = {name for name in re.findall(r"`?(\w+)`? is not implemented yet", output)}
    assert {"scalar_tensor", "filled", "flatten_images", "to_numpy"} <= stubbed, output[-3000:]


def test_course_status_works_in_the_release(release, student_venv):
    """Check `course status` in the installed release names every lesson and runs no grader."""
    venv, env = student_venv
    run = _run([venv / "bin" / "course", "status"], release, env)
    assert run.returncode == 0, run.stdout + run.stderr
    assert all(f"lesson{n}" in run.stdout or f"Lesson {n}" in run.stdout for n in LESSONS), run.stdout
    assert "Traceback" not in run.stdout + run.stderr


@pytest.mark.slow
@pytest.mark.mnist
def test_solved_lessons_pass_their_public_tests_in_the_release(release, student_venv):
    """Check the reference, copied over the stubs of a copy of exercises/, passes every public test there."""
    venv, env = student_venv
    import course_data

    if not course_data.mnist_ready():
        pytest.skip("MNIST is not prepared (python -m course_data)")
    solved = release / "solved"
    shutil.copytree(release / "exercises", solved)
    try:
        for lesson, topic in LESSONS.items():
            shutil.copy2(REPO_ROOT / "solutions" / f"lesson{lesson}" / f"{topic}.py",
                         solved / f"lesson{lesson}" / f"{topic}.py")
        run = _run([venv / "bin" / "python", "-m", "pytest", "-q", "solved"], release, env)
        output = run.stdout + run.stderr
        assert run.returncode == 0 and " passed" in output and "failed" not in output, output[-3000:]
    finally:
        shutil.rmtree(solved)


def test_the_template_commits_as_it_is_without_prepared_data(release, tmp_path):
    """Check `git init; git add -A` on the template takes every released file, and no prepared MNIST, progress file
    or venv once the student has made them."""
    repo = tmp_path / "repo"
    shutil.copytree(release, repo, ignore=shutil.ignore_patterns("*.egg-info", "__pycache__"))
    made = ["course_data/MNIST/raw/train-images-idx3-ubyte", "course_data/digits/labels.txt",
            ".course-progress.json", ".venv/bin/python", "notebooks/lesson1/.ipynb_checkpoints/lesson1-checkpoint.ipynb"]
    for name in made:
        (repo / name).parent.mkdir(parents=True, exist_ok=True)
        (repo / name).write_text("made by the student's tools\n")
    git = ["git", "-c", "init.defaultBranch=main"]
    assert _run([*git, "init", "-q"], repo).returncode == 0
    assert _run([*git, "add", "-A"], repo).returncode == 0
    staged = set(_run([*git, "diff", "--cached", "--name-only"], repo).stdout.split())
    shipped = {p.relative_to(release).as_posix() for p in release.rglob("*")
               if p.is_file() and "__pycache__" not in p.parts and ".egg-info" not in p.as_posix()}
    assert staged == shipped, (sorted(staged - shipped), sorted(shipped - staged))
