"""The lesson table (coursetools/lessons.py): its rows agree with the files, and a new lesson is one folder and one row.

课程表：每一行与仓库中的文件一致；新增一课只需一个文件夹和一行。

The last test adds a lesson 7 (a copy of lesson 1 under the topic `tensors2`) to a copy of the
repository, plus one row of the table and nothing else, and shows that the generator, the public
tests, `course status`, the grading engine and the notebook all pick it up.
"""
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from coursetools import LESSONS, REPO_ROOT, lessons
from coursetools.checks.feedback import PITFALLS
from coursetools.lessons import TABLE, Lesson
from coursetools.text import has_chinese


def test_lessons_are_numbered_from_one_without_gaps():
    """Check the rows are lessons 1, 2, ... N in order, with distinct topics that are module names."""
    assert lessons.numbers() == tuple(range(1, len(TABLE) + 1))
    topics = [row.topic for row in TABLE]
    assert len(set(topics)) == len(topics) and all(t.isidentifier() and t == t.lower() for t in topics)
    assert all(isinstance(row, Lesson) for row in TABLE)


def test_lessons_view_is_the_table():
    """Check coursetools.LESSONS is {number: topic} of the table, read-only."""
    assert dict(LESSONS) == {row.number: row.topic for row in TABLE}
    assert lessons.lesson(3).topic == LESSONS[3]
    with pytest.raises(TypeError):
        LESSONS[len(TABLE) + 1] = "new"  # a lesson is added in the table, not here
    with pytest.raises(KeyError, match="the lessons are 1, 2"):
        lessons.lesson(len(TABLE) + 1)


def test_every_lesson_has_its_source_files_and_nothing_else_is_a_lesson():
    """Check solutions/lessonN/<topic>.py and autograder/lessonN/test_<topic>.py exist for each row, the grader is
    marked lessonN (and no other lesson), and no lessonN folder or kit module is missing from the table."""
    for row in TABLE:
        solution = REPO_ROOT / "solutions" / row.name / f"{row.topic}.py"
        grader = REPO_ROOT / "autograder" / row.name / f"test_{row.topic}.py"
        assert solution.is_file() and grader.is_file(), row
        assert sorted(p.name for p in grader.parent.glob("test_*.py")) == [grader.name]
        markers = set(re.findall(r"pytest\.mark\.(lesson\d+)\b", grader.read_text(encoding="utf-8")))
        assert markers == {row.name}, (row.name, markers)
    for folder in ("solutions", "autograder", "exercises", "nbgrader/source"):
        found = {int(p.name[6:]) for p in (REPO_ROOT / folder).glob("lesson*") if p.name[6:].isdigit()}
        assert found == set(LESSONS), f"{folder}: lesson folders {sorted(found)}, table {sorted(LESSONS)}"
    kits = {int(p.stem[6:]) for p in (REPO_ROOT / "coursetools" / "sandbox" / "kit").glob("lesson*.py")}
    assert kits <= set(LESSONS)


def test_titles_are_bilingual():
    """Check every title has an English and a Chinese text."""
    for row in TABLE:
        assert row.title.en and not has_chinese(row.title.en) and has_chinese(row.title.zh), row
    assert lessons.titles()[1] == (TABLE[0].title.en, TABLE[0].title.zh)


def _marked_mnist(path: Path) -> bool:
    return "pytest.mark.mnist" in path.read_text(encoding="utf-8")


def test_needs_mnist_agrees_with_the_tests():
    """Check needs_mnist is true exactly where the graders carry the `mnist` marker, public_mnist exactly where the
    public tests do (or read `mnist_root`), and the engine refuses to start without the data for those lessons."""
    from autograder.parent.cli import MNIST_LESSONS

    for row in TABLE:
        grader = REPO_ROOT / "autograder" / row.name / f"test_{row.topic}.py"
        public = REPO_ROOT / "exercises" / row.name / f"test_{row.topic}.py"
        assert _marked_mnist(grader) == row.needs_mnist, row.name
        uses = _marked_mnist(public) or "mnist_root" in public.read_text(encoding="utf-8")
        assert uses == row.public_mnist, row.name
        assert row.needs_mnist or not row.public_mnist, row.name  # public tests are a part of the graders
        assert set(row.preload) <= {"torchvision", "mnist"}, row.name
    assert MNIST_LESSONS == {row.number for row in TABLE if row.needs_mnist}


def test_pitfalls_are_known_and_every_one_is_taught():
    """Check each lesson's pitfall slugs are PITFALLS keys, once per lesson, and every pitfall is made somewhere."""
    for row in TABLE:
        assert set(row.pitfalls) <= set(PITFALLS) and len(set(row.pitfalls)) == len(row.pitfalls), row.name
    assert set(lessons.where_made()) == set(PITFALLS)


def test_readme_pitfall_table_lists_the_lessons_of_the_table():
    """Check the README's table of the pitfalls names, for each, the lessons the lesson table gives."""
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    rows = dict(re.findall(r"^\| `([a-z-]+)` \| .* \| ([\d, ]+) \|$", readme, flags=re.M))
    assert set(rows) == set(PITFALLS)
    where = lessons.where_made()
    assert {slug: tuple(int(n) for n in text.split(",")) for slug, text in rows.items()} == where


def test_scheduling_and_limits_come_from_the_table():
    """Check the engine's order and shard costs, and the in-process default limits, are the table's."""
    from autograder.parent import runner, shard

    assert runner.process_groups is lessons.process_groups  # the engine's jobs: the table's groups, longest first
    assert sorted(lessons.grading_order()) == sorted(LESSONS)
    costs = [lessons.lesson(n).cost for n in lessons.grading_order()]
    assert costs == sorted(costs, reverse=True) and all(c > 0 for c in costs)
    assert shard.LESSON_COST == {row.number: row.cost for row in TABLE}
    assert all(row.time_limit > 0 for row in TABLE)


def test_lessons_sharing_a_process_show_it_the_same_files():
    """Check the table's process groups: every lesson in exactly one, the lessons of a group that read MNIST with the
    same secret_mnist (one mount view), the student process loading every lesson's preloads, the longest group first,
    and in each group the longest lesson first, then the others in teaching order."""
    groups = lessons.process_groups(LESSONS)
    assert sorted(n for group in groups for n in group) == sorted(LESSONS)
    for group in groups:
        assert len({lessons.lesson(n).secret_mnist for n in group if lessons.lesson(n).needs_mnist}) <= 1, group
        assert set(lessons.preloads(group)) == {item for n in group for item in lessons.lesson(n).preload}
    assert len(groups) < len(LESSONS)  # some share a student process (one torch start for them)
    costs = [sum(lessons.lesson(n).cost for n in group) for group in groups]
    assert costs == sorted(costs, reverse=True)
    for group in groups:  # the longest first, the others in teaching order
        assert lessons.lesson(group[0]).cost == max(lessons.lesson(n).cost for n in group), group
        assert list(group[1:]) == sorted(group[1:]), group
    assert lessons.process_groups([6, 3]) == [(6, 3)] and lessons.process_groups([4]) == [(4,)]
    assert lessons.process_groups([1, 3]) == [(3,), (1,)]  # lesson 1 goes with lesson 5 (no MNIST of its own)


def test_lesson_markers_are_registered_from_the_table_only():
    """Check pyproject.toml lists no lessonN marker (the pytest plugin registers them from the table)."""
    pyproject = (REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert not re.search(r'"lesson\d+:', pyproject)
    assert lessons.marker_lines()[0].startswith("lesson1: lesson 1, tensors.py")


# ---------------------------------------------------------------- a new lesson: one folder, one row

NEW_ROW = '    Lesson(7, "tensors2", Text("tensors again", "再谈张量"), cost=40, time_limit=20.0),\n'


def _repository_files() -> list:
    """The files of the working tree: tracked and untracked ones that git does not ignore."""
    try:
        listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                                cwd=REPO_ROOT, capture_output=True, check=True, timeout=60).stdout
    except (OSError, subprocess.CalledProcessError) as error:
        pytest.skip(f"not a git checkout ({error}): cannot list the repository's files")
    return sorted({name for name in listed.decode().split("\0") if name and (REPO_ROOT / name).is_file()})


def _copy_repository(dest: Path) -> None:
    for name in _repository_files():
        target = dest / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO_ROOT / name, target)


def _add_lesson_7(root: Path) -> None:
    """Lesson 7 = lesson 1 under the topic tensors2: its two sources, its hints and one row of the table."""
    (root / "solutions" / "lesson7").mkdir()
    for name in ("__init__.py", "hints.toml"):
        shutil.copy(root / "solutions" / "lesson1" / name, root / "solutions" / "lesson7" / name)
    shutil.copy(root / "solutions" / "lesson1" / "tensors.py", root / "solutions" / "lesson7" / "tensors2.py")
    (root / "autograder" / "lesson7").mkdir()
    shutil.copy(root / "autograder" / "lesson1" / "__init__.py", root / "autograder" / "lesson7" / "__init__.py")
    grader = (root / "autograder" / "lesson1" / "test_tensors.py").read_text(encoding="utf-8")
    grader = grader.replace('submission.module("lesson1", "tensors")', 'submission.module("lesson7", "tensors2")')
    grader = grader.replace("lesson1/tensors.py", "lesson7/tensors2.py").replace("pytest.mark.lesson1",
                                                                              "pytest.mark.lesson7")
    (root / "autograder" / "lesson7" / "test_tensors2.py").write_text(grader, encoding="utf-8")
    table = root / "coursetools" / "lessons.py"
    text = table.read_text(encoding="utf-8")
    end = text.index("\n)\n", text.index("TABLE = (")) + 1
    table.write_text(text[:end] + NEW_ROW + text[end:], encoding="utf-8")


#: Runs the cells of a notebook in order in one namespace, as a kernel would: the check cells run the public tests.
RUN_NOTEBOOK = """\
import sys, nbformat
notebook = nbformat.read(sys.argv[1], as_version=4)
namespace = {"__name__": "__main__"}
for cell in notebook.cells:
    if cell.cell_type == "code":
        exec(compile(cell.source, cell.id, "exec"), namespace)
print("checked:", sum(cell.metadata.get("course", {}).get("role") == "check" for cell in notebook.cells))
"""


@pytest.mark.slow
def test_a_new_lesson_is_one_folder_and_one_row(tmp_path):
    """Check that lesson 7 (lesson 1's copy as `tensors2`) plus one table row is all it takes: `generate`,
    `pytest exercises/lesson7`, `course status`, `python -m autograder grade --lessons 7` and the notebook."""
    root = tmp_path / "course"
    _copy_repository(root)
    _add_lesson_7(root)
    env = {key: value for key, value in os.environ.items() if not key.startswith(("COURSE_", "AUTOGRADER_"))}
    env.update(PYTHONPATH=str(root), AUTOGRADER_CACHE=str(tmp_path / "cache"), COURSE_LANG="en",
               PYTHONDONTWRITEBYTECODE="1")

    def run(*args, timeout=300):
        done = subprocess.run([sys.executable, *args], cwd=root, env=env, capture_output=True, text=True,
                              timeout=timeout)
        assert done.returncode == 0, f"{args}: exit {done.returncode}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
        return done.stdout

    # the copy's course is the one imported (not this checkout's installed one)
    where = run("-c", "import coursetools, autograder; print(coursetools.__file__); print(autograder.__file__)")
    assert where.split() == [str(root / "coursetools" / "__init__.py"), str(root / "autograder" / "__init__.py")]

    written = run("-m", "coursetools", "generate")
    for path in ("exercises/lesson7/tensors2.py", "exercises/lesson7/test_tensors2.py", "exercises/lesson7/hints.toml",
                 "nbgrader/source/lesson7/lesson7.ipynb"):
        assert f"wrote {path}" in written, written
    run("-m", "coursetools", "generate", "--check")

    public = run("-m", "pytest", "exercises/lesson7", "--submission", str(root / "solutions"), "-q",
                 "-p", "no:cacheprovider")
    assert re.search(r"\b\d+ passed", public) and "failed" not in public and "error" not in public, public

    exercises = root / "exercises"
    shutil.copy(root / "solutions" / "lesson7" / "tensors2.py", exercises / "lesson7" / "tensors2.py")
    status = run("-m", "coursetools.student.cli", "status", "--exercises", str(exercises))
    assert re.search(r"lesson7 tensors again .*\] (\d+)/\1 .*public tests (\d+)/\2 passing", status), status

    out = tmp_path / "graded"
    run("-m", "autograder", "grade", str(root / "solutions"), "--lessons", "7", "--workers", "1", "--quiet",
        "--out", str(out))
    results = json.loads((out / "results.json").read_text(encoding="utf-8"))
    assert list(results["extra_data"]["lessons"]) == ["7"]
    assert results["max_score"] > 0 and results["score"] == results["max_score"], results["output"]

    notebook = root / "nbgrader" / "source" / "lesson7" / "lesson7.ipynb"
    shown = run("-c", RUN_NOTEBOOK, str(notebook))  # the source notebook: the reference in its exercise cells
    checked = int(re.search(r"checked: (\d+)", shown).group(1))
    assert checked > 0 and shown.count("public test(s) passed") == checked, shown
