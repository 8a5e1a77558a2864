# APPEND
# Hostile case: printing 200 MB. / 恶意用例：输出 200 MB。
_multiply = multiply


def multiply(a, b):
    line = "x" * 999
    for _ in range(200_000):  # 200,000 lines of 1,000 bytes
        print(line)
    return _multiply(a, b)
