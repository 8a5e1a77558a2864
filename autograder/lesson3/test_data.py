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
from coursetools.mnist import MNIST_MEAN as MEAN, MNIST_STD as STD

pytestmark = [pytest.mark.lesson3, pytest.mark.mnist]


@pytest.fixture(scope="module")
def data(submission):
    """lesson3/data.py of the submission under test."""
    return submission.module("lesson3", "data")


@pytest.fixture(scope="module")
def test_arrays(mnist_root):
    return course_data.load_mnist_arrays(train=False, root=mnist_root)


def test_mnist_transform_normalizes_a_real_digit(data, test_arrays):
    """Check MNIST_MEAN, MNIST_STD and mnist_transform() on a real MNIST digit against (pixel / 255 - mean) / std."""
    images, _ = test_arrays
    transform = data.mnist_transform()
    values = (data.MNIST_MEAN, data.MNIST_STD)
    if values != (MEAN, STD):
        fail(3, "MNIST_MEAN, MNIST_STD", f"found {values}; expected ({MEAN}, {STD}).",
             f"得到 {values}；应为 ({MEAN}, {STD})。")
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


### BEGIN HIDDEN TESTS
import socket
import time

from torchvision import datasets


def _expected_digit(pixels):
    """(pixel / 255 - mean) / std as a (1, 28, 28) float tensor: the oracle for mnist_transform."""
    return ((torch.from_numpy(pixels).float() / 255 - MEAN) / STD).unsqueeze(0)


@pytest.mark.parametrize("train, indices", [(True, [0, 1, 12_345, 59_999]), (False, [0, 7, 5_000, 9_999])])
def test_mnist_transform_matches_the_formula_on_several_digits(data, mnist_root, train, indices):
    """Check mnist_transform() on several real digits of both splits: float32, (1, 28, 28), normalized values."""
    images, _ = course_data.load_mnist_arrays(train=train, root=mnist_root)
    transform = data.mnist_transform()
    for index in indices:
        result = transform(Image.fromarray(images[index], mode="L"))
        expected = _expected_digit(images[index])
        if not isinstance(result, torch.Tensor) or result.dtype != torch.float32 or result.shape != expected.shape \
                or not torch.allclose(result, expected, atol=1e-5):
            split = "training" if train else "test"
            fail(3, "mnist_transform", f"on MNIST {split} digit {index} gave {describe(result)}; expected a float32 "
                 f"tensor of shape (1, 28, 28) with values (pixel / 255 - {MEAN}) / {STD}.",
                 f"对 MNIST {split} 第 {index} 张图像得到 {describe(result)}；应为 (1, 28, 28) 的 float32 张量，"
                 f"值为 (像素 / 255 - {MEAN}) / {STD}。",
                 "ToTensor() scales to [0, 1]; Normalize((MNIST_MEAN,), (MNIST_STD,)) must come after it.",
                 "ToTensor() 把像素缩放到 [0, 1]；Normalize((MNIST_MEAN,), (MNIST_STD,)) 必须放在它之后。")


@pytest.mark.parametrize("train, indices", [(True, [1, 30_000, 59_999]), (False, [1, 4_321, 9_999])])
def test_load_mnist_items_match_the_raw_data(data, mnist_root, train, indices):
    """Check several items of load_mnist, with the default transform and with a given one, against the raw files."""
    images, labels = course_data.load_mnist_arrays(train=train, root=mnist_root)
    normalized = data.load_mnist(mnist_root, train=train)
    raw = data.load_mnist(mnist_root, train=train, transform=transforms.PILToTensor())
    for index in indices:
        image, label = normalized[index]
        pixels, raw_label = raw[index]
        good = isinstance(image, torch.Tensor) and image.shape == (1, 28, 28) \
            and torch.allclose(image, _expected_digit(images[index]), atol=1e-5) \
            and isinstance(pixels, torch.Tensor) and torch.equal(pixels, torch.from_numpy(images[index]).unsqueeze(0)) \
            and int(label) == int(labels[index]) == int(raw_label)
        if not good:
            fail(3, "load_mnist", f"load_mnist(root, train={train}) item {index} = ({describe(image)}, {label!r}), "
                 f"with transform=PILToTensor() ({describe(pixels)}, {raw_label!r}); expected the MNIST image "
                 f"{index} of that split with its label.",
                 f"load_mnist(root, train={train}) 的第 {index} 项与 MNIST 原始数据不符；应为该划分的第 {index} 张图像及其标签。",
                 "datasets.MNIST(root, train=train, transform=transform, download=False), with "
                 "transform = mnist_transform() when it is None.",
                 "datasets.MNIST(root, train=train, transform=transform, download=False)，transform 为 None 时用 mnist_transform()。")


def test_load_mnist_never_downloads(data, tmp_path, monkeypatch):
    """Check that load_mnist on a folder without MNIST raises instead of downloading."""
    attempts = []

    def no_download(*args, **kwargs):
        attempts.append("download")
        raise RuntimeError("the grader blocks downloads")

    def no_connect(*args, **kwargs):
        attempts.append("network")
        raise OSError("the grader blocks network access")

    monkeypatch.setattr(datasets.MNIST, "download", no_download)
    monkeypatch.setattr(socket.socket, "connect", no_connect)
    monkeypatch.setattr(socket, "create_connection", no_connect)
    empty = tmp_path / "no_mnist_here"
    empty.mkdir()
    try:
        result = data.load_mnist(empty, train=False)
    except NotImplementedError:
        raise
    except Exception:
        result = None
    else:
        attempts.append("no error")
    if "download" in attempts or "network" in attempts:
        fail(3, "load_mnist", "on a folder without MNIST, load_mnist tried to download it.",
             "在没有 MNIST 的文件夹上，load_mnist 试图下载数据。",
             "pass download=False: the data is prepared once by `python -m course_data`, grading never downloads.",
             "请传入 download=False：数据由 `python -m course_data` 预先准备，评分时从不下载。")
    if attempts:
        fail(3, "load_mnist", f"on a folder without MNIST, load_mnist returned {describe(result)} instead of raising "
             "an error.", "在没有 MNIST 的文件夹上，load_mnist 没有报错。",
             "let datasets.MNIST(root, ..., download=False) raise its 'Dataset not found' error.",
             "让 datasets.MNIST(root, ..., download=False) 抛出它的“Dataset not found”错误。")


def _batches(loader):
    return [batch[0] for batch in loader]


def test_make_loaders_keeps_the_last_partial_batch_and_reshuffles(data):
    """Check 205 items in batches of 20: 11 batches, the last of 5; training reshuffled each pass, test in order."""
    train_set, test_set = TensorDataset(torch.arange(205)), TensorDataset(torch.arange(205))
    torch.manual_seed(1)
    train_loader, test_loader = data.make_loaders(train_set, test_set, batch_size=20)
    first, second, test = _batches(train_loader), _batches(train_loader), _batches(test_loader)
    sizes = [[len(b) for b in batches] for batches in (first, test)]
    expected_sizes = [20] * 10 + [5]
    every_item_once = all(torch.equal(torch.cat(b).sort().values, torch.arange(205)) for b in (first, second))
    if sizes != [expected_sizes, expected_sizes] or not every_item_once:
        fail(3, "make_loaders", f"205 items with batch_size=20 gave training batch sizes {sizes[0]} and test batch "
             f"sizes {sizes[1]}; expected ten batches of 20 then one of 5, every item exactly once.",
             f"205 个样本、batch_size=20 时训练批大小为 {sizes[0]}，测试批大小为 {sizes[1]}；"
             "应为 10 个 20 再加 1 个 5，每个样本恰好一次。",
             "use DataLoader's batch_size and keep drop_last=False (the default).",
             "使用 DataLoader 的 batch_size，并保持 drop_last=False（默认值）。")
    if not torch.equal(torch.cat(test), torch.arange(205)):
        fail(3, "make_loaders", "the test loader changed the order of the test set.", "测试加载器改变了测试集的顺序。",
             "DataLoader(test_set, batch_size=batch_size, shuffle=False).",
             "DataLoader(test_set, batch_size=batch_size, shuffle=False)。")
    if torch.equal(torch.cat(first), torch.cat(second)) or torch.equal(torch.cat(first), torch.arange(205)):
        fail(3, "make_loaders", "two passes over the training loader gave the same order (or the dataset order); "
             "expected a new random order on every pass.", "训练加载器两次遍历的顺序相同（或未打乱）；每次遍历都应重新打乱。",
             "DataLoader(train_set, batch_size=batch_size, shuffle=True) reshuffles on every pass.",
             "DataLoader(train_set, batch_size=batch_size, shuffle=True) 每次遍历都会重新打乱。")


def test_make_loaders_batches_real_mnist_with_the_default_size(data, mnist_root):
    """Check the default batch size 64 on real MNIST: image and label batches, test batches in dataset order."""
    train_set = datasets.MNIST(mnist_root, train=True, transform=transforms.ToTensor(), download=False)
    test_set = datasets.MNIST(mnist_root, train=False, transform=transforms.ToTensor(), download=False)
    train_loader, test_loader = data.make_loaders(train_set, test_set)
    images, labels = next(iter(train_loader))
    test_images, test_labels = next(iter(test_loader))
    raw_images, raw_labels = course_data.load_mnist_arrays(train=False, root=mnist_root)
    expected = torch.from_numpy(raw_images[:64]).float().div(255).unsqueeze(1)
    good = tuple(images.shape) == (64, 1, 28, 28) and tuple(labels.shape) == (64,) \
        and tuple(test_images.shape) == (64, 1, 28, 28) and torch.allclose(test_images, expected, atol=1e-6) \
        and torch.equal(test_labels, torch.from_numpy(raw_labels[:64]))
    if not good:
        fail(3, "make_loaders", f"make_loaders(train_set, test_set) on MNIST gave a first training batch of "
             f"{describe(images)} and a first test batch of {describe(test_images)}; expected batches of 64 images "
             "(64, 1, 28, 28) with 64 labels, the test batch holding the first 64 test images in order.",
             "在 MNIST 上默认批大小应为 64：图像 (64, 1, 28, 28)、标签 64 个，测试批次按原顺序。",
             "def make_loaders(train_set, test_set, batch_size=64): ... DataLoader(..., batch_size=batch_size).",
             "默认参数 batch_size=64，并传给 DataLoader。")


def _digit_lines(mnist_root):
    folder = course_data.digits_dir(mnist_root)
    pairs = [line.split() for line in (folder / "labels.txt").read_text().splitlines() if line.strip()]
    return folder, [(name, int(label)) for name, label in pairs]


def test_image_label_dataset_gives_every_digit_as_rgb_with_an_int_label(data, mnist_root):
    """Check all 200 items of the digit folder without a transform: RGB PIL images, the right pixels, int labels."""
    folder, pairs = _digit_lines(mnist_root)
    dataset = data.ImageLabelDataset(folder, folder / "labels.txt")
    if len(dataset) != len(pairs):
        fail(3, "ImageLabelDataset", f"len(dataset) is {len(dataset)} for {folder / 'labels.txt'}; expected "
             f"{len(pairs)}, one item per non-blank line.", f"len(dataset) 为 {len(dataset)}；应为 {len(pairs)}，每个非空行一项。")
    for index, (name, label) in enumerate(pairs):
        image, result = dataset[index]
        expected = Image.open(folder / name).convert("RGB")
        if not isinstance(image, Image.Image) or image.mode != "RGB" or image.size != expected.size \
                or image.tobytes() != expected.tobytes():
            fail(3, "ImageLabelDataset", f"item {index} without a transform is {describe(image)}"
                 f"{' in mode ' + image.mode if isinstance(image, Image.Image) else ''}; expected the PIL image {name} "
                 "converted to RGB.", f"不使用 transform 时第 {index} 项为 {describe(image)}；应为转换成 RGB 的 PIL 图像 {name}。",
                 "Image.open(path).convert('RGB'), and apply self.transform only when it is not None.",
                 "Image.open(path).convert('RGB')，只有 self.transform 不为 None 时才调用它。")
        if type(result) is not int or result != label:
            fail(3, "ImageLabelDataset", f"item {index} has label {describe(result)}; expected the int from line "
                 f"'{name} ...' of labels.txt.", f"第 {index} 项的标签为 {describe(result)}；应为 labels.txt 中对应的整数。",
                 "convert the label with int(label) when you read the file.", "读取文件时用 int(label) 转换标签。")


def test_image_label_dataset_applies_the_transform_once_per_item(data, mnist_root):
    """Check that the transform gets the RGB PIL image of the item and that its result is returned."""
    folder, pairs = _digit_lines(mnist_root)
    calls = []

    def transform(image):
        calls.append(image)
        return ("transformed", len(calls))

    dataset = data.ImageLabelDataset(folder, folder / "labels.txt", transform=transform)
    items = [dataset[index] for index in (5, 6, 150)]
    modes = [getattr(image, "mode", type(image).__name__) for image in calls]
    if [image for image, _ in items] != [("transformed", 1), ("transformed", 2), ("transformed", 3)] \
            or modes != ["RGB"] * 3:
        fail(3, "ImageLabelDataset", f"three items with a recording transform: the transform was called on "
             f"{modes} and the items are {[describe(image) for image, _ in items]}; expected one call per item on "
             "an RGB PIL image, returning what the transform returns.",
             "使用记录调用的 transform 取三项：应为每项调用一次、输入 RGB PIL 图像，并返回 transform 的结果。",
             "image = Image.open(path).convert('RGB'); if self.transform is not None: image = self.transform(image).",
             "先转换成 RGB，再调用 self.transform(image)，并返回它的结果。")


def test_image_label_dataset_skips_blank_lines_and_splits_on_whitespace(data, mnist_root, tmp_path):
    """Check blank and whitespace-only lines are skipped, and fields split on any whitespace (tabs, spaces, CRLF)."""
    folder, pairs = _digit_lines(mnist_root)
    label_file = tmp_path / "labels.txt"
    chosen = pairs[10:14]
    text = (f"\n{chosen[0][0]} {chosen[0][1]}\n\n   \n{chosen[1][0]}\t{chosen[1][1]}\r\n"
            f"{chosen[2][0]}    {chosen[2][1]}\n\n{chosen[3][0]} {chosen[3][1]}")
    label_file.write_bytes(text.encode())
    dataset = data.ImageLabelDataset(folder, label_file)
    labels = [dataset[index][1] for index in range(len(dataset))]
    if labels != [label for _, label in chosen]:
        fail(3, "ImageLabelDataset", f"a label file with 4 entries between blank lines, separated by a space, a tab and "
             f"several spaces, gave the labels {labels}; expected {len(chosen)} labels, one per non-blank line.",
             f"含空行、制表符和多个空格的标签文件得到标签 {labels}；应为 {len(chosen)} 个，每个非空行一个。",
             "fields = line.split() splits on any whitespace; skip the line when fields is empty.",
             "fields = line.split() 按任意空白拆分；fields 为空时跳过该行。")


@pytest.mark.parametrize("bad_line", ["digit_002.png 3.0", "my digit.png 4", "7 digit_002.png"])
def test_image_label_dataset_rejects_a_malformed_line_at_construction(data, mnist_root, tmp_path, bad_line):
    """Check that the constructor alone raises ValueError naming the file and the line number (here line 5)."""
    folder = course_data.digits_dir(mnist_root)
    label_file = tmp_path / "my_labels.txt"
    label_file.write_text(f"digit_000.png 7\n\ndigit_001.png 2\n   \n{bad_line}\ndigit_003.png 0\n")
    try:
        data.ImageLabelDataset(folder, label_file)
    except ValueError as error:
        text = str(error).replace(str(label_file), "my_labels.txt")
        if "my_labels.txt" in text and re.search(r"\b5\b", text.replace("my_labels.txt", "")):
            return
        fail(3, "ImageLabelDataset", f"line 5 {bad_line!r} raised ValueError({str(error)[:200]!r}); expected the "
             "message to name the file and line 5 (blank lines count).",
             f"第 5 行 {bad_line!r} 的 ValueError 信息应包含文件名和行号 5（空行也计数）。",
             "enumerate(f, start=1) gives line numbers that count blank lines too.",
             "enumerate(f, start=1) 给出的行号也计入空行。")
    fail(3, "ImageLabelDataset", f"constructing the dataset on a label file whose line 5 is {bad_line!r} raised no "
         "ValueError; expected the error at construction, before any item is read.",
         f"标签文件第 5 行为 {bad_line!r} 时，构造数据集没有抛出 ValueError；应在构造时就报错。",
         "parse and check every line in __init__: exactly two fields, the second an integer.",
         "在 __init__ 中解析并检查每一行：恰好两个字段，第二个为整数。")


def _time_last_items(small, large, repeats=9):
    """Best times of reading the last 10 items of each dataset, measured in turns, in seconds."""
    best = [float("inf"), float("inf")]
    for _ in range(repeats):
        for which, dataset in enumerate((small, large)):
            start = time.perf_counter()
            for index in range(len(dataset) - 10, len(dataset)):
                dataset[index]
            best[which] = min(best[which], time.perf_counter() - start)
    return best


def test_image_label_dataset_reads_the_label_file_once(data, mnist_root, tmp_path):
    """Check O(1) items: the label file is read at construction only, and an item costs the same in a big dataset."""
    folder, pairs = _digit_lines(mnist_root)
    small_file, big_file = tmp_path / "small.txt", tmp_path / "big.txt"
    small_file.write_text("".join(f"{name} {label}\n" for name, label in pairs))
    big = [pairs[i % len(pairs)] for i in range(30_000)]
    big_file.write_text("".join(f"{name} {label}\n" for name, label in big))
    small, large = data.ImageLabelDataset(folder, small_file), data.ImageLabelDataset(folder, big_file)
    big_file.rename(tmp_path / "moved_away.txt")
    try:
        labels = [large[index][1] for index in (0, 12_345, 29_999)]
    except OSError as error:
        labels = f"{type(error).__name__}: {error}"
    if labels != [big[index][1] for index in (0, 12_345, 29_999)]:
        fail(3, "ImageLabelDataset", f"after the label file was moved away, items 0, 12345, 29999 gave {labels}; "
             "expected their labels: __getitem__ must not read the label file again.",
             f"标签文件被移走后，第 0、12345、29999 项得到 {labels}；__getitem__ 不应再次读取标签文件。",
             "read and parse the label file once in __init__ and keep the (name, label) pairs in a list.",
             "在 __init__ 中读取并解析一次标签文件，把 (name, label) 对保存在列表里。")
    small_time, large_time = _time_last_items(small, large)
    if large_time > 4 * small_time and large_time - small_time > 0.003:
        fail(3, "ImageLabelDataset", f"10 items cost {small_time * 1e3:.1f} ms in a dataset of {len(small)} lines and "
             f"{large_time * 1e3:.1f} ms in one of 30,000 lines; expected about the same (O(1) per item).",
             f"10 个样本在 {len(small)} 行的数据集中耗时 {small_time * 1e3:.1f} ms，在 30,000 行的数据集中耗时 "
             f"{large_time * 1e3:.1f} ms；每个样本的开销应与数据集大小无关。",
             "index a list built in __init__: self.samples[idx]; do not search or split all lines per item.",
             "直接索引 __init__ 中建好的列表 self.samples[idx]；不要每次都搜索或拆分所有行。")
### END HIDDEN TESTS
