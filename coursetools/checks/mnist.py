"""MNIST as tensors in memory, normalized like lesson 3's mnist_transform(), for checks that must take seconds;
and the grader's own copy of MNIST, changed in secret for one grading.

A grading whose training points must rest on training done during that grading (lesson 5: the 95 % test and
train_mnist) runs on a copy of MNIST whose pixel order and class labels were changed with a secret drawn anew
in the lesson process (`changed_copy`): a network trained elsewhere scores about chance there, while an MLP
trained on it does as well as on MNIST itself (its first layer does not care where a pixel is, nor its last
which digit a class is). The trusted side keeps the copy's arrays in memory (oracles.mnist reads them, never
the files again) and forgets the secret; the student process reads the same copy from disk (the kit's mnist()).

MNIST 以内存中的张量形式提供，归一化方式与第 3 课的 mnist_transform() 相同，供需要在几秒内完成的检查使用；
以及评分程序自己的 MNIST 副本：像素顺序和类别标签在这次评分中被秘密地改变，在别处训练的权重在这里只能得到随机水平。
"""
import secrets

import numpy as np
import torch

import course_data

#: Mean and standard deviation of the MNIST training pixels after ToTensor (the contract's constants).
MNIST_MEAN, MNIST_STD = 0.1307, 0.3081

#: this process's grading copy of MNIST (changed_copy), None while it has none
_GRADING = {"root": None}


def normalized_mnist(train: bool, root=None) -> tuple:
    """(images float32 (N, 1, 28, 28) = (pixel / 255 - mean) / std, labels int64 (N,)) of one split.

    Raises:
        course_data.CourseDataError: MNIST is not prepared (`python -m course_data`).
    """
    images, labels = course_data.load_mnist_arrays(train=train, root=root)
    images = torch.from_numpy(images).float().div_(255).sub_(MNIST_MEAN).div_(MNIST_STD).unsqueeze(1)
    return images, torch.from_numpy(labels).long()


def secret_change() -> tuple:
    """(pixel order: a permutation of the 784 pixel positions, label map: a permutation of the 10 classes that moves
    every class), drawn from the operating system's randomness (no seed anyone can compute)."""
    draw = secrets.SystemRandom()
    pixels = list(range(28 * 28))
    draw.shuffle(pixels)
    while True:
        labels = list(range(10))
        draw.shuffle(labels)
        if all(new != old for old, new in enumerate(labels)):
            return np.array(pixels, dtype=np.int64), np.array(labels, dtype=np.int64)


def apply_change(images: np.ndarray, labels: np.ndarray, pixel_order, label_map) -> tuple:
    """The images with their pixels put in `pixel_order` (pixel i of a changed image is pixel pixel_order[i] of the
    original, row by row), and the labels mapped through `label_map` (class c becomes label_map[c])."""
    flat = np.ascontiguousarray(images).reshape(len(images), 28 * 28)
    return (np.take(flat, pixel_order, axis=1).reshape(len(images), 28, 28),
            np.asarray(label_map, dtype=np.int64)[labels])


def changed_copy(dest_root, root=None):
    """Write MNIST with a fresh secret change (secret_change) as a data root in torchvision's layout at `dest_root`,
    make it this process's MNIST for the graders (oracles.mnist gives its arrays, kept in memory here; grading_root()
    gives the folder) and return the folder. The change itself is not kept.

    Raises:
        course_data.CourseDataError: MNIST is not prepared (`python -m course_data`).
    """
    from coursetools.checks import oracles

    pixel_order, label_map = secret_change()
    splits = {}
    for split in ("train", "test"):
        images, labels = course_data.load_mnist_arrays(train=split == "train", root=root)
        splits[split] = apply_change(images, labels, pixel_order, label_map)
    del pixel_order, label_map
    folder = course_data.write_mnist_arrays(dest_root, splits["train"], splits["test"], kind="grading-copy",
                                            changed="pixel order and class labels, in secret, for one grading")
    for split, (images, labels) in splits.items():
        oracles.use_mnist(split, images, labels)
    _GRADING["root"] = folder
    return folder


def grading_root():
    """The folder of this process's grading copy of MNIST (changed_copy), or None when it uses MNIST itself."""
    return _GRADING["root"]


def write_reduced(dest_root, n_train: int, n_test: int):
    """Write the first `n_train` training and `n_test` test samples of the graders' MNIST (oracles.mnist: the grading
    copy where there is one) as a data root at `dest_root`, from the arrays in memory; returns the folder."""
    from coursetools.checks import oracles

    (train_images, train_labels), (test_images, test_labels) = oracles.mnist("train"), oracles.mnist("test")
    return course_data.write_mnist_arrays(
        dest_root, (train_images.raw[:n_train].numpy(), train_labels[:n_train].numpy()),
        (test_images.raw[:n_test].numpy(), test_labels[:n_test].numpy()), kind="subset", n_train=n_train,
        n_test=n_test)
