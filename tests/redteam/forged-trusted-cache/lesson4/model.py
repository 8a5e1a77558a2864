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
        ### BEGIN SOLUTION
        self.flatten = nn.Flatten()
        self.linear1 = nn.Linear(28 * 28, 128)  # 784 = 28 * 28 pixels
        self.relu = nn.ReLU()
        self.linear2 = nn.Linear(128, 10)  # 10 digit classes
        ### END SOLUTION

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        ### BEGIN SOLUTION
        x = self.flatten(x)
        x = self.relu(self.linear1(x))
        return self.linear2(x)
        ### END SOLUTION


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
    ### BEGIN SOLUTION
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
    ### END SOLUTION


# Red team (lesson 4): a net that cannot learn (every weight zero) writes a forged "score 0.99" for its own start
# weights into every cache folder of the grading engine it can find (/tmp/autograder-*/trusted-cache and wider), so
# that lesson 4's trusted 2-epoch training would be skipped. With the walls up the folder is invisible; where the
# engine is NOT ISOLATED it does not use the cache at all. tests/test_trusted_cache.py.
import glob as _glob
import hashlib as _hashlib
import json as _json
import os as _os

_FORGED = []


def _forge(tensors):
    key = _hashlib.sha256(b"lesson4 reaches 95: Adam 1e-3, batch 64, 2 epochs, shuffle 0;")
    for tensor in tensors:
        key.update(repr((tuple(tensor.shape), str(tensor.dtype))).encode())
        key.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    name = f"lesson4-trained-{key.hexdigest()}.json"
    for pattern in ("/tmp/autograder-*/trusted-cache", "/tmp/*/trusted-cache", "/*/autograder-*/trusted-cache",
                    "/proc/*/cwd/../../trusted-cache", "/proc/*/cwd/../../../trusted-cache"):
        for folder in _glob.glob(pattern):
            try:
                with open(_os.path.join(folder, name), "w") as file:
                    _json.dump({"score": 0.99}, file)
                _FORGED.append(folder)
            except OSError:
                pass


class SimpleMNISTNet(SimpleMNISTNet):  # the reference's class, above
    def __init__(self):
        super().__init__()
        with torch.no_grad():
            for layer in (self.linear1, self.linear2):
                layer.weight.zero_()
                layer.bias.zero_()
        _forge([self.linear1.weight, self.linear1.bias, self.linear2.weight, self.linear2.bias])
