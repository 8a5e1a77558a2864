"""The class report of a course graded with nbgrader: `nbgrader export`'s CSV plus the engine's diagnoses.

    python -m autograder report COURSE --nbgrader [grades.csv] [--out FOLDER] [--csv PATH] [--threshold X]

COURSE is the nbgrader course folder. Read:

- the CSV of `nbgrader export` (default COURSE/grades.csv): one row per student and assignment
  (`student_id`, `assignment`, `score`, `max_score`): the totals and the per-lesson scores;
- COURSE/autograded/<student>/lessonN/*.ipynb: the check cells that the engine's preprocessor
  (autograder/parent/notebooks.py, EngineGrades) filled: "This check cell: P of M point(s)", the
  failed tests' diagnoses with their "Pitfall / 常见错误: <slug>" lines, "not implemented yet",
  timeouts, and "Grading failed" when the engine could not grade the notebook.

Each check cell becomes one item (`lessonN/lessonN.ipynb::<exercise>`), so the figures are those of
classreport.summarise on results.json-shaped dicts: the same page, summary.json and CSV.

nbgrader 评分的课程的班级报告：读取 `nbgrader export` 的 CSV 和自动评分笔记本中评分引擎写下的诊断。
"""
import csv
import os
import re

from autograder.parent import classreport, results

CELL_POINTS = re.compile(r"This check cell: ([0-9.eE+-]+) of ([0-9.eE+-]+) point")
PITFALL_LINE = re.compile(r"Pitfall / 常见错误: ([a-z][a-z-]*)")
GRADING_FAILED = "Grading failed: the course's grading engine could not grade this notebook"
NOT_IMPLEMENTED = "is not implemented yet"
_ASSIGNMENT = re.compile(r"lesson(\d+)")


def _number(text, default: float = 0.0) -> float:
    try:
        return float(text)
    except (TypeError, ValueError):
        return default


def read_grades(path: str) -> dict:
    """{student_id: {lesson: (score, max_score)}} of `nbgrader export`'s CSV."""
    try:
        with open(path, encoding="utf-8", newline="") as file:
            rows = list(csv.DictReader(file))
    except (OSError, csv.Error, UnicodeDecodeError) as error:
        raise classreport.ReportError(f"{path}: cannot read the nbgrader export CSV ({error}); run `nbgrader export` "
                                      "in the course folder first, or give its path: --nbgrader PATH") from None
    if rows and not {"student_id", "assignment", "score", "max_score"} <= set(rows[0]):
        raise classreport.ReportError(f"{path}: not an `nbgrader export` CSV (needs the columns student_id, "
                                      "assignment, score, max_score)")
    grades = {}
    for row in rows:
        match = _ASSIGNMENT.fullmatch(str(row.get("assignment") or "").strip())
        if match:
            grades.setdefault(str(row["student_id"]), {})[int(match.group(1))] = (
                _number(row.get("score")), _number(row.get("max_score")))
    return grades


def _cell_text(cell) -> str:
    parts = []
    for output in cell.get("outputs") or []:
        kind = output.get("output_type")
        if kind == "stream":
            text = output.get("text", "")
            parts.append("".join(text) if isinstance(text, list) else str(text))
        elif kind == "error":
            parts.append("\n".join(map(str, output.get("traceback") or [output.get("evalue", "")])))
        elif kind in ("execute_result", "display_data"):
            text = (output.get("data") or {}).get("text/plain", "")
            parts.append("".join(text) if isinstance(text, list) else str(text))
    return "\n".join(parts)


def _diagnoses(text: str) -> str:
    """The failed tests' part of a check cell's text (after its first `-- test names` line), else all of it."""
    lines = text.splitlines()
    for index, line in enumerate(lines):
        if line.startswith("-- "):
            return "\n".join(lines[index + 1:])
    return text


def notebook_tests(notebook: dict, lesson: int) -> tuple:
    """([results.json-shaped tests], [errors]) of one autograded notebook's check cells."""
    tests, errors = [], []
    for cell in notebook.get("cells") or []:
        meta = (cell.get("metadata") or {}).get("nbgrader") or {}
        grade_id = str(meta.get("grade_id") or "")
        if cell.get("cell_type") != "code" or not meta.get("grade"):
            continue
        prefix, suffix = f"lesson{lesson}_", "_check"
        exercise = grade_id[len(prefix):-len(suffix)] if grade_id.startswith(prefix) and grade_id.endswith(suffix) \
            else grade_id
        text = _cell_text(cell)
        top = _number(meta.get("points"))
        found = CELL_POINTS.search(text)
        score, top = (_number(found.group(1)), _number(found.group(2), top)) if found else (0.0, top)
        if GRADING_FAILED in text:
            errors.append(f"lesson{lesson}: {classreport.first_line(text, 300)}")
        elif not text.strip():
            errors.append(f"lesson{lesson}: check cell {grade_id} has no output (not autograded)")
        passed = found is not None and score >= top
        tests.append({
            "name": f"lesson{lesson}/lesson{lesson}.ipynb::{exercise}", "score": score, "max_score": top,
            "status": "passed" if passed else "failed", "output": "" if passed else _diagnoses(text),
            "tags": [f"pitfall:{slug}" for slug in dict.fromkeys(PITFALL_LINE.findall(text))] if not passed else [],
            "extra_data": {"lesson": lesson, "exercise": exercise,
                           "not_implemented": exercise if not passed and NOT_IMPLEMENTED in text else None}})
    return tests, errors


def load_course(course: str, grades_csv: str = None) -> list:
    """load_class's list for an nbgrader course folder (one entry per student of the export CSV)."""
    import nbformat

    if not os.path.isdir(course):
        raise classreport.ReportError(f"{course}: no such folder (give the nbgrader course folder)")
    grades = read_grades(grades_csv or os.path.join(course, "grades.csv"))
    autograded = os.path.join(course, "autograded")
    try:
        folders = {e.name for e in os.scandir(autograded) if e.is_dir(follow_symlinks=False)}
    except OSError:
        folders = set()
    students = []
    for student in sorted(set(grades) | folders):
        tests, errors, lessons = [], [], {}
        for lesson, (score, top) in sorted(grades.get(student, {}).items()):
            lessons[str(lesson)] = {"score": score, "max_score": top, "error": None}
        if student in folders:
            for assignment in sorted(os.listdir(os.path.join(autograded, student))):
                match = _ASSIGNMENT.fullmatch(assignment)
                folder = os.path.join(autograded, student, assignment)
                if not match or not os.path.isdir(folder):
                    continue
                for name in sorted(n for n in os.listdir(folder) if n.endswith(".ipynb")):
                    try:
                        notebook = nbformat.read(os.path.join(folder, name), as_version=4)
                    except Exception as error:  # noqa: BLE001 (one unreadable notebook never stops the report)
                        errors.append(f"{assignment}/{name}: cannot be read ({type(error).__name__})")
                        continue
                    found, problems = notebook_tests(notebook, int(match.group(1)))
                    tests += found
                    errors += problems
        if not lessons and not tests:
            continue
        data = {"score": sum(entry["score"] for entry in lessons.values()),
                "max_score": sum(entry["max_score"] for entry in lessons.values()), "tests": tests,
                "extra_data": {"submission": student, "folder": student, "finished": True, "complete": not errors,
                               "errors": errors, "lessons": lessons}}
        students.append({"name": student, "folder": student, "data": data, "error": ""})
    if not students:
        raise classreport.ReportError(f"{course}: no student in the export CSV nor in autograded/")
    return students


def report(course: str, grades_csv: str = None, out: str = None, threshold: float = classreport.DEFAULT_THRESHOLD,
           csv_path: str = None) -> tuple:
    """The class report of an nbgrader course: (path of index.html, summary)."""
    students = load_course(course, grades_csv)
    # the autograded notebooks do not record the engine's version: the one of this checkout, which grades them
    summary = classreport.summarise(students, threshold, {"source": "nbgrader",
                                                         "grader_version": results.grader_version()})
    title = os.path.basename(os.path.normpath(os.path.abspath(course)))
    page = classreport.write(summary, out or os.path.join(course, classreport.REPORT_FOLDER), title, csv_path)
    return page, summary
