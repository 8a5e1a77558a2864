"""Tests for lesson 4, models. / 第 4 课（模型）的测试。"""
import pytest
import torch
from torch import nn

from coursetools.feedback import describe, fail

pytestmark = pytest.mark.lesson4

_CHANNEL_HINT = ("the net receives (N, 1, 28, 28) batches, with a channel dimension: flatten everything after the "
                 "batch dimension (nn.Flatten() or x.flatten(1)) instead of counting on (N, 28, 28).",
                 "网络收到的批次是带通道维度的 (N, 1, 28, 28)：把批次维度之后的全部展平（nn.Flatten() 或 "
                 "x.flatten(1)），不要假设输入是 (N, 28, 28)。")
_SHAPE_HINT = ("flatten to (N, 784) first, then linear1 784 -> 128, ReLU, linear2 128 -> 10.",
               "先展平成 (N, 784)，再 linear1 784 -> 128、ReLU、linear2 128 -> 10。")


@pytest.fixture(scope="module")
def model_module(submission):
    """lesson4/model.py of the submission under test."""
    return submission.module("lesson4", "model")


def make_net(model_module):
    """A fresh SimpleMNISTNet of the submission, built inside the test (a stub fails the test, not its setup)."""
    torch.manual_seed(0)
    try:
        return model_module.SimpleMNISTNet()
    except NotImplementedError:
        raise
    except Exception as error:
        detail = f"{type(error).__name__}: {str(error)[:300]}"
        fail(4, "SimpleMNISTNet", f"SimpleMNISTNet() raised {detail}", f"SimpleMNISTNet() 抛出 {detail}",
             "create the layers in __init__ after super().__init__().", "在 __init__ 中先调用 super().__init__()，再创建各层。")


def _works_without_channel(net, images) -> bool:
    """Whether the net gives (N, 10) for the same images without their channel dimension (N, 28, 28)."""
    try:
        out = net(images[:, 0])
    except Exception:
        return False
    return isinstance(out, torch.Tensor) and tuple(out.shape) == (len(images), 10)


def forward(net, images):
    """net(images) for a (N, 1, 28, 28) batch; an error or a shape other than (N, 10) fails the test.

    When the net works on the same images without their channel dimension, the diagnosis is
    the missing-channel pitfall.
    """
    n = len(images)
    try:
        out, error = net(images), None
    except NotImplementedError:
        raise
    except Exception as raised:
        out, error = None, raised
    if error is None and isinstance(out, torch.Tensor) and tuple(out.shape) == (n, 10):
        return out
    got = f"raised {type(error).__name__}: {str(error)[:200]}" if error is not None else f"gave {describe(out)}"
    got_zh = f"抛出 {type(error).__name__}" if error is not None else f"得到 {describe(out)}"
    missing_channel = _works_without_channel(net, images)
    fail(4, "SimpleMNISTNet", f"forward on images of shape {tuple(images.shape)} {got}; expected shape ({n}, 10)"
         f"{' (images of shape (N, 28, 28) do work: the net ignores the channel dimension)' if missing_channel else ''}.",
         f"对形状为 {tuple(images.shape)} 的图像前向传播{got_zh}；应为 ({n}, 10)"
         f"{'（(N, 28, 28) 的图像可以：网络忽略了通道维度）' if missing_channel else ''}。",
         *(_CHANNEL_HINT if missing_channel else _SHAPE_HINT), pitfall="missing-channel-dim" if missing_channel else None)


def looks_like_probabilities(out: torch.Tensor) -> bool:
    """Rows that are all >= 0 and sum to 1: softmax was applied."""
    out = out.detach().float()
    return bool((out >= 0).all()) and bool(torch.allclose(out.sum(dim=1), torch.ones(len(out)), atol=1e-3))


def test_simple_mnist_net_maps_images_to_10_outputs(model_module):
    """Check that a (N, 1, 28, 28) batch gives (N, 10) outputs."""
    net = make_net(model_module)
    forward(net, torch.randn(4, 1, 28, 28))


def test_simple_mnist_net_has_the_two_linear_layers(model_module):
    """Check linear1 (784 -> 128) and linear2 (128 -> 10)."""
    net = make_net(model_module)
    layers = {name: getattr(net, name, None) for name in ("linear1", "linear2")}
    sizes = {name: (layer.in_features, layer.out_features) if isinstance(layer, nn.Linear) else layer
             for name, layer in layers.items()}
    if sizes != {"linear1": (784, 128), "linear2": (128, 10)}:
        fail(4, "SimpleMNISTNet", f"layers found: {sizes}; expected linear1 = nn.Linear(784, 128) and "
             "linear2 = nn.Linear(128, 10).", f"找到的层：{sizes}；应为 linear1 = nn.Linear(784, 128)、"
             "linear2 = nn.Linear(128, 10)。", "name the attributes exactly self.linear1 and self.linear2 (they may "
             "also sit inside an nn.Sequential).", "属性名必须是 self.linear1 和 self.linear2（也可以同时放进 nn.Sequential）。")


def test_simple_mnist_net_returns_logits_not_probabilities(model_module):
    """Check that forward returns raw scores: rows do not sum to 1 and some are negative."""
    net = make_net(model_module)
    out = forward(net, torch.randn(8, 1, 28, 28, generator=torch.Generator().manual_seed(1)) * 3)
    if looks_like_probabilities(out):
        fail(4, "SimpleMNISTNet", f"forward gave rows that are probabilities ({describe(out)}, each row sums to 1); "
             "expected raw logits.", f"forward 的输出每行之和为 1（{describe(out)}），是概率；应返回原始 logits。",
             pitfall="softmax-before-ce")


### BEGIN HIDDEN TESTS
@pytest.mark.parametrize("n", [1, 2, 33, 100])
def test_simple_mnist_net_accepts_any_batch_size(model_module, n):
    """Check (N, 1, 28, 28) batches of several sizes, one image included: (N, 10) float32 outputs."""
    net = make_net(model_module)
    out = forward(net, torch.randn(n, 1, 28, 28, generator=torch.Generator().manual_seed(n)))
    if out.dtype != torch.float32:
        fail(4, "SimpleMNISTNet", f"forward on a float32 batch of {n} gave {describe(out)}; expected float32.",
             f"对 {n} 张 float32 图像前向传播得到 {describe(out)}；应为 float32。")


def test_simple_mnist_net_has_101770_parameters(model_module):
    """Check that the net holds 101,770 trainable parameters (784 * 128 + 128 + 128 * 10 + 10), torch's own count."""
    net = make_net(model_module)
    total = sum(p.numel() for p in net.parameters())
    trainable = sum(p.numel() for p in net.parameters() if p.requires_grad)
    if total != 784 * 128 + 128 + 128 * 10 + 10 or trainable != total:
        fail(4, "SimpleMNISTNet", f"the net has {total} parameters ({trainable} trainable); expected 101,770, all "
             "trainable.", f"网络有 {total} 个参数（其中 {trainable} 个可训练）；应为 101,770 个，且全部可训练。",
             "two layers with bias: nn.Linear(784, 128) and nn.Linear(128, 10), nothing else with parameters.",
             "两个带偏置的层：nn.Linear(784, 128) 和 nn.Linear(128, 10)，没有其他带参数的层。")


def _linear_calls(net, images):
    """The nn.Linear modules of `net` in the order forward calls them."""
    calls = []
    hooks = [m.register_forward_hook(lambda module, args, out: calls.append(module))
             for m in {id(m): m for m in net.modules() if isinstance(m, nn.Linear)}.values()]
    try:
        with torch.no_grad():
            forward(net, images)
    finally:
        for hook in hooks:
            hook.remove()
    return calls


def test_simple_mnist_net_runs_784_128_then_128_10(model_module):
    """Check, by watching forward, that exactly two nn.Linear layers run: 784 -> 128, then 128 -> 10."""
    net = make_net(model_module)
    calls = _linear_calls(net, torch.randn(3, 1, 28, 28, generator=torch.Generator().manual_seed(2)))
    sizes = [(m.in_features, m.out_features) for m in calls]
    if sizes != [(784, 128), (128, 10)]:
        fail(4, "SimpleMNISTNet", f"forward ran the nn.Linear layers {sizes} (in features, out features), in that "
             "order; expected [(784, 128), (128, 10)].", f"forward 依次运行的 nn.Linear 层为 {sizes}（输入、输出特征数）；"
             "应为 [(784, 128), (128, 10)]。", *_SHAPE_HINT)


@pytest.mark.parametrize("mode", ["train", "eval"])
def test_simple_mnist_net_computes_linear_relu_linear(model_module, mode):
    """Check forward against linear2(relu(linear1(flatten(x)))) with the net's own layers (up to a shift per row)."""
    net = make_net(model_module)
    images = torch.randn(6, 1, 28, 28, generator=torch.Generator().manual_seed(3)) * 2
    first, second = (_linear_calls(net, images) + [None, None])[:2]
    if not (isinstance(first, nn.Linear) and isinstance(second, nn.Linear)):
        fail(4, "SimpleMNISTNet", "forward does not run two nn.Linear layers; expected linear1 then linear2.",
             "forward 没有运行两个 nn.Linear 层；应先 linear1 再 linear2。", *_SHAPE_HINT)
    getattr(net, mode)()
    with torch.no_grad():
        out = forward(net, images)
        expected = second(torch.relu(first(images.reshape(len(images), -1))))
    centred = out - out.mean(dim=1, keepdim=True)  # log_softmax shifts each row by a constant: still logits
    if not torch.allclose(centred, expected - expected.mean(dim=1, keepdim=True), atol=1e-5, rtol=1e-4):
        probabilities = looks_like_probabilities(out)
        fail(4, "SimpleMNISTNet", f"in {mode} mode forward gave {describe(out)}, which differs from "
             f"linear2(relu(linear1(flatten(x)))) with the net's own layers by up to "
             f"{(out - expected).abs().max().item():.3g}{' (its rows are probabilities)' if probabilities else ''}; "
             "expected exactly that: raw logits.", f"{mode} 模式下 forward 得到 {describe(out)}，与用网络自己的层计算的 "
             f"linear2(relu(linear1(flatten(x)))) 最多相差 {(out - expected).abs().max().item():.3g}"
             f"{'（每行是概率）' if probabilities else ''}；应正好等于它：原始 logits。",
             *(("", "") if probabilities else ("flatten, linear1, ReLU, linear2 and nothing after it (no softmax, "
                                               "no sigmoid, no dropout).", "展平、linear1、ReLU、linear2，之后什么都不加"
                                               "（不加 softmax、sigmoid 或 dropout）。")),
             pitfall="softmax-before-ce" if probabilities else None)


@pytest.mark.parametrize("mode", ["train", "eval"])
def test_simple_mnist_net_returns_logits_in_both_modes(model_module, mode):
    """Check that outputs are not probabilities in train mode nor in eval mode, one image included."""
    net = make_net(model_module)
    getattr(net, mode)()
    for n in (1, 16):
        with torch.no_grad():
            out = forward(net, torch.randn(n, 1, 28, 28, generator=torch.Generator().manual_seed(4 + n)) * 3)
        if looks_like_probabilities(out):
            fail(4, "SimpleMNISTNet", f"in {mode} mode forward on {n} image(s) gave rows that are probabilities "
                 f"({describe(out)}, each row sums to 1); expected raw logits.", f"{mode} 模式下对 {n} 张图像前向传播，"
                 f"输出每行之和为 1（{describe(out)}），是概率；应返回原始 logits。", pitfall="softmax-before-ce")
### END HIDDEN TESTS


def _count(model_module, model, what, what_zh):
    try:
        return model_module.count_parameters(model)
    except NotImplementedError:
        raise
    except Exception as error:
        detail = f"{type(error).__name__}: {str(error)[:300]}"
        fail(4, "count_parameters", f"count_parameters({what}) raised {detail}",
             f"count_parameters({what_zh}) 抛出 {detail}", "sum p.numel() over model.parameters() that require grad.",
             "对 model.parameters() 中需要梯度的参数求 p.numel() 之和。")


def test_count_parameters_of_simple_mnist_net(model_module):
    """Check count_parameters(SimpleMNISTNet()) against torch's own count (101,770)."""
    net = make_net(model_module)
    result = _count(model_module, net, "SimpleMNISTNet()", "SimpleMNISTNet()")
    expected = sum(p.numel() for p in net.parameters() if p.requires_grad)
    if result != expected:
        fail(4, "count_parameters", f"count_parameters(SimpleMNISTNet()) returned {result!r}; expected {expected}.",
             f"count_parameters(SimpleMNISTNet()) 返回 {result!r}；应为 {expected}。",
             "sum p.numel() over model.parameters() that require grad.",
             "对 model.parameters() 中需要梯度的参数求 p.numel() 之和。")


def test_count_parameters_skips_frozen_parameters(model_module):
    """Check that parameters with requires_grad=False are not counted."""
    model = nn.Sequential(nn.Linear(4, 3), nn.Linear(3, 2))
    model[0].requires_grad_(False)
    result = _count(model_module, model, "a partly frozen model", "部分冻结的模型")
    if result != 3 * 2 + 2:
        fail(4, "count_parameters", f"a model with a frozen Linear(4, 3) and a trainable Linear(3, 2) gave {result!r};"
             f" expected {3 * 2 + 2} (trainable only).", f"冻结 Linear(4, 3)、可训练 Linear(3, 2) 的模型得到 "
             f"{result!r}；应为 {3 * 2 + 2}（只数可训练参数）。", "filter with `if p.requires_grad`.",
             "用 `if p.requires_grad` 过滤。")


### BEGIN HIDDEN TESTS
from coursetools.feedback import CheckFailure  # noqa: E402


def _other_models():
    conv = nn.Sequential(nn.Conv2d(1, 4, 3), nn.BatchNorm2d(4), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 26 * 26, 10))
    frozen_bias = nn.Linear(5, 2)
    frozen_bias.bias.requires_grad_(False)
    return {
        "nn.Linear(3, 4)": nn.Linear(3, 4),
        "a conv net with batch norm (buffers are not parameters)": conv,
        "nn.Linear(5, 2) with a frozen bias": frozen_bias,
        "nn.ReLU() (no parameters)": nn.ReLU(),
    }


@pytest.mark.parametrize("name", list(_other_models()))
def test_count_parameters_on_other_models(model_module, name):
    """Check count_parameters on other models against torch's own count of trainable parameters."""
    torch.manual_seed(0)
    model = _other_models()[name]
    result = _count(model_module, model, name, name)
    expected = sum(p.numel() for p in model.parameters() if p.requires_grad)
    try:
        right = int(result) == expected and int(result) == result
    except (TypeError, ValueError, RuntimeError):
        right = False
    if not right:
        fail(4, "count_parameters", f"count_parameters({name}) returned {describe(result)}; expected the number of "
             "trainable parameters torch counts for it, as an int.", f"count_parameters({name}) 返回 "
             f"{describe(result)}；应为 torch 统计的可训练参数个数（int）。",
             "sum(p.numel() for p in model.parameters() if p.requires_grad); state_dict() also holds buffers.",
             "sum(p.numel() for p in model.parameters() if p.requires_grad)；state_dict() 里还有缓冲区，不能用它。")


def _normalized_mnist(train: bool):
    """MNIST as float32 (N, 1, 28, 28) normalized like mnist_transform(), and int64 labels."""
    import course_data
    from coursetools.mnist import normalized_mnist

    try:
        return normalized_mnist(train)
    except course_data.CourseDataError as error:
        raise CheckFailure(str(error)) from None


@pytest.mark.mnist
def test_simple_mnist_net_reaches_95_percent_when_trained(model_module):
    """Check the MNIST bar: the net trained by a reference loop (2 epochs, Adam lr 1e-3, batch 64) scores >= 0.95."""
    net = make_net(model_module)
    forward(net, torch.zeros(2, 1, 28, 28))
    train_x, train_y = _normalized_mnist(train=True)
    test_x, test_y = _normalized_mnist(train=False)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # small batches: one thread is fastest, and graders run in parallel
    try:
        optimizer = torch.optim.Adam(net.parameters(), lr=1e-3)
        criterion = nn.CrossEntropyLoss()
        order = torch.Generator().manual_seed(0)
        net.train()
        for _ in range(2):
            batches = torch.randperm(len(train_x), generator=order).split(64)
            for idx in batches:
                optimizer.zero_grad()
                criterion(net(train_x[idx]), train_y[idx]).backward()
                optimizer.step()
        net.eval()
        with torch.no_grad():
            out = net(test_x)
    except NotImplementedError:
        raise
    except Exception as error:
        detail = f"{type(error).__name__}: {str(error)[:300]}"
        fail(4, "SimpleMNISTNet", f"training the net on MNIST (Adam, lr 1e-3, batch 64) raised {detail}",
             f"在 MNIST 上训练网络（Adam，lr 1e-3，批大小 64）时抛出 {detail}", *_SHAPE_HINT)
    finally:
        torch.set_num_threads(threads)
    accuracy = (out.argmax(dim=1) == test_y).float().mean().item()
    if accuracy < 0.95:
        probabilities = looks_like_probabilities(out)
        fail(4, "SimpleMNISTNet", f"trained for 2 epochs with Adam (lr 1e-3, batch 64) on the 60,000 training "
             f"images, the net scores {accuracy:.4f} on the 10,000 test images; expected at least 0.95.",
             f"用 Adam（lr 1e-3，批大小 64）在 60,000 张训练图像上训练 2 个 epoch 后，网络在 10,000 张测试图像上的"
             f"准确率为 {accuracy:.4f}；应至少为 0.95。",
             *(("", "") if probabilities else _SHAPE_HINT), pitfall="softmax-before-ce" if probabilities else None)
### END HIDDEN TESTS
