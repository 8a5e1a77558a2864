# APPEND
# Variant `numpy-scalar-returns`: the derivative as a NumPy float64 scalar (a number, CURRICULUM.md "Numbers").
# 正确的不同写法：以 NumPy float64 标量返回导数（它是一个数）。
import numpy as np


def square_grad(x):
    t = torch.tensor(float(x), requires_grad=True)
    (2 * t**2).backward()
    return np.float64(t.grad.numpy())
