# APPEND
# Variant `named-tuple-returns`: the two products as a collections.namedtuple (a tuple, as the contract asks).
# 正确的不同写法：用 collections.namedtuple 返回两个乘积（它就是元组，符合约定）。
from collections import namedtuple

Products = namedtuple("Products", "elementwise matrix")


def multiply(a, b):
    return Products(elementwise=a * b, matrix=a @ b)
