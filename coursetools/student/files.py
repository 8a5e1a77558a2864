"""A lesson of a student's exercises folder: its file, its functions, its public tests.

学生练习文件夹中的一课：它的文件、函数和公开测试。
"""
import ast
import difflib
import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path

from coursetools import LESSONS, STUB_LINES
from coursetools.exercises import public_definitions
from coursetools.text import has_chinese

_LESSON_ARG = re.compile(r"(?i)(?:lesson)?0*(\d+)")


class StudentFileError(Exception):
    """A lesson file that cannot be read or parsed; the message says how to fix it (EN, then 中文)."""


class UsageError(Exception):
    """A command line that names something that does not exist (exit status 2)."""


@dataclass(frozen=True)
class Function:
    """A public top-level function or class of a lesson file."""

    name: str
    line: int
    untouched: bool  # the stub lines are still there, so it is certainly not written yet
    summary_en: str = field(default="", compare=False)  # the first paragraph of its docstring, English lines
    summary_zh: str = field(default="", compare=False)  # ... and its Chinese lines


def parse_lesson(text: str) -> int:
    """The lesson number of "lesson3", "Lesson3" or "3".

    Raises:
        UsageError: when no such lesson exists.
    """
    match = _LESSON_ARG.fullmatch(text.strip())
    if match is None or int(match.group(1)) not in LESSONS:
        first, last = min(LESSONS), max(LESSONS)
        raise UsageError(
            f"There is no lesson called {text!r}: the lessons are lesson{first} to lesson{last}, "
            f"for example `course check lesson{first}`.\n"
            f"没有名为 {text!r} 的课：课程为 lesson{first} 到 lesson{last}，例如 `course check lesson{first}`。")
    return int(match.group(1))


def lesson_file(exercises: Path, lesson: int) -> Path:
    """exercises/lessonN/<topic>.py"""
    return exercises / f"lesson{lesson}" / f"{LESSONS[lesson]}.py"


def public_test_file(exercises: Path, lesson: int) -> Path:
    """exercises/lessonN/test_<topic>.py"""
    return exercises / f"lesson{lesson}" / f"test_{LESSONS[lesson]}.py"


def _read(path: Path, exercises: Path) -> str:
    shown = _shown(path, exercises)
    if not path.is_file():
        raise StudentFileError(
            f"{shown} is missing: restore it (`git checkout -- {shown}` in the course repository).\n"
            f"缺少 {shown}：请恢复它（在课程仓库中运行 `git checkout -- {shown}`）。")
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise StudentFileError(f"Cannot read {shown} ({error}): save it again as UTF-8 text.\n"
                               f"无法读取 {shown}（{error}）：请以 UTF-8 文本格式重新保存。") from None


def _shown(path: Path, exercises: Path) -> str:
    """The path as the student knows it: exercises/lesson1/tensors.py."""
    try:
        return f"{exercises.name}/{path.relative_to(exercises).as_posix()}"
    except ValueError:
        return str(path)


def functions(exercises: Path, lesson: int) -> list:
    """The public functions and classes of the lesson file, in file order (a name defined twice
    once, where its first definition was, with its last definition: the one Python uses).

    Raises:
        StudentFileError: the file is missing, unreadable, or has a syntax error.
    """
    path = lesson_file(exercises, lesson)
    text = _read(path, exercises)
    try:
        tree = ast.parse(text, filename=str(path))
    except SyntaxError as error:
        shown = _shown(path, exercises)
        raise StudentFileError(
            f"{shown} has a syntax error at line {error.lineno}: {error.msg}. "
            f"Fix that line, save, and run `course check lesson{lesson}` again.\n"
            f"{shown} 第 {error.lineno} 行有语法错误：{error.msg}。请改正这一行并保存，"
            f"然后重新运行 `course check lesson{lesson}`。") from None
    lines = text.splitlines()
    found = []
    for node in public_definitions(tree):
        body = [line.strip() for line in lines[node.lineno - 1: node.end_lineno]]
        untouched = any(body[i:i + 2] == list(STUB_LINES) for i in range(len(body) - 1))
        found.append(Function(node.name, node.lineno, untouched, *summary(ast.get_docstring(node) or "")))
    last = {function.name: function for function in found}  # a name defined twice: Python keeps the last
    return [last[name] for name in dict.fromkeys(function.name for function in found)]


def summary(docstring: str) -> tuple:
    """(English, Chinese) of a bilingual docstring's first paragraph: its English lines, its Chinese lines."""
    lines = [line.strip() for line in docstring.strip().split("\n\n")[0].splitlines() if line.strip()]
    return (" ".join(line for line in lines if not has_chinese(line)),
            "".join(line for line in lines if has_chinese(line)))


def closest(name: str, names: list) -> str:
    """The closest of `names` to a mistyped `name`, or ''."""
    match = difflib.get_close_matches(name, names, n=1)
    return match[0] if match else ""


def public_test_text(exercises: Path, lesson: int) -> str:
    """The text of the lesson's public test file ("" when it cannot be read)."""
    try:
        return public_test_file(exercises, lesson).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return ""


def public_test_docstrings(exercises: Path, lesson: int) -> dict:
    """{test function name: first line of its docstring} of the lesson's public test file."""
    try:
        tree = ast.parse(public_test_text(exercises, lesson))
    except SyntaxError:
        return {}
    return {node.name: (ast.get_docstring(node) or "").split("\n")[0] for node in tree.body
            if isinstance(node, ast.FunctionDef) and node.name.startswith("test_")}


def fingerprint(exercises: Path, lesson: int) -> str:
    """A hash of the .py files of this lesson and every earlier one (later lessons import earlier ones)."""
    digest = hashlib.sha256()
    for number in sorted(n for n in LESSONS if n <= lesson):
        for path in sorted((exercises / f"lesson{number}").glob("*.py")):
            digest.update(path.name.encode() + b"\0")
            try:
                digest.update(path.read_bytes())
            except OSError:
                digest.update(b"<unreadable>")
    return digest.hexdigest()
