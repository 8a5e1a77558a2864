"""Tests for lesson 6, fine-tuning, devices and checkpoints. / 第 6 课（微调、设备与检查点）的测试。

Models live with the student code (built by `build_finetune_model` or by the course kit);
these tests fetch their weights and outputs as data and compare them with torchvision's
ResNet-18 and torch.load here. Checkpoints cross as bytes and are read here only with
`torch.load(..., weights_only=True)`.
模型留在学生代码一侧；测试只取回权重和输出（数据），在这里与 torchvision 和 torch.load 的结果比较。
"""
import copy
import io
import os
import re
import zipfile
from collections.abc import Mapping
from contextlib import contextmanager

import pytest
import torch
from torch import nn
from torch.nn import functional
from torchvision import models

from coursetools.boundary.proxy import Remote
from coursetools.checks.feedback import describe, describe_zh, fail, failing_on, raised_at

pytestmark = [pytest.mark.lesson6, pytest.mark.time_limit(120), pytest.mark.rests_on("values")]

_NO_CUDA = ("no nvidia driver", "not compiled with cuda", "no cuda gpus", "cuda driver", "cuda is not available",
            "deserialize object on a cuda device", "deserialize object on cuda device", "forked subprocess")
_MISMATCH = ("same device", "expected device", "two devices", "input type (torch.cuda")


def _error_text(error) -> str:
    """`Type: message`, shortened, without terminal colour codes."""
    return re.sub(r"\x1b\[[0-9;]*m", "", f"{type(error).__name__}: {str(error)[:200]}")


def _fail_on_device_error(error):
    """Fail naming device-mismatch when `error` is CUDA used where it is not there, or tensors on two devices."""
    text = _error_text(error)
    at_en, at_zh = raised_at(error)
    if any(part in text.lower() for part in _NO_CUDA):
        fail(en=f"your code used CUDA although another device was given (.cuda() or 'cuda' hard-coded){at_en}.",
             zh=f"给定了其他设备，你的代码却使用了 CUDA（写死了 .cuda() 或 'cuda'）{at_zh}。",
             hint_en="use the `device` argument: torch.load(path, map_location=device) and model.to(device).",
             hint_zh="使用参数 `device`：torch.load(path, map_location=device) 和 model.to(device)。",
             pitfall="device-mismatch")
    if any(part in text.lower() for part in _MISMATCH):
        fail(en=f"a tensor went to a device other than the one asked for{at_en}: {str(error)[:200]}.",
             zh=f"张量被放到了非指定的设备上{at_zh}。", pitfall="device-mismatch")


@contextmanager
def diagnosed(devices=True):
    """Name the pitfall behind a device error (when `devices`), or a state_dict used as a model, in student code."""
    try:
        yield
    except NotImplementedError:
        raise
    except (RuntimeError, AssertionError, TypeError) as error:
        if devices:
            _fail_on_device_error(error)
        raise
    except AttributeError as error:
        if "dict' object has no attribute" in str(error).lower():
            at_en, at_zh = raised_at(error)
            fail(en=f"a loaded checkpoint was used as a model{at_en}: {str(error)[:200]}.",
                 zh=f"把加载的检查点（字典）当成了模型{at_zh}。",
                 hint_en="torch.load gives the state_dict (a dict of tensors): pass it to model.load_state_dict(...).",
                 hint_zh="torch.load 得到的是 state_dict（张量字典）：把它传给 model.load_state_dict(...)。",
                 pitfall="checkpoint-format")
        raise


def returned_model(result, loaded=True):
    """`result` when it is a model (left with the student code); else fail, naming a returned state_dict."""
    if isinstance(result, Remote) and result.is_a("torch.nn.modules.module.Module"):
        return result
    if loaded and isinstance(result, Mapping):
        fail(en=f"returned {type(result).__name__} (a state_dict); expected the model with the weights loaded.",
             zh=f"返回了 {type(result).__name__}（state_dict）；应返回加载了权重的模型。",
             hint_en="model.load_state_dict(state_dict), then return model.",
             hint_zh="先 model.load_state_dict(state_dict)，再返回 model。", pitfall="checkpoint-format")
    fail(en=f"returned {describe(result)}; expected the model (an nn.Module).",
         zh=f"返回了 {describe_zh(result)}；应返回模型（nn.Module）。",
         hint_en="end with `return model`.", hint_zh="最后写 `return model`。")


@pytest.fixture(scope="module")
def advanced(submission):
    """lesson6/advanced.py of the submission under test."""
    return submission.module("lesson6", "advanced")


def _small_net(layers):
    """The kit's small_net(layers), built here: Linear(4, 3), then ReLU / Dropout / BatchNorm1d, then Linear(3, 2)."""
    middle = {"relu": nn.ReLU(), "dropout": nn.Dropout(0.5), "batchnorm": nn.BatchNorm1d(3)}[layers]
    return nn.Sequential(nn.Linear(4, 3), middle, nn.Linear(3, 2))


def _layout_resnet(num_classes: int):
    """torchvision's ResNet-18 on the meta device: its names and shapes without building or initialising 11 M
    weights (load_state_dict(..., assign=True) then gives it real ones)."""
    with torch.device("meta"):
        return models.resnet18(weights=None, num_classes=num_classes)


def _as_laid_out(state, model) -> dict:
    """The received tensors of `state` as a plain load_state_dict would copy them into `model`: detached, in its
    dtypes, contiguous (no copy where they already are)."""
    wanted = model.state_dict()
    return {k: v.detach().to(wanted[k].dtype).contiguous() if k in wanted else v for k, v in state.items()}


def _same_state(got, expected) -> bool:
    return isinstance(got, Mapping) and sorted(got) == sorted(expected) and all(
        isinstance(got[k], torch.Tensor) and got[k].shape == v.shape and torch.equal(got[k].cpu(), v.cpu())
        for k, v in expected.items())


def _write_checkpoint(submission, name, state) -> str:
    """torch.save(state) made here, written where the student code can read it; returns the path."""
    buffer = io.BytesIO()
    torch.save(state, buffer)
    return submission.kit.write_file(os.path.join(submission.kit.work_dir(), name), buffer.getvalue())


def _read_checkpoint(submission, path):
    """The file save_checkpoint wrote at `path`, loaded here with weights_only=True (a pickled module fails)."""
    try:
        data = submission.kit.read_file(path)
    except OSError as error:
        fail(en=f"save_checkpoint(model, {os.path.basename(path)!r}) left no readable file at that path: "
             f"{_error_text(error)}", zh=f"save_checkpoint 没有在给定路径写出可读的文件（{type(error).__name__}）。",
             hint_en="torch.save(model.state_dict(), path), with the path you were given.",
             hint_zh="用给定的路径：torch.save(model.state_dict(), path)。")
    try:
        return _load_mapped(data)
    except Exception as error:
        fail(en=f"torch.load(checkpoint, weights_only=True) failed on the file save_checkpoint wrote: "
             f"{_error_text(error)}",
             zh=f"用 weights_only=True 加载 save_checkpoint 写出的文件失败（{type(error).__name__}）："
                "检查点应是只含张量的 state_dict。",
             pitfall="checkpoint-format")


def _load_mapped(data: bytes):
    """torch.load(data, weights_only=True) with the tensors mapped from a file rather than copied into memory
    (a ResNet-18 checkpoint is 45 MB; a small grading box holds few copies); as it is, where it cannot be mapped."""
    import tempfile

    with tempfile.NamedTemporaryFile(suffix=".pt") as file:
        file.write(data)
        file.flush()
        try:
            return torch.load(file.name, map_location="cpu", weights_only=True, mmap=True)
        except RuntimeError:  # an old (non-zip) serialization cannot be mapped
            return torch.load(file.name, map_location="cpu", weights_only=True)


def _check_restored(submission, model, expected, device="cpu"):
    """The model's state_dict (fetched as data) holds `expected` on `device`."""
    state = submission.kit.state_of(model)
    where = sorted({t.device.type for t in state.values() if isinstance(t, torch.Tensor)})
    if not _same_state(state, expected) or where != [device]:
        same = _same_state(state, expected)
        fail(en=f"load_checkpoint(path, model, {device!r}) returned a model holding {'the' if same else 'not the'} "
             f"saved weights, on {where}; expected every saved tensor, on {device}.",
             zh=f"load_checkpoint(path, model, {device!r}) 返回的模型{'含有' if same else '不含'}保存的权重，位于 {where}；"
             f"应为保存的全部张量，位于 {device}。",
             hint_en="model.load_state_dict(torch.load(path, map_location=device)); model.to(device); model.eval().",
             hint_zh="model.load_state_dict(torch.load(path, map_location=device))；model.to(device)；model.eval()。",
             pitfall="device-mismatch" if same else None)


def _check_eval_mode(submission, model, reference, inputs):
    """The loaded model computes `reference` in eval mode; a module the model reports in training mode fails."""
    got = submission.kit.outputs(model, inputs)
    training = submission.kit.model_summary(model)["training"]  # reported by the student side: may only fail
    random = any(isinstance(m, nn.Dropout) for m in reference.modules())
    with torch.no_grad():
        want = reference.eval()(inputs)
        train_like = None if random else copy.deepcopy(reference).train()(inputs)  # batch statistics: a replay
    same = isinstance(got, torch.Tensor) and got.shape == want.shape and torch.allclose(got, want, 1e-4, 1e-5)
    as_training = isinstance(got, torch.Tensor) and train_like is not None and got.shape == train_like.shape \
        and torch.allclose(got, train_like, 1e-4, 1e-5)
    if training or as_training:
        shown = [name or "(the model)" for name in training[:3]] + ([f"... {len(training)} in all"]
                                                                   if len(training) > 3 else [])
        fail(en=f"returned a model with {shown or 'batch norm'} still in training mode (its outputs on a batch: "
             f"{describe(got)}); expected the model and every submodule in evaluation mode.",
             zh=f"返回的模型中 {shown or 'batch norm'} 仍处于训练模式；模型及所有子模块都应为评估模式。",
             hint_en="model.eval() switches the model and every submodule; setting model.training = False does not.",
             hint_zh="model.eval() 会切换模型及所有子模块；只设置 model.training = False 不行。", pitfall="train-eval-mode")
    if not same:
        fail(en=f"the returned model gave {describe(got)} on a batch of {tuple(inputs.shape)}; expected the saved "
             "model's outputs in evaluation mode.",
             zh=f"返回的模型对形状 {tuple(inputs.shape)} 的批次输出 {describe_zh(got)}；应与保存的模型在评估模式下的输出相同。")


def _check_one_sgd_step(submission, model, num_classes, freeze, inputs, labels):
    """One SGD step (lr 0.5) over model.parameters() with the student side, replayed here on torchvision's
    ResNet-18 from the same weights with the expected parameters frozen: same changes, same values."""
    before = submission.kit.state_of(model)
    with failing_on(RuntimeError, en=f"one SGD step on the model of build_finetune_model(num_classes={num_classes}, "
                    f"freeze_backbone={freeze}) failed (the new head must train)",
                    zh="对返回的模型做一步 SGD 失败（新的输出层必须可训练）",
                    hint_en="replace model.fc after freezing: a new nn.Linear has requires_grad=True.",
                    hint_zh="冻结之后再替换 model.fc：新的 nn.Linear 的 requires_grad 为 True。"):
        submission.kit.sgd_step(model, inputs, labels, 0.5)
    after = submission.kit.state_of(model)
    replay = _layout_resnet(num_classes)  # its weights come from `before` below
    layout = {k: tuple(v.shape) for k, v in replay.state_dict().items()}
    if any({k: tuple(v.shape) for k, v in state.items()} != layout for state in (before, after)):
        fail(en=f"build_finetune_model(num_classes={num_classes}) gave a model without the state_dict entries and "
             f"shapes of torchvision's ResNet-18 with fc = nn.Linear(512, {num_classes}).",
             zh=f"build_finetune_model(num_classes={num_classes}) 返回的模型与 fc = nn.Linear(512, {num_classes}) 的 "
             "torchvision ResNet-18 的 state_dict 项或形状不同。")
    names = [name for name, _ in replay.named_parameters()]
    changed = sorted(n for n in names if not torch.equal(after[n], before[n]))
    replay.load_state_dict(_as_laid_out(before, replay), assign=True)  # `before`'s tensors, trained in place below
    del before  # ResNet-18 states are 45 MB each: a small grading box holds few of them at once
    for name, p in replay.named_parameters():
        p.requires_grad_(not freeze or name.startswith("fc."))
    optimizer = torch.optim.SGD(replay.parameters(), lr=0.5)
    functional.cross_entropy(replay.train()(inputs), labels).backward()
    # the parameters plain SGD moves: p - lr * grad differs from p (one parameter's copy at a time)
    should = sorted(n for n, p in replay.named_parameters()
                    if p.grad is not None and not torch.equal(p.detach().add(p.grad, alpha=-0.5), p.detach()))
    optimizer.step()
    optimizer.zero_grad(set_to_none=True)
    expected = replay.state_dict()
    close = all(after[k].shape == v.shape and (torch.equal(after[k], v)  # the frozen ones: equal, cheaply seen
                                               or torch.allclose(after[k].to(v.dtype), v, 1e-3, 1e-5))
                for k, v in expected.items())
    if changed != should or not close:
        shown = changed if len(changed) < 6 else changed[:5] + [f"... {len(changed)} in all"]
        fail(en=f"with freeze_backbone={freeze}, one SGD step over model.parameters() changed {shown or 'nothing'}"
             f"{'' if changed != should else ' by other amounts than'}; expected "
             f"{'fc.weight and fc.bias only' if freeze else 'the backbone and the head'}"
             f"{'' if changed != should else ', as the same step on torchvision ResNet-18 does'}.",
             zh=f"freeze_backbone={freeze} 时，对 model.parameters() 做一步 SGD 后改变的参数为 {shown or '无'}；"
             f"应为{'只有 fc.weight 和 fc.bias' if freeze else '骨干网络和输出层'}，且变化量与 torchvision ResNet-18 相同。",
             hint_en="freeze with p.requires_grad = False on every backbone parameter, then add the new head (it trains).",
             hint_zh="对骨干网络的每个参数设 p.requires_grad = False，再加上新的输出层（它会训练）。")


def test_get_device_prefers_cuda(advanced):
    """Check that get_device() is CUDA exactly when CUDA is available."""
    result = advanced.get_device()
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    if not isinstance(result, torch.device) or result.type != expected:
        fail(en=f"returned {describe(result)}; expected torch.device of type {expected!r} on this machine"
                f"{' (a torch.device, not a string)' if isinstance(result, str) else ''}.",
             zh=f"返回了 {describe_zh(result)}；在本机上应为类型 {expected!r} 的 torch.device"
                f"{'（应为 torch.device，而不是字符串）' if isinstance(result, str) else ''}。",
             hint_en="torch.device('cuda' if torch.cuda.is_available() else 'cpu').",
             hint_zh="torch.device('cuda' if torch.cuda.is_available() else 'cpu')。")


def test_build_finetune_model_replaces_the_head(advanced, submission):
    """Check a ResNet-18 whose fc is Linear(512, 5): its state_dict has torchvision's layout and its forward
    equals torchvision's ResNet-18 holding the same weights."""
    model = returned_model(advanced.build_finetune_model(num_classes=5), loaded=False)
    state = submission.kit.state_of(model)
    reference = _layout_resnet(5)  # its weights come from the model's state below
    shapes = {k: tuple(v.shape) for k, v in state.items()}
    if shapes != {k: tuple(v.shape) for k, v in reference.state_dict().items()}:
        fail(en=f"build_finetune_model(num_classes=5) gave a model with fc.weight {shapes.get('fc.weight', 'missing')} "
             f"and {len(shapes)} state_dict entries; expected torchvision's ResNet-18 ({len(reference.state_dict())} "
             "entries) with fc = nn.Linear(512, 5).",
             zh=f"得到的模型 fc.weight 为 {shapes.get('fc.weight', '缺失')}，state_dict 共 {len(shapes)} 项；"
             "应为 fc = nn.Linear(512, 5) 的 torchvision ResNet-18。",
             hint_en="model = models.resnet18(weights=weights); model.fc = nn.Linear(model.fc.in_features, num_classes).",
             hint_zh="先构建 resnet18，再把 model.fc 换成 nn.Linear(model.fc.in_features, num_classes)。")
    reference.load_state_dict(_as_laid_out(state, reference), assign=True)
    inputs = torch.randn(2, 3, 64, 64)
    out = submission.kit.outputs(model, inputs, eval_mode=True)
    with torch.no_grad():
        want = reference.eval()(inputs)
    if not isinstance(out, torch.Tensor) or tuple(out.shape) != (2, 5) or not torch.allclose(out, want, 1e-4, 1e-5):
        fail(en=f"forward on (2, 3, 64, 64) in eval mode gave {describe(out)}; expected shape (2, 5), the outputs of "
             "torchvision's ResNet-18 with the model's own weights.",
             zh=f"评估模式下对 (2, 3, 64, 64) 前向传播得到 {describe_zh(out)}；应为形状 (2, 5)，"
             "与使用同样权重的 torchvision ResNet-18 输出相同。")


@pytest.mark.parametrize("freeze", [True, False])
def test_build_finetune_model_freezes_only_the_backbone(advanced, submission, freeze):
    """Check that with freeze_backbone only fc trains, and without it everything trains."""
    model = returned_model(advanced.build_finetune_model(num_classes=3, freeze_backbone=freeze), loaded=False)
    params = submission.kit.parameters_of(model)  # the parameters as data: their flags are read here
    names = sorted(name for name, _ in _layout_resnet(3).named_parameters())
    params = params if isinstance(params, Mapping) and all(isinstance(p, torch.Tensor) for p in params.values()) else {}
    trainable = sorted(name for name, p in params.items() if p.requires_grad) if sorted(params) == names else None
    del params  # 45 MB: a small grading box holds few copies of a ResNet-18
    expected = ["fc.bias", "fc.weight"] if freeze else names
    if trainable != expected:
        shown = trainable if trainable is None or len(trainable) < 6 else trainable[:5] + [f"... {len(trainable)} in all"]
        fail(en=f"with freeze_backbone={freeze} the trainable parameters are "
             f"{'not those of a ResNet-18' if trainable is None else shown}; "
             f"expected {'only fc.weight and fc.bias' if freeze else 'all of them'}.",
             zh=f"freeze_backbone={freeze} 时可训练参数为 {'（不是 ResNet-18 的参数）' if trainable is None else shown}；"
             f"应为{'只有 fc.weight 和 fc.bias' if freeze else '全部参数'}。",
             hint_en="set requires_grad = False on every parameter first, then replace model.fc (new layers train).",
             hint_zh="先把所有参数的 requires_grad 设为 False，再替换 model.fc（新层默认可训练）。")
    _check_one_sgd_step(submission, model, 3, freeze, torch.randn(2, 3, 32, 32), torch.tensor([0, 2]))


def test_save_checkpoint_writes_a_state_dict(advanced, submission):
    """Check that the checkpoint is the model's state_dict and loads with weights_only=True."""
    reference = _small_net("relu")
    expected = reference.state_dict()
    model = submission.kit.small_net("relu")
    submission.kit.load_state(model, expected)
    path = os.path.join(submission.kit.work_dir(), "model.pt")
    advanced.save_checkpoint(model, path)
    loaded = _read_checkpoint(submission, path)
    if not _same_state(loaded, expected):
        fail(en=f"the checkpoint holds {describe(loaded)}; expected the model's state_dict with keys {sorted(expected)}.",
             zh=f"检查点的内容为 {describe_zh(loaded)}；应为模型的 state_dict（键为 {sorted(expected)}）。",
             pitfall="checkpoint-format")


def test_load_checkpoint_restores_weights_in_eval_mode(advanced, submission):
    """Check that load_checkpoint restores the weights on the CPU and returns the model in eval mode."""
    torch.manual_seed(0)
    saved = _small_net("dropout")
    path = _write_checkpoint(submission, "model.pt", saved.state_dict())
    fresh = submission.kit.small_net("dropout")
    with diagnosed():
        result = returned_model(advanced.load_checkpoint(path, fresh, torch.device("cpu")))
    _check_restored(submission, result, saved.state_dict())
    _check_eval_mode(submission, result, saved, torch.randn(8, 4))


def _claim_a_missing_cuda_device(data: bytes):
    """The checkpoint `data` rewritten so that its storages say they were saved on a CUDA device this machine lacks."""
    target = f"cuda:{torch.cuda.device_count()}".encode()
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        entries = [(info, archive.read(info.filename)) for info in archive.infolist()]
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as archive:
        for info, content in entries:
            if info.filename.endswith("/data.pkl"):
                content = content.replace(b"X\x03\x00\x00\x00cpu", b"X" + len(target).to_bytes(4, "little") + target)
            archive.writestr(info, content)
    return out.getvalue(), target.decode()


def test_load_checkpoint_maps_a_checkpoint_saved_on_another_device(advanced, submission):
    """Check loading a real checkpoint whose tensors claim a CUDA device this machine lacks (needs map_location)."""
    torch.manual_seed(10)
    saved = _small_net("batchnorm")
    buffer = io.BytesIO()
    torch.save(saved.state_dict(), buffer)
    data, claimed = _claim_a_missing_cuda_device(buffer.getvalue())
    try:
        torch.load(io.BytesIO(data), weights_only=True)
    except RuntimeError:
        pass
    else:
        pytest.skip(f"the grader could not craft a checkpoint this machine cannot load without map_location ({claimed})")
    path = submission.kit.write_file(os.path.join(submission.kit.work_dir(), "from_gpu.pt"), data)
    fresh = submission.kit.small_net("batchnorm")
    spy = submission.kit.load_spy()  # what torch.load was given: only names the pitfall of a failed load
    try:
        with diagnosed(devices=False):
            result = advanced.load_checkpoint(path, fresh, "cpu")
    except (RuntimeError, AssertionError) as error:
        if isinstance(error, NotImplementedError):
            raise
        given = [c for c in spy.report() if c is not None]
        if given:  # torch.load was given a map_location: the failure is elsewhere (a .cuda() after the load, ...)
            _fail_on_device_error(error)
        fail(en=f"a checkpoint saved on {claimed} could not be loaded with device='cpu' "
             f"(torch.load saw map_location={given[0] if given else None!r}){raised_at(error)[0]}: {str(error)[:200]}",
             zh=f"在 {claimed} 上保存的检查点无法用 device='cpu' 加载（torch.load 收到的 "
                f"map_location={given[0] if given else None!r}）{raised_at(error)[1]}。",
             pitfall="device-mismatch" if given else "checkpoint-format")
    finally:
        spy.stop()
    _check_restored(submission, returned_model(result), saved.state_dict())


@pytest.mark.parametrize("kind", ["cpu", pytest.param("cuda", marks=pytest.mark.cuda)])
def test_load_checkpoint_moves_the_model_to_the_device(advanced, submission, kind):
    """Check that load_checkpoint leaves the saved weights on `device` (on CPU machines a spy on model.to
    must also see the move, or the parameters replaced by load_state_dict(..., assign=True))."""
    if kind == "cuda" and not torch.cuda.is_available():
        pytest.skip("no CUDA on this machine; the cpu case checks the move with a spy on model.to")
    torch.manual_seed(11)
    saved = _small_net("batchnorm")
    path = _write_checkpoint(submission, "model.pt", saved.state_dict())
    model = submission.kit.small_net("batchnorm")
    spy = submission.kit.move_spy(model)  # reported by the student side: may only fail the test
    try:
        with diagnosed():
            result = returned_model(advanced.load_checkpoint(path, model, torch.device(kind)))
        seen = spy.report()
    finally:
        spy.stop()
    _check_restored(submission, result, saved.state_dict(), kind)
    if kind == "cpu" and not (kind in seen["moves"] or seen["replaced"]):
        fail(en=f"load_checkpoint(path, model, device={kind!r}) never called model.to(device); expected the model "
             f"moved to {kind} (the model may come from another device).",
             zh=f"load_checkpoint(path, model, device={kind!r}) 从未调用 model.to(device)；"
             f"模型应被移到 {kind}（传入的模型可能在其他设备上）。", pitfall="device-mismatch")
### BEGIN HIDDEN TESTS


@pytest.mark.parametrize("available", [True, False])
def test_get_device_follows_cuda_availability(advanced, submission, available):
    """Check get_device() in a pretended CUDA machine and a pretended CPU-only one."""
    # the answer judged here: get_device() on this machine, called from here; the pretended machine exists only next
    # to the student's code, so what the kit gives back from it may only fail the test
    test_get_device_prefers_cuda(advanced)
    result = submission.kit.call_pretending_cuda(advanced.get_device, available)
    expected = "cuda" if available else "cpu"
    if not isinstance(result, torch.device) or result.type != expected:
        fail(en=f"with torch.cuda.is_available() returning {available} it returned {describe(result)}; "
             f"expected a torch.device of type {expected!r}.",
             zh=f"torch.cuda.is_available() 返回 {available} 时得到 {describe_zh(result)}；"
                f"应为类型 {expected!r} 的 torch.device。",
             hint_en="decide at call time: torch.device('cuda' if torch.cuda.is_available() else 'cpu'); do not hard-code it.",
             hint_zh="在调用时判断：torch.device('cuda' if torch.cuda.is_available() else 'cpu')；不要写死。",
             function="get_device")


@pytest.mark.time_limit(300)
@pytest.mark.rests_on("replay")
@pytest.mark.parametrize("freeze", [True, False])
def test_one_optimizer_step_changes_only_the_trainable_layers(advanced, submission, freeze):
    """Check one SGD step over model.parameters() against the same step on torchvision's ResNet-18 here:
    frozen backbone unchanged and head changed, or everything changed."""
    model = returned_model(advanced.build_finetune_model(num_classes=4, freeze_backbone=freeze), loaded=False)
    _check_one_sgd_step(submission, model, 4, freeze, torch.randn(4, 3, 32, 32), torch.tensor([0, 1, 2, 3]))


def _trained_resnet(num_classes=3, seed=8):
    """A small-input ResNet-18 whose batch-norm buffers moved away from their defaults."""
    torch.manual_seed(seed)
    model = models.resnet18(weights=None, num_classes=num_classes)
    model.train()
    with torch.no_grad():
        model(torch.randn(2, 3, 32, 32))
    return model


def test_checkpoint_round_trip_keeps_every_weight_and_buffer(advanced, submission):
    """Check save_checkpoint then load_checkpoint on a ResNet-18: parameters and batch-norm buffers all restored."""
    expected = _trained_resnet().state_dict()
    model = submission.kit.resnet18(3)
    submission.kit.load_state(model, expected)
    path = os.path.join(submission.kit.work_dir(), "resnet.pt")
    advanced.save_checkpoint(model, path)
    submission.release(model)  # 45 MB on the student side: a small grading box holds few ResNet-18s
    saved = _read_checkpoint(submission, path)
    if not _same_state(saved, expected):
        missing = sorted(set(expected) - set(saved)) if isinstance(saved, Mapping) else sorted(expected)
        shown = missing if len(missing) < 4 else missing[:3] + [f"... {len(missing)} in all"]
        fail(en=f"the checkpoint of a ResNet-18 lacks {shown or 'no key'} or holds other values; "
             "expected model.state_dict() with the batch-norm buffers (running_mean, running_var, ...).",
             zh=f"ResNet-18 的检查点缺少 {shown or '（无）'} 或数值不同；应为包含 batch-norm 缓冲区的 model.state_dict()。",
             pitfall="checkpoint-format")
    del saved  # 45 MB: a small grading box holds few copies of a ResNet-18
    fresh = submission.kit.resnet18(3)
    with diagnosed():
        restored = returned_model(advanced.load_checkpoint(path, fresh, "cpu"))
    if not _same_state(submission.kit.state_of(restored), expected):
        fail(en="after save_checkpoint and load_checkpoint(path, model, 'cpu') the model returned "
             "does not hold the saved weights and buffers.",
             zh="save_checkpoint 之后 load_checkpoint(path, model, 'cpu') 返回的模型不含保存的权重和缓冲区。",
             hint_en="model.load_state_dict(torch.load(path, map_location=device)) and return the model.",
             hint_zh="model.load_state_dict(torch.load(path, map_location=device))，并返回模型。")


def test_load_checkpoint_puts_every_submodule_in_eval_mode(advanced, submission):
    """Check that after load_checkpoint the ResNet-18 computes like the saved one in eval mode (batch norm
    uses its running statistics) and no submodule is left in training mode."""
    saved = _trained_resnet(seed=9)
    path = _write_checkpoint(submission, "resnet.pt", saved.state_dict())
    fresh = submission.kit.resnet18(3)
    with diagnosed():
        result = returned_model(advanced.load_checkpoint(path, fresh, torch.device("cpu")))
    _check_eval_mode(submission, result, saved, torch.randn(4, 3, 32, 32))


### END HIDDEN TESTS
