"""Tools of the course: the generator, the pytest plugin and the student command line.

课程工具：生成器、pytest 插件和学生命令行。
"""
from pathlib import Path

#: The repository root (the folder holding solutions/, exercises/, autograder/).
REPO_ROOT = Path(__file__).resolve().parent.parent

#: Lessons and their topic module, in teaching order (the API contract, CURRICULUM.md).
LESSONS = {
    1: "tensors",
    2: "autograd",
    3: "data",
    4: "model",
    5: "train",
    6: "advanced",
}

#: The one stub text, everywhere (also nbgrader's ClearSolutions.code_stub).
STUB_LINES = ("# YOUR CODE HERE / 在此编写代码", "raise NotImplementedError()")
