"""Kit functions for lesson 6: small models to load checkpoints into, a ResNet-18 summary, one
training step, and spies on torch.load and model moves (they only report; the trusted side
decides).

第 6 课的工具：用于加载检查点的小模型、ResNet-18 概要、一步训练，以及监视 torch.load 和
模型移动的监视器（只报告，由可信一侧判断）。
"""
import torch
from torch import nn
from torch.nn import functional

from coursetools.sandbox.kit import kit


@kit
def small_net(layers="relu", seed=None):
    """Linear(4, 3), then ReLU / Dropout(0.5) / BatchNorm1d(3), then Linear(3, 2); in training mode."""
    if seed is not None:
        torch.manual_seed(seed)
    middle = {"relu": nn.ReLU, "dropout": lambda: nn.Dropout(0.5), "batchnorm": lambda: nn.BatchNorm1d(3)}
    if layers not in middle:
        raise ValueError(f"unknown layers {layers!r}")
    return nn.Sequential(nn.Linear(4, 3), middle[layers](), nn.Linear(3, 2)).train()


@kit
def resnet18(num_classes=3):
    """torchvision's ResNet-18 with random weights and `num_classes` outputs, in training mode."""
    from torchvision import models

    return models.resnet18(weights=None, num_classes=num_classes).train()


@kit
def model_summary(model):
    """What a model says about itself: parameter shapes and requires_grad, buffer shapes, modules in training mode."""
    return {
        "parameters": {name: [list(p.shape), bool(p.requires_grad)] for name, p in model.named_parameters()},
        "buffers": {name: list(b.shape) for name, b in model.named_buffers()},
        "training": [name for name, module in model.named_modules() if module.training],
    }


@kit
def outputs(model, inputs, eval_mode=False):
    """model(inputs) without a graph; the model's mode is left as it is unless `eval_mode`."""
    if eval_mode:
        model.eval()
    with torch.no_grad():
        return model(inputs)


@kit
def sgd_step(model, inputs, labels, lr):
    """One step in training mode: SGD over model.parameters() on the cross-entropy of model(inputs); the
    gradients are dropped afterwards (nothing reads them, and a ResNet-18's take 45 MB)."""
    model.train()
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    optimizer.zero_grad()
    functional.cross_entropy(model(inputs), labels).backward()
    optimizer.step()
    optimizer.zero_grad(set_to_none=True)
    return None


class _Patches:
    """Attributes replaced until stop() puts the originals back."""

    def __init__(self):
        self.saved = []

    def set(self, owner, name, value):
        self.saved.append((owner, name, owner[name] if isinstance(owner, dict) else getattr(owner, name)))
        if isinstance(owner, dict):
            owner[name] = value
        else:
            setattr(owner, name, value)

    def stop(self):
        for owner, name, value in reversed(self.saved):
            if isinstance(owner, dict):
                owner[name] = value
            else:
                setattr(owner, name, value)
        self.saved.clear()


class LoadSpy(_Patches):
    """Records the map_location of every torch.load call (as text; None when not given)."""

    def __init__(self):
        super().__init__()
        self.calls = []
        real = torch.load

        def spy_load(*args, **kwargs):
            location = kwargs.get("map_location", args[1] if len(args) > 1 else None)
            self.calls.append(None if location is None else str(location))
            return real(*args, **kwargs)

        self.set(torch, "load", spy_load)

    def report(self):
        return list(self.calls)


@kit
def load_spy():
    return LoadSpy()


class MoveSpy(_Patches):
    """Records the device types that model.to / .cuda / .cpu / .to_empty are asked for, on one model."""

    def __init__(self, model):
        super().__init__()
        self.model, self.devices = model, []
        self.params = [id(p) for p in model.parameters()]
        for method in ("to", "cuda", "cpu", "to_empty"):
            self.set(nn.Module, method, self._wrap(method, getattr(nn.Module, method)))

    def _wrap(self, method, original):
        def spy(module, *args, **kwargs):
            if module is self.model:
                self.devices.append(self._device(method, args, kwargs))
            return original(module, *args, **kwargs)
        return spy

    @staticmethod
    def _device(method, args, kwargs):
        if method in ("cuda", "cpu"):
            return method
        value = kwargs.get("device", args[0] if args else None)
        if isinstance(value, torch.Tensor):
            value = value.device
        try:
            return torch.device(value).type if isinstance(value, (str, torch.device, int)) else None
        except (RuntimeError, TypeError):
            return None

    def report(self):
        """{"moves": device types asked for, "replaced": whether the model's parameters are new objects}."""
        return {"moves": list(self.devices), "replaced": [id(p) for p in self.model.parameters()] != self.params}


@kit
def move_spy(model):
    return MoveSpy(model)


@kit
def call_pretending_cuda(function, available):
    """function() while torch (and the function's own globals) pretend CUDA is or is not available."""
    patches = _Patches()
    real = torch.cuda.is_available
    def pretend(*args, **kwargs):
        return available

    try:
        for name, value in list(getattr(function, "__globals__", {}).items()):
            if value is real:  # `from torch.cuda import is_available` in the student's file
                patches.set(function.__globals__, name, pretend)
        patches.set(torch.cuda, "is_available", pretend)
        patches.set(torch.cuda, "device_count", lambda: int(available))
        patches.set(torch.cuda, "current_device", lambda: 0)
        accelerator = getattr(torch, "accelerator", None)
        if accelerator is not None:
            for name, value in (("is_available", pretend), ("device_count", lambda: int(available)),
                                ("current_accelerator",
                                 lambda *a, **k: torch.device("cuda") if available else None)):
                if hasattr(accelerator, name):
                    patches.set(accelerator, name, value)
        return function()
    finally:
        patches.stop()
