# APPEND
# Hostile case: sys.exit inside a graded function. / 恶意用例：被评分的函数中调用 sys.exit。
import sys


def scalar_tensor(value):
    sys.exit(3)
