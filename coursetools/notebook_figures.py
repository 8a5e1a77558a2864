"""Pictures in the notebooks, where a picture teaches better than text (not graded).

笔记本中的图片：在图比文字讲得更清楚的地方（不计分）。

FIGURES[lesson] lists (exercise, markdown, code): the cells go right after that
exercise's check. Each code cell uses the student's own functions and is
guarded: a function not written yet (or failing) prints why, in two lines
(why_no_picture: the function to write, or the real cause, e.g. the transform
order of mnist_transform), instead of an error, so running the whole notebook
never stops on a picture.

A figure's title is English, then Chinese (set_title). matplotlib's own font
has no Chinese glyphs: the Chinese line uses a Chinese font of the machine
when there is one (chinese_font), else the title stays English and the
Chinese line is printed above the picture, so no "Glyph missing" warning.
"""
import re
import sys
import warnings

#: Fonts with Chinese glyphs, the usual ones first (Linux, Windows, macOS); any other font with them will do.
CHINESE_FONTS = ("Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "Source Han Sans CN", "WenQuanYi Zen Hei",
                 "WenQuanYi Micro Hei", "Microsoft YaHei", "SimHei", "PingFang SC", "Hiragino Sans GB", "Heiti SC",
                 "STHeiti", "Arial Unicode MS", "Droid Sans Fallback", "AR PL UMing CN", "Noto Sans CJK JP")
_chinese_font = []  # [] not looked for yet; [None] none; [name]


def chinese_font():
    """The name of a font matplotlib can use for Chinese text, or None (looked for once per process)."""
    if not _chinese_font:
        _chinese_font.append(_find_chinese_font())
    return _chinese_font[0]


def _find_chinese_font():
    from matplotlib import font_manager
    from matplotlib.ft2font import FT2Font

    fonts = list(font_manager.fontManager.ttflist)
    fonts.sort(key=lambda f: CHINESE_FONTS.index(f.name) if f.name in CHINESE_FONTS else len(CHINESE_FONTS))
    for font in fonts:
        if "Last Resort" in font.name:  # matplotlib's fallback: a placeholder box for every character
            continue
        try:
            if all(FT2Font(font.fname).get_char_index(ord(c)) for c in "训练损失"):
                return font.name
        except Exception:  # noqa: BLE001 (a font file matplotlib cannot read: try the next)
            continue
    return None


def set_title(target, en: str, zh: str, **kwargs):
    """Title a Figure (suptitle) or an Axes: English, then Chinese on a second line.

    给 Figure（总标题）或 Axes 加标题：英文在上，中文在下。
    Without a Chinese font the picture keeps the English line and the Chinese line is printed above it.
    没有中文字体时，图中只保留英文标题，中文标题打印在图的上方。
    """
    from matplotlib import rcParams

    setter = target.suptitle if hasattr(target, "suptitle") else target.set_title
    font = chinese_font()
    if font is None:
        print(f"{en} / {zh}")
        return setter(en, **kwargs)
    families = [name for name in rcParams["font.sans-serif"] if name != font][:1] + [font]
    return setter(f"{en}\n{zh}", fontfamily=families, **kwargs)


def why_no_picture(error: BaseException, namespace: dict, needs: tuple) -> str:
    """Why a picture cell drew nothing, in two lines (English, then Chinese): the real cause when it can tell.

    说明图片单元格为什么没有画出图（英文一行，中文一行）：尽量指出真正的原因。

    Args:
        error: what the cell's code raised. / 单元格代码抛出的异常。
        namespace: the notebook's globals(). / 笔记本的 globals()。
        needs: the exercises the picture uses, in order. / 图片用到的练习，按顺序。
    """
    kind = type(error).__name__
    frames = _frames(error)
    mine = [(name, line) for path, line, name in frames if _is_notebook(path, namespace)]
    if isinstance(error, NotImplementedError) and frames and _is_notebook(frames[-1][0], namespace):
        name = mine[-1][0]
        return (f"No picture yet: {name} is not implemented yet; write it (and run its cell) first.\n"
                f"暂时没有图片：{name} 尚未实现，请先完成它（并运行那个单元格）。")
    if isinstance(error, NameError):
        name = getattr(error, "name", None) or str(error)
        return (f"No picture yet: {name} is not defined; write it and run its cell first.\n"
                f"暂时没有图片：{name} 还没有定义，请先完成它并运行那个单元格。")
    detail = f"{kind}: {str(error).splitlines()[0] if str(error) else ''}"[:300]
    if any("torchvision/transforms" in path.replace("\\", "/") for path, _, _ in frames):
        order = _transform_order(namespace)
        if order:
            return order
        return (f"No picture: the transform of your dataset raised {detail}; the check of mnist_transform "
                f"above says more.\n暂时没有图片：数据集的变换（transform）抛出了 {detail}；上面 mnist_transform "
                f"的检查会给出更多信息。")
    where = f"{mine[-1][0]}, line {mine[-1][1]}" if mine else ", ".join(needs)
    where_zh = f"{mine[-1][0]} 第 {mine[-1][1]} 行" if mine else "、".join(needs)
    return (f"No picture: {where} raised {detail}. The check cells of {', '.join(needs)} above say more.\n"
            f"暂时没有图片：{where_zh} 抛出了 {detail}。上面 {'、'.join(needs)} 的检查单元格会给出更多信息。")


def _frames(error) -> list:
    """[(filename, line, function)] of the error's traceback, innermost last."""
    found, tb = [], error.__traceback__
    while tb is not None:
        code = tb.tb_frame.f_code
        found.append((code.co_filename, tb.tb_lineno, getattr(code, "co_qualname", code.co_name)))
        tb = tb.tb_next
    return found


def _is_notebook(path: str, namespace: dict) -> bool:
    """Is `path` the file of the notebook's code (a cell of this kernel, or an earlier lesson's notebook)?"""
    if re.search(r"\.ipynb \[code cell \d+\]$", path):
        return True
    for value in namespace.values():
        code = getattr(value, "__code__", None)
        if code is not None and code.co_filename == path:
            return True
    from coursetools import REPO_ROOT

    return not path.startswith((sys.prefix, sys.base_prefix, "<frozen", str(REPO_ROOT))) \
        and "site-packages" not in path and "dist-packages" not in path


def _transform_order(namespace: dict):
    """The message for an mnist_transform whose steps are in the wrong order (Normalize before ToTensor), else None."""
    make = namespace.get("mnist_transform")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            steps = [type(step).__name__ for step in getattr(make(), "transforms", [])]
    except Exception:  # noqa: BLE001 (not written yet, or failing: the generic message says so)
        return None
    to_tensor = [i for i, step in enumerate(steps) if step in ("ToTensor", "PILToTensor")]
    tensor_only = [i for i, step in enumerate(steps) if step in ("Normalize", "ConvertImageDtype")]
    if tensor_only and (not to_tensor or tensor_only[0] < to_tensor[0]):
        shown = " -> ".join(steps)
        return (f"No picture: your mnist_transform runs {shown}; Normalize works on tensors, so ToTensor must come "
                f"first: Compose([ToTensor(), Normalize(...)]).\n"
                f"暂时没有图片：你的 mnist_transform 的顺序是 {shown}；Normalize 只能处理张量，所以必须先 ToTensor："
                f"Compose([ToTensor(), Normalize(...)])。")
    return None


_DIGITS = '''\
# One shuffled batch from your training loader, with its labels.
# 你的训练加载器给出的一个打乱的批次，以及它们的标签。
import matplotlib.pyplot as plt

import course_data
from coursetools.notebook_figures import set_title, why_no_picture

try:
    mnist_root = course_data.require_mnist()
    picture_loader, _ = make_loaders(load_mnist(mnist_root, train=True), load_mnist(mnist_root, train=False),
                                     batch_size=32)
    picture_images, picture_labels = next(iter(picture_loader))
except Exception as error:  # not written yet, or not working yet: no picture, no crash; one line says why
    print(why_no_picture(error, globals(), ("mnist_transform", "load_mnist", "make_loaders")))
else:
    figure, axes = plt.subplots(4, 8, figsize=(8, 5), layout="constrained")
    for ax, image, label in zip(axes.flat, picture_images, picture_labels):
        ax.imshow(image[0].numpy(), cmap="gray")  # image is (1, 28, 28): show its one channel
        ax.set_title(int(label))
        ax.axis("off")
    shape = tuple(picture_images.shape)
    set_title(figure, f"one batch: images {shape} and their labels", f"一个批次：图像 {shape} 及其标签")
    plt.show()
'''

_LOSS_CURVE = '''\
# Your train_one_epoch on 30 slices of MNIST (1,000 images each): the loss falls as the model learns.
# 用你的 train_one_epoch 依次训练 30 份 MNIST（每份 1000 张）：模型学习时损失下降。
import matplotlib.pyplot as plt
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

import course_data
from coursetools.notebook_figures import set_title, why_no_picture

demo_model = None
try:
    demo_images, demo_labels = course_data.load_mnist_arrays(train=True, root=course_data.require_mnist())
    demo_images = ((torch.from_numpy(demo_images[:30000]).float() / 255 - 0.1307) / 0.3081).unsqueeze(1)
    demo_labels = torch.from_numpy(demo_labels[:30000]).long()
    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 10))  # lesson 4's network
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    losses = []
    for start in range(0, 30000, 1000):
        piece = TensorDataset(demo_images[start:start + 1000], demo_labels[start:start + 1000])
        loss = train_one_epoch(model, DataLoader(piece, batch_size=64, shuffle=True), nn.CrossEntropyLoss(),
                               optimizer, "cpu")
        losses.append(float(loss))
except Exception as error:  # not written yet, or not working yet: no picture, no crash; one line says why
    print(why_no_picture(error, globals(), ("train_one_epoch",)))
else:
    demo_model = model
    plt.figure(figsize=(6, 3.5))
    plt.plot(range(1000, 30001, 1000), losses, marker="o")
    plt.xlabel("training images seen")
    plt.ylabel("mean batch loss")
    set_title(plt.gca(), "training loss", "训练损失")
    plt.grid(True)
    plt.show()
'''

_PREDICTIONS = '''\
# What the model trained above predicts for 16 test digits (red: wrong), and your evaluate on 2,000.
# 上面训练的模型对 16 个测试数字的预测（红色表示错误），以及你的 evaluate 在 2000 张图上的结果。
import matplotlib.pyplot as plt
import torch
from torch.utils.data import DataLoader, TensorDataset

import course_data
from coursetools.notebook_figures import set_title, why_no_picture

try:
    if demo_model is None:
        raise RuntimeError("no model was trained in the cell above / 上面的单元格没有训练出模型")
    test_images, test_labels = course_data.load_mnist_arrays(train=False, root=course_data.require_mnist())
    test_images = ((torch.from_numpy(test_images[:2000]).float() / 255 - 0.1307) / 0.3081).unsqueeze(1)
    test_labels = torch.from_numpy(test_labels[:2000]).long()
    accuracy = evaluate(demo_model, DataLoader(TensorDataset(test_images, test_labels), batch_size=500), "cpu")
    with torch.no_grad():
        predictions = demo_model(test_images[:16]).argmax(dim=1)
except Exception as error:  # not written yet, or not working yet: no picture, no crash; one line says why
    print(why_no_picture(error, globals(), ("train_one_epoch", "evaluate")))
else:
    print(f"A quick demo: a small network that saw 30,000 training images once reaches {float(accuracy):.3f}. "
          "The 95 % of this lesson is train_mnist's full run (60,000 images, 2 epochs), checked below.")
    print(f"快速演示：一个小网络只把 30,000 张训练图像看了一遍，准确率为 {float(accuracy):.3f}。"
          "本课的 95% 指的是 train_mnist 的完整训练（60,000 张图像，2 轮），由下面的检查验证。")
    figure, axes = plt.subplots(2, 8, figsize=(8, 3.2), layout="constrained")
    for ax, image, label, guess in zip(axes.flat, test_images, test_labels, predictions):
        ax.imshow(image[0].numpy(), cmap="gray")
        ax.set_title(f"{int(guess)} ({int(label)})", color="black" if guess == label else "red")
        ax.axis("off")
    set_title(figure, f"prediction (label); quick demo, evaluate on 2,000 test images: {float(accuracy):.3f}",
              f"预测（标签）；快速演示，evaluate 在 2000 张测试图像上：{float(accuracy):.3f}")
    plt.show()
'''

FIGURES = {
    3: [("make_loaders",
         "### Look at your data / 看看你的数据\n\n"
         "Run the next cell: it draws one batch from your training loader, each digit with its label above it. "
         "Each run shows other digits, because the training loader shuffles.\n\n"
         "运行下一个单元格：它画出训练加载器中的一个批次，每个数字上方是它的标签。由于训练加载器会打乱顺序，"
         "每次运行看到的数字都不同。",
         _DIGITS)],
    5: [("evaluate",
         "### Watch it learn / 看它学习\n\n"
         "The next two cells use your `train_one_epoch` and `evaluate` on a small network: first the training "
         "loss (mean batch loss against training images seen), then the predictions for 16 test digits, "
         "written as `prediction (label)`, wrong ones in red. This demo trains for seconds only (30,000 images, "
         "seen once), so its accuracy stays near 0.93: the 95 % of this lesson is `train_mnist`'s full run "
         "(60,000 images, 2 epochs), checked further down.\n\n"
         "接下来的两个单元格用你的 `train_one_epoch` 和 `evaluate` 训练一个小网络：先画出训练损失"
         "（平均批次损失随已训练图像数的变化），再展示对 16 个测试数字的预测，格式为 `预测 (标签)`，"
         "错误的用红色标出。这个演示只训练几秒钟（30,000 张图像，只看一遍），所以准确率在 0.93 左右："
         "本课所说的 95% 指的是 `train_mnist` 的完整训练（60,000 张图像，2 轮），由后面的检查验证。",
         _LOSS_CURVE),
        ("evaluate", "", _PREDICTIONS)],
}
