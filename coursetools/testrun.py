"""Run a lesson's public tests in a child pytest and read what each function's tests said.

在子进程中运行一课的公开测试，并读出每个函数的测试结果。

The child writes one JSON line per test (the plugin's --course-report). A test
belongs to the function whose lower-snake-case name prefixes the test's name
(SimpleMNISTNet -> test_simple_mnist_net_*), the longest such name winning.
子进程为每个测试写一行 JSON（插件的 --course-report）。测试名以哪个函数的
小写下划线名字开头，就属于哪个函数（取最长的匹配）。
"""
import json
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from coursetools import REPO_ROOT
from coursetools.lessons import Function

_NODE = re.compile(r"^lesson(\d+)/[^:]*::([^\[]+)")
_SUMMARY = re.compile(r"\b(passed|failed|skipped|errors?)\b.* in [\d.]+s\b")


class PublicTestsError(Exception):
    """pytest itself could not run the public tests (a broken test file, a collection error)."""


def run_public_tests(exercises: Path, lessons: list) -> dict:
    """Run the public tests of `lessons` in one child pytest; return {lesson: [record, ...]}.

    A record is {"test", "nodeid", "outcome", "message", "pitfalls", "not_implemented"},
    one per test (a failing teardown after a passing call makes the test failed).

    Raises:
        PublicTestsError: pytest stopped before reporting the tests of every lesson.
    """
    exercises = Path(exercises).resolve()
    with tempfile.TemporaryDirectory(prefix="course-report-") as tmp:
        report = Path(tmp) / "report.jsonl"
        command = [sys.executable, "-m", "pytest", *(str(exercises / f"lesson{n}") for n in lessons),
                   "--rootdir", str(exercises), "--submission", str(exercises), "--course-report", str(report),
                   "-q", "--tb=short", "-p", "no:cacheprovider"]
        config = REPO_ROOT / "pyproject.toml"
        if config.is_file():  # the course's markers and options, wherever the exercises folder is
            command[3:3] = ["-c", str(config)]
        finished = subprocess.run(command, cwd=exercises, capture_output=True, text=True, encoding="utf-8",
                                  errors="replace")
        lines = report.read_text(encoding="utf-8").splitlines() if report.is_file() else []
    records = _by_test([json.loads(line) for line in lines if line.strip()])
    missing = [n for n in lessons if n not in records]
    output = (finished.stdout + finished.stderr).strip().splitlines()
    summarized = any(_SUMMARY.search(line) for line in output[-3:])
    if finished.returncode not in (0, 1) or missing or not summarized:
        names = ", ".join(f"lesson{n}" for n in (missing or lessons))
        tail = "\n".join("    " + line for line in output[-12:]) or "    (nothing)"
        raise PublicTestsError(
            f"pytest stopped before reporting every public test of {names} (exit status {finished.returncode}): "
            f"your code may have ended Python (os._exit, a crash), or a test_*.py file was changed "
            f"(restore it with `git checkout -- exercises/`). pytest's last lines:\n{tail}\n"
            f"pytest 在报告 {names} 的全部公开测试之前就停止了（退出码 {finished.returncode}）：可能是你的代码"
            f"结束了 Python（os._exit、崩溃），或者 test_*.py 文件被改动了（用 `git checkout -- exercises/` 恢复）。")
    return records


def _by_test(raw: list) -> dict:
    """Group the JSON lines by lesson, one record per test, in run order."""
    tests = {}
    for line in raw:
        match = _NODE.match(line.get("nodeid", ""))
        if match is None:
            continue
        record = tests.setdefault(line["nodeid"], {
            "lesson": int(match.group(1)), "test": match.group(2), "nodeid": line["nodeid"],
            "outcome": "passed", "message": "", "pitfalls": [], "not_implemented": None})
        if line.get("outcome") == "passed" or record["outcome"] == "failed":
            continue
        record.update(outcome=line.get("outcome", "failed"), message=line.get("message") or "",
                      pitfalls=list(line.get("pitfalls") or []), not_implemented=line.get("not_implemented"))
    grouped = {}
    for record in tests.values():
        grouped.setdefault(record.pop("lesson"), []).append(record)
    return grouped


@dataclass
class FunctionState:
    """One function of a lesson: done, todo (still raises NotImplementedError) or failing."""

    function: Function
    status: str
    tests: list = field(default_factory=list)  # its records, in run order

    @property
    def first_failure(self):
        return next((r for r in self.tests if r["outcome"] == "failed"), None)


@dataclass
class LessonState:
    """A lesson after its public tests ran: each function's state and the test counts."""

    functions: list
    records: list
    unassigned_failures: list  # failing tests that belong to no function (a module constant, say)

    @property
    def passed(self) -> int:
        return sum(r["outcome"] == "passed" for r in self.records)

    @property
    def skipped(self) -> int:
        return sum(r["outcome"] == "skipped" for r in self.records)

    @property
    def failed(self) -> int:
        return sum(r["outcome"] == "failed" for r in self.records)

    @property
    def done(self) -> int:
        return sum(f.status == "done" for f in self.functions)

    @property
    def complete(self) -> bool:
        return self.done == len(self.functions) and not self.failed


def _owner(test: str, functions: list):
    matches = [f for f in functions if test == f.test_prefix or test.startswith(f.test_prefix + "_")]
    return max(matches, key=lambda f: len(f.test_prefix), default=None)


def summarize(functions: list, records: list) -> LessonState:
    """Each function's state from the records of its lesson's public tests."""
    not_implemented = {r["not_implemented"].split(".")[0] for r in records if r.get("not_implemented")}
    tests = {f.name: [] for f in functions}
    unassigned = []
    for record in records:
        owner = _owner(record["test"], functions)
        if owner is not None:
            tests[owner.name].append(record)
        elif record["outcome"] == "failed":
            unassigned.append(record)
    states = []
    for function in functions:
        mine = tests[function.name]
        if function.name in not_implemented:
            status = "todo"
        elif any(r["outcome"] == "failed" for r in mine):
            status = "failing"
        elif not mine and function.untouched:
            status = "todo"
        else:
            status = "done"
        states.append(FunctionState(function, status, mine))
    return LessonState(states, records, unassigned)


def not_started(functions: list) -> LessonState:
    """The state of a lesson whose every function still holds the stub (no need to run anything)."""
    return LessonState([FunctionState(f, "todo") for f in functions], [], [])
