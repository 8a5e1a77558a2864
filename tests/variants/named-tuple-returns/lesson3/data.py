# APPEND
# Variant `named-tuple-returns`: the two loaders as a collections.namedtuple.
# 正确的不同写法：用 collections.namedtuple 返回两个 DataLoader。
from collections import namedtuple

Loaders = namedtuple("Loaders", "train test")


def make_loaders(train_set, test_set, batch_size: int = 64) -> tuple:
    return Loaders(train=DataLoader(train_set, batch_size=batch_size, shuffle=True),
                   test=DataLoader(test_set, batch_size=batch_size, shuffle=False))
