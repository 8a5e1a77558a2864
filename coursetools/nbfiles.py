"""Where a lesson's notebook is, and its graded code: read by the kernel, the engine and the tests.

笔记本文件：某一课的笔记本在哪里，以及其中要评分的代码（内核、评分引擎和测试共用）。
"""
from pathlib import Path


def notebook_candidates(lesson: int, here: Path | None = None) -> list:
    """Where lesson `lesson`'s notebook may be, seen from the folder `here` of the notebook that needs it
    (default: the cwd, the folder of the notebook running now).

    Next to this lesson's folder (a student's course folder, nbgrader's source/ or release/), and,
    while nbgrader autogrades (autograded/<student>/<assignment>), that student's submitted/ folder.
    """
    here = Path.cwd() if here is None else Path(here)
    name = f"lesson{lesson}"
    candidates = []
    if here.parent.parent.name == "autograded":
        candidates.append(here.parents[2] / "submitted" / here.parent.name / name / f"{name}.ipynb")
    candidates.append(here.parent / name / f"{name}.ipynb")
    return candidates


def notebook_code(path: Path) -> list:
    """[(cell number, source)] of the setup and solution cells of a course notebook, in order."""
    import nbformat

    return [(number, source) for number, _, source in code_cells(nbformat.read(str(path), as_version=4))]


def code_cells(notebook) -> list:
    """[(cell number, cell id, source)] of the setup and solution cells of a notebook (nbformat's), in order."""
    cells = []
    for number, cell in enumerate(notebook.cells, start=1):
        role = cell.get("metadata", {}).get("course", {}).get("role")
        if cell.cell_type == "code" and role in ("setup", "exercise"):
            cells.append((number, cell.get("id") or f"code cell {number}", cell.source))
    return cells
