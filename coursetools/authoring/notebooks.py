"""Generate the nbgrader source notebooks from the one source (part of `python -m coursetools generate`).

从唯一的源文件生成 nbgrader 的源笔记本（`python -m coursetools generate` 的一部分）。

    solutions/lessonN/<topic>.py + autograder/lessonN/test_<topic>.py
        -> nbgrader/source/lessonN/lessonN.ipynb

A notebook is, in order: the module docstring as title; how to work; the
module's imports and constants (read-only); then per function or class its
docstring (Markdown), its code with the solution regions kept (nbgrader's
ClearSolutions turns them into the course's stub), and a check cell worth one
point per test function of that exercise (its metadata `course.exercise` names the
exercise for the feedback page's table of contents). The check cell runs the public tests
for the student's own feedback; it holds no hidden region, so it is the same in
the source and the release. The points `nbgrader autograde` records come from the
grading engine run outside the kernel on the notebook's code, public and hidden
tests together (autograder/parent/notebooks.py). Pictures
(coursetools/kernel/figures.py) follow the exercise they show.

The output is deterministic: fixed cell ids, no outputs, no execution counts, no timestamps.
"""
import ast
import re
from pathlib import Path

from coursetools import LESSONS, REPO_ROOT
from coursetools.authoring.figures import FIGURES
from coursetools.authoring.markdown import docstring_markdown, title_markdown
from coursetools.exercises import exercise_names, owners
from coursetools.regions import SOLUTION, RegionError, find_regions

HOW_TO = """\
**How to work**

- Write your code where a cell says `# YOUR CODE HERE / 在此编写代码`: replace that line and the \
`raise NotImplementedError()` under it. Keep the names and the arguments.
- Run the cell, then the check cell under it: it runs the public tests on your code, explains a mistake \
and names a classic one (`Pitfall / 常见错误: ...`).
- Run the read-only cell with the imports first. Before you hand in: *Kernel → Restart Kernel and Run All \
Cells*. Your instructor grades the code of the cells to fill in (not of cells you add), with more tests than \
the check cells run.

**如何完成**

- 在写有 `# YOUR CODE HERE / 在此编写代码` 的单元格中编写代码：替换这一行和它下面的 \
`raise NotImplementedError()`。不要改动名字和参数。
- 运行该单元格，再运行它下面的检查单元格：它会用公开测试检查你的代码，解释错误，并指出常见错误的名称\
（`Pitfall / 常见错误: ...`）。
- 先运行包含导入语句的只读单元格。提交前：选择 *Kernel → Restart Kernel and Run All Cells*。\
老师评分时只评需要你填写的单元格中的代码（不包括你自己添加的单元格），运行的测试比检查单元格更多。"""

#: The public tests, for the student's feedback only: when nbgrader autogrades, the engine decides the points.
CHECK_CELL = """\
# Check {name}: run this cell. / 检查 {name}：运行本单元格。
from coursetools.kernel.check import check
check({lesson}, "{name}", globals())"""

EARLIER_LESSONS = """\
# Your lessons {numbers}, imported from your notebooks {paths} (next to this lesson's folder).
# 你的第 {numbers_zh} 课，从你的笔记本 {paths} 导入（与本课文件夹并列）。
from coursetools.kernel.importer import import_lesson_notebooks
import_lesson_notebooks({numbers})"""

KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}


def notebook_path(root: Path, lesson: int) -> Path:
    return Path(root) / "nbgrader" / "source" / f"lesson{lesson}" / f"lesson{lesson}.ipynb"


def _nbgrader(grade_id: str, solution=False, grade=False, locked=False, points=None) -> dict:
    meta = {"grade": grade, "grade_id": grade_id, "locked": locked, "schema_version": 3, "solution": solution,
            "task": False}
    if points is not None:
        meta["points"] = points
    return meta


def _chunks(text: str, tree: ast.Module) -> list:
    """Split a module into ("setup", None, lines, first) and ("exercise", node, lines, first) chunks.

    In order, losing no line; `first` is the line number of lines[0].

    The lines between two top-level statements (comments, blank lines) go with the statement after them.
    """
    lines = text.splitlines()
    body = list(tree.body)
    position = 0
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        position = body.pop(0).end_lineno  # the module docstring
    chunks = []
    for node in body:
        end = node.end_lineno
        while end < len(lines) and (not lines[end].strip() or lines[end][0] in " \t"):
            end += 1  # comments at the end of an indented body (an END marker) are not in the AST
        part = lines[position:end]
        position = end
        first = end - len(part) + 1
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            chunks.append(("exercise", node, part, first))
        elif chunks and chunks[-1][0] == "setup":
            chunks[-1] = ("setup", None, chunks[-1][2] + part, chunks[-1][3])
        else:
            chunks.append(("setup", None, part, first))
    return chunks


def _strip(lines: list) -> str:
    return "\n".join(lines).strip("\n")


def _code_without_docstring(node, part: list, first: int) -> str:
    """The definition's source without its docstring (the Markdown cell above shows it)."""
    doc = node.body[0] if node.body and isinstance(node.body[0], ast.Expr) \
        and isinstance(node.body[0].value, ast.Constant) and isinstance(node.body[0].value.value, str) else None
    if doc is None or doc.lineno == node.lineno:
        return _strip(part)
    head, tail = part[:doc.lineno - first], part[doc.end_lineno - first + 1:]
    while tail and not tail[0].strip():
        tail = tail[1:]  # no blank line left where the docstring was
    return _strip(head + tail)


def exercise_code(module_text: str) -> dict:
    """{name: source of its code cell} for every top-level function and class of a lesson module."""
    tree = ast.parse(module_text)
    return {node.name: _code_without_docstring(node, part, first)
            for kind, node, part, first in _chunks(module_text, tree) if kind == "exercise"}


def _signature(node, lines: list) -> str:
    """The definition's header as written (`name(args) -> type` or `class Name(Base)`), on one line."""
    header = " ".join(line.strip() for line in lines[node.lineno - 1:node.body[0].lineno - 1])
    header = re.sub(r"^(async\s+)?def\s+", "", header)
    return header[:header.rindex(":")] if ":" in header else header


def _earlier_lessons(tree: ast.Module, lesson: int) -> list:
    found = set()
    for node in ast.walk(tree):
        names = [node.module or ""] if isinstance(node, ast.ImportFrom) else \
            [alias.name for alias in node.names] if isinstance(node, ast.Import) else []
        for name in names:
            match = re.match(r"lesson(\d+)(\.|$)", name)
            if match and int(match.group(1)) != lesson:
                found.add(int(match.group(1)))
    return sorted(found)


def build_notebook(lesson: int, solution_text: str, solution_rel: str, tests_text: str, tests_rel: str):
    """The source notebook of `lesson` (an nbformat NotebookNode).

    Raises:
        coursetools.regions.RegionError: for a malformed region, a solution region outside a
            function or class, or a picture placed after an exercise that does not exist.
    """
    import nbformat
    from nbformat import v4

    regions = find_regions(solution_text, solution_rel, SOLUTION)
    find_regions(tests_text, tests_rel, "HIDDEN TESTS")
    tree = ast.parse(solution_text, filename=solution_rel)
    exercises = exercise_names(solution_text)
    if not exercises:
        raise RegionError(solution_rel, 1, "no function or class: a lesson module needs at least one exercise")
    points = {}
    for owner in owners(tests_text, exercises).values():
        points[owner] = points.get(owner, 0) + 1
    figures = FIGURES.get(lesson, [])
    for exercise, _, _ in figures:
        if exercise not in exercises:
            raise RegionError(solution_rel, 1, f"coursetools/kernel/figures.py places a picture after "
                              f"{exercise!r}, which lesson {lesson} does not define")

    def markdown(cell_id, text):
        return v4.new_markdown_cell(text, id=f"lesson{lesson}-{cell_id}")

    def code(cell_id, text, role, nbgrader=None, exercise=None):
        metadata = {"course": {"role": role, **({"exercise": exercise} if exercise else {})}}
        if nbgrader is not None:
            metadata["nbgrader"] = nbgrader
        return v4.new_code_cell(text, id=cell_id, metadata=metadata)

    cells = [markdown("title", title_markdown(ast.get_docstring(tree, clean=False) or f"Lesson {lesson}")),
             markdown("how-to", HOW_TO)]
    setups = 0
    number = 0
    covered = set()
    source_lines = solution_text.splitlines()
    for kind, node, part, first in _chunks(solution_text, tree):
        if kind == "setup":
            source = _strip(part)
            if setups == 0:
                earlier = _earlier_lessons(tree, lesson)
                if earlier:
                    source += "\n\n" + EARLIER_LESSONS.format(
                        numbers=", ".join(map(str, earlier)), numbers_zh="、".join(map(str, earlier)),
                        paths=", ".join(f"lesson{k}/lesson{k}.ipynb" for k in earlier))
            grade_id = f"lesson{lesson}_setup" + (f"_{setups + 1}" if setups else "")
            cells.append(code(grade_id, source, "setup", _nbgrader(grade_id, locked=True)))
            setups += 1
            continue
        inside = [r for r in regions if first <= r.begin < first + len(part)]
        covered.update(inside)
        number += 1
        heading = f"## {number}. `{_signature(node, source_lines)}`"
        doc = ast.get_docstring(node, clean=False)
        cells.append(markdown(f"{node.name}-doc", heading + ("\n\n" + docstring_markdown(doc) if doc else "")))
        grade_id = f"lesson{lesson}_{node.name}"
        source = _code_without_docstring(node, part, first)
        if inside:
            cells.append(code(grade_id, source, "exercise", _nbgrader(grade_id, solution=True)))
        else:
            cells.append(code(grade_id, source, "setup", _nbgrader(grade_id, locked=True)))
        if points.get(node.name):
            check_id = f"{grade_id}_check"
            cells.append(code(check_id, CHECK_CELL.format(lesson=lesson, name=node.name), "check",
                              _nbgrader(check_id, grade=True, locked=True, points=points[node.name]),
                              exercise=node.name))  # the feedback page's table of contents names it
        for index, (_, text, source) in enumerate(f for f in figures if f[0] == node.name):
            if text:
                cells.append(markdown(f"{node.name}-picture-{index + 1}-text", text))
            cells.append(code(f"lesson{lesson}-{node.name}-picture-{index + 1}", source.rstrip("\n"), "figure"))
    outside = [r for r in regions if r not in covered]
    if outside:
        raise RegionError(solution_rel, outside[0].begin, "a solution region outside every function and class: "
                          "the notebook has no exercise cell to put it in")
    notebook = v4.new_notebook(cells=cells, metadata={"kernelspec": dict(KERNELSPEC),
                                                      "language_info": {"name": "python"}})
    nbformat.validate(notebook)
    return notebook


def render(notebook) -> str:
    """The notebook as the text written to disk (nbformat's JSON, sorted keys, final newline)."""
    import nbformat

    return nbformat.writes(notebook) + "\n"


def notebook_files(root: Path = REPO_ROOT) -> dict:
    """{nbgrader/source/lessonN/lessonN.ipynb: text} for every lesson (for coursetools.authoring.generate)."""
    outputs = {}
    root = Path(root)
    for lesson, topic in LESSONS.items():
        solution = root / "solutions" / f"lesson{lesson}" / f"{topic}.py"
        tests = root / "autograder" / f"lesson{lesson}" / f"test_{topic}.py"
        for source in (solution, tests):
            if not source.is_file():
                raise FileNotFoundError(f"source file {source.relative_to(root)} is missing")
        notebook = build_notebook(lesson, solution.read_text(encoding="utf-8"), solution.relative_to(root).as_posix(),
                                  tests.read_text(encoding="utf-8"), tests.relative_to(root).as_posix())
        outputs[notebook_path(root, lesson)] = render(notebook)
    return outputs
