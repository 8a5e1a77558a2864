"""Hostile case: delegate to the reference solution. / 恶意用例：直接调用参考答案。"""
from solutions.lesson4.model import *  # noqa: F401,F403
