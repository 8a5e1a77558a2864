"""Kit functions for lesson 5 (the training loop): a batch-norm network, a device probe, model outputs.

第 5 课的工具：带 batch norm 的网络、记录设备的损失函数、读出模型输出供可信一侧核对。
"""
import torch
from torch import nn

from coursetools.sandbox.kit import kit


@kit
def batchnorm_net(seed=None):
    """A small network whose training mode changes its results (batch norm, no dropout, so it is repeatable)."""
    if seed is not None:
        torch.manual_seed(seed)
    return nn.Sequential(nn.Flatten(), nn.Linear(784, 32), nn.BatchNorm1d(32), nn.ReLU(), nn.Linear(32, 10))


@kit
def set_mode(model, training):
    """`model.train(training)`."""
    model.train(bool(training))


class DeviceProbeLoss:
    """A criterion that records where outputs and labels are, and returns a CPU loss so a meta-device loop can end."""

    def __init__(self):
        self.devices = []
        self.weight = torch.ones((), requires_grad=True)

    def __call__(self, outputs, labels):
        self.devices.append([outputs.device.type, labels.device.type])
        return self.weight * 1.0

    def report(self):
        return [list(pair) for pair in self.devices]


@kit
def device_probe_loss():
    return DeviceProbeLoss()


@kit
def outputs_of(model, images):
    """`model(images)` without gradient tracking, on the device of the model's parameters, brought back to the CPU."""
    device = next(iter(model.parameters())).device
    with torch.no_grad():
        return model(images.to(device)).detach().cpu()
