"""Tests for lesson 6, fine-tuning, devices and checkpoints. / 第 6 课（微调、设备与检查点）的测试。"""
import re
from collections.abc import Mapping
from contextlib import contextmanager

import pytest
import torch
from torch import nn
from torchvision.models import ResNet

from coursetools.feedback import describe, fail

pytestmark = pytest.mark.lesson6

_NO_CUDA = ("no nvidia driver", "not compiled with cuda", "no cuda gpus", "cuda driver", "cuda is not available",
            "deserialize object on a cuda device", "deserialize object on cuda device")
_MISMATCH = ("same device", "expected device", "two devices", "input type (torch.cuda")


def _error_text(error) -> str:
    """`Type: message`, shortened, without terminal colour codes."""
    return re.sub(r"\x1b\[[0-9;]*m", "", f"{type(error).__name__}: {str(error)[:200]}")


@contextmanager
def diagnosed(name, devices=True):
    """Name the pitfall behind a device error (when `devices`), or a state_dict used as a model, in student code."""
    try:
        yield
    except NotImplementedError:
        raise
    except (RuntimeError, AssertionError) as error:
        text = _error_text(error)
        if devices and any(part in text.lower() for part in _NO_CUDA + _MISMATCH):
            fail(6, name, f"a tensor went to a device other than the one asked for: {text}",
                 f"张量被放到了非指定的设备上：{text}", pitfall="device-mismatch")
        raise
    except AttributeError as error:
        if "dict' object has no attribute" in str(error).lower():
            text = _error_text(error)
            fail(6, name, f"a loaded checkpoint was used as a model: {text}", f"把加载的检查点当成了模型：{text}",
                 "torch.load gives the state_dict (a dict of tensors): pass it to model.load_state_dict(...).",
                 "torch.load 得到的是 state_dict（张量字典）：把它传给 model.load_state_dict(...)。",
                 pitfall="checkpoint-format")
        raise


def returned_model(result, name="load_checkpoint"):
    """`result` when it is a model; otherwise fail, naming a returned state_dict as a checkpoint-format mistake."""
    if isinstance(result, nn.Module):
        return result
    if isinstance(result, Mapping):
        fail(6, name, f"returned {type(result).__name__} (a state_dict); expected the model with the weights loaded.",
             f"返回了 {type(result).__name__}（state_dict）；应返回加载了权重的模型。",
             "model.load_state_dict(state_dict), then return model.", "先 model.load_state_dict(state_dict)，再返回 model。",
             pitfall="checkpoint-format")
    fail(6, name, f"returned {describe(result)}; expected the model.", f"返回了 {describe(result)}；应返回模型。",
         "end with `return model`.", "最后写 `return model`。")


@pytest.fixture(scope="module")
def advanced(submission):
    """lesson6/advanced.py of the submission under test."""
    return submission.module("lesson6", "advanced")


def _trainable(model):
    return sorted(name for name, p in model.named_parameters() if p.requires_grad)


def test_get_device_prefers_cuda(advanced):
    """Check that get_device() is CUDA exactly when CUDA is available."""
    result = advanced.get_device()
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    if not isinstance(result, torch.device) or result.type != expected:
        fail(6, "get_device", f"returned {result!r}; expected torch.device of type {expected!r} on this machine.",
             f"返回了 {result!r}；在本机上应为类型 {expected!r} 的 torch.device。",
             "torch.device('cuda' if torch.cuda.is_available() else 'cpu').",
             "torch.device('cuda' if torch.cuda.is_available() else 'cpu')。")


def test_build_finetune_model_replaces_the_head(advanced):
    """Check a ResNet-18 whose fc is a fresh Linear(512, num_classes) and whose output has num_classes columns."""
    model = advanced.build_finetune_model(num_classes=5)
    head = getattr(model, "fc", None)
    if not isinstance(model, ResNet) or not isinstance(head, nn.Linear) or (head.in_features, head.out_features) != (512, 5):
        fail(6, "build_finetune_model", f"build_finetune_model(num_classes=5) gave {type(model).__name__} with fc "
             f"{head!r}; expected torchvision's ResNet-18 with fc = nn.Linear(512, 5).",
             f"得到 {type(model).__name__}，fc 为 {head!r}；应为 fc = nn.Linear(512, 5) 的 ResNet-18。",
             "model = models.resnet18(weights=weights); model.fc = nn.Linear(model.fc.in_features, num_classes).",
             "先构建 resnet18，再把 model.fc 换成 nn.Linear(model.fc.in_features, num_classes)。")
    model.eval()
    with torch.no_grad():
        out = model(torch.randn(2, 3, 64, 64))
    if tuple(out.shape) != (2, 5):
        fail(6, "build_finetune_model", f"forward on (2, 3, 64, 64) gave {describe(out)}; expected (2, 5).",
             f"对 (2, 3, 64, 64) 前向传播得到 {describe(out)}；应为 (2, 5)。")


@pytest.mark.parametrize("freeze", [True, False])
def test_build_finetune_model_freezes_only_the_backbone(advanced, freeze):
    """Check that with freeze_backbone only fc trains, and without it everything trains."""
    model = advanced.build_finetune_model(num_classes=3, freeze_backbone=freeze)
    trainable = _trainable(model)
    expected = ["fc.bias", "fc.weight"] if freeze else sorted(name for name, _ in model.named_parameters())
    if trainable != expected:
        shown = trainable if len(trainable) < 6 else trainable[:5] + [f"... {len(trainable)} in all"]
        fail(6, "build_finetune_model", f"with freeze_backbone={freeze} the trainable parameters are {shown}; "
             f"expected {'only fc.weight and fc.bias' if freeze else 'all of them'}.",
             f"freeze_backbone={freeze} 时可训练参数为 {shown}；应为{'只有 fc.weight 和 fc.bias' if freeze else '全部参数'}。",
             "set requires_grad = False on every parameter first, then replace model.fc (new layers train).",
             "先把所有参数的 requires_grad 设为 False，再替换 model.fc（新层默认可训练）。")


def test_save_checkpoint_writes_a_state_dict(advanced, tmp_path):
    """Check that the checkpoint is a state_dict that loads with weights_only=True."""
    model = nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2))
    path = tmp_path / "model.pt"
    advanced.save_checkpoint(model, path)
    try:
        loaded = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:
        fail(6, "save_checkpoint", f"torch.load(path, weights_only=True) failed on the checkpoint: "
             f"{_error_text(error)}", "用 weights_only=True 加载检查点失败。", pitfall="checkpoint-format")
    expected = model.state_dict()
    if not isinstance(loaded, dict) or sorted(loaded) != sorted(expected) \
            or not all(torch.equal(loaded[k], expected[k]) for k in expected):
        fail(6, "save_checkpoint", f"the checkpoint holds {describe(loaded)}; expected the model's state_dict "
             f"with keys {sorted(expected)}.", "检查点的内容应为模型的 state_dict。", pitfall="checkpoint-format")


def test_load_checkpoint_restores_weights_in_eval_mode(advanced, tmp_path):
    """Check that load_checkpoint restores the weights on the CPU and returns the model in eval mode."""
    torch.manual_seed(0)
    saved = nn.Sequential(nn.Linear(4, 3), nn.Dropout(0.5), nn.Linear(3, 2))
    path = tmp_path / "model.pt"
    torch.save(saved.state_dict(), path)
    fresh = nn.Sequential(nn.Linear(4, 3), nn.Dropout(0.5), nn.Linear(3, 2)).train()
    with diagnosed("load_checkpoint"):
        result = returned_model(advanced.load_checkpoint(path, fresh, torch.device("cpu")))
    same = all(torch.equal(a, b) for a, b in zip(result.state_dict().values(), saved.state_dict().values()))
    if not same or any(p.device.type != "cpu" for p in result.parameters()):
        fail(6, "load_checkpoint", f"returned a model with the saved weights on cpu: {same}; expected the saved weights "
             "on cpu.", f"返回的模型在 cpu 上且权重正确：{same}；应在 cpu 上且为保存的权重。",
             "model.load_state_dict(torch.load(path, map_location=device)); model.to(device); model.eval().",
             "model.load_state_dict(torch.load(path, map_location=device))；model.to(device)；model.eval()。")
    if result.training:
        fail(6, "load_checkpoint", "returned the model in training mode; expected evaluation mode.",
             "返回的模型处于训练模式；应为评估模式。", pitfall="train-eval-mode")


### BEGIN HIDDEN TESTS
import zipfile

from torch.nn import functional
from torchvision import models


@pytest.mark.parametrize("available", [True, False])
def test_get_device_follows_cuda_availability(advanced, monkeypatch, available):
    """Check get_device() in a pretended CUDA machine and a pretended CPU-only one."""
    real = torch.cuda.is_available
    student_globals = getattr(advanced.get_device, "__globals__", {})
    for name, value in list(student_globals.items()):
        if value is real:  # `from torch.cuda import is_available` in the student's file
            monkeypatch.setitem(student_globals, name, lambda: available)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: available)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: int(available))
    monkeypatch.setattr(torch.cuda, "current_device", lambda: 0)
    if hasattr(torch, "accelerator"):
        monkeypatch.setattr(torch.accelerator, "is_available", lambda: available, raising=False)
        monkeypatch.setattr(torch.accelerator, "device_count", lambda: int(available), raising=False)
        monkeypatch.setattr(torch.accelerator, "current_accelerator",
                            lambda *args, **kwargs: torch.device("cuda") if available else None, raising=False)
    result = advanced.get_device()
    expected = "cuda" if available else "cpu"
    if not isinstance(result, torch.device) or result.type != expected:
        fail(6, "get_device", f"with torch.cuda.is_available() returning {available} it returned {result!r}; "
             f"expected a torch.device of type {expected!r}.",
             f"torch.cuda.is_available() 返回 {available} 时得到 {result!r}；应为类型 {expected!r} 的 torch.device。",
             "decide at call time: torch.device('cuda' if torch.cuda.is_available() else 'cpu'); do not hard-code it.",
             "在调用时判断：torch.device('cuda' if torch.cuda.is_available() else 'cpu')；不要写死。")


@pytest.mark.parametrize("freeze", [True, False])
def test_one_optimizer_step_changes_only_the_trainable_layers(advanced, freeze):
    """Check one SGD step on all parameters: frozen backbone unchanged and head changed, or everything changed."""
    torch.manual_seed(0)
    model = advanced.build_finetune_model(num_classes=4, freeze_backbone=freeze)
    before = {name: p.detach().clone() for name, p in model.named_parameters()}
    model.train()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.5)
    loss = functional.cross_entropy(model(torch.randn(4, 3, 32, 32)), torch.tensor([0, 1, 2, 3]))
    loss.backward()
    optimizer.step()
    changed = sorted(name for name, p in model.named_parameters() if not torch.equal(p.detach(), before[name]))
    head = ["fc.bias", "fc.weight"]
    good = changed == head if freeze else set(head) <= set(changed) and "conv1.weight" in changed
    if not good:
        shown = changed if len(changed) < 6 else changed[:5] + [f"... {len(changed)} in all"]
        fail(6, "build_finetune_model", f"with freeze_backbone={freeze}, one SGD step over model.parameters() changed "
             f"{shown or 'nothing'}; expected {'fc.weight and fc.bias only' if freeze else 'the backbone and the head'}.",
             f"freeze_backbone={freeze} 时，对 model.parameters() 做一步 SGD 后改变的参数为 {shown or '无'}；"
             f"应为{'只有 fc.weight 和 fc.bias' if freeze else '骨干网络和输出层'}。",
             "freeze with p.requires_grad = False on every backbone parameter, then add the new head (it trains).",
             "对骨干网络的每个参数设 p.requires_grad = False，再加上新的输出层（它会训练）。")


def _trained_resnet(num_classes=3, seed=8):
    """A small-input ResNet-18 whose batch-norm buffers moved away from their defaults."""
    torch.manual_seed(seed)
    model = models.resnet18(weights=None, num_classes=num_classes)
    model.train()
    with torch.no_grad():
        model(torch.randn(2, 3, 32, 32))
    return model


def test_checkpoint_round_trip_keeps_every_weight_and_buffer(advanced, tmp_path):
    """Check save_checkpoint then load_checkpoint on a ResNet-18: parameters and batch-norm buffers all restored."""
    model = _trained_resnet()
    path = tmp_path / "resnet.pt"
    advanced.save_checkpoint(model, path)
    try:
        saved = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:
        fail(6, "save_checkpoint", f"torch.load(path, weights_only=True) failed: {_error_text(error)}",
             "用 weights_only=True 加载检查点失败。", pitfall="checkpoint-format")
    expected = model.state_dict()
    missing = sorted(set(expected) - set(saved)) if isinstance(saved, dict) else sorted(expected)
    if missing or not all(torch.equal(saved[k], v) for k, v in expected.items()):
        shown = missing if len(missing) < 4 else missing[:3] + [f"... {len(missing)} in all"]
        fail(6, "save_checkpoint", f"the checkpoint of a ResNet-18 lacks {shown or 'no key'} or holds other values; "
             "expected model.state_dict() with the batch-norm buffers (running_mean, running_var, ...).",
             f"ResNet-18 的检查点缺少 {shown or '（无）'} 或数值不同；应为包含 batch-norm 缓冲区的 model.state_dict()。",
             pitfall="checkpoint-format")
    fresh = models.resnet18(weights=None, num_classes=3)
    with diagnosed("load_checkpoint"):
        restored = returned_model(advanced.load_checkpoint(path, fresh, "cpu")).state_dict()
    if sorted(restored) != sorted(expected) or not all(torch.equal(restored[k], v) for k, v in expected.items()):
        fail(6, "load_checkpoint", "after save_checkpoint and load_checkpoint(path, model, 'cpu') the model returned "
             "does not hold the saved weights and buffers.",
             "save_checkpoint 之后 load_checkpoint(path, model, 'cpu') 返回的模型不含保存的权重和缓冲区。",
             "model.load_state_dict(torch.load(path, map_location=device)) and return the model.",
             "model.load_state_dict(torch.load(path, map_location=device))，并返回模型。")


def test_load_checkpoint_puts_every_submodule_in_eval_mode(advanced, tmp_path):
    """Check that after load_checkpoint no submodule (dropout, batch norm) is left in training mode."""
    model = _trained_resnet(seed=9)
    path = tmp_path / "resnet.pt"
    torch.save(model.state_dict(), path)
    fresh = models.resnet18(weights=None, num_classes=3).train()
    with diagnosed("load_checkpoint"):
        result = returned_model(advanced.load_checkpoint(path, fresh, torch.device("cpu")))
    training = [name or "(the model)" for name, module in result.named_modules() if module.training]
    if training:
        shown = training if len(training) < 4 else training[:3] + [f"... {len(training)} in all"]
        fail(6, "load_checkpoint", f"returned a ResNet-18 with {shown} still in training mode; expected every "
             "submodule in evaluation mode.", f"返回的 ResNet-18 中 {shown} 仍处于训练模式；所有子模块都应为评估模式。",
             "model.eval() switches the model and every submodule; setting model.training = False does not.",
             "model.eval() 会切换模型及所有子模块；只设置 model.training = False 不行。", pitfall="train-eval-mode")


def _claim_a_missing_cuda_device(path):
    """Rewrite the checkpoint at `path` so that its storages say they were saved on a CUDA device this machine lacks."""
    target = f"cuda:{torch.cuda.device_count()}".encode()
    with zipfile.ZipFile(path) as archive:
        entries = [(info, archive.read(info.filename)) for info in archive.infolist()]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as archive:
        for info, data in entries:
            if info.filename.endswith("/data.pkl"):
                data = data.replace(b"X\x03\x00\x00\x00cpu", b"X" + len(target).to_bytes(4, "little") + target)
            archive.writestr(info, data)
    return target.decode()


def test_load_checkpoint_maps_a_checkpoint_saved_on_another_device(advanced, tmp_path, monkeypatch):
    """Check loading a real checkpoint whose tensors claim a CUDA device this machine lacks (needs map_location)."""
    torch.manual_seed(10)
    saved = nn.Sequential(nn.Linear(4, 3), nn.BatchNorm1d(3), nn.Linear(3, 2))
    path = tmp_path / "from_gpu.pt"
    torch.save(saved.state_dict(), path)
    claimed = _claim_a_missing_cuda_device(path)
    try:
        torch.load(path, weights_only=True)
    except RuntimeError:
        pass
    else:
        pytest.skip(f"the grader could not craft a checkpoint this machine cannot load without map_location ({claimed})")
    calls = []
    real_load = torch.load

    def spy_load(*args, **kwargs):
        calls.append(kwargs.get("map_location", args[1] if len(args) > 1 else None))
        return real_load(*args, **kwargs)

    monkeypatch.setattr(torch, "load", spy_load)
    fresh = nn.Sequential(nn.Linear(4, 3), nn.BatchNorm1d(3), nn.Linear(3, 2))
    try:
        with diagnosed("load_checkpoint", devices=False):
            result = advanced.load_checkpoint(path, fresh, "cpu")
    except NotImplementedError:
        raise
    except (RuntimeError, AssertionError) as error:
        text = _error_text(error)
        given = [c for c in calls if c is not None]
        fail(6, "load_checkpoint", f"a checkpoint saved on {claimed} could not be loaded with device='cpu' "
             f"(torch.load saw map_location={given[0] if given else None!r}): {text}",
             f"在 {claimed} 上保存的检查点无法用 device='cpu' 加载：{text}",
             pitfall="device-mismatch" if given else "checkpoint-format")
    restored = returned_model(result).state_dict()
    expected = saved.state_dict()
    if sorted(restored) != sorted(expected) or not all(torch.equal(restored[k].cpu(), v) for k, v in expected.items()):
        fail(6, "load_checkpoint", f"a checkpoint saved on {claimed}, loaded with device='cpu', gave a model "
             "without the saved weights.",
             f"在 {claimed} 上保存的检查点用 device='cpu' 加载后，返回的模型不含保存的权重。",
             pitfall="checkpoint-format")


class MoveSpy:
    """Records the devices that model.to / .cuda / .cpu / .to_empty are asked for, on one model."""

    def __init__(self, model, monkeypatch):
        self.model, self.devices = model, []
        for method in ("to", "cuda", "cpu", "to_empty"):
            monkeypatch.setattr(nn.Module, method, self._wrap(method, getattr(nn.Module, method)))

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


@pytest.mark.parametrize("kind", ["cpu", pytest.param("cuda", marks=pytest.mark.cuda)])
def test_load_checkpoint_moves_the_model_to_the_device(advanced, tmp_path, monkeypatch, kind):
    """Check that load_checkpoint moves the model to `device` (on CPU machines: a spy on model.to sees the move)."""
    if kind == "cuda" and not torch.cuda.is_available():
        pytest.skip("no CUDA on this machine; the cpu case checks the move with a spy on model.to")
    torch.manual_seed(11)
    saved = nn.Sequential(nn.Linear(4, 3), nn.BatchNorm1d(3), nn.Linear(3, 2))
    path = tmp_path / "model.pt"
    torch.save(saved.state_dict(), path)
    model = nn.Sequential(nn.Linear(4, 3), nn.BatchNorm1d(3), nn.Linear(3, 2))
    params_before = [id(p) for p in model.parameters()]
    spy = MoveSpy(model, monkeypatch)
    with diagnosed("load_checkpoint"):
        result = returned_model(advanced.load_checkpoint(path, model, torch.device(kind)))
    tensors = list(result.parameters()) + list(result.buffers())
    on_device = all(t.device.type == kind for t in tensors)
    replaced = [id(p) for p in result.parameters()] != params_before  # load_state_dict(..., assign=True)
    if not on_device or not (kind in spy.devices or replaced or kind == "cuda"):
        where = sorted({t.device.type for t in tensors})
        fail(6, "load_checkpoint", f"load_checkpoint(path, model, device={kind!r}) left the model's tensors on {where}"
             f"{'' if spy.devices else ' and never called model.to(device)'}; expected the model moved to {kind} "
             "(the model may come from another device).",
             f"load_checkpoint(path, model, device={kind!r}) 之后模型张量在 {where}"
             f"{'' if spy.devices else '，且从未调用 model.to(device)'}；模型应被移到 {kind}（传入的模型可能在其他设备上）。",
             pitfall="device-mismatch")
### END HIDDEN TESTS
