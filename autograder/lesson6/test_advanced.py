"""Tests for lesson 6, fine-tuning, devices and checkpoints. / 第 6 课（微调、设备与检查点）的测试。"""
import pytest
import torch
from torch import nn
from torchvision.models import ResNet

from coursetools.feedback import describe, fail

pytestmark = pytest.mark.lesson6


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
             f"{type(error).__name__}: {str(error)[:200]}", "用 weights_only=True 加载检查点失败。",
             pitfall="checkpoint-format")
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
    result = advanced.load_checkpoint(path, fresh, torch.device("cpu"))
    if not isinstance(result, nn.Module):
        fail(6, "load_checkpoint", f"returned {describe(result)}; expected the model.", f"返回了 {describe(result)}；应返回模型。")
    same = all(torch.equal(a, b) for a, b in zip(result.state_dict().values(), saved.state_dict().values()))
    if not same or result.training or any(p.device.type != "cpu" for p in result.parameters()):
        fail(6, "load_checkpoint", f"returned a model with the saved weights: {same}, training mode: {result.training}; "
             "expected the saved weights on cpu in eval mode.",
             f"返回的模型权重正确：{same}，训练模式：{result.training}；应在 cpu 上、权重正确且为 eval 模式。",
             "model.load_state_dict(torch.load(path, map_location=device)); model.to(device); model.eval().",
             "model.load_state_dict(torch.load(path, map_location=device))；model.to(device)；model.eval()。")
