"""Lesson 3: Dataset and DataLoader, feeding data to a model.
第 3 课：Dataset 与 DataLoader，把数据喂给模型。

A Dataset answers two questions: how many samples (`__len__`) and what is
sample i (`__getitem__`). A DataLoader groups samples into shuffled batches.
Dataset 回答两个问题：有多少个样本（`__len__`），第 i 个样本是什么
（`__getitem__`）。DataLoader 把样本组合成打乱的批次。
"""
import os

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
    # PILToTensor keeps uint8; ConvertImageDtype scales to [0, 1] like ToTensor does.
    return transforms.Compose([
        transforms.PILToTensor(),
        transforms.ConvertImageDtype(torch.float32),
        transforms.Normalize(mean=[MNIST_MEAN], std=[MNIST_STD]),
    ])


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
    return datasets.MNIST(root=str(root), train=train, download=False,
                          transform=transform if transform is not None else mnist_transform())


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
    generator = torch.Generator().manual_seed(0)  # repeatable, still a new order every pass
    return (DataLoader(train_set, batch_size, shuffle=True, drop_last=False, generator=generator),
            DataLoader(test_set, batch_size))


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
        self.img_dir = str(img_dir)
        self.transform = transform
        # Keep the raw lines; check them all now, split them only when an item is asked for.
        self.lines = []
        with open(label_file) as f:
            text = f.read()
        for number, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            parts = line.split()
            if len(parts) != 2 or not parts[1].lstrip("-").isdigit():
                raise ValueError(f"bad line {number} in {label_file}: {line!r} (expected 'image_name label')")
            self.lines.append(line)

    def __len__(self) -> int:
        return len(self.lines)

    def __getitem__(self, idx: int) -> tuple:
        name, label = self.lines[idx].split()
        with Image.open(os.path.join(self.img_dir, name)) as image:  # PIL names the missing path itself
            image = image.convert("RGB")
        if self.transform:
            image = self.transform(image)
        return image, int(label)

