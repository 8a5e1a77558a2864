"""Lesson 1: tensors, the arrays of PyTorch.
第 1 课：张量，PyTorch 的数组。

A tensor is an n-dimensional array that knows its dtype and its device.
These exercises build tensors, change their shape and move them around.
张量是一个知道自己数据类型和所在设备的多维数组。
这些练习会创建张量、改变形状并在设备之间移动它们。
"""
import numpy as np
import torch


def scalar_tensor(value: float) -> torch.Tensor:
    """Make a 0-dimensional float32 tensor holding `value`.
    创建一个存放 `value` 的 0 维 float32 张量。

    Args:
        value: a Python number. / 一个 Python 数字。

    Returns:
        A tensor with shape () and dtype torch.float32.
        形状为 ()、类型为 torch.float32 的张量。
    """
    return torch.tensor(value, dtype=torch.float32)


def vector_from_list(values: list) -> torch.Tensor:
    """Make a 1-dimensional tensor from a list, keeping the list's dtype.
    用列表创建一个 1 维张量，并保留列表的数据类型。

    A list of ints must give int64, a list of floats float32. Mind the
    difference between `torch.tensor` (infers the dtype) and the class
    `torch.Tensor` (always float32).
    整数列表应得到 int64，浮点数列表得到 float32。注意 `torch.tensor`
    （推断类型）和类 `torch.Tensor`（总是 float32）的区别。

    Args:
        values: a list of numbers. / 一个数字列表。
    """
    return torch.tensor(values)


def matrix_from_numpy(array: np.ndarray) -> torch.Tensor:
    """Wrap a NumPy array as a tensor that shares its memory (no copy).
    把 NumPy 数组包装成共享内存（不复制）的张量。

    Changing the array afterwards must change the tensor too.
    之后修改数组时，张量也要随之改变。

    Args:
        array: a NumPy array. / 一个 NumPy 数组。
    """
    return torch.from_numpy(array)


def filled(shape: tuple, kind: str) -> torch.Tensor:
    """Make a float32 tensor of `shape` filled according to `kind`.
    按 `kind` 创建形状为 `shape` 的 float32 张量。

    Args:
        shape: the shape, e.g. (2, 3). / 形状，例如 (2, 3)。
        kind: "zeros", "ones" or "rand" (uniform in [0, 1)).
            "zeros"、"ones" 或 "rand"（[0, 1) 上均匀分布）。

    Raises:
        ValueError: for any other `kind`, naming the allowed kinds.
            `kind` 为其他值时抛出，并列出允许的取值。
    """
    makers = {"zeros": torch.zeros, "ones": torch.ones, "rand": torch.rand}
    if kind not in makers:
        raise ValueError(f"kind must be one of {sorted(makers)}, got {kind!r}")
    return makers[kind](shape, dtype=torch.float32)


def flatten_images(images: torch.Tensor) -> torch.Tensor:
    """Flatten a batch of images (N, 28, 28) or (N, 1, 28, 28) to (N, 784).
    把一批图像 (N, 28, 28) 或 (N, 1, 28, 28) 展平成 (N, 784)。

    784 = 28 * 28. The input may be non-contiguous (for example a transposed
    tensor), where `view` fails but `reshape` works.
    784 = 28 * 28。输入可能不连续（例如转置后的张量），这时 `view`
    会出错，而 `reshape` 可以。

    Args:
        images: a batch of N >= 1 images. / 一批 N >= 1 张图像。
    """
    return images.reshape(images.shape[0], -1)


def add_channel_dim(images: torch.Tensor) -> torch.Tensor:
    """Turn (N, H, W) into (N, 1, H, W).
    把 (N, H, W) 变成 (N, 1, H, W)。

    Convolutions and the course's models expect a channel dimension.
    卷积层和本课程的模型都需要通道维度。

    Args:
        images: a batch of grey images. / 一批灰度图像。
    """
    return images.unsqueeze(1)


def multiply(a: torch.Tensor, b: torch.Tensor) -> tuple:
    """Return the elementwise product and the matrix product of `a` and `b`.
    返回 `a` 和 `b` 的逐元素乘积与矩阵乘积。

    Args:
        a: a square matrix. / 一个方阵。
        b: a matrix of the same shape. / 形状相同的矩阵。

    Returns:
        (a * b, a @ b)
    """
    return a * b, a @ b


def to_device(t: torch.Tensor, device) -> torch.Tensor:
    """Return a tensor with the same values on `device`.
    返回一个数值相同、位于 `device` 上的张量。

    Args:
        t: any tensor. / 任意张量。
        device: a torch.device or a string such as "cpu" or "cuda".
            torch.device 或 "cpu"、"cuda" 这样的字符串。
    """
    return t.to(device)


def to_numpy(t: torch.Tensor) -> np.ndarray:
    """Convert a tensor to a NumPy array.
    把张量转换成 NumPy 数组。

    Must work for tensors that require grad and for tensors on a GPU:
    detach from the graph and move to the CPU first.
    对需要梯度的张量和 GPU 上的张量也要能用：先从计算图分离并移到 CPU。

    Args:
        t: any tensor. / 任意张量。
    """
    return t.detach().numpy()
