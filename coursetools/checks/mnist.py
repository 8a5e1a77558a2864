"""MNIST as tensors in memory, normalized like lesson 3's mnist_transform(), for checks that must take seconds.

MNIST 以内存中的张量形式提供，归一化方式与第 3 课的 mnist_transform() 相同，供需要在几秒内完成的检查使用。
"""
import torch

import course_data

#: Mean and standard deviation of the MNIST training pixels after ToTensor (the contract's constants).
MNIST_MEAN, MNIST_STD = 0.1307, 0.3081


def normalized_mnist(train: bool, root=None) -> tuple:
    """(images float32 (N, 1, 28, 28) = (pixel / 255 - mean) / std, labels int64 (N,)) of one split.

    Raises:
        course_data.CourseDataError: MNIST is not prepared (`python -m course_data`).
    """
    images, labels = course_data.load_mnist_arrays(train=train, root=root)
    images = torch.from_numpy(images).float().div_(255).sub_(MNIST_MEAN).div_(MNIST_STD).unsqueeze(1)
    return images, torch.from_numpy(labels).long()
