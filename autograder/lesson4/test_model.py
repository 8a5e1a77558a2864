"""Tests for lesson 4, models. / 第 4 课（模型）的测试。"""
import pytest
import torch
from torch import nn

from coursetools.feedback import describe, fail

pytestmark = pytest.mark.lesson4


@pytest.fixture(scope="module")
def model_module(submission):
    """lesson4/model.py of the submission under test."""
    return submission.module("lesson4", "model")


def make_net(model_module):
    """A fresh SimpleMNISTNet of the submission, built inside the test (a stub fails the test, not its setup)."""
    torch.manual_seed(0)
    return model_module.SimpleMNISTNet()


def test_simple_mnist_net_maps_images_to_10_outputs(model_module):
    """Check that a (N, 1, 28, 28) batch gives (N, 10) outputs."""
    net = make_net(model_module)
    images = torch.randn(4, 1, 28, 28)
    out = net(images)
    if not isinstance(out, torch.Tensor) or tuple(out.shape) != (4, 10):
        fail(4, "SimpleMNISTNet", f"forward on images of shape (4, 1, 28, 28) gave {describe(out)}; "
             "expected shape (4, 10).", f"对 (4, 1, 28, 28) 的图像前向传播得到 {describe(out)}；应为 (4, 10)。",
             "flatten to (N, 784) first, then linear1 784 -> 128, ReLU, linear2 128 -> 10.",
             "先展平成 (N, 784)，再 linear1 784 -> 128、ReLU、linear2 128 -> 10。")


def test_simple_mnist_net_has_the_two_linear_layers(model_module):
    """Check linear1 (784 -> 128) and linear2 (128 -> 10)."""
    net = make_net(model_module)
    layers = {name: getattr(net, name, None) for name in ("linear1", "linear2")}
    sizes = {name: (layer.in_features, layer.out_features) if isinstance(layer, nn.Linear) else layer
             for name, layer in layers.items()}
    if sizes != {"linear1": (784, 128), "linear2": (128, 10)}:
        fail(4, "SimpleMNISTNet", f"layers found: {sizes}; expected linear1 = nn.Linear(784, 128) and "
             "linear2 = nn.Linear(128, 10).", f"找到的层：{sizes}；应为 linear1 = nn.Linear(784, 128)、"
             "linear2 = nn.Linear(128, 10)。")


def test_simple_mnist_net_returns_logits_not_probabilities(model_module):
    """Check that forward returns raw scores: rows do not sum to 1 and some are negative."""
    net = make_net(model_module)
    out = net(torch.randn(8, 1, 28, 28) * 3)
    rows_are_probabilities = bool(torch.allclose(out.sum(dim=1), torch.ones(8), atol=1e-3)) and bool((out >= 0).all())
    if rows_are_probabilities:
        fail(4, "SimpleMNISTNet", f"forward gave rows that are probabilities ({describe(out)}, each row sums to 1); "
             "expected raw logits.", f"forward 的输出每行之和为 1（{describe(out)}），是概率；应返回原始 logits。",
             pitfall="softmax-before-ce")


def test_count_parameters_of_simple_mnist_net(model_module):
    """Check count_parameters(SimpleMNISTNet()) against torch's own count (101,770)."""
    net = make_net(model_module)
    result = model_module.count_parameters(net)
    expected = sum(p.numel() for p in net.parameters())
    if result != expected:
        fail(4, "count_parameters", f"count_parameters(SimpleMNISTNet()) returned {result!r}; expected {expected}.",
             f"count_parameters(SimpleMNISTNet()) 返回 {result!r}；应为 {expected}。",
             "sum p.numel() over model.parameters() that require grad.",
             "对 model.parameters() 中需要梯度的参数求 p.numel() 之和。")


def test_count_parameters_skips_frozen_parameters(model_module):
    """Check that parameters with requires_grad=False are not counted."""
    model = nn.Sequential(nn.Linear(4, 3), nn.Linear(3, 2))
    model[0].requires_grad_(False)
    result = model_module.count_parameters(model)
    if result != 3 * 2 + 2:
        fail(4, "count_parameters", f"a model with a frozen Linear(4, 3) and a trainable Linear(3, 2) gave {result!r};"
             f" expected {3 * 2 + 2} (trainable only).", f"冻结 Linear(4, 3)、可训练 Linear(3, 2) 的模型得到 "
             f"{result!r}；应为 {3 * 2 + 2}（只数可训练参数）。", "filter with `if p.requires_grad`.",
             "用 `if p.requires_grad` 过滤。")
