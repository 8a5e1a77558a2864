# APPEND
# Variant `named-tuple-returns`: (loss, w_grad, b_grad) as a typing.NamedTuple.
# 正确的不同写法：用 typing.NamedTuple 返回 (loss, w_grad, b_grad)。
from typing import NamedTuple


class LossGrads(NamedTuple):
    loss: float
    w_grad: torch.Tensor
    b_grad: torch.Tensor


def linear_loss_grads(w, b, x, y_true):
    w = w.detach().clone().requires_grad_(True)
    b = b.detach().clone().requires_grad_(True)
    loss = (torch.sum(w * x) + b - y_true) ** 2
    loss.backward()
    return LossGrads(loss.item(), w.grad, b.grad)
