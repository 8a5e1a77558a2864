# APPEND
# Variant `zero-grads-like-torch`: written like torch's own Optimizer.zero_grad(set_to_none=False): detach each
# gradient from any graph in place, then zero it in place.
# 正确的不同写法：仿照 torch 自己的 Optimizer.zero_grad：先原地 detach 梯度，再原地清零。


def zero_grads(params):
    for p in params:
        if p.grad is not None:
            p.grad.detach_()
            p.grad.zero_()
