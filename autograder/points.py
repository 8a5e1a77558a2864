"""Points and time limits per test: the one table (documented in autograder/README.md).

A test is named like `lesson5/test_train.py::test_evaluate_gives_accuracy[cpu]`.
Every test case (each parametrized case too) is worth DEFAULT_POINTS, unless the
first matching pattern of POINTS says otherwise; the same goes for its wall-clock
limit with TIMEOUTS. Patterns use shell-style wildcards (fnmatch).

每个测试（包括参数化的每一组）默认 1 分；POINTS 中第一个匹配的模式可以改变分值，TIMEOUTS 同理改变时限。
"""
from fnmatch import fnmatchcase

DEFAULT_POINTS = 1

#: (pattern, points): the MNIST accuracy bars and the whole pipeline weigh more.
POINTS = (
    ("lesson4/*95*", 5),  # the student's SimpleMNISTNet trained by the reference loop reaches 95 %
    ("lesson5/*95*", 5),  # the student's train_one_epoch / evaluate reach 95 % with the reference model
    ("lesson5/*train_mnist*full*", 5),  # train_mnist on all of MNIST (only with --full)
    ("lesson5/*train_mnist*", 3),  # train_mnist on a reduced MNIST folder
)

DEFAULT_TIMEOUT = 60.0  # seconds of wall-clock time per test

#: (pattern, seconds): training runs get more time; train_mnist on all of MNIST the most.
TIMEOUTS = (
    ("lesson5/*train_mnist*full*", 900.0),  # 180 s budget on 2 cores, with room for a loaded machine
    ("*95*", 300.0),
    ("*train*", 300.0),
    ("lesson6/*", 120.0),  # ResNet-18 builds
)


def _first(table, name: str, default):
    for pattern, value in table:
        if fnmatchcase(name, pattern):
            return value
    return default


def points_for(name: str) -> float:
    """Points of the test `name` (lessonN/test_file.py::test_function[params])."""
    return float(_first(POINTS, name, DEFAULT_POINTS))


def timeout_for(name: str) -> float:
    """Wall-clock limit in seconds of the test `name`."""
    return float(_first(TIMEOUTS, name, DEFAULT_TIMEOUT))
