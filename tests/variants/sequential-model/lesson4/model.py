"""Lesson 4: nn.Module, building a model.
第 4 课：nn.Module，搭建模型。

A model is a class: layers are created in `__init__`, and `forward` says
how data flows through them. PyTorch finds the parameters for you.
模型是一个类：在 `__init__` 中创建各层，`forward` 描述数据如何流过它们。
PyTorch 会自动找到所有参数。
"""
import torch
from torch import nn


class SimpleMNISTNet(nn.Module):
    """Flatten, linear1 784 -> 128, ReLU, linear2 128 -> 10.
    展平，linear1 784 -> 128，ReLU，linear2 128 -> 10。

    `forward` takes (N, 1, 28, 28) images and returns (N, 10) logits: raw
    scores, no softmax (CrossEntropyLoss applies log-softmax itself).
    `forward` 接收 (N, 1, 28, 28) 的图像，返回 (N, 10) 的 logits：
    原始分数，不做 softmax（CrossEntropyLoss 自己会做 log-softmax）。
    """

    def __init__(self):
        super().__init__()
        self.linear1 = nn.Linear(784, 128)
        self.linear2 = nn.Linear(128, 10)
        self.layers = nn.Sequential(nn.Flatten(), self.linear1, nn.ReLU(), self.linear2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(x)


def count_parameters(model: nn.Module) -> int:
    """Count the trainable parameters of `model` (101,770 for SimpleMNISTNet).
    统计 `model` 中可训练参数的个数（SimpleMNISTNet 为 101,770）。

    101,770 = 784 * 128 + 128 + 128 * 10 + 10. Frozen parameters
    (requires_grad=False) do not count.
    101,770 = 784 * 128 + 128 + 128 * 10 + 10。冻结的参数
    （requires_grad=False）不计入。

    Args:
        model: any nn.Module. / 任意 nn.Module。
    """
    total = 0
    for p in model.parameters():
        if p.requires_grad:
            total += p.numel()
    return total
