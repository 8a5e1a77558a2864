"""Lesson 2: autograd, gradients computed for you.
第 2 课：自动求导，让 PyTorch 替你计算梯度。

Mark a tensor with `requires_grad=True`, compute with it, call `backward()`
on a scalar, then read `.grad`. Gradients add up until you clear them.
给张量设置 `requires_grad=True`，用它计算，对标量调用 `backward()`，
然后读取 `.grad`。梯度会不断累加，直到你把它清零。
"""
import torch


def square_grad(x: float) -> float:
    """Return d/dx of 2x² at `x`, computed by autograd (12.0 at 3.0).
    用自动求导计算 2x² 在 `x` 处的导数（x = 3.0 时为 12.0）。

    Args:
        x: the point, a Python float. / 求导点，Python 浮点数。
    """
    t = torch.tensor(x, dtype=torch.float32, requires_grad=True)
    (grad,) = torch.autograd.grad(2 * t * t, t)
    return float(grad)


def linear_loss_grads(w: torch.Tensor, b: torch.Tensor, x: torch.Tensor, y_true: torch.Tensor) -> tuple:
    """Compute loss = (sum(w * x) + b - y_true)² and its gradients by autograd.
    计算 loss = (sum(w * x) + b - y_true)²，并用自动求导得到梯度。

    Work on copies that require grad: the caller's tensors must not change
    and must not get a `.grad`.
    在需要梯度的副本上计算：调用者的张量不能被修改，也不能得到 `.grad`。

    Args:
        w: weights, 1-D float tensor. / 权重，1 维浮点张量。
        b: bias, 0-D float tensor. / 偏置，0 维浮点张量。
        x: input, 1-D like `w`. / 输入，与 `w` 形状相同。
        y_true: target, 0-D. / 目标值，0 维。

    Returns:
        (loss, w_grad, b_grad): loss as a float, w_grad shaped like `w`,
        b_grad 0-dimensional.
        (loss, w_grad, b_grad)：loss 为浮点数，w_grad 与 `w` 同形，b_grad 为 0 维。
    """
    w_copy = w.clone().detach().requires_grad_()
    b_copy = b.clone().detach().requires_grad_()
    loss = ((w_copy * x).sum() + b_copy - y_true).pow(2)
    w_grad, b_grad = torch.autograd.grad(loss, [w_copy, b_copy])
    return loss.detach(), w_grad, b_grad


def zero_grads(params: list) -> None:
    """Clear the accumulated `.grad` of every parameter, in place.
    原地清除每个参数累积的 `.grad`。

    Args:
        params: tensors that require grad. / 需要梯度的张量。
    """
    for p in params:
        p.grad = None


def sgd_step(params: list, lr: float) -> None:
    """Do one gradient-descent step: p -= lr * p.grad for each parameter.
    做一步梯度下降：对每个参数执行 p -= lr * p.grad。

    The update itself must not be recorded in the graph: wrap it in
    `torch.no_grad()`.
    更新本身不能被记录进计算图：把它放进 `torch.no_grad()` 中。

    Args:
        params: tensors that require grad and have a `.grad`.
            需要梯度且已有 `.grad` 的张量。
        lr: the learning rate. / 学习率。
    """
    with torch.no_grad():
        for p in params:
            p.add_(p.grad, alpha=-lr)


def accumulated_grad(x, times: int) -> torch.Tensor:
    """Call backward `times` times on ONE graph of y = 2x² and return x.grad.
    在同一个 y = 2x² 计算图上调用 `times` 次 backward，并返回 x.grad。

    The graph is freed after a backward unless you pass `retain_graph=True`.
    Gradients add up, so the result is times * 4x.
    除非传入 `retain_graph=True`，否则 backward 之后计算图会被释放。
    梯度会累加，所以结果是 times * 4x。

    Args:
        x: a float or a 0-D tensor (left untouched). / 浮点数或 0 维张量（不修改它）。
        times: how many backward calls, at least 1. / backward 的次数，至少 1。

    Returns:
        A 0-D tensor. / 一个 0 维张量。
    """
    if isinstance(x, torch.Tensor):
        t = x.detach().clone().float().requires_grad_()
    else:
        t = torch.tensor(float(x), requires_grad=True)
    y = 2 * t * t
    for i in range(times):
        torch.autograd.backward(y, retain_graph=i < times - 1)
    return t.grad
