"""Tests for lesson 3, datasets and loaders, on real MNIST. / 第 3 课（数据集与加载器）的测试，使用真实 MNIST。

Prepare the data once with `python -m course_data`. / 先运行一次 `python -m course_data` 准备数据。

Datasets, loaders and transforms stay with your code; these tests fetch their items and batches
and check them against MNIST as the grader itself reads it.
数据集、加载器和变换留在你的代码一侧；测试取回样本和批次，与评分程序自己读取的 MNIST 比较。
"""
import functools
import re

import pytest
import torch
from PIL import Image
from torchvision import transforms

import course_data
from coursetools.checks.feedback import describe, describe_zh, fail
from coursetools.checks.mnist import MNIST_MEAN as MEAN
from coursetools.checks.mnist import MNIST_STD as STD
from coursetools.checks.numbers import as_number

pytestmark = [pytest.mark.lesson3, pytest.mark.mnist, pytest.mark.rests_on("values")]

#: the grader's own mnist_transform, applied here to the same MNIST digits
NORMALIZE = transforms.Compose([transforms.ToTensor(), transforms.Normalize((MEAN,), (STD,))])
N_DIGITS = 200  # digit_000.png ... digit_199.png, the first MNIST test images


@pytest.fixture(scope="module")
def data(submission):
    """lesson3/data.py of the submission under test."""
    return submission.module("lesson3", "data")


@pytest.fixture(scope="module")
def kit(submission):
    """Course objects made next to the submission's code (coursetools/sandbox/kit/lesson3.py)."""
    return submission.kit


@functools.cache
def mnist_arrays(root, train: bool) -> tuple:
    """MNIST `train` split as (uint8 images (N, 28, 28), labels), read here once; read-only, so that no
    call's write-back of its arguments can change them."""
    arrays = course_data.load_mnist_arrays(train=train, root=root)
    for array in arrays:
        array.flags.writeable = False
    return arrays


@pytest.fixture(scope="module")
def digits(mnist_root, tmp_path_factory):
    """A folder of the first 200 MNIST test digits (PNG) and labels.txt, written here: (folder, pairs, pixels)."""
    images, labels = mnist_arrays(mnist_root, False)
    folder = tmp_path_factory.mktemp("digits")
    pairs = [(f"digit_{i:03d}.png", int(labels[i])) for i in range(N_DIGITS)]
    for pixels, (name, _) in zip(images, pairs):
        Image.fromarray(pixels).save(folder / name)
    (folder / "labels.txt").write_text("".join(f"{name} {label}\n" for name, label in pairs))
    return folder, pairs, images[:N_DIGITS]


def student_path(kit, path):
    """`path` as a pathlib.Path next to the submission's code (it reads the same files there)."""
    return kit.as_path(str(path))


def show(value) -> str:
    """describe(), naming a PIL image (which the kit sends as mode, size and pixels)."""
    if isinstance(value, dict) and "pil_mode" in value:
        return f"a PIL image in mode {value['pil_mode']} of size {value.get('size')}"
    return describe(value)


def show_zh(value) -> str:
    """show() for the Chinese line of a message."""
    if isinstance(value, dict) and "pil_mode" in value:
        return f"模式为 {value['pil_mode']}、尺寸为 {value.get('size')} 的 PIL 图像"
    return describe_zh(value)


_TO_TENSOR = ("ToTensor", "PILToTensor")
_ORDER_HINT = ("transforms.Compose([transforms.ToTensor(), transforms.Normalize((MNIST_MEAN,), (MNIST_STD,))]): "
               "ToTensor turns the PIL image into a tensor, and Normalize works on tensors only.",
               "transforms.Compose([transforms.ToTensor(), transforms.Normalize((MNIST_MEAN,), (MNIST_STD,))])："
               "ToTensor 把 PIL 图像变成张量，Normalize 只能处理张量。")
_CHANNEL_HINT = ("keep the channel dimension: ToTensor() gives (1, 28, 28); a transform written by hand needs "
                 "x.unsqueeze(0), because models take batches of shape (N, 1, 28, 28).",
                 "保留通道维度：ToTensor() 得到 (1, 28, 28)；手写的变换需要 x.unsqueeze(0)，因为模型接收形状为 "
                 "(N, 1, 28, 28) 的批次。")


def transform_raised(kit, transform, error, what, what_zh):
    """Fail for mnist_transform() raising on a PIL digit (`what` is where that showed), naming the order of its
    steps when a tensor-only step (Normalize) runs before ToTensor has made a tensor of the PIL image."""
    steps = None
    try:
        steps = kit.transform_steps(transform)
    except Exception:  # the steps could not be read: the message without them
        pass
    steps = [str(step) for step in steps] if isinstance(steps, list) else None
    detail = f"{type(error).__name__}: {str(error)[:160]}"
    if steps and "Normalize" in steps and not any(name in steps[:steps.index("Normalize")] for name in _TO_TENSOR):
        order = " -> ".join(steps)
        fail(function="mnist_transform", en=f"{what}: mnist_transform() runs its steps in the order {order}, so "
             f"Normalize gets the PIL image before any tensor exists and raises {detail}. Expected ToTensor first, "
             "then Normalize.", zh=f"{what_zh}：mnist_transform() 的步骤顺序是 {order}，Normalize 在张量产生之前就拿到了 "
             f"PIL 图像，于是抛出 {type(error).__name__}。应先 ToTensor，再 Normalize。",
             hint_en=_ORDER_HINT[0], hint_zh=_ORDER_HINT[1])
    fail(function="mnist_transform", en=f"{what}: mnist_transform() on a PIL image of an MNIST digit raised {detail}"
         + (f" (its steps: {' -> '.join(steps)})." if steps else "."),
         zh=f"{what_zh}：mnist_transform() 作用于 MNIST 数字的 PIL 图像时抛出 {type(error).__name__}"
         + (f"（步骤：{' -> '.join(steps)}）。" if steps else "。"), hint_en=_ORDER_HINT[0], hint_zh=_ORDER_HINT[1])


def transformed(kit, transform, pixels, what, what_zh):
    """kit.transform_pixels(transform, pixels); an error it raises fails through transform_raised."""
    try:
        return kit.transform_pixels(transform, pixels)
    except NotImplementedError:
        raise
    except Exception as error:
        transform_raised(kit, transform, error, what, what_zh)


def default_transform_blame(data, kit, pixels, error, what, what_zh):
    """`what` (an item of load_mnist with the default transform) raised `error`: when the submission's own
    mnist_transform() raises on that digit too, the message names it (and the order of its steps)."""
    try:
        transform = data.mnist_transform()
    except NotImplementedError:
        raise
    except Exception:  # mnist_transform() itself raising: its own test says so
        transform = None
    if transform is not None:
        try:
            kit.transform_pixels(transform, pixels)
        except NotImplementedError:
            raise
        except Exception as own:
            transform_raised(kit, transform, own, what, what_zh)
    fail(function="load_mnist", en=f"{what} raised {type(error).__name__}: {str(error)[:200]}",
         zh=f"{what_zh} 抛出 {type(error).__name__}", hint_en="datasets.MNIST(root, train=train, "
         "transform=transform or mnist_transform(), download=False).",
         hint_zh="datasets.MNIST(root, train=train, transform=transform or mnist_transform(), download=False)。")


def squeezed(result, expected) -> bool:
    """`result` holds the expected (1, H, W) image without its channel dimension: the missing-channel pitfall."""
    return isinstance(result, torch.Tensor) and tuple(result.shape) == tuple(expected.shape[1:]) \
        and torch.allclose(result.detach().cpu().float(), expected[0], atol=1e-5)


def label_fault(label, expected):
    """pitfall, (why, 原因) for a label that is not the int `expected`."""
    if isinstance(label, torch.Tensor) and label.is_floating_point() and label.numel() == 1 \
            and float(label.reshape(-1)[0]) == expected:
        return "tensor-constructor-dtype", (
            f"a float tensor ({describe(label)}); the contract says an int label, and a float label cannot be a "
            "class index for CrossEntropyLoss",
            f"浮点张量（{describe_zh(label)}）；约定要求 int 标签，浮点标签不能作为 CrossEntropyLoss 的类别索引")
    if isinstance(label, torch.Tensor):
        return None, (f"a tensor ({describe(label)}); the contract says a Python int",
                      f"张量（{describe_zh(label)}）；约定要求 Python int")
    return None, (show(label), show_zh(label))


_LABEL_HINT = ("return the label as a Python int: int(label); torch.Tensor([label]) always makes a float32 tensor.",
               "以 Python int 返回标签：int(label)；torch.Tensor([label]) 总是得到 float32 张量。")


def pair(item) -> tuple:
    """(image, label) of a dataset item; (item, None) when it is not a pair."""
    return tuple(item) if isinstance(item, (tuple, list)) and len(item) == 2 else (item, None)


def every_index(dataset, label_file) -> list:
    """[0, ..., len(dataset) - 1] for a dataset read from `label_file`, its length first held to the contract: one
    item per non-blank line, so never more than the file's lines (a student's len() must not size the grader's
    work: a dataset claiming 30 million items would make the grader build and send 30 million indices)."""
    most = len(label_file.read_bytes().splitlines())
    length = len(dataset)
    if length > most:
        fail(function="ImageLabelDataset", en=f"len(dataset) is {length:,} for {label_file.name}, a file of {most} "
             f"lines; expected at most {most}, one item per non-blank line.",
             zh=f"{label_file.name} 只有 {most} 行，len(dataset) 却为 {length:,}；应至多为 {most}，每个非空行一项。",
             hint_en="__len__ returns len(self.samples), the list of (name, label) pairs read in __init__.",
             hint_zh="__len__ 返回 len(self.samples)，即 __init__ 中读出的 (文件名, 标签) 列表的长度。")
    return list(range(length))


def blame_blank_lines(data, kit, folder, tmp_path, name, line):
    """A test's label file `name` had a blank line `line` before its real problem: when the dataset also fails on
    a file whose only difference from a good one is a blank line, that blank line is the cause, and the message
    says so (the contract: blank lines are skipped)."""
    probe = tmp_path / "blank_line_probe" / name
    probe.parent.mkdir(exist_ok=True)
    probe.write_text("digit_001.png 2\n" * (line - 1) + "\n" + "digit_002.png 1\n")
    try:
        dataset = data.ImageLabelDataset(student_path(kit, folder), student_path(kit, probe))
        kit.dataset_items(dataset, every_index(dataset, probe))
    except NotImplementedError:
        raise
    except Exception as error:
        fail(function="ImageLabelDataset", en=f"line {line} of {name} is blank, and it raised {type(error).__name__}"
             f"({str(error)[:160]!r}); expected blank lines skipped, so that only a malformed line raises.",
             zh=f"{name} 的第 {line} 行是空行，却抛出了 {type(error).__name__}；空行应被跳过，只有格式错误的行才应报错。",
             hint_en="fields = line.split(); skip the line when fields is empty (if not fields: "
             "continue); only then check for exactly two fields with an integer label.",
             hint_zh="fields = line.split()；fields 为空时跳过该行（if not fields: continue）；之后再检查是否恰好两个字段、"
             "标签是否为整数。")


def two_loaders(result) -> tuple:
    if isinstance(result, (tuple, list)) and len(result) == 2:
        return tuple(result)
    fail(en=f"make_loaders(train_set, test_set, ...) returned {show(result)}; expected (train_loader, test_loader).",
         zh=f"make_loaders(train_set, test_set, ...) 返回了 {show_zh(result)}；应返回 (train_loader, test_loader)。")


def test_mnist_transform_normalizes_a_real_digit(data, kit, mnist_root):
    """Check MNIST_MEAN, MNIST_STD and mnist_transform() on a real MNIST digit against ToTensor + Normalize."""
    images, _ = mnist_arrays(mnist_root, False)
    transform = data.mnist_transform()
    values = (data.MNIST_MEAN, data.MNIST_STD)
    numbers = [as_number(v) for v in values]  # 0.1307 as a float, a NumPy scalar or a one-element tensor
    if any(n is None or abs(n - v) > 1e-6 for n, v in zip(numbers, (MEAN, STD))):
        fail(function="MNIST_MEAN, MNIST_STD", en=f"found {values}; expected ({MEAN}, {STD}).",
             zh=f"得到 {values}；应为 ({MEAN}, {STD})。")
    result = transformed(kit, transform, images[0], "on the first MNIST test digit", "对第一张 MNIST 测试图像")
    expected = NORMALIZE(Image.fromarray(images[0]))
    if not isinstance(result, torch.Tensor) or result.shape != expected.shape \
            or not torch.allclose(result, expected, atol=1e-5):
        channel = squeezed(result, expected)
        fail(en=f"on the first MNIST test digit gave {show(result)}; expected shape (1, 28, 28) with values "
                f"(pixel / 255 - {MEAN}) / {STD}, from {expected.min():.4f} to {expected.max():.4f}"
                + (": the right values without the channel dimension." if channel else "."),
             zh=f"对第一张 MNIST 测试图像得到 {show_zh(result)}；应为 (1, 28, 28)，值为 (像素 / 255 - {MEAN}) / {STD}"
                + ("：数值对了，但缺少通道维度。" if channel else "。"),
             hint_en=_CHANNEL_HINT[0] if channel else
             "transforms.Compose([transforms.ToTensor(), transforms.Normalize((MNIST_MEAN,), (MNIST_STD,))]).",
             hint_zh=_CHANNEL_HINT[1] if channel else "先 ToTensor，再 Normalize((MNIST_MEAN,), (MNIST_STD,))。",
             pitfall="missing-channel-dim" if channel else None)


@pytest.mark.parametrize("train, size", [(True, 60_000), (False, 10_000)])
def test_load_mnist_reads_the_split(data, kit, mnist_root, train, size):
    """Check that load_mnist gives the right split, normalized by default."""
    dataset = data.load_mnist(student_path(kit, mnist_root), train=train)
    images, labels = mnist_arrays(mnist_root, train)
    length = len(dataset)
    try:
        image, label = pair(dataset[0])
    except NotImplementedError:
        raise
    except Exception as error:
        default_transform_blame(data, kit, images[0], error, f"load_mnist(root, train={train})[0]",
                                f"load_mnist(root, train={train})[0]")
    expected = NORMALIZE(Image.fromarray(images[0]))
    if length != size or not isinstance(label, int) or label != int(labels[0]) \
            or not isinstance(image, torch.Tensor) or image.shape != expected.shape \
            or not torch.allclose(image, expected, atol=1e-5):
        channel = length == size and squeezed(image, expected)
        fail(en=f"load_mnist(root, train={train}) has {length} items, item 0 = ({show(image)}, {label!r}); "
                f"expected {size} items, item 0 normalized by mnist_transform() with label {labels[0]}"
                + (" (the image lacks its channel dimension)." if channel else "."),
             zh=f"load_mnist(root, train={train}) 有 {length} 项，第 0 项为 ({show_zh(image)}, {label!r})；应为 {size} "
                "项，并且默认使用 mnist_transform()" + ("（图像缺少通道维度）。" if channel else "。"),
             hint_en=_CHANNEL_HINT[0] if channel else
             "datasets.MNIST(root, train=train, transform=transform or mnist_transform(), download=False).",
             hint_zh=_CHANNEL_HINT[1] if channel else "transform 为 None 时使用 mnist_transform()，并且 download=False。",
             pitfall="missing-channel-dim" if channel else None)


def test_load_mnist_uses_the_given_transform(data, kit, mnist_root):
    """Check that load_mnist applies the transform it is given."""
    dataset = data.load_mnist(student_path(kit, mnist_root), train=False, transform=kit.vision_transform("PILToTensor"))
    image, _ = pair(dataset[0])
    raw = torch.tensor(mnist_arrays(mnist_root, False)[0][0]).unsqueeze(0)
    if not isinstance(image, torch.Tensor) or image.dtype != torch.uint8 or not torch.equal(image, raw):
        fail(en=f"with transform=PILToTensor() item 0 is {show(image)}; expected the uint8 pixels (1, 28, 28) "
                "of the first test digit.",
             zh=f"使用 transform=PILToTensor() 时第 0 项为 {show_zh(image)}；应为第一张测试图像的 uint8 像素 (1, 28, 28)。",
             hint_en="pass the given transform on to datasets.MNIST; use mnist_transform() only when it is None.",
             hint_zh="把给定的 transform 传给 datasets.MNIST；只有它为 None 时才用 mnist_transform()。")


@pytest.mark.time_limit(300)  # what autograder/points.py gave it (its "*train*" pattern)
def test_make_loaders_shuffles_train_only(data, kit):
    """Check batch size, shuffling of the training loader and order of the test loader."""
    indices = torch.arange(200)
    train_set, test_set = kit.tensor_dataset(indices.clone()), kit.tensor_dataset(indices.clone())
    train_loader, test_loader = two_loaders(data.make_loaders(train_set, test_set, batch_size=20))
    train_sizes, train_order = kit.loader_pass(train_loader)
    test_sizes, test_order = kit.loader_pass(test_loader)
    shuffled = not torch.equal(train_order, indices) and torch.equal(train_order.sort().values, indices)
    in_order = torch.equal(test_order, indices)
    if train_sizes != [20] * 10 or test_sizes != [20] * 10 or not shuffled or not in_order:
        fail(en=f"200 items with batch_size=20 gave training batch sizes {train_sizes[:12]} and test batch sizes "
                f"{test_sizes[:12]}; training order shuffled (each item once): {shuffled}; test order kept: "
                f"{in_order}. Expected ten batches of 20, shuffled training, ordered test.",
             zh=f"200 个样本、batch_size=20 时训练批大小为 {train_sizes[:12]}，测试批大小为 {test_sizes[:12]}；"
                f"训练集顺序已打乱（每个样本一次）：{'是' if shuffled else '否'}；测试集顺序保持不变："
                f"{'是' if in_order else '否'}。应为每批 20 个、训练集打乱、测试集保持顺序。",
             hint_en="DataLoader(train_set, batch_size, shuffle=True) and DataLoader(test_set, batch_size, shuffle=False).",
             hint_zh="训练用 shuffle=True，测试用 shuffle=False。")


def test_image_label_dataset_reads_the_digit_folder(data, kit, digits):
    """Check ImageLabelDataset on a folder of real digits: length, RGB images, int labels."""
    folder, pairs, pixels = digits
    dataset = data.ImageLabelDataset(student_path(kit, folder), student_path(kit, folder / "labels.txt"),
                                     transform=kit.vision_transform("ToTensor"))
    length = len(dataset)
    image, label = pair(dataset[3])
    expected = transforms.ToTensor()(Image.fromarray(pixels[3]).convert("RGB"))
    if length == len(pairs) and isinstance(image, torch.Tensor) and torch.equal(image, expected) \
            and type(label) is not int:
        pitfall, why = label_fault(label, pairs[3][1])
        fail(en=f"item 3 has the right image, but its label is {why[0]}; expected the int {pairs[3][1]}.",
             zh=f"第 3 项的图像正确，但标签是{why[1]}；应为整数 {pairs[3][1]}。",
             hint_en=_LABEL_HINT[0], hint_zh=_LABEL_HINT[1], pitfall=pitfall)
    if length != len(pairs) or type(label) is not int or label != pairs[3][1] \
            or not isinstance(image, torch.Tensor) or not torch.equal(image, expected):
        fail(en=f"on {folder} gave {length} items, item 3 = ({show(image)}, {label!r}); expected {len(pairs)} "
                f"items, item 3 = (RGB image of shape {tuple(expected.shape)}, {pairs[3][1]}).",
             zh=f"在 {folder} 上得到 {length} 项，第 3 项为 ({show_zh(image)}, {label!r})；应为 {len(pairs)} 项，"
                f"第 3 项为 RGB 图像和整数标签 {pairs[3][1]}。",
             hint_en="read labels.txt in __init__; in __getitem__ open the image with .convert('RGB') and return int(label).",
             hint_zh="在 __init__ 中读取 labels.txt；在 __getitem__ 中用 .convert('RGB') 打开图像并返回 int 标签。")


@pytest.mark.parametrize("bad_line", ["digit_000.png", "digit_000.png seven", "digit_000.png 7 extra"])
def test_image_label_dataset_rejects_a_malformed_line(data, kit, digits, tmp_path, bad_line):
    """Check that a malformed line raises ValueError naming the file and the line number."""
    folder = digits[0]
    label_file = tmp_path / "labels.txt"
    label_file.write_text(f"digit_001.png 2\n\n{bad_line}\n")  # line 2 is blank: skipped, not an error
    try:
        dataset = data.ImageLabelDataset(student_path(kit, folder), student_path(kit, label_file))
        kit.dataset_items(dataset, every_index(dataset, label_file))
    except NotImplementedError:
        raise
    except Exception as error:
        text = str(error)
        if isinstance(error, ValueError) and "labels.txt" in text \
                and re.search(r"\b3\b", text.replace(str(label_file), "")):
            return
        blame_blank_lines(data, kit, folder, tmp_path, "labels.txt", 2)
        fail(function="ImageLabelDataset", en=f"line 3 {bad_line!r} raised {type(error).__name__}"
             f"({str(error)[:200]!r}); expected a ValueError whose message names the file and line 3.",
             zh=f"第 3 行 {bad_line!r} 抛出了 {type(error).__name__}；应抛出 ValueError，且信息包含文件名和行号 3。",
             hint_en="raise ValueError(f\"{label_file}, line {line_number}: ...\") with enumerate(f, start=1).",
             hint_zh="用 enumerate(f, start=1) 计行号，并 raise ValueError(f\"{label_file}, line {line_number}: ...\")。")
    blame_blank_lines(data, kit, folder, tmp_path, "labels.txt", 2)
    fail(function="ImageLabelDataset", en=f"a label file whose line 3 is {bad_line!r} raised no ValueError.",
         zh=f"标签文件第 3 行为 {bad_line!r} 时没有抛出 ValueError。",
         hint_en="split each non-blank line; anything but exactly two fields with an integer label is an error.",
         hint_zh="拆分每个非空行；不是“两个字段且标签为整数”就报错。")


def test_image_label_dataset_reports_a_missing_image(data, kit, digits, tmp_path):
    """Check that a missing image raises FileNotFoundError naming its path."""
    label_file = tmp_path / "labels.txt"
    label_file.write_text("no_such_digit.png 4\n")
    try:
        dataset = data.ImageLabelDataset(student_path(kit, digits[0]), student_path(kit, label_file))
        kit.dataset_items(dataset, [0])
    except FileNotFoundError as error:
        if "no_such_digit.png" in str(error):
            return
    fail(function="ImageLabelDataset",
         en="a label file naming no_such_digit.png gave no FileNotFoundError naming that image.",
         zh="标签文件中列出的 no_such_digit.png 不存在时，应抛出包含该路径的 FileNotFoundError。")


### BEGIN HIDDEN TESTS
import numpy as np

from coursetools.boundary.proxy import StudentExit, StudentRaised


def _rgb(pixels):
    """The (H, W, 3) uint8 pixels of a grey digit converted to RGB, computed here."""
    return np.asarray(Image.fromarray(pixels).convert("RGB"))


def _is_rgb_image(value, pixels) -> bool:
    """`value` is the PIL image (as the kit sends it) of the grey digit `pixels` converted to RGB."""
    return isinstance(value, dict) and value.get("pil_mode") == "RGB" and isinstance(value.get("pixels"), np.ndarray) \
        and np.array_equal(value["pixels"], _rgb(pixels))


@pytest.mark.parametrize("train, indices", [(True, [0, 1, 12_345, 59_999]), (False, [0, 7, 5_000, 9_999])])
def test_mnist_transform_matches_the_formula_on_several_digits(data, kit, mnist_root, train, indices):
    """Check mnist_transform() on several real digits of both splits: float32, (1, 28, 28), normalized values."""
    images, _ = mnist_arrays(mnist_root, train)
    transform = data.mnist_transform()
    for index in indices:
        split, split_zh = ("training", "训练集") if train else ("test", "测试集")
        result = transformed(kit, transform, images[index], f"on MNIST {split} digit {index}",
                             f"对 MNIST {split_zh}第 {index} 张图像")
        expected = NORMALIZE(Image.fromarray(images[index]))
        if not isinstance(result, torch.Tensor) or result.dtype != torch.float32 or result.shape != expected.shape \
                or not torch.allclose(result, expected, atol=1e-5):
            channel = squeezed(result, expected)
            fail(en=f"on MNIST {split} digit {index} gave {show(result)}; expected a float32 tensor of shape "
                    f"(1, 28, 28) with values (pixel / 255 - {MEAN}) / {STD}"
                    + (": the right values without the channel dimension." if channel else "."),
                 zh=f"对 MNIST {split_zh}第 {index} 张图像得到 {show_zh(result)}；应为 (1, 28, 28) 的 float32 张量，"
                    f"值为 (像素 / 255 - {MEAN}) / {STD}" + ("：数值对了，但缺少通道维度。" if channel else "。"),
                 hint_en=_CHANNEL_HINT[0] if channel else
                 "ToTensor() scales to [0, 1]; Normalize((MNIST_MEAN,), (MNIST_STD,)) must come after it.",
                 hint_zh=_CHANNEL_HINT[1] if channel else
                 "ToTensor() 把像素缩放到 [0, 1]；Normalize((MNIST_MEAN,), (MNIST_STD,)) 必须放在它之后。",
                 pitfall="missing-channel-dim" if channel else None)


@pytest.mark.parametrize("train, indices", [(True, [1, 30_000, 59_999]), (False, [1, 4_321, 9_999])])
def test_load_mnist_items_match_the_raw_data(data, kit, mnist_root, train, indices):
    """Check several items of load_mnist, with the default transform and with a given one, against the raw files."""
    images, labels = mnist_arrays(mnist_root, train)
    root = student_path(kit, mnist_root)
    try:
        normalized = kit.dataset_items(data.load_mnist(root, train=train), indices)
    except NotImplementedError:
        raise
    except Exception as error:
        default_transform_blame(data, kit, images[indices[0]], error, f"load_mnist(root, train={train}) items {indices}",
                                f"load_mnist(root, train={train}) 的第 {indices} 项")
    raw = kit.dataset_items(data.load_mnist(root, train=train, transform=kit.vision_transform("PILToTensor")), indices)
    for index, item, raw_item in zip(indices, normalized, raw):
        (image, label), (pixels, raw_label) = pair(item), pair(raw_item)
        good = isinstance(image, torch.Tensor) and image.shape == (1, 28, 28) \
            and torch.allclose(image, NORMALIZE(Image.fromarray(images[index])), atol=1e-5) \
            and isinstance(pixels, torch.Tensor) and torch.equal(pixels, torch.tensor(images[index]).unsqueeze(0)) \
            and isinstance(label, int) and isinstance(raw_label, int) and label == raw_label == int(labels[index])
        if not good:
            channel = squeezed(image, NORMALIZE(Image.fromarray(images[index])))
            fail(en=f"load_mnist(root, train={train}) item {index} = ({show(image)}, {label!r}), with "
                    f"transform=PILToTensor() ({show(pixels)}, {raw_label!r}); expected the MNIST image {index} of "
                    "that split with its label" + (" (the image lacks its channel dimension)." if channel else "."),
                 zh=f"load_mnist(root, train={train}) 的第 {index} 项与 MNIST 原始数据不符；应为该划分的第 {index} 张图像及其标签"
                    + ("（图像缺少通道维度）。" if channel else "。"),
                 hint_en=_CHANNEL_HINT[0] if channel else "datasets.MNIST(root, train=train, transform=transform, "
                 "download=False), with transform = mnist_transform() when it is None.",
                 hint_zh=_CHANNEL_HINT[1] if channel else "datasets.MNIST(root, train=train, transform=transform, "
                 "download=False)，transform 为 None 时用 mnist_transform()。",
                 pitfall="missing-channel-dim" if channel else None)


def test_load_mnist_never_downloads(data, kit, tmp_path):
    """Check that load_mnist on a folder without MNIST raises instead of downloading."""
    empty = tmp_path / "no_mnist_here"
    empty.mkdir()
    blocker = kit.download_blocker()  # a spy: what it reports can only fail this test
    try:
        data.load_mnist(student_path(kit, empty), train=False)
    except NotImplementedError:
        raise
    except Exception as error:
        if not isinstance(error, StudentRaised) or isinstance(error, StudentExit):
            raise
        raised = error
    else:
        raised = None
    finally:
        attempts = blocker.call("restore")
    if attempts:
        fail(en="on a folder without MNIST, load_mnist tried to download it.",
             zh="在没有 MNIST 的文件夹上，load_mnist 试图下载数据。",
             hint_en="pass download=False: the data is prepared once by `python -m course_data`, grading never downloads.",
             hint_zh="请传入 download=False：数据由 `python -m course_data` 预先准备，评分时从不下载。")
    if raised is None:
        fail(en="on a folder without MNIST, load_mnist returned instead of raising an error.",
             zh="在没有 MNIST 的文件夹上，load_mnist 没有报错。",
             hint_en="let datasets.MNIST(root, ..., download=False) raise its 'Dataset not found' error.",
             hint_zh="让 datasets.MNIST(root, ..., download=False) 抛出它的“Dataset not found”错误。")


def test_make_loaders_keeps_every_test_item_and_reshuffles(data, kit):
    """Check 205 items in batches of 20: the test pass is 10 batches of 20 then 5, in order; training batches of 20
    (the last partial batch of 5 may be dropped, drop_last=True is fair), each item at most once, reshuffled each pass."""
    indices = torch.arange(205)
    train_set, test_set = kit.tensor_dataset(indices.clone()), kit.tensor_dataset(indices.clone())
    train_loader, test_loader = two_loaders(data.make_loaders(train_set, test_set, batch_size=20))
    (sizes, first), (second_sizes, second), (test_sizes, test) = \
        kit.loader_pass(train_loader), kit.loader_pass(train_loader), kit.loader_pass(test_loader)
    full = [20] * 10 + [5]
    training_sizes_ok = all(found in (full, full[:-1]) for found in (sizes, second_sizes))
    at_most_once = all(len(order) == sum(found) and len(torch.unique(order)) == len(order)
                       and bool(((order >= 0) & (order < len(indices))).all())
                       for order, found in ((first, sizes), (second, second_sizes)))
    if not training_sizes_ok or test_sizes != full or not at_most_once:
        fail(en=f"205 items with batch_size=20 gave training batch sizes {sizes[:12]} and test batch sizes "
                f"{test_sizes[:12]}; expected training batches of 20 (the last one of 5 may be dropped) with each item "
                "at most once, and test batches of 20 then one of 5 with every item exactly once.",
             zh=f"205 个样本、batch_size=20 时训练批大小为 {sizes[:12]}，测试批大小为 {test_sizes[:12]}；训练批应为每批 20 个"
                "（最后 5 个的不完整批次可以丢弃），每个样本最多一次；测试批应为 10 个 20 再加 1 个 5，每个样本恰好一次。",
             hint_en="DataLoader(..., batch_size=batch_size); the test loader keeps the default drop_last=False.",
             hint_zh="DataLoader(..., batch_size=batch_size)；测试加载器保持默认的 drop_last=False。")
    if not torch.equal(test, indices):
        fail(en="the test loader changed the order of the test set.", zh="测试加载器改变了测试集的顺序。",
             hint_en="DataLoader(test_set, batch_size=batch_size, shuffle=False).",
             hint_zh="DataLoader(test_set, batch_size=batch_size, shuffle=False)。")
    if torch.equal(first, second) or torch.equal(first, indices[:len(first)]):
        fail(en="two passes over the training loader gave the same order (or the dataset order); expected a new "
                "random order on every pass.",
             zh="训练加载器两次遍历的顺序相同（或未打乱）；每次遍历都应重新打乱。",
             hint_en="DataLoader(train_set, batch_size=batch_size, shuffle=True) reshuffles on every pass.",
             hint_zh="DataLoader(train_set, batch_size=batch_size, shuffle=True) 每次遍历都会重新打乱。")


@functools.cache
def _training_digits(root) -> dict:
    """MNIST training images (as bytes) -> their labels, to recognise a shuffled batch here."""
    images, labels = mnist_arrays(root, True)
    found = {}
    for pixels, label in zip(images.reshape(len(images), -1), labels):
        found.setdefault(pixels.tobytes(), set()).add(int(label))
    return found


def test_make_loaders_batches_real_mnist_with_the_default_size(data, kit, mnist_root):
    """Check the default batch size 64 on real MNIST: training batches of real digits, the test pass in order."""
    root = student_path(kit, mnist_root)
    train_set, test_set = kit.mnist_dataset(root, True), kit.mnist_dataset(root, False)
    train_loader, test_loader = two_loaders(data.make_loaders(train_set, test_set))
    images, labels = pair(next(iter(train_loader)))
    test_images, _ = pair(next(iter(test_loader)))
    test_sizes, test_labels = kit.loader_pass(test_loader, 1)
    raw_images, raw_labels = mnist_arrays(mnist_root, False)
    expected = torch.tensor(raw_images[:64]).float().div(255).unsqueeze(1)
    shapes_good = isinstance(images, torch.Tensor) and tuple(images.shape) == (64, 1, 28, 28) \
        and isinstance(labels, torch.Tensor) and tuple(labels.shape) == (64,)
    known = _training_digits(mnist_root)
    real = shapes_good and all(int(label) in known.get(image.mul(255).round().to(torch.uint8).numpy().tobytes(), ())
                               for image, label in zip(images, labels))
    test_good = isinstance(test_images, torch.Tensor) and tuple(test_images.shape) == (64, 1, 28, 28) \
        and torch.allclose(test_images, expected, atol=1e-6) and test_sizes == [64] * 156 + [16] \
        and torch.equal(test_labels, torch.tensor(raw_labels).long())
    if not (real and test_good):
        fail(en=f"make_loaders(train_set, test_set) on MNIST gave a first training batch of {show(images)} "
                f"(labels {show(labels)}) and a first test batch of {show(test_images)}, test batch sizes "
                f"{test_sizes[:3]} ... {test_sizes[-2:]}; expected batches of 64 MNIST training images (64, 1, 28, 28) "
                "with their 64 labels, and the test pass in dataset order (156 batches of 64, then 16).",
             zh="在 MNIST 上默认批大小应为 64：训练批为 64 张训练图像 (64, 1, 28, 28) 及其标签，测试集按原顺序遍历。",
             hint_en="def make_loaders(train_set, test_set, batch_size=64): ... DataLoader(..., batch_size=batch_size).",
             hint_zh="默认参数 batch_size=64，并传给 DataLoader。")


def test_image_label_dataset_gives_every_digit_as_rgb_with_an_int_label(data, kit, digits):
    """Check all 200 items of the digit folder without a transform: RGB PIL images, the right pixels, int labels."""
    folder, pairs, pixels = digits
    dataset = data.ImageLabelDataset(student_path(kit, folder), student_path(kit, folder / "labels.txt"))
    if len(dataset) != len(pairs):
        fail(en=f"len(dataset) is {len(dataset)} for {folder / 'labels.txt'}; expected {len(pairs)}, one item per "
                "non-blank line.", zh=f"len(dataset) 为 {len(dataset)}；应为 {len(pairs)}，每个非空行一项。")
    items = kit.dataset_items(dataset, list(range(len(pairs))))
    for index, ((name, label), item) in enumerate(zip(pairs, items)):
        image, result = pair(item)
        if not _is_rgb_image(image, pixels[index]):
            fail(en=f"item {index} without a transform is {show(image)}; expected the PIL image {name} converted "
                    "to RGB (28x28).",
                 zh=f"不使用 transform 时第 {index} 项为 {show_zh(image)}；应为转换成 RGB 的 PIL 图像 {name}。",
                 hint_en="Image.open(path).convert('RGB'), and apply self.transform only when it is not None.",
                 hint_zh="Image.open(path).convert('RGB')，只有 self.transform 不为 None 时才调用它。")
        if type(result) is not int or result != label:
            pitfall, why = label_fault(result, label)
            fail(en=f"item {index} has label {why[0]}; expected the int {label} from line '{name} ...' of labels.txt.",
                 zh=f"第 {index} 项的标签为{why[1]}；应为 labels.txt 中对应的整数 {label}。",
                 hint_en=_LABEL_HINT[0] if pitfall else "convert the label with int(label) when you read the file.",
                 hint_zh=_LABEL_HINT[1] if pitfall else "读取文件时用 int(label) 转换标签。", pitfall=pitfall)


def test_image_label_dataset_applies_the_transform_once_per_item(data, kit, digits):
    """Check that the transform gets the RGB PIL image of the item and that its result is returned."""
    folder, _, pixels = digits
    dataset = data.ImageLabelDataset(student_path(kit, folder), student_path(kit, folder / "labels.txt"),
                                     transform=kit.recording_transform())
    chosen = [5, 6, 150]
    images = [pair(item)[0] for item in kit.dataset_items(dataset, chosen)]
    calls = [tuple(image[:2]) if isinstance(image, (tuple, list)) and len(image) == 3 else None for image in images]
    seen = [image[2] if calls[k] else None for k, image in enumerate(images)]
    shown = [f"call {call[1]} on {show(image)}" if call else show(image)[:80] for call, image in zip(calls, seen)]
    if calls != [("transformed", 1), ("transformed", 2), ("transformed", 3)] \
            or not all(_is_rgb_image(image, pixels[index]) for image, index in zip(seen, chosen)):
        fail(en=f"items 5, 6 and 150 with a recording transform came from: {shown}; expected one call per item "
                "on the item's RGB PIL image, returning what the transform returns.",
             zh="使用记录调用的 transform 取三项：应为每项调用一次、输入该项的 RGB PIL 图像，并返回 transform 的结果。",
             hint_en="image = Image.open(path).convert('RGB'); if self.transform is not None: image = self.transform(image).",
             hint_zh="先转换成 RGB，再调用 self.transform(image)，并返回它的结果。")


def test_image_label_dataset_skips_blank_lines_and_splits_on_whitespace(data, kit, digits, tmp_path):
    """Check blank and whitespace-only lines are skipped, and fields split on any whitespace (tabs, spaces, CRLF)."""
    folder, pairs, _ = digits
    label_file = tmp_path / "labels.txt"
    chosen = pairs[10:14]
    text = (f"\n{chosen[0][0]} {chosen[0][1]}\n\n   \n{chosen[1][0]}\t{chosen[1][1]}\r\n"
            f"{chosen[2][0]}    {chosen[2][1]}\n\n{chosen[3][0]} {chosen[3][1]}")
    label_file.write_bytes(text.encode())
    try:
        dataset = data.ImageLabelDataset(student_path(kit, folder), student_path(kit, label_file))
        labels = [pair(item)[1] for item in kit.dataset_items(dataset, every_index(dataset, label_file))]
    except NotImplementedError:
        raise
    except Exception as error:
        blame_blank_lines(data, kit, folder, tmp_path, "labels.txt", 1)
        fail(function="ImageLabelDataset", en=f"a label file with blank lines and tab- or space-separated fields "
             f"raised {type(error).__name__}({str(error)[:160]!r}); expected its 4 entries read.",
             zh=f"含空行、以制表符或空格分隔字段的标签文件抛出了 {type(error).__name__}；应读出其中的 4 项。",
             hint_en="fields = line.split() splits on any whitespace; skip the line when fields is empty.",
             hint_zh="fields = line.split() 按任意空白拆分；fields 为空时跳过该行。")
    if labels != [label for _, label in chosen]:
        fail(en=f"a label file with 4 entries between blank lines, separated by a space, a tab and several spaces, "
                f"gave the labels {labels}; expected {len(chosen)} labels, one per non-blank line.",
             zh=f"含空行、制表符和多个空格的标签文件得到标签 {labels}；应为 {len(chosen)} 个，每个非空行一个。",
             hint_en="fields = line.split() splits on any whitespace; skip the line when fields is empty.",
             hint_zh="fields = line.split() 按任意空白拆分；fields 为空时跳过该行。")


@pytest.mark.parametrize("bad_line", ["digit_002.png 3.0", "my digit.png 4", "7 digit_002.png"])
def test_image_label_dataset_rejects_a_malformed_line_at_construction(data, kit, digits, tmp_path, bad_line):
    """Check that the constructor alone raises ValueError naming the file and the line number (here line 5)."""
    label_file = tmp_path / "my_labels.txt"
    label_file.write_text(f"digit_000.png 7\n\ndigit_001.png 2\n   \n{bad_line}\ndigit_003.png 0\n")
    try:
        data.ImageLabelDataset(student_path(kit, digits[0]), student_path(kit, label_file))
    except ValueError as error:
        text = str(error).replace(str(label_file), "my_labels.txt")
        if "my_labels.txt" in text and re.search(r"\b5\b", text.replace("my_labels.txt", "")):
            return
        blame_blank_lines(data, kit, digits[0], tmp_path, "my_labels.txt", 2)
        fail(en=f"line 5 {bad_line!r} raised ValueError({str(error)[:200]!r}); expected the message to name the "
                "file and line 5 (blank lines count).",
             zh=f"第 5 行 {bad_line!r} 的 ValueError 信息应包含文件名和行号 5（空行也计数）。",
             hint_en="enumerate(f, start=1) gives line numbers that count blank lines too.",
             hint_zh="enumerate(f, start=1) 给出的行号也计入空行。")
    fail(en=f"constructing the dataset on a label file whose line 5 is {bad_line!r} raised no ValueError; expected "
            "the error at construction, before any item is read.",
         zh=f"标签文件第 5 行为 {bad_line!r} 时，构造数据集没有抛出 ValueError；应在构造时就报错。",
         hint_en="parse and check every line in __init__: exactly two fields, the second an integer.",
         hint_zh="在 __init__ 中解析并检查每一行：恰好两个字段，第二个为整数。")


def test_image_label_dataset_reads_the_label_file_once(data, kit, digits, tmp_path):
    """Check O(1) items: the label file is read at construction only, and an item costs the same in a big dataset."""
    folder, pairs, _ = digits
    small_file, big_file = tmp_path / "small.txt", tmp_path / "big.txt"
    small_file.write_text("".join(f"{name} {label}\n" for name, label in pairs))
    big = [pairs[i % len(pairs)] for i in range(30_000)]
    big_file.write_text("".join(f"{name} {label}\n" for name, label in big))
    small = data.ImageLabelDataset(student_path(kit, folder), student_path(kit, small_file))
    large = data.ImageLabelDataset(student_path(kit, folder), student_path(kit, big_file))
    big_file.rename(tmp_path / "moved_away.txt")
    chosen = [0, 12_345, 29_999]
    try:
        labels = [pair(item)[1] for item in kit.dataset_items(large, chosen)]
    except OSError as error:
        labels = f"{type(error).__name__}: {str(error)[:200]}"
    if labels != [big[index][1] for index in chosen]:
        fail(en=f"after the label file was moved away, items 0, 12345, 29999 gave {labels}; expected their labels: "
                "__getitem__ must not read the label file again.",
             zh=f"标签文件被移走后，第 0、12345、29999 项得到 {labels}；__getitem__ 不应再次读取标签文件。",
             hint_en="read and parse the label file once in __init__ and keep the (name, label) pairs in a list.",
             hint_zh="在 __init__ 中读取并解析一次标签文件，把 (name, label) 对保存在列表里。")
    # timed next to the student's code: a measurement that can only fail this test
    small_time, large_time = kit.item_times([small, large])
    if large_time > 4 * small_time and large_time - small_time > 0.003:
        fail(en=f"10 items cost {small_time * 1e3:.1f} ms in a dataset of {len(pairs)} lines and "
                f"{large_time * 1e3:.1f} ms in one of 30,000 lines; expected about the same (O(1) per item).",
             zh=f"10 个样本在 {len(pairs)} 行的数据集中耗时 {small_time * 1e3:.1f} ms，在 30,000 行的数据集中耗时 "
                f"{large_time * 1e3:.1f} ms；每个样本的开销应与数据集大小无关。",
             hint_en="index a list built in __init__: self.samples[idx]; do not search or split all lines per item.",
             hint_zh="直接索引 __init__ 中建好的列表 self.samples[idx]；不要每次都搜索或拆分所有行。")
### END HIDDEN TESTS
