# APPEND
# Mutant for the pitfall `step-before-backward` (backward on a non-scalar): the reference's linear_loss_grads
# redefined with that one bug (the products are not summed, so the loss is a vector).
# 变异体（step-before-backward，对非标量调用 backward）：用带这个错误的版本重新定义参考答案中的 linear_loss_grads
# （乘积没有求和，loss 是一个向量）。


def linear_loss_grads(w: torch.Tensor, b: torch.Tensor, x: torch.Tensor, y_true: torch.Tensor) -> tuple:
    w = w.detach().clone().requires_grad_(True)
    b = b.detach().clone().requires_grad_(True)
    loss = (w * x + b - y_true) ** 2
    loss.backward()
    return loss, w.grad, b.grad
