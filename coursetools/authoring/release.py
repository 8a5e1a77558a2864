"""`python -m coursetools release OUT`: what students get, as a template repository a course can push as it is.

    exercises/lessonN/      stubs, public tests, hints          (generated now from solutions/ and autograder/)
    notebooks/lessonN/      the notebooks as students get them  (nbgrader generate_assignment, run on a copy)
    coursetools/            the student-side tools: the `course` command, the check cells' kernel code, the
                            pytest plugin and its checks, the sandbox kit, the shared base (not authoring/)
    course_data/            the package that prepares MNIST (the data itself is made by `python -m course_data`)
    README.md, pyproject.toml, .gitignore, LICENSE

Nothing of solutions/, autograder/, nbgrader/source, tests/, harness/, benchmarks/, deploy/ or the history.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

from coursetools import LESSONS, REPO_ROOT
from coursetools.authoring.generate import generated_files
from coursetools.authoring.notebooks import notebook_files

#: Folders of coursetools/ that only the authors use (the release leaves them out) and files likewise.
AUTHORING_ONLY = ("authoring", "__main__.py")
#: Dependencies of the course an instructor needs and a student does not.
INSTRUCTOR_ONLY = ("nbgrader",)
#: What course_data's own `python -m course_data` writes (never shipped: built on the student's machine).
PREPARED = ("MNIST", "digits", ".cache")


class ReleaseError(Exception):
    """The release cannot be written (the message says what and how to fix it)."""


def _copy_package(source: Path, target: Path, skip=()):
    def ignore(folder, names):
        top = Path(folder) == source
        return [n for n in names if n == "__pycache__" or n.endswith(".pyc") or (top and n in skip)]

    shutil.copytree(source, target, ignore=ignore)


def _released_notebooks(root: Path, out: Path):
    """Run nbgrader's generate_assignment on a private copy of the course folder; copy its release/ to out."""
    with tempfile.TemporaryDirectory(prefix="course-release-") as tmp:
        course, home = Path(tmp) / "course", Path(tmp) / "home"
        shutil.copytree(root / "nbgrader", course, ignore=lambda folder, names: [
            n for n in names if Path(folder) == root / "nbgrader" and n in ("source", "release", "gradebook.db",
                                                                            "submitted", "autograded", "feedback")])
        for path, text in notebook_files(root).items():  # the source notebooks, fresh from the one source
            target = course / path.relative_to(root / "nbgrader")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
        env = {k: v for k, v in os.environ.items() if not k.startswith(("JUPYTER", "IPYTHON"))}
        env.update(HOME=str(home), JUPYTER_CONFIG_DIR=str(home / "config"), JUPYTER_DATA_DIR=str(home / "data"),
                   IPYTHONDIR=str(home / "ipython"), PYTHONPATH=str(root))
        env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"  # nbgrader runs alembic
        run = subprocess.run([sys.executable, "-m", "nbgrader", "generate_assignment", "lesson*",
                              f"--CourseDirectory.root={course}"], cwd=course, env=env, capture_output=True, text=True)
        if run.returncode != 0:
            raise ReleaseError(f"nbgrader generate_assignment failed (exit {run.returncode}):\n"
                               f"{(run.stdout + run.stderr)[-3000:]}")
        for lesson in LESSONS:
            released = course / "release" / f"lesson{lesson}" / f"lesson{lesson}.ipynb"
            if not released.is_file():
                raise ReleaseError(f"nbgrader wrote no {released.relative_to(course)}")
            (out / "notebooks" / f"lesson{lesson}").mkdir(parents=True, exist_ok=True)
            shutil.copy2(released, out / "notebooks" / f"lesson{lesson}" / released.name)


def _toml_list(values) -> str:
    return "[\n" + "".join(f"    {json.dumps(v, ensure_ascii=False)},\n" for v in values) + "]"


def pyproject(root: Path) -> str:
    """The release's pyproject.toml: the course's dependencies (less the instructor's), entry points, pytest options."""
    course = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))
    dependencies = [d for d in course["project"]["dependencies"]
                    if d.replace(">", "=").split("=")[0].strip() not in INSTRUCTOR_ONLY]
    pytest = course["tool"]["pytest"]["ini_options"]
    return f"""[build-system]
requires = ["setuptools>=68"]
build-backend = "setuptools.build_meta"

[project]
name = "pytorch-from-zero-exercises"
version = {json.dumps(course["project"]["version"])}
description = "PyTorch from zero: the exercises, notebooks and checks students work with."
readme = "README.md"
requires-python = {json.dumps(course["project"]["requires-python"])}
license = {{ text = {json.dumps(course["project"]["license"]["text"])} }}
dependencies = {_toml_list(dependencies)}

[project.scripts]
course = {json.dumps(course["project"]["scripts"]["course"])}

[project.entry-points.pytest11]
course = {json.dumps(course["project"]["entry-points"]["pytest11"]["course"])}

[tool.setuptools.packages.find]
include = ["coursetools*", "course_data*"]

[tool.pytest.ini_options]
addopts = {json.dumps(pytest["addopts"])}
testpaths = ["exercises"]
markers = {_toml_list(pytest["markers"])}
"""


GITIGNORE = """\
.venv/
__pycache__/
*.pyc
*.egg-info/
.pytest_cache/
.ipynb_checkpoints/
# made by `course data` / 由 `course data` 生成
course_data/MNIST/
course_data/digits/
course_data/.cache/
# the `course` command's memory (hint levels, last results) / `course` 命令的记录
.course-progress.json
.course-progress.json.tmp
"""


def readme() -> str:
    lessons = "\n".join(f"| {n} | `exercises/lesson{n}/{topic}.py` | `notebooks/lesson{n}/lesson{n}.ipynb` |"
                        for n, topic in LESSONS.items())
    return f"""# PyTorch from zero: exercises / 从零开始学 PyTorch：练习

Six lessons, from tensors to fine-tuning, each as a Python file with public tests and as a notebook.
Write your code where it says `# YOUR CODE HERE / 在此编写代码`; the checks tell you what is wrong and how to fix it.

| lesson | file | notebook |
| --- | --- | --- |
{lessons}

## Set up (once)

Python 3.11 or newer. PyTorch's CPU-only wheels are all the course needs: about 1 GB installed, where the default
wheels on Linux and Windows add about 4 GB of CUDA libraries (on a Mac the default wheels are already CPU-only).
The course runs the same either way: every exercise, check and time limit is the same on the CPU.

```bash
python3 -m venv .venv
source .venv/bin/activate              # Windows: .venv\\Scripts\\activate
pip install torch torchvision --index-url https://download.pytorch.org/whl/cpu
pip install -e .
course data                            # real MNIST, prepared once (about 55 MB)
```

With an NVIDIA GPU, skip the third line: `pip install -e .` takes the default (CUDA) wheels.

## Work

```bash
pytest exercises/lesson1               # the public tests of lesson 1: one line for each function to write
course status                          # every lesson at a glance
course check                           # run the checks, explain the first mistake, name the classic pitfall
course watch                           # check again each time you save
jupyter lab notebooks/                 # the same exercises as notebooks, a check cell under each
```

Run `course --help` for the rest (hints, one lesson, the language of the messages).
Your instructor grades your files (or notebooks) with more tests than the public ones.

---

# 从零开始学 PyTorch：练习

六课内容，从张量到微调；每课既是一个带公开测试的 Python 文件，也是一个 notebook。
在写有 `# YOUR CODE HERE / 在此编写代码` 的地方编写代码；检查会告诉你哪里出错、如何修正。

| 课 | 文件 | notebook |
| --- | --- | --- |
{lessons}

## 安装（只需一次）

需要 Python 3.11 或更新版本。本课程只需要 PyTorch 的纯 CPU 版本：安装后约 1 GB；而 Linux 和 Windows 上的默认版本
还会多装约 4 GB 的 CUDA 库（Mac 上的默认版本本来就只用 CPU）。两种安装下课程完全相同：每个练习、检查和时间限制在 CPU
上都一样。

```bash
python3 -m venv .venv
source .venv/bin/activate              # Windows：.venv\\Scripts\\activate
pip install torch torchvision --index-url https://download.pytorch.org/whl/cpu
pip install -e .
course data                            # 准备真实的 MNIST 数据，只需一次（约 55 MB）
```

如果有 NVIDIA GPU，跳过第三行：`pip install -e .` 会安装默认（CUDA）版本。

## 练习

```bash
pytest exercises/lesson1               # 第 1 课的公开测试：每个待编写的函数一行
course status                          # 一览所有课程的进度
course check                           # 运行检查，解释第一个错误，指出常见错误
course watch                           # 每次保存文件后重新检查
jupyter lab notebooks/                 # 同样的练习，notebook 形式，每个练习下有一个检查单元格
```

其余功能（提示、单独一课、消息语言）见 `course --help`。
老师会用比公开测试更多的测试为你的文件（或 notebook）评分。
"""


def build_release(out: Path, root: Path = REPO_ROOT) -> list:
    """Write the student release into `out` (a new or empty folder); return the files written, relative to it.

    Raises:
        ReleaseError: `out` is not empty, or nbgrader could not release the notebooks.
        FileNotFoundError, coursetools.regions.RegionError: a source of the course is missing or malformed.
    """
    out = Path(out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise ReleaseError(f"{out} exists and is not an empty folder: give a new folder (the release is written "
                           "whole, never over an older one)")
    out.mkdir(parents=True, exist_ok=True)
    for path, text in generated_files(root).items():
        target = out / path.relative_to(root)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    _released_notebooks(root, out)
    _copy_package(root / "coursetools", out / "coursetools", skip=AUTHORING_ONLY)
    _copy_package(root / "course_data", out / "course_data", skip=PREPARED)
    (out / "pyproject.toml").write_text(pyproject(root), encoding="utf-8")
    (out / "README.md").write_text(readme(), encoding="utf-8")
    (out / ".gitignore").write_text(GITIGNORE, encoding="utf-8")
    if (root / "LICENSE").is_file():
        shutil.copy2(root / "LICENSE", out / "LICENSE")
    return sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
