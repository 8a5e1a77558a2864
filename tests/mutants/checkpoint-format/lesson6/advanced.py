"""Lesson 6: beyond the basics, fine-tuning, devices and checkpoints.
第 6 课：更进一步，微调、设备与检查点。

Reuse a pretrained torchvision ResNet-18 by replacing its last layer,
train on whatever device is available, and save and load the weights.
通过替换最后一层来复用 torchvision 的 ResNet-18，在可用的设备上训练，
并保存和加载权重。
"""
from pathlib import Path

import torch
from torch import nn
from torchvision import models


def get_device() -> torch.device:
    """Return CUDA when available, else the CPU.
    有 CUDA 时返回 CUDA，否则返回 CPU。
    """
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def build_finetune_model(num_classes: int = 10, weights=None, freeze_backbone: bool = True) -> nn.Module:
    """Build a torchvision ResNet-18 with a fresh `num_classes` head.
    构建一个 torchvision ResNet-18，并换上新的 `num_classes` 类输出层。

    With `freeze_backbone`, every parameter but the new head has
    requires_grad=False, so only the head trains.
    设置 `freeze_backbone` 时，除新输出层外的所有参数都设为
    requires_grad=False，只训练输出层。

    Args:
        num_classes: outputs of the new final layer `fc`. / 新最后一层 `fc` 的输出数。
        weights: None (random), a torchvision weights name, or the path of a
            local state_dict file (nothing is downloaded in this course).
            None（随机初始化）、torchvision 权重名，或本地 state_dict 文件路径
            （本课程不下载任何东西）。
        freeze_backbone: train the head only. / 只训练输出层。
    """
    if isinstance(weights, (str, Path)) and Path(weights).is_file():
        model = models.resnet18(weights=None)
        model.load_state_dict(torch.load(weights, map_location="cpu", weights_only=True))
    else:
        model = models.resnet18(weights=weights)
    if freeze_backbone:
        for p in model.parameters():
            p.requires_grad = False
    model.fc = nn.Linear(model.fc.in_features, num_classes)  # new layers train by default
    return model


def save_checkpoint(model: nn.Module, path) -> None:
    """Save the model's `state_dict` (its weights), not the pickled module.
    保存模型的 `state_dict`（权重），而不是整个 pickle 后的模块。

    Args:
        model: the model to save. / 要保存的模型。
        path: the file to write. / 要写入的文件。
    """
    torch.save(model.state_dict(), path)


def load_checkpoint(path, model: nn.Module, device) -> nn.Module:
    """Load a saved state_dict into `model`, move it to `device`; return it in eval mode.
    把保存的 state_dict 加载进 `model`，把模型移到 `device` 上，以评估模式返回。

    Whatever device the checkpoint was saved from, `map_location=device`
    puts its tensors where they are needed; `model` may come from another
    device, so move it with `model.to(device)` too.
    不论检查点是在哪个设备上保存的，`map_location=device`
    都会把张量放到需要的地方；传入的 `model` 可能在别的设备上，
    所以也要用 `model.to(device)` 移动它。

    Args:
        path: the checkpoint file. / 检查点文件。
        model: a model of the same architecture, on any device. / 结构相同的模型，可在任意设备上。
        device: where the model should live. / 模型应在的设备。
    """
    state_dict = torch.load(path, weights_only=True)
    model.load_state_dict(state_dict)
    model.to(device)
    model.eval()
    return model
