"""Tests for lesson 5, the training loop, on real MNIST. / 第 5 课（训练循环）的测试，使用真实 MNIST。

The training checks run on MNIST tensors already in memory, so they take
seconds. / 训练检查使用已经载入内存的 MNIST 张量，只需几秒。
"""
import math

import pytest
import torch
from torch import nn

import course_data
from coursetools.feedback import describe, fail

pytestmark = [pytest.mark.lesson5, pytest.mark.mnist]

MEAN, STD = 0.1307, 0.3081


class TensorBatches:
    """(images, labels) batches of tensors in memory; shuffled anew on every pass when `shuffle`."""

    def __init__(self, images, labels, batch_size=64, shuffle=False, seed=0):
        self.images, self.labels = images, labels
        self.batch_size, self.shuffle = batch_size, shuffle
        self.generator = torch.Generator().manual_seed(seed)

    def __iter__(self):
        order = torch.randperm(len(self.labels), generator=self.generator) if self.shuffle else None
        for start in range(0, len(self.labels), self.batch_size):
            index = order[start:start + self.batch_size] if order is not None else slice(start, start + self.batch_size)
            yield self.images[index], self.labels[index]

    def __len__(self):
        return math.ceil(len(self.labels) / self.batch_size)


def make_net():
    """The lesson-4 network, written here so lesson 5 is graded on its own."""
    return nn.Sequential(nn.Flatten(), nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 10))


@pytest.fixture(scope="module")
def train(submission):
    """lesson5/train.py of the submission under test."""
    return submission.module("lesson5", "train")


@pytest.fixture(scope="module")
def mnist_tensors(mnist_root):
    """Normalized MNIST as tensors: {'train': (images, labels), 'test': (images, labels)}."""
    result = {}
    for split in ("train", "test"):
        images, labels = course_data.load_mnist_arrays(train=split == "train", root=mnist_root)
        images = (torch.from_numpy(images).float().div_(255).sub_(MEAN).div_(STD)).unsqueeze(1)
        result[split] = (images, torch.from_numpy(labels).long())
    return result


class ModeSpy:
    """Records model.training and torch.is_grad_enabled() at every forward."""

    def __init__(self, model):
        self.calls = []
        model.register_forward_pre_hook(lambda module, args: self.calls.append((module.training, torch.is_grad_enabled())))


def _reference_sgd_losses(model, batches, lr):
    """The oracle loop: zero_grad, forward, loss, backward, step with plain SGD."""
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    losses = []
    for images, labels in batches:
        optimizer.zero_grad()
        loss = nn.functional.cross_entropy(model(images), labels)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses


def test_train_one_epoch_matches_the_reference_loop(train, mnist_tensors):
    """Check weights and mean loss after one epoch against the oracle loop (SGD, 4 fixed batches)."""
    images, labels = mnist_tensors["train"]
    batches = TensorBatches(images[:256], labels[:256], batch_size=64)
    torch.manual_seed(0)
    model, oracle = make_net(), make_net()
    oracle.load_state_dict(model.state_dict())
    expected_losses = _reference_sgd_losses(oracle, batches, lr=0.1)
    result = train.train_one_epoch(model, batches, nn.CrossEntropyLoss(), torch.optim.SGD(model.parameters(), lr=0.1),
                                   torch.device("cpu"))
    same_weights = all(torch.allclose(a, b, atol=1e-5) for a, b in zip(model.parameters(), oracle.parameters()))
    if not same_weights:
        fail(5, "train_one_epoch", "after one epoch of 4 batches with SGD(lr=0.1) the weights differ from the "
             "reference loop (zero_grad, forward, loss, backward, step) on the same data.",
             "用 SGD(lr=0.1) 训练 4 个批次后，权重与参考循环（梯度清零、前向、损失、反向、更新）的结果不同。",
             "per batch: optimizer.zero_grad(); loss = criterion(model(images), labels); loss.backward(); "
             "optimizer.step().", "每个批次：optimizer.zero_grad()；计算损失；loss.backward()；optimizer.step()。")
    expected = sum(expected_losses) / len(expected_losses)
    if not isinstance(result, (float, int, torch.Tensor)) or abs(float(result) - expected) > 1e-4:
        fail(5, "train_one_epoch", f"returned {describe(result)}; expected the mean batch loss {expected:.4f}.",
             f"返回了 {describe(result)}；应为各批次损失的平均值 {expected:.4f}。",
             "add loss.item() of every batch and divide by the number of batches.",
             "累加每个批次的 loss.item()，再除以批次数。")


def test_train_one_epoch_trains_in_training_mode(train, mnist_tensors):
    """Check that every forward of train_one_epoch runs in training mode."""
    images, labels = mnist_tensors["train"]
    model = make_net()
    spy = ModeSpy(model)
    model.eval()
    train.train_one_epoch(model, TensorBatches(images[:128], labels[:128]), nn.CrossEntropyLoss(),
                          torch.optim.SGD(model.parameters(), lr=0.01), "cpu")
    if not spy.calls or not all(training for training, _ in spy.calls):
        fail(5, "train_one_epoch", f"called on a model in eval mode, its forwards ran with training = "
             f"{sorted({t for t, _ in spy.calls})}; expected training mode.",
             "对处于 eval 模式的模型调用时，前向传播没有切换到训练模式。", pitfall="train-eval-mode")


def test_evaluate_gives_accuracy_without_grad_in_eval_mode(train, mnist_tensors):
    """Check evaluate against the argmax accuracy, in eval mode, without gradient tracking."""
    images, labels = mnist_tensors["test"]
    torch.manual_seed(1)
    model = nn.Sequential(nn.Flatten(), nn.Linear(784, 10))
    with torch.no_grad():
        expected = (model(images[:1000]).argmax(1) == labels[:1000]).float().mean().item()
    spy = ModeSpy(model)
    model.train()
    result = train.evaluate(model, TensorBatches(images[:1000], labels[:1000], batch_size=100), "cpu")
    if not isinstance(result, (float, int, torch.Tensor)) or abs(float(result) - expected) > 1e-6:
        fail(5, "evaluate", f"returned {describe(result)} on 1,000 test images; expected the accuracy {expected:.4f} "
             "(a number in [0, 1]).", f"在 1000 张测试图像上返回 {describe(result)}；应为准确率 {expected:.4f}。",
             "count (model(images).argmax(dim=1) == labels) over all batches and divide by the number of images.",
             "统计所有批次中预测正确的个数，再除以图像总数。")
    if any(training for training, _ in spy.calls):
        fail(5, "evaluate", "the model ran in training mode during evaluate.", "evaluate 时模型处于训练模式。",
             pitfall="train-eval-mode")
    if any(grad for _, grad in spy.calls):
        fail(5, "evaluate", "evaluate ran the model with gradient tracking on.", "evaluate 时开启了梯度跟踪。",
             pitfall="eval-with-grad")


def test_train_one_epoch_and_evaluate_reach_95_percent(train, mnist_tensors):
    """Check that 2 epochs of train_one_epoch with Adam(lr=1e-3) reach test accuracy >= 0.95 by evaluate."""
    torch.manual_seed(0)
    model = make_net()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    train_batches = TensorBatches(*mnist_tensors["train"], batch_size=64, shuffle=True)
    for _ in range(2):
        train.train_one_epoch(model, train_batches, nn.CrossEntropyLoss(), optimizer, "cpu")
    accuracy = train.evaluate(model, TensorBatches(*mnist_tensors["test"], batch_size=1000), "cpu")
    if not isinstance(accuracy, (float, int, torch.Tensor)) or float(accuracy) < 0.95:
        fail(5, "train_one_epoch, evaluate", f"2 epochs with Adam(lr=1e-3), batch 64, gave test accuracy "
             f"{describe(accuracy)}; expected at least 0.95.",
             f"Adam(lr=1e-3)、批大小 64、训练 2 轮后测试准确率为 {describe(accuracy)}；应至少为 0.95。")


def test_train_mnist_runs_the_whole_pipeline(train, mnist_root, tmp_path):
    """Check train_mnist end to end on a reduced MNIST folder (3,000 training, 1,000 test images)."""
    root = course_data.write_mnist_subset(tmp_path, n_train=3000, n_test=1000, root=mnist_root)
    result = train.train_mnist(root, device="cpu", seed=0)
    if not (isinstance(result, tuple) and len(result) == 2 and isinstance(result[0], nn.Module)):
        fail(5, "train_mnist", f"returned {describe(result)}; expected (model, accuracy).",
             f"返回了 {describe(result)}；应为 (模型, 准确率)。")
    model, accuracy = result
    if not isinstance(accuracy, (float, int)) or not 0.85 <= float(accuracy) <= 1:
        fail(5, "train_mnist", f"on 3,000 training images with its own defaults gave accuracy {describe(accuracy)}; "
             "expected at least 0.85 there (and 0.95 on all of MNIST).",
             f"在 3000 张训练图像上使用默认参数得到准确率 {describe(accuracy)}；应至少为 0.85（完整 MNIST 上为 0.95）。",
             "load both splits with load_mnist, make_loaders, SimpleMNISTNet, Adam(lr=1e-3), train_one_epoch per "
             "epoch, then evaluate on the test loader.",
             "用 load_mnist 加载两个划分，make_loaders，SimpleMNISTNet，Adam(lr=1e-3)，每轮 train_one_epoch，最后 evaluate。")
