"""Who may import what: the packages by audience (README, "Where things live") hold in the code.

谁可以导入什么：按使用者划分的包结构（README“代码在哪里”）在代码中成立。

Every import of the course's own modules, at any depth of a function, is read with `ast`
from the files of coursetools/, autograder/ and harness/ and checked against the table below.
A layer may import its own and the layers it lists; nothing else.
"""
import ast
from pathlib import Path

import pytest

from coursetools import REPO_ROOT

#: The shared base: small, pure modules every layer may use.
BASE = {"coursetools", "coursetools.lessons", "coursetools.text", "coursetools.regions", "coursetools.hints",
        "coursetools.exercises", "coursetools.nbfiles", "coursetools.limits"}

#: layer -> the layers it may import (besides itself and the base).
ALLOWED = {
    "base": set(),
    "checks": set(),  # coursetools/checks, boundary, sandbox: what runs beside student code, and the wall
    "authoring": set(),  # python -m coursetools generate: never the kernel, the student command or the checks
    "kernel": {"checks"},  # the notebook's check cells
    "student": {"checks"},  # the `course` command
    "graders": {"checks"},  # autograder/lessonN: the hidden tests
    "engine": {"checks"},  # autograder/parent, autograder/lesson: never authoring, kernel or student code
    "harness": {"authoring", "checks", "engine"},  # tests' and benchmarks' helpers, outside the package
}

#: The only imports across the rules, each with its reason.
EXCEPTIONS = set()  # none: the calibrated limits both sides read live in the base (coursetools/limits.py)


def layer_of_module(name: str) -> str | None:
    """The layer of a module of the course (None: not the course's: torch, pytest, solutions...)."""
    if name in BASE:
        return "base"
    parts = name.split(".")
    if parts[0] == "coursetools":
        sub = parts[1] if len(parts) > 1 else ""
        if sub in ("checks", "boundary", "sandbox"):
            return "checks"
        if sub in ("authoring", "__main__"):
            return "authoring"
        if sub in ("kernel", "student"):
            return sub
        return "base" if name in BASE else f"unknown:{name}"
    if parts[0] == "autograder":
        if len(parts) > 1 and parts[1].startswith("lesson") and parts[1][len("lesson"):].isdigit():
            return "graders"
        return "engine"
    if parts[0] == "harness":
        return "harness"
    return None


def layer_of_file(relative: str) -> str:
    parts = list(Path(relative).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return layer_of_module(".".join(parts))


def imported_modules(source: str):
    """(line, module) for every import of a file's source; `from a import b` gives `a.b` when a.b is a module."""
    tree = ast.parse(source)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                candidate = f"{node.module}.{alias.name}"
                found = REPO_ROOT.joinpath(*candidate.split("."))
                yield node.lineno, candidate if (found.with_suffix(".py").is_file() or found.is_dir()) else node.module


def course_files() -> dict:
    """{path relative to the repository: source} of every Python file of coursetools/, autograder/, harness/."""
    return {p.relative_to(REPO_ROOT).as_posix(): p.read_text(encoding="utf-8")
            for folder in ("coursetools", "autograder", "harness")
            for p in sorted((REPO_ROOT / folder).rglob("*.py")) if "__pycache__" not in p.parts}


def violations(files: dict) -> list:
    found = []
    for relative, source in files.items():
        mine = layer_of_file(relative)
        for line, module in imported_modules(source):
            theirs = layer_of_module(module)
            if theirs is None or theirs in ("base", mine) or theirs in ALLOWED[mine]:
                continue
            if any(relative == file and module.startswith(prefix) for file, prefix in EXCEPTIONS):
                continue
            found.append(f"{relative}:{line} ({mine}) imports {module} ({theirs})")
    return found


def test_every_course_file_has_a_known_layer():
    """Check each file of the package is in one of the layers (a new folder must be placed in the table)."""
    unknown = [relative for relative in course_files() if layer_of_file(relative) not in ALLOWED]
    assert not unknown, "files outside every layer (add them to tests/test_structure.py):\n" + "\n".join(unknown)


def test_no_import_against_the_layers():
    """Check no file imports a layer its own may not use (authoring never the kernel, the engine never authoring)."""
    found = violations(course_files())
    assert not found, "imports across the layers:\n" + "\n".join(found)


def test_the_exceptions_are_still_needed():
    """Check every listed exception still exists (a stale one would hide a future violation)."""
    for file, prefix in EXCEPTIONS:
        source = (REPO_ROOT / file).read_text(encoding="utf-8")
        assert any(module.startswith(prefix) for _, module in imported_modules(source)), (file, prefix)


@pytest.mark.parametrize("module, layer", [
    ("coursetools.text", "base"), ("coursetools.checks.feedback", "checks"), ("coursetools.sandbox.kit", "checks"),
    ("coursetools.authoring.generate", "authoring"), ("coursetools.kernel.check", "kernel"),
    ("coursetools.student.cli", "student"), ("autograder.lesson3.test_data", "graders"),
    ("autograder.lesson.worker", "engine"), ("autograder.parent.cli", "engine"), ("harness.nbgrader_course", "harness"),
    ("torch", None), ("solutions.lesson1.tensors", None),
])
def test_layer_of_module(module, layer):
    """Check the layer rule on one module of each layer."""
    assert layer_of_module(module) == layer


@pytest.mark.parametrize("relative, source, expected", [
    ("coursetools/authoring/probe.py", "from coursetools.kernel.check import check\n",
     "coursetools/authoring/probe.py:1 (authoring) imports coursetools.kernel.check (kernel)"),
    ("autograder/parent/probe.py", "def f():\n    from coursetools.authoring import notebooks\n",
     "autograder/parent/probe.py:2 (engine) imports coursetools.authoring.notebooks (authoring)"),
    ("coursetools/checks/probe.py", "import coursetools.student.cli\n",
     "coursetools/checks/probe.py:1 (checks) imports coursetools.student.cli (student)"),
    # the circle that was: the plugin read the calibration through the engine (now coursetools/limits.py)
    ("coursetools/checks/pytest_plugin.py", "def f():\n    from autograder.parent import calibrate\n",
     "coursetools/checks/pytest_plugin.py:2 (checks) imports autograder.parent.calibrate (engine)"),
])
def test_the_checker_sees_a_violation(relative, source, expected):
    """Check the rule can fail: imports against the layers, even inside a function, are reported."""
    assert violations({relative: source}) == [expected]
