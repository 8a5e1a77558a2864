"""The Chinese line carries every fact the English one gives: values, flags, places (`course --lang zh` shows only
it), and square_grad states the expected number.

中文行包含英文行给出的每个事实：数值、标志、位置（`course --lang zh` 只显示中文行）；square_grad 说明期望的数。
"""
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from autograder import overlay
from coursetools import REPO_ROOT
from coursetools.boundary.proxy import student_error
from coursetools.checks import diagnosis
from coursetools.sandbox.server import Server

WRONG = {  # lesson file -> an overlay redefining one function wrongly
    "lesson1/tensors.py": """
        def multiply(a, b):
            return a + b, a - b
        """,
    "lesson2/autograd.py": """
        def square_grad(x):
            return 2.0 * x
        """,
    "lesson3/data.py": """
        def make_loaders(train_set, test_set, batch_size=64):
            from torch.utils.data import DataLoader
            return DataLoader(train_set, batch_size=batch_size), DataLoader(test_set, batch_size=batch_size)
        """,
}


@pytest.fixture(scope="module")
def wrong(tmp_path_factory):
    folder = tmp_path_factory.mktemp("facts")
    for relpath, code in WRONG.items():
        path = folder / "overlay" / relpath
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("# APPEND\n" + textwrap.dedent(code), encoding="utf-8")
    return overlay.build(folder / "overlay", folder / "submission")


def public_output(submission: Path, lesson: int, keyword: str) -> str:
    run = subprocess.run([sys.executable, "-m", "pytest", f"autograder/lesson{lesson}", "-q", "-p", "no:cacheprovider",
                          f"--submission={submission}", "-k", keyword], cwd=REPO_ROOT, capture_output=True,
                         text=True, timeout=600)
    return run.stdout


def chinese_line(output: str, head: str) -> str:
    return next(line for line in output.splitlines() if line.startswith(head))


def test_multiply_says_what_came_back_in_chinese_too(wrong):
    output = public_output(wrong, 1, "test_multiply_gives_elementwise_and_matrix_product")
    english = chinese_line(output, "[lesson1 multiply]")
    zh = chinese_line(output, "[第1课 multiply]")
    for shown in re.findall(r"\((tensor of shape \(3, 3\)[^)]*\))", english):
        assert shown.split("[")[-1].split("]")[0] in zh, (english, zh)  # the same values
    assert "gave (" in english and "得到 (" in zh and "a * b, a @ b" in zh, (english, zh)


def test_square_grad_states_the_expected_number(wrong):
    output = public_output(wrong, 2, "test_square_grad_matches_autograd")
    english = chinese_line(output, "[lesson2 square_grad] square_grad(3.0)")
    zh = chinese_line(output, "[第2课 square_grad] square_grad(3.0)")
    assert "expected 12.0" in english and "应为 12.0" in zh, (english, zh)


def test_make_loaders_gives_its_shuffle_flags_in_chinese_too(wrong):
    output = public_output(wrong, 3, "test_make_loaders_shuffles_train_only")
    english = chinese_line(output, "[lesson3 make_loaders]")
    zh = chinese_line(output, "[第3课 make_loaders]")
    assert "training order shuffled (each item once): False; test order kept: True" in english, english
    assert "训练集顺序已打乱（每个样本一次）：否；测试集顺序保持不变：是" in zh, zh


def test_a_raised_error_names_its_line_and_words_in_chinese_too(tmp_path):
    (tmp_path / "lesson1").mkdir()
    (tmp_path / "lesson1" / "tensors.py").write_text("def scalar_tensor(value):\n    return {}['missing']\n")
    server = Server(str(tmp_path), in_process=True)
    try:
        module = server._import("lesson1.tensors")
        try:
            module.scalar_tensor(3)
        except KeyError as raised:
            error = student_error(server._describe(raised))
    finally:
        Server._active_root = None
    text, _ = diagnosis.raised_text(1, "scalar_tensor", "scalar_tensor(3)", error)
    assert "line 2" in text.en and "'missing'" in text.en
    assert "第 2 行" in text.zh and "'missing'" in text.zh and "return {}['missing']" in text.zh, text.zh
    stopped = diagnosis.timeout_message(1, "scalar_tensor", "scalar_tensor(3)", 20, error.frames)
    assert "line 2" in stopped and "lesson1/tensors.py 第 2 行" in stopped, stopped
