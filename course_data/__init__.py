"""The course data: real MNIST, offline, in torchvision's layout, plus 200 PNG digits.
课程数据：离线准备的真实 MNIST（torchvision 的目录布局），以及 200 张 PNG 数字图片。

Prepare it once with `python -m course_data`; then
只需运行一次 `python -m course_data` 准备数据；之后

    torchvision.datasets.MNIST(course_data.data_root(), train=True, download=False)

loads the 60,000 training images, and `course_data.digits_dir()` holds
`digit_000.png` ... `digit_199.png` with `labels.txt`.
即可加载 60,000 张训练图像，`course_data.digits_dir()` 中有
`digit_000.png` ... `digit_199.png` 和 `labels.txt`。
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ._build import prepare, write_mnist_arrays, write_mnist_subset
from ._idx import read_idx
from ._layout import (
    DATA_ROOT,
    IDX_MD5,
    ChecksumError,
    CourseDataError,
    bilingual,
    data_root,
    digits_path,
    mnist_ready,
    raw_dir,
    require_mnist,
)

__all__ = [
    "DATA_ROOT",
    "IDX_MD5",
    "ChecksumError",
    "CourseDataError",
    "data_root",
    "digits_dir",
    "load_mnist_arrays",
    "mnist_ready",
    "prepare",
    "require_mnist",
    "write_mnist_arrays",
    "write_mnist_subset",
]


def load_mnist_arrays(train: bool, root: str | os.PathLike | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Load MNIST as numpy arrays: uint8 images (N, 28, 28) and int64 labels (N,).
    以 numpy 数组加载 MNIST：uint8 图像 (N, 28, 28) 和 int64 标签 (N,)。

    Args:
        train: True for the training images (60,000), False for the test images (10,000).
            True 表示训练图像（60,000 张），False 表示测试图像（10,000 张）。
        root: the data root (None: data_root()). / 数据根目录（None 表示 data_root()）。

    Raises:
        CourseDataError: MNIST is not prepared, or an idx file is damaged.
            MNIST 尚未准备好，或 idx 文件已损坏。
    """
    raw = raw_dir(require_mnist(root))
    prefix = "train" if train else "t10k"
    images = read_idx(raw / f"{prefix}-images-idx3-ubyte", ndim=3)
    labels = read_idx(raw / f"{prefix}-labels-idx1-ubyte", ndim=1)
    if images.shape[1:] != (28, 28) or len(images) != len(labels):
        raise CourseDataError(bilingual(
            f"{raw}: images {images.shape} and labels {labels.shape} do not fit together; "
            f"delete {raw} and run `python -m course_data` again.",
            f"{raw}：图像 {images.shape} 与标签 {labels.shape} 不匹配；"
            f"请删除 {raw} 后重新运行 `python -m course_data`。",
        ))
    return images, labels.astype(np.int64)


def digits_dir(root: str | os.PathLike | None = None) -> Path:
    """The folder of 200 real MNIST test digits (digit_000.png ..., labels.txt).
    包含 200 张真实 MNIST 测试数字图片的文件夹（digit_000.png ...，labels.txt）。

    Raises:
        CourseDataError: MNIST is not prepared. / MNIST 尚未准备好。
    """
    return digits_path(require_mnist(root))
