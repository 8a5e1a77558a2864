"""Tools of the course: the generator, the pytest plugin and the student command line.

课程工具：生成器、pytest 插件和学生命令行。
"""
from pathlib import Path

from coursetools import lessons as _lessons

#: The repository root (the folder holding solutions/, exercises/, autograder/).
REPO_ROOT = Path(__file__).resolve().parent.parent

#: Lessons and their topic module, in teaching order: {number: topic}, a read-only view of the lesson table
#: (coursetools/lessons.py, where a lesson is added).
LESSONS = _lessons.LESSONS

#: The one stub text, everywhere (also nbgrader's ClearSolutions.code_stub).
STUB_LINES = ("# YOUR CODE HERE / 在此编写代码", "raise NotImplementedError()")
