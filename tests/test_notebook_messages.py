"""What a student reads from a notebook's check cells: whole diagnoses in `nbgrader validate`, and lesson 5's accuracy
against the 95 % goal when the checks pass.

学生从笔记本检查单元格读到的内容：`nbgrader validate` 显示完整的诊断；第 5 课检查通过时显示达到的准确率与 95% 的目标。
"""
import contextlib
import io
import re
import sys

import nbformat
import pytest
from nbgrader.validator import Validator

from coursetools import REPO_ROOT
from coursetools.authoring.notebooks import notebook_path
from coursetools.kernel.check import NotebookCheckFailed, check

DIAGNOSIS = (
    "train_one_epoch: 1 of 3 public tests failed. / train_one_epoch：3 项公开测试中有 1 项未通过。\n\n"
    "-- test_train_one_epoch_matches_the_reference_loop\n"
    "[lesson5 train_one_epoch] after one epoch (256 images in batches of 64, SGD(lr=0.1) on cpu) the weights differ "
    "from the reference loop (zero_grad, forward, loss, backward, step, in training mode) from the same start on the "
    "same batches; they match a loop where gradients were never cleared.\n"
    "Hint: call optimizer.zero_grad() once per batch, before loss.backward().\n"
    "[第5课 train_one_epoch] 训练一轮后（256 张图像，批大小 64，SGD），权重与参考循环（训练模式下梯度清零、前向、损失、反向、"
    "更新）从相同起点、相同批次得到的结果不同；它们与这样的循环一致：梯度从未清零。\n"
    "Pitfall / 常见错误: no-zero-grad")


def test_nbgrader_validate_shows_the_whole_diagnosis():
    """Check that the lines a failed check cell leaves in the notebook survive nbgrader validate's display (which cuts
    every line longer than its width) with every word of the diagnosis, English and Chinese."""
    traceback = NotebookCheckFailed(DIAGNOSIS)._render_traceback_()
    validator = Validator()
    shown = validator._indent("\n".join(traceback))
    assert "..." not in shown.replace("-- test", ""), shown
    assert all(len(line) <= validator.width - 3 for line in shown.splitlines())
    assert re.sub(r"\s+", "", shown) == re.sub(r"\s+", "", f"{NotebookCheckFailed.__name__}:" + DIAGNOSIS)


def test_the_old_rendering_was_cut():
    """Check that the diagnosis above is long enough to be cut when its lines are not wrapped (what nbgrader did)."""
    shown = Validator()._indent(f"{NotebookCheckFailed.__name__}:\n" + DIAGNOSIS)
    assert "..." in shown and "never cleared" not in shown


def _lesson5_namespace():
    namespace = {"__name__": "__main__"}
    notebook = nbformat.read(str(notebook_path(REPO_ROOT, 5)), as_version=4)
    for number, cell in enumerate(notebook.cells):
        if cell.get("metadata", {}).get("course", {}).get("role") in ("setup", "exercise"):
            exec(compile(cell.source, f"/tmp/ipykernel_0/cell{number}.py", "exec"), namespace)
    return namespace


@pytest.mark.slow
def test_the_lesson5_check_shows_the_accuracy_against_the_goal():
    """Check that the check cell of evaluate (which owns the training test), when it passes, shows the accuracy reached and the
    95 % goal, in both languages (not only "N public test(s) passed")."""
    output = io.StringIO()
    meta_path, modules = sys.meta_path[:], set(sys.modules)
    try:
        with contextlib.redirect_stdout(output):
            check(5, "evaluate", _lesson5_namespace())  # the training test is evaluate's (the last function it names)
    finally:  # the notebook's setup cell installs its lesson importer: this pytest's later tests must not meet it
        sys.meta_path[:] = meta_path
        for name in set(sys.modules) - modules:
            if name.split(".")[0] in {f"lesson{n}" for n in range(1, 10)}:
                del sys.modules[name]
    text = output.getvalue()
    assert "public test(s) passed" in text, text
    flat = re.sub(r"\s+", " ", text)  # lines are wrapped at 80 characters
    accuracy = re.search(r"test accuracy (\d+\.\d\d)% on the 10,000 test images \(goal: at least 95%, reached\)", flat)
    assert accuracy and float(accuracy.group(1)) >= 95, text
    assert re.search(rf"测试准确率为 ?{accuracy.group(1)}%（目标：至少 ?95%，已达到）", flat), text
