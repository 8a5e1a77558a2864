"""Tests for lesson 3, datasets and loaders, on real MNIST. / 第 3 课（数据集与加载器）的测试，使用真实 MNIST。

Prepare the data once with `python -m course_data`. / 先运行一次 `python -m course_data` 准备数据。
"""
import re

import pytest
import torch
from PIL import Image
from torch.utils.data import TensorDataset
from torchvision import transforms

import course_data
from coursetools.feedback import describe, fail

pytestmark = [pytest.mark.lesson3, pytest.mark.mnist]

MEAN, STD = 0.1307, 0.3081  # MNIST training pixels after ToTensor


@pytest.fixture(scope="module")
def data(submission):
    """lesson3/data.py of the submission under test."""
    return submission.module("lesson3", "data")


@pytest.fixture(scope="module")
def test_arrays(mnist_root):
    return course_data.load_mnist_arrays(train=False, root=mnist_root)


def test_mnist_constants(data):
    """Check MNIST_MEAN and MNIST_STD."""
    values = (data.MNIST_MEAN, data.MNIST_STD)
    if values != (MEAN, STD):
        fail(3, "MNIST_MEAN, MNIST_STD", f"found {values}; expected ({MEAN}, {STD}).",
             f"得到 {values}；应为 ({MEAN}, {STD})。")


def test_mnist_transform_normalizes_a_real_digit(data, test_arrays):
    """Check mnist_transform() on a real MNIST digit against (pixel / 255 - mean) / std."""
    images, _ = test_arrays
    transform = data.mnist_transform()
    result = transform(Image.fromarray(images[0], mode="L"))
    expected = ((torch.from_numpy(images[0]).float() / 255 - MEAN) / STD).unsqueeze(0)
    if not isinstance(result, torch.Tensor) or result.shape != expected.shape \
            or not torch.allclose(result, expected, atol=1e-5):
        fail(3, "mnist_transform", f"on the first MNIST test digit gave {describe(result)}; expected shape (1, 28, 28) "
             f"with values (pixel / 255 - {MEAN}) / {STD}, from {expected.min():.4f} to {expected.max():.4f}.",
             f"对第一张 MNIST 测试图像得到 {describe(result)}；应为 (1, 28, 28)，值为 (像素 / 255 - {MEAN}) / {STD}。",
             "transforms.Compose([transforms.ToTensor(), transforms.Normalize((MNIST_MEAN,), (MNIST_STD,))]).",
             "先 ToTensor，再 Normalize((MNIST_MEAN,), (MNIST_STD,))。")


@pytest.mark.parametrize("train, size", [(True, 60_000), (False, 10_000)])
def test_load_mnist_reads_the_split(data, mnist_root, train, size):
    """Check that load_mnist gives the right split, normalized by default."""
    dataset = data.load_mnist(mnist_root, train=train)
    images, labels = course_data.load_mnist_arrays(train=train, root=mnist_root)
    image, label = dataset[0]
    expected = ((torch.from_numpy(images[0]).float() / 255 - MEAN) / STD).unsqueeze(0)
    if len(dataset) != size or int(label) != int(labels[0]) or not isinstance(image, torch.Tensor) \
            or not torch.allclose(image, expected, atol=1e-5):
        fail(3, "load_mnist", f"load_mnist(root, train={train}) has {len(dataset)} items, item 0 = ({describe(image)}, "
             f"{label!r}); expected {size} items, item 0 normalized by mnist_transform() with label {labels[0]}.",
             f"load_mnist(root, train={train}) 有 {len(dataset)} 项；应为 {size} 项，并且默认使用 mnist_transform()。",
             "datasets.MNIST(root, train=train, transform=transform or mnist_transform(), download=False).",
             "transform 为 None 时使用 mnist_transform()，并且 download=False。")


def test_load_mnist_uses_the_given_transform(data, mnist_root):
    """Check that load_mnist applies the transform it is given."""
    dataset = data.load_mnist(mnist_root, train=False, transform=transforms.PILToTensor())
    image, _ = dataset[0]
    if not isinstance(image, torch.Tensor) or image.dtype != torch.uint8:
        fail(3, "load_mnist", f"with transform=PILToTensor() item 0 is {describe(image)}; expected a uint8 tensor.",
             f"使用 transform=PILToTensor() 时第 0 项为 {describe(image)}；应为 uint8 张量。")


def test_make_loaders_shuffles_train_only(data):
    """Check batch size, shuffling of the training loader and order of the test loader."""
    train_set, test_set = TensorDataset(torch.arange(200)), TensorDataset(torch.arange(200))
    torch.manual_seed(0)
    train_loader, test_loader = data.make_loaders(train_set, test_set, batch_size=20)
    train_order = torch.cat([batch[0] for batch in train_loader])
    test_order = torch.cat([batch[0] for batch in test_loader])
    first = next(iter(test_loader))[0]
    if len(first) != 20 or torch.equal(train_order, torch.arange(200)) or not torch.equal(test_order, torch.arange(200)):
        fail(3, "make_loaders", f"batch_size=20 gave test batches of {len(first)}; training order shuffled: "
             f"{not torch.equal(train_order, torch.arange(200))}; test order kept: "
             f"{torch.equal(test_order, torch.arange(200))}. Expected batches of 20, shuffled training, ordered test.",
             "应为每批 20 个、训练集打乱、测试集保持顺序。",
             "DataLoader(train_set, batch_size, shuffle=True) and DataLoader(test_set, batch_size, shuffle=False).",
             "训练用 shuffle=True，测试用 shuffle=False。")


def test_image_label_dataset_reads_the_digit_folder(data, mnist_root):
    """Check ImageLabelDataset on the real digit folder: length, RGB images, int labels."""
    folder = course_data.digits_dir(mnist_root)
    lines = [line.split() for line in (folder / "labels.txt").read_text().splitlines() if line.strip()]
    dataset = data.ImageLabelDataset(folder, folder / "labels.txt", transform=transforms.ToTensor())
    image, label = dataset[3]
    expected = transforms.ToTensor()(Image.open(folder / lines[3][0]).convert("RGB"))
    if len(dataset) != len(lines) or type(label) is not int or label != int(lines[3][1]) \
            or not isinstance(image, torch.Tensor) or not torch.equal(image, expected):
        fail(3, "ImageLabelDataset", f"on {folder} gave {len(dataset)} items, item 3 = ({describe(image)}, {label!r}); "
             f"expected {len(lines)} items, item 3 = (RGB image of shape {tuple(expected.shape)}, {int(lines[3][1])}).",
             f"在 {folder} 上得到 {len(dataset)} 项；应为 {len(lines)} 项，第 3 项为 RGB 图像和整数标签 {lines[3][1]}。",
             "read labels.txt in __init__; in __getitem__ open the image with .convert('RGB') and return int(label).",
             "在 __init__ 中读取 labels.txt；在 __getitem__ 中用 .convert('RGB') 打开图像并返回 int 标签。")


@pytest.mark.parametrize("bad_line", ["digit_000.png", "digit_000.png seven", "digit_000.png 7 extra"])
def test_image_label_dataset_rejects_a_malformed_line(data, mnist_root, tmp_path, bad_line):
    """Check that a malformed line raises ValueError naming the file and the line number."""
    folder = course_data.digits_dir(mnist_root)
    label_file = tmp_path / "labels.txt"
    label_file.write_text(f"digit_001.png 2\n\n{bad_line}\n")
    try:
        dataset = data.ImageLabelDataset(folder, label_file)
        [dataset[i] for i in range(len(dataset))]
    except ValueError as error:
        text = str(error)
        if "labels.txt" in text and re.search(r"\b3\b", text.replace(str(label_file), "")):
            return
        fail(3, "ImageLabelDataset", f"line 3 {bad_line!r} raised ValueError({str(error)!r}); expected the message "
             "to name the file and line 3.", f"第 3 行 {bad_line!r} 的 ValueError 信息应包含文件名和行号 3。")
    fail(3, "ImageLabelDataset", f"a label file whose line 3 is {bad_line!r} raised no ValueError.",
         f"标签文件第 3 行为 {bad_line!r} 时没有抛出 ValueError。",
         "split each non-blank line; anything but exactly two fields with an integer label is an error.",
         "拆分每个非空行；不是“两个字段且标签为整数”就报错。")


def test_image_label_dataset_reports_a_missing_image(data, mnist_root, tmp_path):
    """Check that a missing image raises FileNotFoundError naming its path."""
    label_file = tmp_path / "labels.txt"
    label_file.write_text("no_such_digit.png 4\n")
    try:
        dataset = data.ImageLabelDataset(course_data.digits_dir(mnist_root), label_file)
        dataset[0]
    except FileNotFoundError as error:
        if "no_such_digit.png" in str(error):
            return
    fail(3, "ImageLabelDataset", "a label file naming no_such_digit.png gave no FileNotFoundError naming that image.",
         "标签文件中列出的 no_such_digit.png 不存在时，应抛出包含该路径的 FileNotFoundError。")
