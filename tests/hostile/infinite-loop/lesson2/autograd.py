# APPEND
# Hostile case: an endless loop for one input only. / 恶意用例：只对一个输入陷入死循环。
_square_grad = square_grad


def square_grad(x):
    if float(x) == 3.0:
        while True:
            pass
    return _square_grad(x)
