"""Lesson 3: Dataset and DataLoader, feeding data to a model.
第 3 课：Dataset 与 DataLoader，把数据喂给模型。

A Dataset answers two questions: how many samples (`__len__`) and what is
sample i (`__getitem__`). A DataLoader groups samples into shuffled batches.
Dataset 回答两个问题：有多少个样本（`__len__`），第 i 个样本是什么
（`__getitem__`）。DataLoader 把样本组合成打乱的批次。
"""
from pathlib import Path

import torch
from PIL import Image
from torch.utils.data import DataLoader, Dataset
from torchvision import datasets, transforms

# Mean and standard deviation of the MNIST training pixels (after ToTensor).
# MNIST 训练集像素（ToTensor 之后）的均值和标准差。
MNIST_MEAN = 0.1307
MNIST_STD = 0.3081


def mnist_transform():
    """Return the MNIST transform: ToTensor, then Normalize(MNIST_MEAN, MNIST_STD).
    返回 MNIST 的变换：先 ToTensor，再 Normalize(MNIST_MEAN, MNIST_STD)。

    ToTensor turns a PIL image into a (1, 28, 28) float tensor in [0, 1];
    Normalize then subtracts the mean and divides by the std.
    ToTensor 把 PIL 图像变成 [0, 1] 之间的 (1, 28, 28) 浮点张量；
    Normalize 再减去均值并除以标准差。
    """
    ### BEGIN SOLUTION
    return transforms.Compose([
        transforms.ToTensor(),
        transforms.Normalize((MNIST_MEAN,), (MNIST_STD,)),
    ])
    ### END SOLUTION


def load_mnist(root, train: bool, transform=None):
    """Load torchvision's MNIST from `root` without downloading.
    从 `root` 加载 torchvision 的 MNIST，不下载。

    The data is prepared once by `python -m course_data`.
    数据由 `python -m course_data` 预先准备好。

    Args:
        root: the folder that holds `MNIST/raw/`. / 包含 `MNIST/raw/` 的文件夹。
        train: True for the 60,000 training images, False for the 10,000 test images.
            True 表示 60,000 张训练图像，False 表示 10,000 张测试图像。
        transform: the transform to apply; None means `mnist_transform()`.
            要使用的变换；None 表示使用 `mnist_transform()`。
    """
    ### BEGIN SOLUTION
    if transform is None:
        transform = mnist_transform()
    return datasets.MNIST(root, train=train, transform=transform, download=False)
    ### END SOLUTION


def make_loaders(train_set, test_set, batch_size: int = 64) -> tuple:
    """Wrap two datasets in DataLoaders: shuffle the training one only.
    用 DataLoader 包装两个数据集：只打乱训练集。

    Args:
        train_set: the training dataset. / 训练数据集。
        test_set: the test dataset. / 测试数据集。
        batch_size: samples per batch. / 每批样本数。

    Returns:
        (train_loader, test_loader)
    """
    ### BEGIN SOLUTION
    train_loader = DataLoader(train_set, batch_size=batch_size, shuffle=True)
    test_loader = DataLoader(test_set, batch_size=batch_size, shuffle=False)
    return train_loader, test_loader
    ### END SOLUTION


class ImageLabelDataset(Dataset):
    """Images in a folder, labels in a text file of `image_name label` lines.
    文件夹中的图像，加上每行为 `image_name label` 的标签文件。

    Blank lines are skipped. Any other line that is not exactly two fields
    with an integer label raises ValueError naming the file and the line
    number. Images are opened as RGB when an item is asked for.
    空行会被跳过。其他不是“两个字段且标签为整数”的行会抛出 ValueError，
    并指出文件名和行号。取样本时才以 RGB 模式打开图像。

    Args:
        img_dir: the folder with the images. / 图像所在文件夹。
        label_file: the label file. / 标签文件。
        transform: applied to each PIL image, or None. / 应用于每张 PIL 图像的变换，或 None。
    """

    def __init__(self, img_dir, label_file, transform=None):
        ### BEGIN SOLUTION
        self.img_dir = Path(img_dir)
        self.transform = transform
        self.samples = []
        with open(label_file, encoding="utf-8") as f:
            for line_number, line in enumerate(f, start=1):
                fields = line.split()
                if not fields:
                    continue
                try:
                    name, label = fields
                    label = int(label)
                except ValueError:
                    raise ValueError(
                        f"{label_file}, line {line_number}: expected 'image_name label', got {line.strip()!r}"
                    ) from None
                self.samples.append((name, label))
        ### END SOLUTION

    def __len__(self) -> int:
        ### BEGIN SOLUTION
        return len(self.samples)
        ### END SOLUTION

    def __getitem__(self, idx: int) -> tuple:
        ### BEGIN SOLUTION
        name, label = self.samples[idx]
        path = self.img_dir / name
        if not path.is_file():
            raise FileNotFoundError(f"image {path} listed in the label file does not exist")
        image = Image.open(path).convert("RGB")
        if self.transform is not None:
            image = self.transform(image)
        return image, label
        ### END SOLUTION

