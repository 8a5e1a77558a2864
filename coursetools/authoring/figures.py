"""Pictures in the notebooks, where a picture teaches better than text (not graded).

笔记本中的图片：在图比文字讲得更清楚的地方（不计分）。

FIGURES[lesson] lists (exercise, markdown, code): the generator puts the cells right
after that exercise's check. The code runs in the student's kernel and imports
its helpers from coursetools/kernel/figures.py (and MNIST's mean and std from
coursetools/checks/mnist.py); here it is only text.
"""

_DIGITS = '''\
# One shuffled batch from your training loader, with its labels.
# 你的训练加载器给出的一个打乱的批次，以及它们的标签。
import matplotlib.pyplot as plt

import course_data
from coursetools.kernel.figures import set_title, why_no_picture

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
from coursetools.checks.mnist import MNIST_MEAN, MNIST_STD
from coursetools.kernel.figures import set_title, why_no_picture

demo_model = None
try:
    demo_images, demo_labels = course_data.load_mnist_arrays(train=True, root=course_data.require_mnist())
    demo_images = ((torch.from_numpy(demo_images[:30000]).float() / 255 - MNIST_MEAN) / MNIST_STD).unsqueeze(1)
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
from coursetools.checks.mnist import MNIST_MEAN, MNIST_STD
from coursetools.kernel.figures import set_title, why_no_picture

try:
    if demo_model is None:
        raise RuntimeError("no model was trained in the cell above / 上面的单元格没有训练出模型")
    test_images, test_labels = course_data.load_mnist_arrays(train=False, root=course_data.require_mnist())
    test_images = ((torch.from_numpy(test_images[:2000]).float() / 255 - MNIST_MEAN) / MNIST_STD).unsqueeze(1)
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
