# APPEND
# Mutant for the pitfall `no-zero-grad`: the reference's zero_grads redefined with that one bug
# (the method named without its parentheses, so no gradient is ever cleared).
# 变异体（no-zero-grad）：用带这个错误的版本重新定义参考答案中的 zero_grads（方法没加括号，梯度从未被清零）。


def zero_grads(params: list) -> None:
    for p in params:
        if p.grad is not None:
            p.grad.zero_
