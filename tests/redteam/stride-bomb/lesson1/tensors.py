# APPEND
# Red team: a stride bomb. 8 bytes of data with a zero stride stand for 2 GiB of float32 (2 x 2**28
# elements): the reply is tiny, what it decodes to is not (a failure message that flattens it copies 2 GiB).
# 红队：步长炸弹。8 字节的数据加上零步长，表示 2 GiB 的 float32（2 x 2**28 个元素）：回答很小，解码后却很大。


def _bomb():
    return torch.zeros(2, 1).expand(2, 2**28)


def flatten_images(images):
    return _bomb()


def add_channel_dim(images):
    return _bomb()


def multiply(a, b):
    return _bomb(), _bomb()
