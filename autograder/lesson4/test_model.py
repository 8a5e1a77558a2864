"""Tests for lesson 4, models. / 第 4 课（模型）的测试。

Every check compares what the student's net returns with linear2(relu(linear1(flatten(x)))) computed
here, on the trusted side, from the net's own weights (found by their shapes, so nn.Sequential and
other attribute names pass) or from weights the grader loaded into it.
每项检查都把学生网络的输出与在可信一侧用网络自己的权重（或评分程序载入的权重）算出的结果比较。
"""
import itertools
import numbers

import pytest
import torch
from torch import nn

from coursetools.boundary.proxy import Remote
from coursetools.checks.feedback import describe, describe_zh, fail, failing_on

pytestmark = [pytest.mark.lesson4, pytest.mark.rests_on("values")]

_CHANNEL_HINT = dict(
    hint_en="the net receives (N, 1, 28, 28) batches, with a channel dimension: flatten everything after the batch "
            "dimension (nn.Flatten() or x.flatten(1)) instead of counting on (N, 28, 28).",
    hint_zh="网络收到的批次是带通道维度的 (N, 1, 28, 28)：把批次维度之后的全部展平（nn.Flatten() 或 x.flatten(1)），"
            "不要假设输入是 (N, 28, 28)。")
_SHAPE_HINT = dict(hint_en="flatten to (N, 784) first, then linear1 784 -> 128, ReLU, linear2 128 -> 10.",
                   hint_zh="先展平成 (N, 784)，再 linear1 784 -> 128、ReLU、linear2 128 -> 10。")
_LOGITS_HINT = dict(hint_en="flatten, linear1, ReLU, linear2 and nothing after it (no softmax, no sigmoid, no dropout).",
                    hint_zh="展平、linear1、ReLU、linear2，之后什么都不加（不加 softmax、sigmoid 或 dropout）。")
_COUNT_HINT = dict(hint_en="sum p.numel() over model.parameters() that require grad.",
                   hint_zh="对 model.parameters() 中需要梯度的参数求 p.numel() 之和。")
#: shapes of linear1.weight, linear1.bias, linear2.weight, linear2.bias
_SHAPES = ((128, 784), (128,), (10, 128), (10,))


@pytest.fixture(scope="module")
def model_module(submission):
    """lesson4/model.py of the submission under test."""
    return submission.module("lesson4", "model")


@pytest.fixture(scope="module")
def kit(submission):
    """The course kit on the student side (coursetools/sandbox/kit)."""
    return submission.kit


def images_like_mnist(n: int, seed: int, scale: float = 2.0) -> torch.Tensor:
    return torch.randn(n, 1, 28, 28, generator=torch.Generator().manual_seed(seed)) * scale


def make_net(model_module):
    """A fresh SimpleMNISTNet of the submission (a Remote), built inside the test (a stub fails the test, not its setup)."""
    with failing_on(Exception, en="SimpleMNISTNet() raised", zh="SimpleMNISTNet() 抛出",
                    hint_en="create the layers in __init__ after super().__init__().",
                    hint_zh="在 __init__ 中先调用 super().__init__()，再创建各层。"):
        net = model_module.SimpleMNISTNet()
    if not (isinstance(net, Remote) and net.is_a("torch.nn.modules.module.Module")):
        fail(en=f"SimpleMNISTNet() gave {describe(net)}; expected an nn.Module.",
             zh=f"SimpleMNISTNet() 得到 {describe_zh(net)}；应为 nn.Module。",
             hint_en="class SimpleMNISTNet(nn.Module) with super().__init__() first in __init__.",
             hint_zh="class SimpleMNISTNet(nn.Module)，并在 __init__ 中先调用 super().__init__()。")
    return net


def _works_without_channel(net, images) -> bool:
    """Whether the net gives (N, 10) for the same images without their channel dimension (N, 28, 28)."""
    try:
        out = net(images[:, 0].clone())
    except Exception:
        return False
    return isinstance(out, torch.Tensor) and tuple(out.shape) == (len(images), 10)


def forward(net, images):
    """net(images) for a (N, 1, 28, 28) batch (a copy is sent); an error or a shape other than (N, 10) fails the test.

    When the net works on the same images without their channel dimension, the diagnosis is
    the missing-channel pitfall.
    """
    n = len(images)
    try:
        out, error = net(images.clone()), None
    except NotImplementedError:
        raise
    except Exception as raised:
        out, error = None, raised
    if error is None and isinstance(out, torch.Tensor) and tuple(out.shape) == (n, 10):
        return out.detach()
    got = f"raised {type(error).__name__}: {str(error)[:200]}" if error is not None else f"gave {describe(out)}"
    got_zh = f"抛出了 {type(error).__name__}" if error is not None else f"得到 {describe_zh(out)}"
    missing = _works_without_channel(net, images)
    fail(en=f"forward on images of shape {tuple(images.shape)} {got}; expected shape ({n}, 10)"
            f"{' (images of shape (N, 28, 28) do work: the net ignores the channel dimension)' if missing else ''}.",
         zh=f"对形状为 {tuple(images.shape)} 的图像前向传播{got_zh}；应为 ({n}, 10)"
            f"{'（(N, 28, 28) 的图像可以：网络忽略了通道维度）' if missing else ''}。",
         **(_CHANNEL_HINT if missing else _SHAPE_HINT), pitfall="missing-channel-dim" if missing else None,
         function="SimpleMNISTNet")


def looks_like_probabilities(out: torch.Tensor) -> bool:
    """Rows that are all >= 0 and sum to 1: softmax was applied."""
    out = out.detach().float()
    return bool((out >= 0).all()) and bool(torch.allclose(out.sum(dim=1), torch.ones(len(out)), atol=1e-3))


def logits_of(weights, images: torch.Tensor) -> torch.Tensor:
    """The oracle: linear2(relu(linear1(flatten(images)))) with weights (w1, b1, w2, b2), computed here."""
    w1, b1, w2, b2 = weights
    hidden = torch.relu(nn.functional.linear(images.reshape(len(images), -1), w1, b1))
    return nn.functional.linear(hidden, w2, b2)


def same_logits(out: torch.Tensor, expected: torch.Tensor) -> bool:
    """Equal up to a constant per row (log_softmax shifts each row: still logits, same loss and argmax)."""
    centred = out.double() - out.double().mean(dim=1, keepdim=True)
    target = expected.double() - expected.double().mean(dim=1, keepdim=True)
    return bool(torch.allclose(centred, target, atol=1e-5, rtol=1e-4))


def layer_names(params: dict) -> list:
    """Name tuples (linear1.weight, linear1.bias, linear2.weight, linear2.bias) found by shape in `params`.

    Where several parameters share a shape (an unused layer), every combination is a candidate (at most 16).
    """
    found = []
    for shape in _SHAPES:
        names, seen = [], []
        for name, value in params.items():
            if isinstance(value, torch.Tensor) and tuple(value.shape) == shape and \
                    not any(torch.equal(value, other) for other in seen):
                names.append(name)
                seen.append(value)
        if not names:
            shapes = {name: tuple(value.shape) if isinstance(value, torch.Tensor) else describe(value)
                      for name, value in params.items()}
            fail(en=f"the net's parameters are {shapes}; none has the shape {shape}. Expected linear1 = "
                    "nn.Linear(784, 128) and linear2 = nn.Linear(128, 10), both with bias.",
                 zh=f"网络的参数为 {shapes}；没有形状为 {shape} 的参数。应有 linear1 = nn.Linear(784, 128) 和 "
                    "linear2 = nn.Linear(128, 10)，都带偏置。", **_SHAPE_HINT, function="SimpleMNISTNet")
        found.append(names)
    return list(itertools.islice(itertools.product(*found), 16))


def own_weights(kit, net) -> tuple:
    """(params, candidates): the net's named parameters as it reports them, and weight tuples found by shape."""
    with failing_on(Exception, en="reading the net's parameters (named_parameters()) raised",
                    zh="读取网络参数（named_parameters()）时抛出", **_SHAPE_HINT, function="SimpleMNISTNet"):
        params = kit.parameters_of(net)
    if not isinstance(params, dict):
        fail(en=f"named_parameters() of the net gave {describe(params)}; expected its parameters.",
             zh=f"网络的 named_parameters() 得到 {describe_zh(params)}；应为它的参数。", function="SimpleMNISTNet")
    return params, [tuple(params[name] for name in names) for names in layer_names(params)]


def expect_logits(net, images, candidates, *, how_en="the net's own weights", how_zh="网络自己的权重",
                  mode=""):
    """forward(net, images) must equal logits_of(weights, images) for one of `candidates` (up to a row shift).

    A mismatch that is the softmax of those logits names the softmax-before-ce pitfall.
    Returns (out, weights).
    """
    out = forward(net, images)
    with torch.no_grad():
        expected = [logits_of(weights, images) for weights in candidates]
    for weights, logits in zip(candidates, expected):
        if same_logits(out, logits):
            return out, weights
    in_mode_en, in_mode_zh = (f"in {mode} mode, ", f"{mode} 模式下，") if mode else ("", "")
    softmax = any(torch.allclose(out.double(), logits.double().softmax(dim=1), atol=1e-5) for logits in expected)
    if softmax or looks_like_probabilities(out):
        fail(en=f"{in_mode_en}forward on {len(images)} image(s) gave {describe(out)}: rows that are probabilities "
                f"(each sums to 1){', the softmax of the logits computed here with ' + how_en if softmax else ''}; "
                "expected the raw logits.",
             zh=f"{in_mode_zh}对 {len(images)} 张图像前向传播得到 {describe_zh(out)}：每行之和为 1，是概率"
                f"{'，正是用' + how_zh + '算出的 logits 的 softmax' if softmax else ''}；应返回原始 logits。",
             pitfall="softmax-before-ce", function="SimpleMNISTNet")
    gap = (out - expected[0]).abs().max().item()
    fail(en=f"{in_mode_en}forward on {len(images)} image(s) gave {describe(out)}, which differs from "
            f"linear2(relu(linear1(flatten(x)))) computed here with {how_en} by up to {gap:.3g}; expected exactly "
            "that: raw logits.",
         zh=f"{in_mode_zh}对 {len(images)} 张图像前向传播得到 {describe_zh(out)}，与用{how_zh}在此计算的 "
            f"linear2(relu(linear1(flatten(x)))) 最多相差 {gap:.3g}；应正好等于它：原始 logits。",
         **_LOGITS_HINT, function="SimpleMNISTNet")


def set_mode(net, mode: str):
    with failing_on(Exception, en=f"net.{mode}() raised", zh=f"net.{mode}() 抛出", function="SimpleMNISTNet"):
        net.call(mode)


def load_weights(kit, net, seed: int) -> tuple:
    """Load weights drawn here (seeded) into every parameter of the net with one of the four shapes (through
    load_state_dict with the net's own keys); returns them as (w1, b1, w2, b2) for logits_of."""
    generator = torch.Generator().manual_seed(seed)
    chosen = {shape: torch.randn(shape, generator=generator) * scale
              for shape, scale in zip(_SHAPES, (0.05, 0.2, 0.15, 0.2))}
    with failing_on(Exception, en="net.state_dict() raised", zh="net.state_dict() 抛出", function="SimpleMNISTNet"):
        state = kit.state_of(net)
    if not isinstance(state, dict):
        fail(en=f"net.state_dict() gave {describe(state)}.", zh=f"net.state_dict() 得到 {describe_zh(state)}。",
             function="SimpleMNISTNet")
    layer_names(state)  # each of the four shapes is there
    loaded = {name: chosen[tuple(value.shape)].clone() if isinstance(value, torch.Tensor) and
              tuple(value.shape) in chosen else value for name, value in state.items()}
    with failing_on(Exception, en="net.load_state_dict(...) with the net's own keys raised",
                    zh="用网络自己的键调用 net.load_state_dict(...) 时抛出", function="SimpleMNISTNet"):
        kit.load_state(net, loaded)
    return tuple(chosen[shape] for shape in _SHAPES)


def expect_loaded_logits(kit, net, images, seed: int, mode: str = "") -> tuple:
    """After load_weights(seed), forward must give the logits computed here with those weights; returns them."""
    weights = load_weights(kit, net, seed)
    expect_logits(net, images, [weights], how_en="weights the grader loaded into the net",
                  how_zh="评分程序载入网络的权重", mode=mode)
    return weights


def test_simple_mnist_net_maps_images_to_10_outputs(model_module):
    """Check that a (N, 1, 28, 28) batch gives (N, 10) outputs."""
    net = make_net(model_module)
    forward(net, torch.randn(4, 1, 28, 28, generator=torch.Generator().manual_seed(0)))


def test_simple_mnist_net_has_the_two_linear_layers(kit, model_module):
    """Check linear1 (784 -> 128) and linear2 (128 -> 10): nn.Linear layers whose weights make forward's logits."""
    net = make_net(model_module)
    layers = {name: getattr(net, name, None) for name in ("linear1", "linear2")}
    sizes = {name: (layer.in_features, layer.out_features)
             if isinstance(layer, Remote) and layer.is_a("torch.nn.modules.linear.Linear") else describe(layer)
             for name, layer in layers.items()}
    if sizes != {"linear1": (784, 128), "linear2": (128, 10)}:
        fail(en=f"layers found: {sizes}; expected linear1 = nn.Linear(784, 128) and linear2 = nn.Linear(128, 10).",
             zh=f"找到的层：{sizes}；应为 linear1 = nn.Linear(784, 128)、linear2 = nn.Linear(128, 10)。",
             hint_en="name the attributes exactly self.linear1 and self.linear2 (they may also sit inside an "
                     "nn.Sequential).", hint_zh="属性名必须是 self.linear1 和 self.linear2（也可以同时放进 nn.Sequential）。",
             function="SimpleMNISTNet")
    weights = (layers["linear1"].weight, layers["linear1"].bias, layers["linear2"].weight, layers["linear2"].bias)
    if [tuple(w.shape) if isinstance(w, torch.Tensor) else None for w in weights] != list(_SHAPES):
        fail(en="linear1 and linear2 need their weights and biases (bias=True).",
             zh="linear1 和 linear2 需要权重和偏置（bias=True）。", **_SHAPE_HINT, function="SimpleMNISTNet")
    expect_logits(net, images_like_mnist(5, 1), [weights], how_en="the weights of linear1 and linear2",
                  how_zh=" linear1 和 linear2 的权重")
    expect_loaded_logits(kit, net, images_like_mnist(5, 12), seed=12)


def test_simple_mnist_net_returns_logits_not_probabilities(kit, model_module):
    """Check that forward returns raw scores, not probabilities: the logits computed here from the net's own weights,
    then from weights the grader loads into it."""
    net = make_net(model_module)
    _, candidates = own_weights(kit, net)
    expect_logits(net, images_like_mnist(8, 1, scale=3.0), candidates)
    expect_loaded_logits(kit, net, images_like_mnist(8, 2, scale=3.0), seed=11)


### BEGIN HIDDEN TESTS
#: The grading engine's folder for work the trusted side repeats identically for every submission (of one run; of
#: every run when grading as root): autograder/lesson/worker.py sets it only with the walls up, and the student
#: process never sees it. Unset: no cache.
TRUSTED_CACHE = "AUTOGRADER_TRUSTED_CACHE"


def trained_score(start, train_x, train_y, test_x, test_y) -> float:
    """Accuracy on the test images of a trusted copy of the net trained here from `start` by the reference loop (2
    epochs, Adam lr 1e-3, batch 64). The same start weights (a class's nets built the same way start alike) reuse
    the score the trusted side computed for them, in one run (and in later ones, grading as root): the key is every
    byte of the start."""
    import hashlib
    import json
    import os
    import tempfile

    folder, path = os.environ.get(TRUSTED_CACHE), None
    if folder:
        key = hashlib.sha256(b"lesson4 reaches 95: Adam 1e-3, batch 64, 2 epochs, shuffle 0;")
        for tensor in start:
            key.update(repr((tuple(tensor.shape), str(tensor.dtype))).encode())
            key.update(tensor.detach().cpu().contiguous().numpy().tobytes())
        path = os.path.join(folder, f"lesson4-trained-{key.hexdigest()}.json")
        try:
            with open(path, encoding="utf-8") as file:
                return float(json.load(file)["score"])
        except (OSError, ValueError, KeyError, TypeError):
            pass
    model = mlp(dict(zip(("1.weight", "1.bias", "3.weight", "3.bias"), start)))  # a trusted copy from its start
    replay_loop(model, train_x, train_y, batch_size=64, optimizer=("Adam", {"lr": 1e-3}), epochs=2, shuffle_seed=0,
                threads=1)  # the reference loop, run here
    score = accuracy_of(model, test_x, test_y)
    if path:
        try:
            with tempfile.NamedTemporaryFile("w", dir=folder, suffix=".part", delete=False) as file:
                json.dump({"score": score}, file)
            os.replace(file.name, path)
        except OSError:
            pass
    return score


@pytest.mark.parametrize("n", [1, 2, 33, 100])
def test_simple_mnist_net_accepts_any_batch_size(kit, model_module, n):
    """Check (N, 1, 28, 28) batches of several sizes, one image included: the right (N, 10) float32 logits."""
    net = make_net(model_module)
    images = images_like_mnist(n, n, scale=1.0)
    out = forward(net, images)
    if out.dtype != torch.float32:
        fail(en=f"forward on a float32 batch of {n} gave {describe(out)}; expected float32.",
             zh=f"对 {n} 张 float32 图像前向传播得到 {describe_zh(out)}；应为 float32。", function="SimpleMNISTNet")
    expect_loaded_logits(kit, net, images, seed=20 + n)


def check_gradients(kit, net, weights, images, labels):
    """One cross-entropy backward through the net on the student side (after load_weights gave it `weights`):
    each of linear1/linear2's weight and bias gradients must equal the one computed here."""
    with failing_on(Exception, en="one cross-entropy backward through the net (what a training loop does) raised",
                    zh="对网络做一次交叉熵反向传播（训练循环会做的事）时抛出",
                    hint_en="keep forward differentiable: no torch.no_grad(), .detach() or .item() inside it.",
                    hint_zh="forward 必须可求导：其中不要用 torch.no_grad()、.detach() 或 .item()。", function="SimpleMNISTNet"):
        params = kit.parameters_of(net, images.clone(), labels.clone())
    if not isinstance(params, dict):
        fail(en=f"named_parameters() of the net gave {describe(params)}; expected its parameters.",
             zh=f"网络的 named_parameters() 得到 {describe_zh(params)}；应为它的参数。", function="SimpleMNISTNet")
    expected = [w.detach().clone().requires_grad_(True) for w in weights]
    nn.functional.cross_entropy(logits_of(expected, images), labels).backward()

    def matches(grad, target):
        return isinstance(grad, torch.Tensor) and grad.shape == target.shape and \
            bool((grad - target).abs().max() <= 1e-4 * target.abs().max() + 1e-7)

    wrong = [str(shape) for shape, w in zip(_SHAPES, expected)
             if not any(isinstance(p, torch.Tensor) and matches(p.grad, w.grad) for p in params.values())]
    if wrong:
        fail(en=f"after one cross-entropy backward on {len(images)} images, no parameter of shape {', '.join(wrong)} "
                "has the gradient computed here with the same weights (parameters frozen, or forward not "
                "differentiable).",
             zh=f"对 {len(images)} 张图像做一次交叉熵反向传播后，没有形状为 {', '.join(wrong)} 的参数得到在此用相同权重"
                "算出的梯度（参数被冻结，或 forward 不可求导）。",
             hint_en="leave requires_grad on and keep forward differentiable (no .detach(), no torch.no_grad()).",
             hint_zh="保持 requires_grad 为 True，forward 保持可求导（不要 .detach() 或 torch.no_grad()）。",
             function="SimpleMNISTNet")



def test_simple_mnist_net_has_101770_parameters(kit, model_module):
    """Check that the net holds 101,770 trainable parameters (784 * 128 + 128 + 128 * 10 + 10): weights loaded into
    them make its logits, and one backward gives each its gradient."""
    net = make_net(model_module)
    params, _ = own_weights(kit, net)
    total = sum(p.numel() for p in params.values())
    trainable = sum(p.numel() for p in params.values() if p.requires_grad)
    if total != 784 * 128 + 128 + 128 * 10 + 10 or trainable != total:
        fail(en=f"the net has {total} parameters ({trainable} trainable); expected 101,770, all trainable.",
             zh=f"网络有 {total} 个参数（其中 {trainable} 个可训练）；应为 101,770 个，且全部可训练。",
             hint_en="two layers with bias: nn.Linear(784, 128) and nn.Linear(128, 10), nothing else with parameters.",
             hint_zh="两个带偏置的层：nn.Linear(784, 128) 和 nn.Linear(128, 10)，没有其他带参数的层。",
             function="SimpleMNISTNet")
    images = images_like_mnist(8, 5)
    weights = expect_loaded_logits(kit, net, images, seed=5)
    check_gradients(kit, net, weights, images, torch.arange(8) % 10)


def test_simple_mnist_net_runs_784_128_then_128_10(kit, model_module):
    """Check, with weights the grader loads into the net, that forward runs 784 -> 128, ReLU, then 128 -> 10."""
    net = make_net(model_module)
    expect_loaded_logits(kit, net, images_like_mnist(6, 2), seed=7)


@pytest.mark.parametrize("mode", ["train", "eval"])
def test_simple_mnist_net_computes_linear_relu_linear(kit, model_module, mode):
    """Check forward against linear2(relu(linear1(flatten(x)))) with the net's own weights, then with weights the
    grader loads (up to a shift per row, as log_softmax makes)."""
    net = make_net(model_module)
    _, candidates = own_weights(kit, net)
    set_mode(net, mode)
    images = images_like_mnist(6, 3)
    expect_logits(net, images, candidates, mode=mode)
    expect_loaded_logits(kit, net, images, seed=3, mode=mode)


@pytest.mark.parametrize("mode", ["train", "eval"])
def test_simple_mnist_net_returns_logits_in_both_modes(kit, model_module, mode):
    """Check that outputs are the logits, not probabilities, in train mode and in eval mode, one image included."""
    net = make_net(model_module)
    set_mode(net, mode)
    for n in (1, 16):
        expect_loaded_logits(kit, net, images_like_mnist(n, 4 + n, scale=3.0), seed=4 + n, mode=mode)
### END HIDDEN TESTS


def count(model_module, model, what, what_zh):
    """count_parameters(model) on the student side; an error, or anything but an int (the contract), fails the
    test."""
    with failing_on(Exception, en=f"count_parameters({what}) raised", zh=f"count_parameters({what_zh}) 抛出",
                    **_COUNT_HINT, function="count_parameters"):
        result = model_module.count_parameters(model)
    if isinstance(result, bool) or not isinstance(result, numbers.Integral):
        tensor = isinstance(result, torch.Tensor)
        fail(en=f"count_parameters({what}) returned {describe(result)}; the contract says an int.",
             zh=f"count_parameters({what_zh}) 返回了 {describe_zh(result)}；按约定应返回 int。",
             hint_en="sum(p.numel() for p in model.parameters() if p.requires_grad) is already an int"
                     f"{'; a tensor count becomes one with .item()' if tensor else ''}.",
             hint_zh="sum(p.numel() for p in model.parameters() if p.requires_grad) 本身就是 int"
                     f"{'；张量形式的计数可用 .item() 转成 int' if tensor else ''}。", function="count_parameters")
    return result


def build(kit, specs, frozen=(), single=False):
    """(the model built on the student side by the kit, its trainable parameter count computed here)."""
    built = [getattr(nn, name)(*args) for name, *args in specs]
    model = built[0] if single else nn.Sequential(*built)
    named = dict(model.named_parameters())
    for name in frozen:
        named[name].requires_grad_(False)
    expected = sum(p.numel() for p in model.parameters() if p.requires_grad)
    return kit.layers([list(spec) for spec in specs], list(frozen), single), expected


def test_count_parameters_of_simple_mnist_net(kit, model_module):
    """Check count_parameters on the lesson's network (flatten, 784 -> 128, ReLU, 128 -> 10): 101,770."""
    model, expected = build(kit, [["Flatten"], ["Linear", 784, 128], ["ReLU"], ["Linear", 128, 10]])
    result = count(model_module, model, "SimpleMNISTNet()", "SimpleMNISTNet()")
    if result != expected:
        fail(en=f"count_parameters(SimpleMNISTNet()) returned {describe(result)}; expected {expected}.",
             zh=f"count_parameters(SimpleMNISTNet()) 返回 {describe_zh(result)}；应为 {expected}。", **_COUNT_HINT)


def test_count_parameters_skips_frozen_parameters(kit, model_module):
    """Check that parameters with requires_grad=False are not counted."""
    model, expected = build(kit, [["Linear", 4, 3], ["Linear", 3, 2]], frozen=["0.weight", "0.bias"])
    result = count(model_module, model, "a partly frozen model", "部分冻结的模型")
    if result != expected:
        fail(en=f"a model with a frozen Linear(4, 3) and a trainable Linear(3, 2) gave {describe(result)}; expected "
                f"{expected} (trainable only).",
             zh=f"冻结 Linear(4, 3)、可训练 Linear(3, 2) 的模型得到 {describe_zh(result)}；应为 {expected}（只数可训练参数）。",
             hint_en="filter with `if p.requires_grad`.", hint_zh="用 `if p.requires_grad` 过滤。")


### BEGIN HIDDEN TESTS
from coursetools.checks.oracles import accuracy_of, mlp, mnist, replay_loop  # noqa: E402 (inside the hidden region, dropped from the public copy)

#: name -> (layers, frozen parameter names, a bare layer rather than a Sequential)
_OTHER_MODELS = {
    "nn.Linear(3, 4)": ([["Linear", 3, 4]], [], True),
    "a conv net with batch norm (buffers are not parameters)": (
        [["Conv2d", 1, 4, 3], ["BatchNorm2d", 4], ["ReLU"], ["Flatten"], ["Linear", 4 * 26 * 26, 10]], [], False),
    "nn.Linear(5, 2) with a frozen bias": ([["Linear", 5, 2]], ["bias"], True),
    "nn.ReLU() (no parameters)": ([["ReLU"]], [], True),
}
#: the models of _OTHER_MODELS named in Chinese
_OTHER_MODELS_ZH = {
    "nn.Linear(3, 4)": "nn.Linear(3, 4)",
    "a conv net with batch norm (buffers are not parameters)": "带 batch norm 的卷积网络（缓冲区不是参数）",
    "nn.Linear(5, 2) with a frozen bias": "偏置被冻结的 nn.Linear(5, 2)",
    "nn.ReLU() (no parameters)": "nn.ReLU()（没有参数）",
}


@pytest.mark.parametrize("name", list(_OTHER_MODELS))
def test_count_parameters_on_other_models(kit, model_module, name):
    """Check count_parameters on other models against torch's own count of trainable parameters (made here)."""
    model, expected = build(kit, *_OTHER_MODELS[name])
    result = count(model_module, model, name, _OTHER_MODELS_ZH[name])
    try:
        right = int(result) == expected and int(result) == result
    except (TypeError, ValueError, RuntimeError):
        right = False
    if not right:
        fail(en=f"count_parameters({name}) returned {describe(result)}; expected the number of trainable parameters "
                "torch counts for it, as an int.",
             zh=f"count_parameters({_OTHER_MODELS_ZH[name]}) 返回 {describe_zh(result)}；"
                "应为 torch 统计的可训练参数个数（int）。",
             hint_en="sum(p.numel() for p in model.parameters() if p.requires_grad); state_dict() also holds buffers.",
             hint_zh="sum(p.numel() for p in model.parameters() if p.requires_grad)；state_dict() 里还有缓冲区，不能用它。")


@pytest.mark.mnist
@pytest.mark.points(5)
@pytest.mark.time_limit(300)
@pytest.mark.rests_on("trusted-work")
def test_simple_mnist_net_reaches_95_percent_when_trained(kit, model_module):
    """Check the MNIST bar: the net, trained from its own start by the reference loop (2 epochs, Adam lr 1e-3,
    batch 64), scores >= 0.95. Its logits and gradients are checked against weights here (its own start, then weights
    the grader loads, in both modes); the training then runs here, on a trusted copy of it."""
    net = make_net(model_module)
    train_x, train_y = mnist("train")
    test_x, test_y = mnist("test")
    _, candidates = own_weights(kit, net)
    set_mode(net, "train")
    _, start = expect_logits(net, train_x[:64], candidates, mode="train")  # its own start: what training begins from
    images, labels = images_like_mnist(64, 9), torch.randint(0, 10, (64,), generator=torch.Generator().manual_seed(9))
    weights = expect_loaded_logits(kit, net, images, seed=9, mode="train")  # it computes the net for any weights
    check_gradients(kit, net, weights, images, labels)  # and trains them
    set_mode(net, "eval")
    expect_loaded_logits(kit, net, images, seed=10, mode="eval")
    score = trained_score(start, train_x, train_y, test_x, test_y)
    if score < 0.95:
        fail(en=f"trained from its initial weights for 2 epochs with Adam (lr 1e-3, batch 64) on the 60,000 training "
                f"images, the net scores {score:.4f} on the 10,000 test images; expected at least 0.95.",
             zh=f"从初始权重开始用 Adam（lr 1e-3，批大小 64）在 60,000 张训练图像上训练 2 个 epoch 后，网络在 10,000 张"
                f"测试图像上的准确率为 {score:.4f}；应至少为 0.95。",
             hint_en="keep nn.Linear's own initialisation (do not set the weights to zeros or constants).",
             hint_zh="保留 nn.Linear 自带的初始化（不要把权重设为 0 或常数）。", function="SimpleMNISTNet")
### END HIDDEN TESTS
