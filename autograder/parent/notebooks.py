"""nbgrader's points from the grading engine: the preprocessor `EngineGrades` of `nbgrader autograde`.

nbgrader 的分数来自评分引擎：`nbgrader autograde` 的预处理器 `EngineGrades`。

nbgrader/nbgrader_config.py puts it where nbgrader's `Execute` was, so no student
cell runs in a kernel as the instructor. For each notebook (after nbgrader's
sanitize step restored the locked cells) it

1. writes the setup and exercise cells, in order, each under a line `# cell <id>`,
   to <tmp>/sub/lessonN/<topic>.py; the lessons that lesson imports come from the
   student's own notebooks of those lessons (coursetools/kernel/importer.py finds them);
2. runs `python -m autograder grade` on that folder (student code runs in the
   engine's sandbox only) and reads its results.json;
3. gives each check cell the outputs from which nbgrader's SaveAutoGrades reads
   cell points x engine score / engine maximum of that exercise's tests: the diagnosis
   on stdout, a number for partial credit, an error for 0.

When the engine fails, every grade cell of the notebook gets 0 with a message
that says so; the rest of the class is graded.
"""
import ast
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from nbformat.v4 import new_output
from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Float, Integer

from coursetools import LESSONS, REPO_ROOT
from coursetools.exercises import exercise_names, exercise_of, owners
from coursetools.nbfiles import code_cells, notebook_candidates

#: The lines coursetools.authoring.notebooks.EARLIER_LESSONS adds to a setup cell: they import earlier lessons in a kernel.
_EARLIER = re.compile(r"^from coursetools\.kernel\.importer import import_lesson_notebooks\s*$"
                      r"|^import_lesson_notebooks\(([\d,\s]*)\)\s*$", re.MULTILINE)
#: A place in a written lesson module, as tracebacks and warnings name it: path, maybe `:14` or `", line 14`.
_PLACE = re.compile(r'(?:[^\s"\':]*/)?lesson(\d+)/(\w+)\.py(?:(:|", line |, line )(\d+))?')
_FAILED_EN = ("Grading failed: the course's grading engine could not grade this notebook ({why}). This 0 is not a "
              "score of your code; tell your instructor.")
_FAILED_ZH = "评分失败：课程评分引擎无法为本笔记本评分（{why}）。这个 0 分不是你的代码的得分；请告诉老师。"


class GradingFailed(Exception):
    """The engine gave no verdict for the notebook: `why` for the student, the message for the log."""

    def __init__(self, why: str, detail: str = ""):
        super().__init__(f"{why}: {detail}" if detail else why)
        self.why = why


def module_text(notebook, name: str) -> tuple:
    """(source, notes, cells) of the lesson module made of `notebook`'s setup and exercise cells.

    `name` (the notebook's) heads the module; `cells` is [(line where a cell's code starts, cell id)].
    A cell that is not Python, once IPython's `%magic` and `!shell` lines are commented out, is
    left out, and a note (English, then Chinese) says so: in a kernel, too, it would cost its own
    definitions only. The lines that import earlier lessons from their notebooks are dropped.
    """
    lines = [f"# {name}: its setup and exercise cells, in order (autograder/parent/notebooks.py).", ""]
    notes, cells = [], []
    for _, cell_id, source in code_cells(notebook):
        cell_id = re.sub(r"[^\w-]", "_", cell_id)[:64]  # as nbformat allows: one line, no code
        source = _EARLIER.sub("", source)
        try:
            ast.parse(source)
        except SyntaxError:
            source = re.sub(r"^(\s*)([%!])", r"\1# \2", source, flags=re.MULTILINE)
        try:
            ast.parse(source)
        except SyntaxError as error:
            notes.append(f"Cell {cell_id} has a syntax error at its line {error.lineno}: {error.msg}; it was left "
                         f"out of the graded code.\n单元格 {cell_id} 第 {error.lineno} 行有语法错误：{error.msg}；"
                         f"评分时没有包含它。")
            source = "\n".join("# " + line for line in source.splitlines())
        lines.append(f"# cell {cell_id}")
        cells.append((len(lines) + 1, cell_id))
        lines += source.rstrip().splitlines() + ["", ""]
    return "\n".join(lines), notes, cells


def cell_places(text: str, places: dict) -> str:
    """`text` with each place in a written module (`.../lesson1/tensors.py:14`) named as the notebook's cell.

    `places` is {lesson: cells} as module_text gives them: `lesson1.ipynb [cell lesson1_filled]:3`.
    """
    def where(match):
        number, topic, separator, line = match.groups()
        if LESSONS.get(int(number)) != topic:
            return match.group(0)
        starts = [(start, cell) for start, cell in places.get(int(number), []) if line and start <= int(line)]
        if not starts:
            return f"lesson{number}.ipynb"
        start, cell = starts[-1]
        return f"lesson{number}.ipynb [cell {cell}]{separator}{int(line) - start + 1}"

    return _PLACE.sub(where, text)


def earlier_lessons(notebook) -> list:
    """The lessons a notebook imports from the student's notebooks (its `import_lesson_notebooks(...)` line)."""
    found = set()
    for _, _, source in code_cells(notebook):
        for numbers in _EARLIER.findall(source):
            found.update(int(n) for n in re.findall(r"\d+", numbers) if int(n) in LESSONS)
    return sorted(found)


def write_submission(notebook, lesson: int, folder: Path, here: Path, log) -> tuple:
    """Write lessonN/<topic>.py of `notebook` and of the earlier lessons it imports under `folder`.

    Returns:
        (notes, places): the notes of module_text, and {lesson: cells} for cell_places.
    """
    import nbformat

    notes, places = [], {}

    def write(number, text):
        (folder / f"lesson{number}").mkdir(parents=True, exist_ok=True)
        (folder / f"lesson{number}" / f"{LESSONS[number]}.py").write_text(text, encoding="utf-8")

    def extract(number, notebook):
        text, found, places[number] = module_text(notebook, f"lesson{number}.ipynb")
        notes.extend(found)
        write(number, text)

    extract(lesson, notebook)
    pending, done = earlier_lessons(notebook), {lesson}
    while pending:
        number = pending.pop(0)
        if number in done:
            continue
        done.add(number)
        found = [path for path in notebook_candidates(number, here) if path.is_file()]
        if not found:
            log.warning("lesson%s: the student's lesson%s notebook is not there (looked for %s)", lesson,
                        number, ", ".join(map(str, notebook_candidates(number, here))))
            message = (f"lesson{number}.{LESSONS[number]} comes from your lesson {number} notebook, which was not "
                       f"handed in with this lesson. / lesson{number}.{LESSONS[number]} 来自你的第 {number} 课笔记本，"
                       f"但它没有随本课一起提交。")
            write(number, f"raise ModuleNotFoundError({message!r})\n")
            continue
        try:
            earlier = nbformat.read(str(found[0]), as_version=4)
        except Exception as error:  # noqa: BLE001 (not a notebook: the imports of that lesson fail, saying so)
            log.warning("lesson%s: the student's %s cannot be read: %s", lesson, found[0], error)
            message = (f"your lesson {number} notebook cannot be read as a notebook. / "
                       f"你的第 {number} 课笔记本无法作为笔记本读取。")
            write(number, f"raise ImportError({message!r})\n")
            continue
        extract(number, earlier)
        pending += earlier_lessons(earlier)
    return notes, places


def engine_budget(timeout: float) -> float:
    """The engine's own budget within nbgrader's `timeout`: it stops grading then and writes the points of the
    tests it finished, with room left to start and to write results (a few looping functions cost their own
    tests, never the whole notebook's points)."""
    return max(1.0, timeout - max(30.0, 0.1 * timeout))


def run_engine(submission: Path, lesson: int, out: Path, timeout: float, timeout_factor: float) -> dict:
    """Grade lesson `lesson` of `submission` with `python -m autograder grade`; its results.json as a dict.

    The engine gets `engine_budget(timeout)` seconds (`--budget`): the tests it has not finished by then fail as
    not graded and the others keep their points; `timeout` itself is only the last resort.

    Raises:
        GradingFailed: no results, the engine's exit code says grading did not complete, or the time ran out.
    """
    command = [sys.executable, "-m", "autograder", "grade", str(submission), "--lessons", str(lesson),
               "--out", str(out), "--quiet", "--workers", "1", "--timeout-factor", str(timeout_factor),
               "--budget", f"{engine_budget(timeout):g}"]
    log = Path(out).parent / "engine.log"  # a file, not a pipe: nothing left behind can keep us waiting
    with open(log, "wb") as output:
        process = subprocess.Popen(command, cwd=REPO_ROOT, stdout=output, stderr=subprocess.STDOUT,
                                   start_new_session=True)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
            raise GradingFailed(f"the engine ran past {timeout:g} s", " ".join(command)) from None
    printed = log.read_bytes()[-3000:].decode("utf-8", "replace")
    try:
        results = json.loads((out / "results.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise GradingFailed("the engine wrote no results",
                            f"exit code {process.returncode}, {error}; it printed:\n{printed}") from None
    extra = results.get("extra_data") or {}
    error = (extra.get("lessons") or {}).get(str(lesson), {}).get("error")
    if error or process.returncode != 0 or extra.get("complete") is False:
        raise GradingFailed("a grader error", f"exit code {process.returncode}, lesson {lesson}: {error}; "
                            f"summary:\n{results.get('output', '')}\nprinted:\n{printed}")
    return results


def verdicts(results: dict, lesson: int) -> dict:
    """{exercise: (score, max score, [failed tests], skipped count)} of lesson `lesson` from results.json."""
    exercises = exercise_names((REPO_ROOT / "solutions" / f"lesson{lesson}" / f"{LESSONS[lesson]}.py")
                               .read_text(encoding="utf-8"))
    tests = owners((REPO_ROOT / "autograder" / f"lesson{lesson}" / f"test_{LESSONS[lesson]}.py")
                   .read_text(encoding="utf-8"), exercises)  # as the check cells' points were set
    found = {name: [0.0, 0.0, [], 0] for name in exercises}

    def owner(test_name):
        path, _, function = test_name.partition("::")
        function = function.split("[")[0]
        if not path.startswith(f"lesson{lesson}/"):
            return None
        return tests.get(function) or exercise_of(function, exercises)

    for test in results.get("tests", []):
        entry = found.get(owner(str(test.get("name", ""))))
        if entry is not None:
            entry[0] += float(test.get("score") or 0)
            entry[1] += float(test.get("max_score") or 0)
            if test.get("status") != "passed":
                entry[2].append(test)
    for test in (results.get("extra_data") or {}).get("skipped", []):
        entry = found.get(owner(str(test.get("name", ""))))
        if entry is not None:
            entry[3] += 1
    if not any(entry[1] for entry in found.values()):
        raise GradingFailed("the engine reported no test of this lesson", json.dumps(results)[:3000])
    return {name: tuple(entry) for name, entry in found.items()}


def _diagnosis(name: str, verdict: tuple, points: tuple, notes: list, places: dict) -> str:
    score, top, failed, skipped = verdict
    count = len(failed)
    not_run_en, not_run_zh = ((f"; {skipped} test(s) not run on this machine", f"；{skipped} 项测试在本机未运行")
                              if skipped else ("", ""))
    lines = [(f"{name}: {score:g} of {top:g} test points, from the course's grading engine (it ran your "
              f"notebook's code outside the notebook{not_run_en}). / {name}：课程评分引擎（在笔记本之外运行你的"
              f"代码）给出 {score:g} / {top:g} 测试分{not_run_zh}。"),
             "This check cell: {:g} of {:g} point(s). / 本检查单元格：{:g} / {:g} 分。".format(*points, *points)]
    if count:
        lines.append(f"{count} test(s) failed. / {count} 项测试未通过。")
    lines += notes
    same = {}  # one diagnosis, once, under the tests that gave it (a failed import fails them all alike)
    for test in failed:
        same.setdefault(cell_places(str(test.get("output", "")), places), []).append(
            str(test.get("name", "")).partition("::")[2])
    for output, tests in same.items():
        more = f", ... ({len(tests)} tests)" if len(tests) > 3 else ""
        lines += ["", f"-- {', '.join(tests[:3])}{more}", output]
    return "\n".join(lines)


def _set_outputs(cell, text: str, points: float, ename: str = "TestsFailed") -> None:
    top = float(cell.metadata.nbgrader.get("points", 0) or 0)
    cell.execution_count = None
    if points >= top:
        cell.outputs = [new_output("stream", name="stdout", text=text + "\n")]
    elif points <= 0:
        lines = text.splitlines()
        cell.outputs = [new_output("error", ename=ename, evalue=lines[0] if lines else "", traceback=lines)]
    else:
        cell.outputs = [new_output("stream", name="stdout", text=text + "\n"),
                        new_output("execute_result", data={"text/plain": repr(points)})]


class EngineGrades(NbGraderPreprocessor):
    """Score the check cells of a course notebook with the grading engine run outside the kernel."""

    timeout = Integer(1800, help="seconds the engine may take for one notebook").tag(config=True)
    timeout_factor = Float(1.0, help="passed to the engine as --timeout-factor (a slow machine)").tag(config=True)

    def preprocess(self, nb, resources):
        grade_cells = [cell for cell in nb.cells if cell.cell_type == "code"
                       and cell.metadata.get("nbgrader", {}).get("grade")]
        names = resources.get("nbgrader", {})
        who = f"{names.get('student')}/{names.get('assignment')}/{names.get('notebook')}"
        start = time.monotonic()
        try:
            match = re.fullmatch(r"lesson(\d+)", str(names.get("notebook")))
            lesson = int(match.group(1)) if match else None
            if lesson not in LESSONS:
                raise GradingFailed("not a lesson notebook of the course", str(names.get("notebook")))
            here = Path(resources.get("metadata", {}).get("path") or ".").resolve()
            with tempfile.TemporaryDirectory(prefix="nbgrader-engine-") as folder:
                notes, places = write_submission(nb, lesson, Path(folder) / "sub", here, self.log)
                results = run_engine(Path(folder) / "sub", lesson, Path(folder) / "out", self.timeout,
                                     self.timeout_factor)
            found = verdicts(results, lesson)
        except Exception as error:  # one notebook never stops the autograde of the others
            why = error.why if isinstance(error, GradingFailed) else "an error in the course's nbgrader step"
            self.log.error("%s: grading failed, every grade cell gets 0: %s", who, error,
                           exc_info=not isinstance(error, GradingFailed))
            text = _FAILED_EN.format(why=why) + "\n" + _FAILED_ZH.format(why=why)
            for cell in grade_cells:
                _set_outputs(cell, text, 0, "GradingFailed")
            return nb, resources
        if not (results.get("extra_data") or {}).get("isolated", True):
            self.log.warning("%s: NOT ISOLATED: the engine ran the student's code without its sandbox", who)
        for cell in grade_cells:
            grade_id = cell.metadata.nbgrader.get("grade_id", "")
            name = grade_id[len(f"lesson{lesson}_"):-len("_check")] if grade_id.endswith("_check") else None
            if name not in found:
                _set_outputs(cell, f"{grade_id} is not a check cell of lesson {lesson}: no points. / "
                             f"{grade_id} 不是第 {lesson} 课的检查单元格：不计分。", 0)
                continue
            score, top, _, _ = found[name]
            most = float(cell.metadata.nbgrader.get("points", 0) or 0)
            points = round(most * (score / top if top else 1.0), 4)
            _set_outputs(cell, _diagnosis(name, found[name], (points, most), notes, places), points)
        self.log.info("%s: graded by the engine in %.1f s", who, time.monotonic() - start)
        return nb, resources
