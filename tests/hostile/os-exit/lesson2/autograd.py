# APPEND
# Hostile case: os._exit ends the process without any clean-up. / 恶意用例：os._exit 直接结束进程。
import os


def zero_grads(params):
    os._exit(7)
