"""Import earlier lessons from the student's own notebooks: `from lesson3.data import load_mnist` in lesson 5.

从学生自己的笔记本导入前几课：例如第 5 课中的 `from lesson3.data import load_mnist`。

A lesson's setup cell calls `import_lesson_notebooks(3, 4)`; afterwards
`import lesson3.data` runs the setup and exercise cells of the lesson-3
notebook (found next to this lesson's folder, or, while nbgrader autogrades,
in the student's submitted/ folder) as the module `lesson3.data`. Its file is
the notebook, so a traceback names it. nbgrader's points come from the grading
engine, which reads the same cells (autograder/parent/notebooks.py).
"""
import linecache
import re
import sys

from coursetools import LESSONS
from coursetools.nbfiles import notebook_candidates, notebook_code


class _LessonNotebookFinder:
    """Imports `lessonK.<topic>` from the student's lesson-K notebook (its setup and solution cells)."""

    def __init__(self):
        self.lessons = set()

    def find_spec(self, fullname, path=None, target=None):
        import importlib.util

        parts = fullname.split(".")
        match = re.fullmatch(r"lesson(\d+)", parts[0])
        if not match or int(match.group(1)) not in self.lessons:
            return None
        lesson = int(match.group(1))
        if len(parts) == 1:
            return importlib.util.spec_from_loader(fullname, self, is_package=True)
        if len(parts) == 2 and parts[1] == LESSONS[lesson]:
            return importlib.util.spec_from_loader(fullname, self, origin=str(notebook_candidates(lesson)[0]))
        return None

    def create_module(self, spec):
        return None

    def exec_module(self, module):
        parts = module.__name__.split(".")
        if len(parts) == 1:
            module.__path__ = []
            return
        lesson = int(parts[0][len("lesson"):])
        found = [path for path in notebook_candidates(lesson) if path.is_file()]
        if not found:
            looked = ", ".join(str(path) for path in notebook_candidates(lesson))
            raise ModuleNotFoundError(
                f"{module.__name__} comes from your lesson {lesson} notebook, which is not there (looked for {looked}). "
                f"Keep the lesson folders side by side (lesson{lesson}/ next to this lesson's folder).\n"
                f"{module.__name__} 来自你的第 {lesson} 课笔记本，但没有找到（查找了 {looked}）。"
                f"请把各课文件夹放在一起（lesson{lesson}/ 与本课文件夹并列）。", name=module.__name__)
        module.__file__ = str(found[0])
        for number, source in notebook_code(found[0]):
            filename = f"{found[0]} [cell {number} from the top]"  # as JupyterLab shows it: markdown cells count
            # its lines for tracebacks and the checks' diagnoses (there is no such file to read them from)
            linecache.cache[filename] = (len(source), None, source.splitlines(keepends=True), filename)
            exec(compile(source, filename, "exec"), module.__dict__)


_finder = _LessonNotebookFinder()


def import_lesson_notebooks(*lessons: int) -> None:
    """Make `lessonK.<topic>` importable from the notebook of each lesson K in `lessons`.

    让 `lessons` 中每一课 K 的 `lessonK.<topic>` 可以从该课的笔记本导入。
    """
    _finder.lessons.update(lessons)
    if _finder not in sys.meta_path:
        sys.meta_path.insert(0, _finder)
