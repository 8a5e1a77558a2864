# APPEND
# Hostile case: an endless loop in every call of one function (lesson 1's `filled`), as a student left it.
# 恶意用例：一个函数（第1课的 `filled`）每次调用都陷入死循环。


def filled(shape, kind):
    while True:
        pass
