# APPEND
# Mutant for the pitfall `missing-channel-dim`: the reference's mnist_transform redefined with that one bug
# (the formula written by hand on the pixels, which gives (28, 28) where ToTensor gives (1, 28, 28)).
# 变异体（missing-channel-dim）：用带这个错误的版本重新定义参考答案中的 mnist_transform
# （手写公式处理像素，得到 (28, 28)，而 ToTensor 得到的是 (1, 28, 28)）。
import numpy as np


def mnist_transform():
    def transform(image):
        pixels = torch.tensor(np.array(image), dtype=torch.float32) / 255
        return (pixels - MNIST_MEAN) / MNIST_STD

    return transform
