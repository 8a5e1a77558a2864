# APPEND
# Mutant for the pitfall `double-backward`: the reference's accumulated_grad redefined with that one bug.
# 变异体（double-backward）：用带这个错误的版本重新定义参考答案中的 accumulated_grad。


def accumulated_grad(x, times: int) -> torch.Tensor:
    t = torch.as_tensor(x, dtype=torch.float32).detach().clone().requires_grad_(True)
    y = 2 * t**2
    for _ in range(times):
        y.backward()
    return t.grad
