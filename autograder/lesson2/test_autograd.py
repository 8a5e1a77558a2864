"""Tests for lesson 2, autograd. / 第 2 课（自动求导）的测试。

Expected gradients come from torch itself (the oracle), never typed in by hand.
期望的梯度来自 torch 本身（作为标准答案），而不是手工抄写。
"""
import pytest
import torch

from coursetools.feedback import describe, fail, failing_on

pytestmark = pytest.mark.lesson2


@pytest.fixture(scope="module")
def autograd(submission):
    """lesson2/autograd.py of the submission under test."""
    return submission.module("lesson2", "autograd")


def _oracle_linear(w, b, x, y_true):
    w, b = w.detach().clone().requires_grad_(True), b.detach().clone().requires_grad_(True)
    loss = (torch.sum(w * x) + b - y_true) ** 2
    loss.backward()
    return loss.item(), w.grad, b.grad


def _linear_inputs():
    g = torch.Generator().manual_seed(0)
    return torch.randn(3, generator=g), torch.randn((), generator=g), torch.randn(3, generator=g), torch.tensor(0.5)


@pytest.mark.parametrize("x", [3.0, -1.5])
def test_square_grad_matches_autograd(autograd, x):
    """Check square_grad(x) against d/dx 2x² computed by torch."""
    t = torch.tensor(x, requires_grad=True)
    (2 * t**2).backward()
    result = autograd.square_grad(x)
    if not isinstance(result, (float, int, torch.Tensor)) or abs(float(result) - t.grad.item()) > 1e-5:
        fail(2, "square_grad", f"square_grad({x}) returned {describe(result)}; expected {t.grad.item()} (4x).",
             f"square_grad({x}) 返回 {describe(result)}；应为 {t.grad.item()}（即 4x）。",
             "make x a tensor with requires_grad=True, compute y = 2 * x**2, call y.backward(), read x.grad.",
             "用 requires_grad=True 创建 x，计算 y = 2 * x**2，调用 y.backward()，读取 x.grad。")


def test_linear_loss_grads_match_autograd(autograd):
    """Check the loss and both gradients against torch's autograd."""
    w, b, x, y_true = _linear_inputs()
    loss, w_grad, b_grad = autograd.linear_loss_grads(w, b, x, y_true)
    exp_loss, exp_w, exp_b = _oracle_linear(w, b, x, y_true)
    if not isinstance(w_grad, torch.Tensor) or not isinstance(b_grad, torch.Tensor):
        fail(2, "linear_loss_grads", f"returned gradients {describe(w_grad)} and {describe(b_grad)}; expected tensors.",
             f"返回的梯度为 {describe(w_grad)} 和 {describe(b_grad)}；应为张量。")
    if abs(float(loss) - exp_loss) > 1e-4 or w_grad.shape != w.shape or b_grad.shape != () \
            or not torch.allclose(w_grad, exp_w, atol=1e-5) or not torch.allclose(b_grad, exp_b, atol=1e-5):
        fail(2, "linear_loss_grads", f"on w of shape (3,) gave loss {float(loss):.4g}, w_grad {describe(w_grad)}, "
             f"b_grad {describe(b_grad)}; these differ from torch's autograd on the same inputs.",
             "得到的 loss 或梯度与 torch 自动求导在相同输入上的结果不同。",
             "loss = (torch.sum(w * x) + b - y_true) ** 2, then loss.backward() and read w.grad, b.grad.",
             "loss = (torch.sum(w * x) + b - y_true) ** 2，然后 loss.backward()，读取 w.grad 和 b.grad。")


def test_linear_loss_grads_leaves_inputs_untouched(autograd):
    """Check that the caller's tensors keep their values, requires_grad and have no .grad."""
    w, b, x, y_true = _linear_inputs()
    before = [t.clone() for t in (w, b, x, y_true)]
    autograd.linear_loss_grads(w, b, x, y_true)
    changed = [name for name, t, old in zip("w b x y_true".split(), (w, b, x, y_true), before)
               if t.grad is not None or t.requires_grad or not torch.equal(t, old)]
    if changed:
        fail(2, "linear_loss_grads", f"the caller's {', '.join(changed)} changed (values, requires_grad or .grad).",
             f"调用者的 {', '.join(changed)} 被修改了（值、requires_grad 或 .grad）。",
             "work on copies: w = w.detach().clone().requires_grad_(True).",
             "在副本上计算：w = w.detach().clone().requires_grad_(True)。")


def test_zero_grads_clears_every_grad(autograd):
    """Check that every .grad is None or all zeros afterwards."""
    params = [torch.ones(2, requires_grad=True), torch.ones(3, requires_grad=True)]
    (params[0].sum() * 2 + params[1].sum() * 3).backward()
    autograd.zero_grads(params)
    left = [describe(p.grad) for p in params if p.grad is not None and bool(p.grad.any())]
    if left:
        fail(2, "zero_grads", f"after zero_grads the gradients are still {left}; expected None or zeros.",
             f"zero_grads 之后梯度仍为 {left}；应为 None 或全零。", pitfall="no-zero-grad")


def test_sgd_step_updates_without_recording(autograd):
    """Check that sgd_step does p -= lr * p.grad and keeps p a leaf outside the graph."""
    p = torch.tensor([1.0, -2.0], requires_grad=True)
    (p**2).sum().backward()  # grad = 2p
    expected = p.detach() - 0.1 * p.grad
    autograd.sgd_step([p], 0.1)
    if not torch.allclose(p.detach(), expected) or p.grad_fn is not None or not p.requires_grad:
        fail(2, "sgd_step", f"sgd_step([p], 0.1) left p = {describe(p)} (grad_fn {p.grad_fn}); expected values "
             f"{expected.tolist()}, still a leaf that requires grad.",
             f"sgd_step([p], 0.1) 之后 p = {describe(p)}；应为 {expected.tolist()}，并且仍是需要梯度的叶子张量。",
             "update in place inside `with torch.no_grad():` so the step is not part of the graph.",
             "在 `with torch.no_grad():` 中原地更新，这样这一步不会进入计算图。")


@pytest.mark.parametrize("times", [1, 3])
def test_accumulated_grad_adds_up(autograd, times):
    """Check that `times` backward calls on one graph accumulate to times * 4x."""
    x = torch.tensor(3.0)
    with failing_on(RuntimeError, 2, "accumulated_grad", f"accumulated_grad(3.0, {times}) raised",
                    f"accumulated_grad(3.0, {times}) 抛出", pitfall="double-backward"):
        result = autograd.accumulated_grad(x, times)
    t = torch.tensor(3.0, requires_grad=True)
    (2 * t**2).backward()
    expected = times * t.grad.item()
    if not isinstance(result, torch.Tensor) or result.dim() != 0 or abs(result.item() - expected) > 1e-4:
        fail(2, "accumulated_grad", f"accumulated_grad(3.0, {times}) returned {describe(result)}; expected a 0-dim "
             f"tensor {expected} ({times} x 4x).", f"accumulated_grad(3.0, {times}) 返回 {describe(result)}；"
             f"应为 0 维张量 {expected}。")
