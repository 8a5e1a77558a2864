# APPEND
# Mutant for the pitfall `numpy-on-grad-or-cuda`: the reference's linear_loss_grads redefined with that one bug
# (the loss turned into a number with .numpy() while it still requires grad).
# 变异体（numpy-on-grad-or-cuda）：用带这个错误的版本重新定义参考答案中的 linear_loss_grads
# （loss 仍需要梯度时就用 .numpy() 把它变成数）。


def linear_loss_grads(w: torch.Tensor, b: torch.Tensor, x: torch.Tensor, y_true: torch.Tensor) -> tuple:
    w = w.detach().clone().requires_grad_(True)
    b = b.detach().clone().requires_grad_(True)
    loss = (torch.sum(w * x) + b - y_true) ** 2
    loss.backward()
    return float(loss.numpy()), w.grad, b.grad
