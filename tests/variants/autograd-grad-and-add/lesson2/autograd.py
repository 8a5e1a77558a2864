# APPEND
# Variant `autograd-grad-and-add`: correct code written another way; the reference's square_grad, linear_loss_grads, zero_grads, sgd_step, accumulated_grad redefined.
# 正确的不同写法（autograd-grad-and-add）：重新定义参考答案中的 square_grad, linear_loss_grads, zero_grads, sgd_step, accumulated_grad。


def square_grad(x: float) -> float:
    t = torch.tensor(x, dtype=torch.float32, requires_grad=True)
    (grad,) = torch.autograd.grad(2 * t * t, t)
    return float(grad)


def linear_loss_grads(w: torch.Tensor, b: torch.Tensor, x: torch.Tensor, y_true: torch.Tensor) -> tuple:
    w_copy = w.clone().detach().requires_grad_()
    b_copy = b.clone().detach().requires_grad_()
    loss = ((w_copy * x).sum() + b_copy - y_true).pow(2)
    w_grad, b_grad = torch.autograd.grad(loss, [w_copy, b_copy])
    return loss.detach(), w_grad, b_grad


def zero_grads(params: list) -> None:
    for p in params:
        p.grad = None


def sgd_step(params: list, lr: float) -> None:
    with torch.no_grad():
        for p in params:
            p.add_(p.grad, alpha=-lr)


def accumulated_grad(x, times: int) -> torch.Tensor:
    if isinstance(x, torch.Tensor):
        t = x.detach().clone().float().requires_grad_()
    else:
        t = torch.tensor(float(x), requires_grad=True)
    y = 2 * t * t
    for i in range(times):
        torch.autograd.backward(y, retain_graph=i < times - 1)
    return t.grad
