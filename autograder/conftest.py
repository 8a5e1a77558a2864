"""pytest options of the hidden graders (loaded by `pytest autograder` and by the grading engine's copy).

评分测试的 pytest 选项。
"""


def pytest_addoption(parser):
    parser.addoption(
        "--full",
        action="store_true",
        default=False,
        help="also run the student's train_mnist on all of MNIST (minutes); `python -m autograder grade --full` "
        "passes it / 同时在完整 MNIST 上运行学生的 train_mnist（需要数分钟）",
    )
