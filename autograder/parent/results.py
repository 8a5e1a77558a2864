"""The results model (one record per test) and its file exporters: Gradescope results.json, gradebook CSV.

Gradescope's format: https://gradescope-autograders.readthedocs.io/en/latest/specs/
(top level `score`, `execution_time`, `output`, `visibility`, `stdout_visibility`,
`tests`; per test `name`, `number`, `score`, `max_score`, `status`, `output`,
`tags`, `visibility`, `extra_data`). We also write the top-level `max_score`.

结果模型（每个测试一条记录）及导出：Gradescope 的 results.json 和成绩表 CSV。
"""
import json
import os
import tempfile
from dataclasses import dataclass, field

from autograder.parent import neutralise
from coursetools import LESSONS, limits
from coursetools.text import Text

OUTPUT_EXCERPT = 2000  # characters of a failed test's captured output shown to the student


@dataclass
class TestResult:
    name: str  # lessonN/test_file.py::test_function[params]
    lesson: int
    max_score: float
    hidden: bool = False
    status: str = "failed"  # passed, failed, skipped (skipped tests are not scored)
    score: float = 0.0
    message: str = ""
    text: object = None  # the message as a coursetools.text.Text when the course wrote it in two languages
    tags: list = field(default_factory=list)  # pitfall:<slug>
    not_implemented: str = None
    duration: float = 0.0
    output: str = ""  # what the test printed (kept only in part)
    reported: bool = False  # a verdict arrived from the lesson process
    skip: str = None  # skipped by this machine or these options, known at collection (not scored)


@dataclass
class LessonResult:
    lesson: int
    tests: list = field(default_factory=list)
    error: str = None  # the grader failed (collection error, crashed lesson process)
    walls: str = ""
    isolated: bool = None  # None: never started; False: the student process ran without the sandbox
    duration: float = 0.0  # wall-clock seconds: its share of its lesson process (until its last verdict)
    starts: int = 0  # times its lesson process started a student process (one for the lessons of its group)

    @property
    def scored(self):
        return [t for t in self.tests if t.status != "skipped"]

    @property
    def score(self) -> float:
        return sum(t.score for t in self.scored)

    @property
    def max_score(self) -> float:
        return sum(t.max_score for t in self.scored)


@dataclass
class SubmissionResult:
    name: str  # the folder's name as the file system gave it (may hold undecodable bytes)
    path: str
    lessons: dict = field(default_factory=dict)  # lesson number -> LessonResult
    error: str = None  # the submission could not be graded at all
    duration: float = 0.0
    folder: str = ""  # where its results go, inside a batch's output folder
    skipped_files: list = field(default_factory=list)  # (relative path, why it was not copied)
    finished: bool = False  # every lesson of it has ended (graded, failed or stopped)

    @property
    def display(self) -> str:
        """The name as text that can be written anywhere (undecodable bytes as \\xNN escapes)."""
        return display_name(self.name)

    @property
    def score(self) -> float:
        return sum(lesson.score for lesson in self.lessons.values())

    @property
    def max_score(self) -> float:
        return sum(lesson.max_score for lesson in self.lessons.values())

    @property
    def complete(self) -> bool:
        """Grading itself completed (whatever the score)."""
        return self.error is None and all(lesson.error is None for lesson in self.lessons.values())

    def tests(self):
        for number in sorted(self.lessons):
            yield from self.lessons[number].tests


def display_name(name: str) -> str:
    """A file name as printable, encodable text: bytes that are not UTF-8 become \\xNN escapes."""
    text = os.fsencode(name).decode("utf-8", "backslashreplace")
    return "".join(c if c.isprintable() else f"\\x{ord(c):02x}" for c in text)


def safe_folder(name: str) -> str:
    """One encoding-safe folder name for a submission's results (letters, digits, - _ . kept)."""
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in display_name(name))[:80].strip(".") or "submission"


def grader_version() -> str:
    """A fingerprint of the graders, the engine, the course tools and the reference (what decides scores;
    coursetools/limits.py computes it, where the calibration's file name needs it too)."""
    return limits.grader_version()


def _test_output(test: TestResult) -> str:
    if test.status == "passed":
        return ""
    if test.status == "skipped":
        return f"Not run here / 此处未运行: {test.message}"
    text = test.message
    printed = test.output.strip()
    if printed:
        excerpt = printed[:OUTPUT_EXCERPT] + ("\n..." if len(printed) > OUTPUT_EXCERPT else "")
        text += f"\n\nYour code printed / 你的代码输出:\n{excerpt}"
    return text


def _structured(test: TestResult) -> dict:
    """{"message": {"en": ..., "zh": ...}} of a failed test: its Text, else the line guess of its message (a raw
    error or an engine message has no structure); {} for a test that did not fail."""
    if test.status != "failed":
        return {}
    return {"message": (test.text or Text.guess(test.message)).to_json()}


def summary_text(result: SubmissionResult) -> str:
    """The text shown above the tests: points per lesson, grader errors, tests not run."""
    lines = []
    if result.error:
        lines.append(f"Grading failed / 评分失败: {result.error}")
    if result.skipped_files:
        lines.append(f"Files not graded / 未评分的文件 ({len(result.skipped_files)}):")
        lines += [f"  {display_name(path)}: {why}" for path, why in result.skipped_files[:50]]
        if len(result.skipped_files) > 50:
            lines.append(f"  ... {len(result.skipped_files) - 50} more / 另有 {len(result.skipped_files) - 50} 个")
    for number in sorted(result.lessons):
        lesson = result.lessons[number]
        lines.append(f"lesson{number} {LESSONS.get(number, '')}: {lesson.score:g} / {lesson.max_score:g}")
        if lesson.error:
            lines.append(f"  grader error / 评分程序出错: {lesson.error}")
        skipped = [t for t in lesson.tests if t.status == "skipped"]
        if skipped:
            lines.append(f"  {len(skipped)} test(s) not run here (not scored) / {len(skipped)} 个测试此处未运行（不计分）")
    lines.append(f"total / 总分: {result.score:g} / {result.max_score:g}")
    if not_isolated(result):
        lines.append(f"{NOT_ISOLATED} (lessons {not_isolated(result)})")
    return "\n".join(lines)


NOT_ISOLATED = ("NOT ISOLATED: the student code ran without the bubblewrap sandbox (it could read files and reach "
                "the network); points were still decided outside it. / 未隔离：学生代码未在 bubblewrap 沙箱中运行。")


def not_isolated(result: SubmissionResult) -> list:
    """The lessons whose student code ran without the sandbox."""
    return [n for n, lesson in sorted(result.lessons.items()) if lesson.isolated is False]


def to_gradescope(result: SubmissionResult, version: str = None, options: dict = None) -> dict:
    tests = []
    for index, test in enumerate(result.tests(), start=1):
        if test.status == "skipped":
            continue
        tests.append({
            "name": test.name,
            "number": f"{test.lesson}.{index}",
            "score": test.score,
            "max_score": test.max_score,
            "status": "passed" if test.status == "passed" else "failed",
            "output": _test_output(test),
            "tags": list(test.tags),
            "visibility": "after_published" if test.hidden else "visible",
            "extra_data": {"lesson": test.lesson, "duration": round(test.duration, 3),
                           "not_implemented": test.not_implemented, **_structured(test)},
        })
    return {
        "score": result.score,
        "max_score": result.max_score,
        "execution_time": round(result.duration, 2),
        "output": summary_text(result),
        "visibility": "visible",
        "stdout_visibility": "hidden",
        "tests": tests,
        "extra_data": {
            "submission": result.display,
            "folder": result.folder,
            "complete": result.complete and result.finished,
            "finished": result.finished,
            "grader_version": version,
            "options": options or {},
            "errors": ([result.error] if result.error else [])
            + [f"lesson{n}: {lesson.error}" for n, lesson in sorted(result.lessons.items()) if lesson.error],
            "skipped_files": [{"path": display_name(p), "reason": why} for p, why in result.skipped_files],
            "isolated": not not_isolated(result),
            "isolation": NOT_ISOLATED if not_isolated(result) else "bubblewrap sandbox",
            "lessons": {str(n): {"score": lesson.score, "max_score": lesson.max_score, "error": lesson.error,
                                 "isolation": lesson.walls, "seconds": round(lesson.duration, 2),
                                 "student_process_starts": lesson.starts}
                        for n, lesson in sorted(result.lessons.items())},
            "skipped": [{"name": t.name, "reason": t.message} for t in result.tests() if t.status == "skipped"],
        },
    }


def _atomic_write(path: str, text: str):
    """Write through a temporary file and rename it over `path` (replaces whatever was there)."""
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=".results-", dir=folder)
    with os.fdopen(handle, "w", encoding="utf-8", errors="backslashreplace", newline="") as file:
        file.write(text)
    os.chmod(temporary, 0o644)
    os.replace(temporary, path)


def write_results_json(result: SubmissionResult, out_dir: str, version: str = None, options: dict = None) -> str:
    path = os.path.join(out_dir, "results.json")
    if os.path.isdir(path) and not os.path.islink(path):
        raise OSError(f"{path} is a folder; cannot write results there")
    _atomic_write(path, json.dumps(to_gradescope(result, version, options), ensure_ascii=False, indent=2) + "\n")
    return path


def read_results_json(out_dir: str):
    """The results.json in out_dir as a dict, or None (missing, unreadable, not ours)."""
    try:
        with open(os.path.join(out_dir, "results.json"), encoding="utf-8") as file:
            data = json.load(file)
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and isinstance(data.get("tests"), list) else None


GRADEBOOK_HEADER = ["submission", "total", "max_score", "percent", "pitfalls", "error", "folder"]


def gradebook_row(data: dict, lessons: list) -> list:
    """One gradebook row from a results.json (points per lesson, total, maximum, percent, pitfalls, errors)."""
    extra = data.get("extra_data") or {}
    per_lesson = extra.get("lessons") or {}
    pitfalls = sorted({tag.split(":", 1)[1] for test in data.get("tests", []) for tag in test.get("tags", [])
                       if tag.startswith("pitfall:")})
    score, top = float(data.get("score") or 0), float(data.get("max_score") or 0)
    errors = list(extra.get("errors") or [])
    if not extra.get("finished", True):
        errors.insert(0, "grading did not finish (partial results)")
    cells = [f"{per_lesson[str(n)]['score']:g}" if str(n) in per_lesson else "" for n in lessons]
    return [extra.get("submission", ""), *cells, f"{score:g}", f"{top:g}", f"{100 * score / top if top else 0.0:.1f}",
            " ".join(pitfalls), "; ".join(errors), extra.get("folder", "")]


def write_gradebook(rows: list, path: str, lessons: list) -> str:
    """The class's gradebook CSV: one row per submission (rows from gradebook_row), sorted by name; no cell a
    spreadsheet would run as a formula (neutralise.csv_text: a folder named =HYPERLINK(...) is text there)."""
    header = GRADEBOOK_HEADER[:1] + [f"lesson{n}" for n in lessons] + GRADEBOOK_HEADER[1:]
    _atomic_write(path, neutralise.csv_text(sorted(rows, key=lambda row: row[0]), header))
    return path
