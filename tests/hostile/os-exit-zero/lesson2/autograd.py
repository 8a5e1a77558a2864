# APPEND
# Hostile case: os._exit(0) mid-test, a "success" status without a reply. / 恶意用例：测试中途 os._exit(0)，以“成功”状态退出却不回复。
import os


def zero_grads(params):
    os._exit(0)
