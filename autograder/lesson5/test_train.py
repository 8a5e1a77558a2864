"""Tests for lesson 5, the training loop, on real MNIST. / 第 5 课（训练循环）的测试，使用真实 MNIST。

The student's functions get networks, MNIST batches, losses and optimizers built next to
their code by the course kit; the grader checks what comes back against its own replay of
the reference loop on the same start and the same batches, and measures accuracies itself.
/ 学生函数使用课程工具在学生一侧构建的网络、MNIST 批次、损失函数和优化器；评分程序用自己对
参考循环的重放（相同起点、相同批次）核对结果，并自己测量准确率。
"""
import functools
import math
from contextlib import contextmanager

import pytest
import torch

from coursetools.boundary.proxy import Remote
from coursetools.checks.feedback import describe, describe_zh, fail, raised_at
from coursetools.checks.mnist import grading_root, write_reduced
from coursetools.checks.numbers import as_number, read_number
from coursetools.checks.oracles import accuracy_of, mnist, net, predictions_of, replay_loop, start_weights, state_of
from coursetools.text import Text

pytestmark = [pytest.mark.lesson5, pytest.mark.mnist, pytest.mark.time_limit(300), pytest.mark.rests_on("replay")]


@pytest.fixture(scope="module")
def train(submission):
    """lesson5/train.py of the submission under test."""
    return submission.module("lesson5", "train")


@pytest.fixture(scope="module")
def mnist_tensors():
    """The grader's own normalized MNIST: {'train': (images, labels), 'test': (images, labels)}."""
    return {split: mnist(split) for split in ("train", "test")}


def _student_net(kit, layers, state, training=True):
    """The kit network on the student side, holding `state`, in training mode or not."""
    model = kit.make_net(layers=layers)
    kit.load_state(model, state)
    kit.set_mode(model, training)
    return model


def _replay(layers, state, images, labels, batch_size, optimizer, order="zfbs", softmax=False, training=True):
    """The loop replayed here from `state` on the batches in order (see oracles.replay_loop for `order`, `softmax`,
    `training`); returns (weights after, [(batch loss, batch size), ...])."""
    model = net(layers, state)
    losses = replay_loop(model, images, labels, batch_size=batch_size, optimizer=optimizer, order=order,
                         softmax=softmax, training=training)
    return state_of(model), losses


#: the loops a known pitfall makes, replayed to name it: (pitfall, order, softmax before the loss, training mode, what)
_PITFALL_LOOPS = (
    ("no-zero-grad", "fbs", False, True, ("gradients were never cleared", "梯度从未清零")),
    ("step-before-backward", "zfsb", False, True,
     ("optimizer.step() came before loss.backward()", "optimizer.step() 在 loss.backward() 之前")),
    ("step-before-backward", "fsb", False, True,
     ("optimizer.step() came before loss.backward()", "optimizer.step() 在 loss.backward() 之前")),
    ("step-before-backward", "fbzs", False, True,
     ("zero_grad() came between backward() and step()", "zero_grad() 放在了 backward() 与 step() 之间")),
    ("softmax-before-ce", "zfbs", True, True,
     ("a softmax was applied before the loss", "在损失之前做了 softmax")),
    ("train-eval-mode", "zfbs", False, False,
     ("the model trained in eval mode (model.train() missing)", "模型在 eval 模式下训练（缺少 model.train()）")),
)


def _same(weights, expected, atol=1e-5):
    """Whether the weights the student side returned equal `expected` (same names, shapes, values)."""
    if not isinstance(weights, dict) or set(weights) != set(expected):
        return False
    return all(isinstance(weights[k], torch.Tensor) and weights[k].shape == v.shape
               and torch.allclose(weights[k].detach().cpu().to(v.dtype), v, atol=atol) for k, v in expected.items())


def _spy_pitfall(events):
    """'no-zero-grad', 'step-before-backward' or None from loop_spy's events (used only to name a failure)."""
    backward_since_forward = False
    for event, flag in events if isinstance(events, list) else []:
        if event == "forward":
            backward_since_forward = False
        elif event == "backward":
            if flag:
                return "no-zero-grad"
            backward_since_forward = True
        elif not backward_since_forward or not flag:
            return "step-before-backward"
    return None


def _distance(weights, expected) -> float:
    """The L2 distance between two state dicts of the same names and shapes (all their tensors as one vector)."""
    return math.sqrt(sum(float((weights[k].detach().cpu().double() - v.double()).pow(2).sum())
                         for k, v in expected.items()))


#: a pitfall loop names the mistake only when the student's weights are this much closer to its replay than the
#: replay is to the right loop's (a real match is float noise apart; a loss scaled down 64 times, whose weights barely
#: move, is 1/64 of the way from a loop that never moves them)
_CLEAR_MATCH = 1e-3


def _named_by_replay(weights, replay, atol=1e-5):
    """(pitfall, (what in English, in Chinese)) of the first pitfall loop whose replay gives `weights`, else None.
    `replay(order, softmax, training)` returns the weights after that loop; a replay that cannot run (a step
    between forward and backward changes the weights the graph still needs) is simply not that loop.

    A tag must name the mistake made: the weights must equal the pitfall loop's (within `atol`) *and* lie far
    closer to it than to the right loop's, relative to how far apart those two loops end (`_CLEAR_MATCH`); weights
    that barely moved for another reason (a loss divided twice) match no pitfall."""
    right = replay("zfbs", False, True)
    for pitfall, order, softmax, mode, what in _PITFALL_LOOPS:
        try:
            replayed = replay(order, softmax, mode)
        except RuntimeError:
            continue
        if _same(weights, replayed, atol) and \
                _distance(weights, replayed) <= _CLEAR_MATCH * _distance(right, replayed):
            return pitfall, what
    return None


def _as_number(value):
    """A finite float from a float, a NumPy scalar or a one-element tensor (checks/numbers.py, the one reader of
    numbers); None otherwise (NaN too: it compares as close)."""
    return as_number(value, finite=True)


_NO_CUDA = ("no nvidia driver", "not compiled with cuda", "no cuda gpus", "cuda driver", "cuda is not available",
            "forked subprocess")
_MISMATCH = ("same device", "expected device", "two devices", "input type (torch.cuda")
_TRAIN_HINT = ("per batch: images.to(device), labels.to(device); optimizer.zero_grad(); "
               "loss = criterion(model(images), labels); loss.backward(); optimizer.step().",
               "每个批次：images.to(device)、labels.to(device)；optimizer.zero_grad()；"
               "loss = criterion(model(images), labels)；loss.backward()；optimizer.step()。")

#: (words in the error, pitfall, what happened (EN, 中文), hint (EN, 中文), show the error's own text): the first
#: whose words the error holds names it
_DIAGNOSES = (
    (_NO_CUDA, "device-mismatch", ("your code used CUDA although another device was given (.cuda() or 'cuda' "
                                   "hard-coded)", "给定了其他设备，你的代码却使用了 CUDA（写死了 .cuda() 或 'cuda'）"),
     ("use the `device` argument you were given: images.to(device), labels.to(device); never .cuda().",
      "使用传入的参数 `device`：images.to(device)、labels.to(device)；不要写 .cuda()。"), False),
    (_MISMATCH, "device-mismatch", ("the model and a batch were on different devices",
                                    "模型和批次不在同一个设备上"),
     ("move every batch to the model's device: images.to(device), labels.to(device).",
      "把每个批次移到模型所在的设备：images.to(device)、labels.to(device)。"), True),
    (("only for scalar outputs",), "step-before-backward",
     ("backward() was called on a tensor that is not a scalar", "对非标量张量调用了 backward()"),
     ("call backward() on the loss that criterion(outputs, labels) returns: one number per batch.",
      "对 criterion(outputs, labels) 返回的损失（每个批次一个数）调用 backward()。"), False),
    (("backward through the graph a second time",), "double-backward",
     ("backward() ran a second time through the graph of one batch (it is freed after the first)",
      "对同一批次的计算图调用了第二次 backward()（第一次之后计算图已被释放）"),
     ("call loss.backward() exactly once per batch, right after computing that batch's loss.",
      "每个批次只调用一次 loss.backward()，紧跟在计算该批次的损失之后。"), False),
    (("modified by an inplace operation",), "step-before-backward",
     ("the weights were changed in place (optimizer.step()) between the forward pass and loss.backward()",
      "在前向传播与 loss.backward() 之间，权重被原地修改了（optimizer.step()）"), _TRAIN_HINT, False),
    (("numpy() on tensor that requires grad", "to numpy"), "numpy-on-grad-or-cuda",
     (".numpy() was called on a tensor that requires grad or is not on the CPU",
      "对需要梯度或不在 CPU 上的张量调用了 .numpy()"),
     ("count with tensors: correct += (model(images).argmax(dim=1) == labels).sum().item(); where you need NumPy, "
      "use .detach().cpu().numpy().",
      "直接用张量计数：correct += (model(images).argmax(dim=1) == labels).sum().item()；确实需要 NumPy 时用 "
      ".detach().cpu().numpy()。"), False),
)


def _facts(facts, zh=False) -> str:
    """A CrossEntropySpy's facts of one tensor ([shape, dtype, requires_grad, device]) in words."""
    if not (isinstance(facts, list) and len(facts) == 4):
        return str(facts[0] if isinstance(facts, list) and facts else facts)[:40]
    shape = tuple(facts[0]) if isinstance(facts[0], list) else facts[0]
    if zh:
        return f"形状为 {shape}、dtype 为 {facts[1]}{'、requires_grad=True' if facts[2] else ''} 的张量"
    return f"a tensor of shape {shape}, dtype {facts[1]}{', requires_grad=True' if facts[2] else ''}"


def _loss_input_problem(report):
    """(en, zh) on what the last loss call was given when that is not the model's (N, C) float outputs with their
    graph and (N,) int64 labels; None when it looks right (or nothing was recorded)."""
    last = report.get("last") if isinstance(report, dict) else None
    if not isinstance(last, dict):
        return None
    given, target = last.get("input"), last.get("target")
    right = (isinstance(given, list) and len(given) == 4 and isinstance(given[0], list) and len(given[0]) == 2
             and str(given[1]).startswith("float") and given[2] is True
             and isinstance(target, list) and len(target) == 4 and target[0] == given[0][:1] and target[1] == "int64")
    if right:
        return None
    return (f"the loss was called with {_facts(given)} as input and {_facts(target)} as target; expected the model's "
            "outputs (N, 10), float, with their graph (requires_grad=True), and the batch's labels (N,), int64",
            f"损失函数的输入为{_facts(given, True)}，目标为{_facts(target, True)}；输入应为模型的输出 (N, 10)"
            "（浮点数，带计算图，requires_grad=True），目标应为该批次的标签 (N,)（int64）")


@contextmanager
def diagnosed(criterion=None):
    """Name the pitfall behind an error the student's code raised (a device error, a backward on a non-scalar or a
    second time, a step between forward and backward, .numpy() on a graph); with `criterion` (a kit
    cross_entropy), say what the loss was given when that was wrong. Other errors pass on unchanged."""
    try:
        yield
    except Exception as error:
        if getattr(error, "stub", None):
            raise
        text = f"{type(error).__name__}: {str(error)[:200]}"
        at_en, at_zh = raised_at(error)
        for words, pitfall, (en, zh), (hint_en, hint_zh), show in _DIAGNOSES:
            if any(part in text.lower() for part in words):
                fail(en=f"{en}{at_en}{': ' + str(error)[:200] if show else ''}.", zh=f"{zh}{at_zh}。",
                     hint_en=hint_en, hint_zh=hint_zh, pitfall=pitfall)
        try:
            problem = _loss_input_problem(criterion.call("report")) if criterion is not None else None
        except Exception:  # the student side cannot answer (any more): the error speaks for itself
            problem = None
        if problem:
            fail(en=f"{problem[0]}{at_en}: {str(error)[:200]}.",
                 zh=f"{problem[1]}{at_zh}。",
                 hint_en="loss = criterion(model(images), labels): the raw outputs of the model first, the labels "
                         "second, nothing detached.",
                 hint_zh="loss = criterion(model(images), labels)：先传模型的原始输出，再传标签，不要 detach。",
                 function="train_one_epoch")
        raise


def _check_loss_inputs(criterion):
    """Fail naming softmax-before-ce when the kit's CrossEntropyLoss was given probabilities or log-probabilities
    (what its spy reports: it may only fail the test)."""
    report = criterion.call("report")
    kinds = report.get("kinds", {}) if isinstance(report, dict) else {}
    if kinds.get("probabilities"):
        fail(en=f"the loss was given rows of probabilities (each in [0, 1], summing to 1) in {kinds['probabilities']} "
                "call(s): a softmax was applied to the model's outputs before CrossEntropyLoss, which applies "
                "log-softmax itself.",
             zh=f"损失函数有 {kinds['probabilities']} 次收到的每一行都是概率（取值在 [0, 1]，和为 1）：在 "
                "CrossEntropyLoss 之前对模型输出做了 softmax，而 CrossEntropyLoss 自己会做 log-softmax。",
             hint_en="pass the raw outputs: loss = criterion(model(images), labels), no softmax in between.",
             hint_zh="直接传入原始输出：loss = criterion(model(images), labels)，中间不要加 softmax。",
             pitfall="softmax-before-ce", function="train_one_epoch")
    if kinds.get("log-probabilities"):
        fail(en=f"the loss was given rows of log-probabilities (each row's logsumexp is 0) in "
                f"{kinds['log-probabilities']} call(s): a log_softmax was applied to the model's outputs before "
                "CrossEntropyLoss, which applies log-softmax itself (nn.NLLLoss is the loss for log-probabilities).",
             zh=f"损失函数有 {kinds['log-probabilities']} 次收到的每一行都是对数概率（每行的 logsumexp 为 0）：在 "
                "CrossEntropyLoss 之前对模型输出做了 log_softmax，而 CrossEntropyLoss 自己会做 log-softmax"
                "（接收对数概率的是 nn.NLLLoss）。",
             hint_en="pass the raw outputs: loss = criterion(model(images), labels), no log_softmax in between.",
             hint_zh="直接传入原始输出：loss = criterion(model(images), labels)，中间不要加 log_softmax。",
             pitfall="softmax-before-ce", function="train_one_epoch")


def _check_number(result, function, what_en, what_zh, hint_en, hint_zh):
    """The contract's float: a Python float, a NumPy scalar or a one-element tensor (checks/numbers.py)."""
    read_number(result, (what_en, what_zh), hint=(hint_en, hint_zh), function=function)


def _one_epoch(submission, train, mnist_tensors, *, layers, seed, rows, batch_size, optimizer, training=True,
               device="cpu", atol=1e-5):
    """Run the student's train_one_epoch on a kit network over MNIST training `rows` (batches made on the student
    side); check its weights afterwards against the replayed reference loop and name a pitfall by the replays.

    Returns (what train_one_epoch returned, the replay's [(batch loss, batch size), ...]).
    """
    kit = submission.kit
    state = start_weights(layers, seed)
    model = _student_net(kit, layers, state, training)
    if device != "cpu":
        kit.to_device(model, device)
    opt = kit.optimizer(optimizer[0], model, **optimizer[1])
    spy = kit.loop_spy(model, opt)
    criterion = kit.cross_entropy()
    with diagnosed(criterion):
        result = train.train_one_epoch(model, kit.mnist_batches("train", rows.start, rows.stop, batch_size=batch_size),
                                       criterion, opt, device)
    _check_loss_inputs(criterion)
    weights = kit.state_of(model)
    images, labels = (t[rows] for t in mnist_tensors["train"])
    expected, losses = _replay(layers, state, images, labels, batch_size, optimizer)
    options = ", ".join(f"{k}={v}" for k, v in optimizer[1].items())
    where = f"{len(labels)} images in batches of {batch_size}, {optimizer[0]}({options}) on {device}"
    where += "" if training else ", the model handed over in eval mode"
    if not _same(weights, expected, atol):
        named = _named_by_replay(weights, lambda *loop: _replay(layers, state, images, labels, batch_size,
                                                                 optimizer, *loop)[0], atol)
        pitfall, (en, zh) = named or (_spy_pitfall(spy.call("report")), ("", ""))
        fail(en=f"after one epoch ({where}) the weights differ from the reference loop (zero_grad, forward, loss, "
                f"backward, step, in training mode) from the same start on the same batches"
                f"{'; they match a loop where ' + en if en else ''}.",
             zh=f"训练一轮后（{len(labels)} 张图像，批大小 {batch_size}，{optimizer[0]}），权重与参考循环（训练模式下"
                f"梯度清零、前向、损失、反向、更新）从相同起点、相同批次得到的结果不同"
                f"{'；它们与这样的循环一致：' + zh if zh else ''}。",
             hint_en="" if pitfall else _TRAIN_HINT[0], hint_zh="" if pitfall else _TRAIN_HINT[1], pitfall=pitfall,
             function="train_one_epoch")
    return result, losses


def _check_mean_loss(result, losses, where_en, where_zh):
    """The returned value must be the mean batch loss of the replay (the mean over samples is accepted too)."""
    per_batch = sum(loss for loss, _ in losses) / len(losses)
    per_sample = sum(loss * n for loss, n in losses) / sum(n for _, n in losses)
    value = _as_number(result)
    hint = dict(hint_en="total += loss.item() for every batch, then return total / number_of_batches.",
                hint_zh="每个批次 total += loss.item()，最后返回 total / 批次数。")
    if value is None or min(abs(value - per_batch), abs(value - per_sample)) > 1e-4:
        fail(en=f"{where_en} returned {describe(result)}; expected the mean batch loss, about {per_batch:.2f} "
                "(the mean over samples is accepted too).",
             zh=f"{where_zh}返回了 {describe_zh(result)}；应为各批次损失的平均值，约 {per_batch:.2f}。",
             function="train_one_epoch", **hint)
    if isinstance(result, torch.Tensor) and result.requires_grad:  # a detached 0-dim tensor is accepted (a variant)
        fail(en=f"{where_en} returned {describe(result)}: a sum of loss tensors that still holds the graph of every "
                "batch; expected the mean loss as a number.",
             zh=f"{where_zh}返回了 {describe_zh(result)}：这是仍带着每个批次计算图的损失张量之和；应返回平均损失（一个数）。",
             hint_en="add loss.item() (a Python float) per batch, not the loss tensor: a tensor sum keeps every "
                     "batch's graph alive.",
             hint_zh="每个批次累加 loss.item()（Python 的 float），不要累加损失张量："
                     "张量求和会让每个批次的计算图一直留在内存里。",
             function="train_one_epoch")


def _fits(weights, layers):
    """Whether `weights` has the names and shapes of the grader's network `layers`."""
    shapes = {k: v.shape for k, v in net(layers).state_dict().items()}
    return isinstance(weights, dict) and set(weights) == set(shapes) and all(
        isinstance(weights[k], torch.Tensor) and weights[k].shape == shape for k, shape in shapes.items())


def test_train_one_epoch_matches_the_reference_loop(submission, train, mnist_tensors):
    """Check weights and mean loss after one epoch against the replayed reference loop (SGD, 4 fixed batches)."""
    result, losses = _one_epoch(submission, train, mnist_tensors, layers="mlp", seed=0, rows=slice(0, 256),
                                batch_size=64, optimizer=("SGD", {"lr": 0.1}))
    _check_mean_loss(result, losses, "on 256 images in batches of 64 with SGD(lr=0.1)",
                     "在 256 张图像（批大小 64，SGD(lr=0.1)）上")


def test_train_one_epoch_trains_in_training_mode(submission, train, mnist_tensors):
    """Check with a batch-norm network handed over in eval mode: weights and running statistics after one epoch
    must be those of training mode."""
    _one_epoch(submission, train, mnist_tensors, layers="batchnorm", seed=7, rows=slice(0, 128), batch_size=64,
               optimizer=("SGD", {"lr": 0.05}), training=False)


def _batchnorm_eval_case(mnist_tensors, seed):
    """A briefly trained batch-norm network and 1,000 test images sorted by label (batches of 100 then differ
    from the running statistics, so training mode changes the predictions a lot)."""
    images, labels = mnist_tensors["train"]
    state, _ = _replay("batchnorm", start_weights("batchnorm", seed), images[:3200], labels[:3200], 64,
                       ("SGD", {"lr": 0.1}))
    return state, torch.argsort(mnist_tensors["test"][1][:1000], stable=True)


@pytest.mark.rests_on("values")
def test_evaluate_gives_accuracy_without_grad_in_eval_mode(submission, train, mnist_tensors):
    """Check evaluate on a batch-norm network left in training mode: the eval-mode accuracy, without gradients."""
    kit = submission.kit
    state, order = _batchnorm_eval_case(mnist_tensors, seed=1)
    images, labels = (t[order] for t in mnist_tensors["test"])
    expected = accuracy_of(net("batchnorm", state), images, labels)
    model = _student_net(kit, "batchnorm", state, training=True)
    spy = kit.mode_spy(model)
    with diagnosed():
        result = train.evaluate(model, kit.mnist_batches("test", index=order, batch_size=100), "cpu")
    calls = spy.call("report")
    trained_mode = any(call[0] for call in calls)
    if _as_number(result) is None or abs(_as_number(result) - expected) > 1e-6:
        in_train_mode = accuracy_of(net("batchnorm", state), images, labels, batch_size=100, training=True)
        mode = trained_mode or (_as_number(result) is not None and abs(_as_number(result) - in_train_mode) < 1e-6)
        fail(en=f"on 1,000 test images (batches of 100) with a batch-norm network left in training mode, returned "
                f"{describe(result)}; expected its eval-mode accuracy {expected:.4f} (a number in [0, 1])"
                f"{', not the training-mode one' if mode else ''}.",
             zh=f"在 1000 张测试图像（批大小 100）上，对处于训练模式的 batch-norm 网络返回 {describe_zh(result)}；"
                f"应为 eval 模式下的准确率 {expected:.4f}。",
             hint_en="" if mode else "model.eval(); count (model(images).argmax(dim=1) == labels) over all batches "
                     "and divide by the number of images.",
             hint_zh="" if mode else "先 model.eval()；统计所有批次中预测正确的个数，再除以图像总数。",
             pitfall="train-eval-mode" if mode else None)
    if trained_mode:
        fail(en="the model ran in training mode during evaluate.", zh="evaluate 时模型处于训练模式。",
             pitfall="train-eval-mode")
    if any(call[1] for call in calls):
        fail(en="evaluate ran the model with gradient tracking on.", zh="evaluate 时开启了梯度跟踪。",
             pitfall="eval-with-grad")
    _check_number(result, "evaluate", "on 1,000 test images", "在 1000 张测试图像上",
                  hint_en="return correct / total with Python numbers: correct += (...).sum().item().",
                  hint_zh="用 Python 数返回 correct / total：correct += (...).sum().item()。")


@pytest.mark.points(5)
@pytest.mark.time_limit(300)
@pytest.mark.rests_on("secret-data")
def test_train_one_epoch_and_evaluate_reach_95_percent(submission, train, mnist_tensors, record_property):
    """Check that 2 epochs of train_one_epoch with Adam(lr=1e-3) give weights the grader measures at test accuracy
    >= 0.95, and that evaluate reports that accuracy."""
    kit = submission.kit
    model = kit.make_net(seed=0)
    optimizer = kit.optimizer("Adam", model, lr=1e-3)
    train_batches = kit.mnist_batches("train", batch_size=64, shuffle=True)
    criterion = kit.cross_entropy()
    spy = kit.loop_spy(model, optimizer)
    with diagnosed(criterion):
        for _ in range(2):
            train.train_one_epoch(model, train_batches, criterion, optimizer, "cpu")
    _check_loss_inputs(criterion)
    with diagnosed():
        accuracy = train.evaluate(model, kit.mnist_batches("test", batch_size=1000), "cpu")
    weights = kit.state_of(model)
    if not _fits(weights, "mlp"):
        fail(en="after training, the network's weights could not be read back as its own layers.",
             zh="训练后无法读回网络各层的权重。", function="train_one_epoch")
    measured = accuracy_of(net("mlp", weights), *mnist_tensors["test"])
    record_property("shown", Text(  # the lesson's goal as a number, shown also when the test passes
        f"Your train_one_epoch, 2 epochs with Adam(lr=1e-3): test accuracy {measured:.2%} on the 10,000 test images "
        f"(goal: at least 95%{', reached' if measured >= 0.95 else ', not reached'}).",
        f"你的 train_one_epoch，Adam(lr=1e-3) 训练 2 轮：10000 张测试图像上的测试准确率为 {measured:.2%}"
        f"（目标：至少 95%，{'已达到' if measured >= 0.95 else '未达到'}）。").to_json())
    if measured < 0.95:
        pitfall = _spy_pitfall(spy.call("report"))  # the spy only names the failure
        fail(en=f"2 epochs with Adam(lr=1e-3), batch 64, gave weights with test accuracy {measured:.4f} (measured "
                f"by the grader); expected at least 0.95.{_own_data()}",
             zh=f"Adam(lr=1e-3)、批大小 64、训练 2 轮后，评分程序测得的测试准确率为 {measured:.4f}；应至少为 0.95。"
                f"{_own_data(zh=True)}",
             hint_en="" if pitfall else _TRAIN_HINT[0], hint_zh="" if pitfall else _TRAIN_HINT[1], pitfall=pitfall,
             function="train_one_epoch")
    if _as_number(accuracy) is None or abs(_as_number(accuracy) - measured) > 1.5e-4:
        fail(en=f"on the 10,000 test images returned {describe(accuracy)}; the trained network scores {measured:.4f} "
                "there, as measured by the grader.",
             zh=f"在 10000 张测试图像上返回 {describe_zh(accuracy)}；评分程序测得训练后的网络为 {measured:.4f}。",
             hint_en="count the correct predictions of every batch and divide by the number of images.",
             hint_zh="累加每个批次预测正确的个数，再除以图像总数。", function="evaluate")


def _contract_weights(weights):
    """SimpleMNISTNet's layers (784 -> 128, 128 -> 10) from a state dict, as the grader's network's state; None
    when the state dict holds other tensors."""
    if not isinstance(weights, dict):
        return None
    shapes = {"1.weight": (128, 784), "1.bias": (128,), "3.weight": (10, 128), "3.bias": (10,)}
    found = {}
    for key, value in weights.items():
        if not isinstance(value, torch.Tensor):
            return None
        name = next((n for n, shape in shapes.items() if tuple(value.shape) == shape and str(key).endswith(n[1:])),
                    None)
        if name is None or (name in found and not torch.equal(found[name], value.cpu())):
            return None
        found[name] = value.detach().cpu().float()
    return found if len(found) == 4 else None


def _own_data(zh=False) -> str:
    """The sentence on the grader's own data for a failed accuracy check, where this grading trains and measures on
    the grader's copy of MNIST (coursetools.checks.mnist.changed_copy); empty where MNIST itself is used."""
    if grading_root() is None:
        return ""
    if zh:
        return ("评分程序使用自己的 MNIST 副本进行训练和测试，这份副本在本次评分中被改动过（像素顺序和类别标签），"
                "因此在别处训练的权重在这里得不到分数。")
    return (" The grader trains and tests on its own copy of MNIST, changed for this grading (pixel order and class "
            "labels), so weights trained elsewhere score nothing.")


#: what the loop watchers around train_mnist name (kit.watch_loop): pitfall -> (what, hint), each (English, 中文)
_LOOP_PITFALLS = {
    "softmax-before-ce": (
        ("the loss was given rows of {kind} (a softmax or log_softmax of the model's outputs): CrossEntropyLoss "
         "applies log-softmax itself and expects the raw outputs (logits)",
         "损失函数收到的每一行都是{kind_zh}（对模型输出做了 softmax 或 log_softmax）：CrossEntropyLoss 自己会做 "
         "log-softmax，它需要原始输出（logits）"),
        ("pass the raw outputs: loss = criterion(model(images), labels), no softmax in between (and none at the end "
         "of the model's forward).",
         "直接传入原始输出：loss = criterion(model(images), labels)，中间不要加 softmax（模型的 forward 末尾也不要）。")),
    "no-zero-grad": (
        ("loss.backward() found the gradients of the batch before still there after optimizer.step() (backward "
         "{backward}): they are never cleared, so every step adds up all earlier gradients",
         "optimizer.step() 之后，loss.backward()（第 {backward} 次）发现上一个批次的梯度还在：梯度从未清零，"
         "每一步都会把之前所有的梯度累加起来"),
        ("call optimizer.zero_grad() once per batch, before loss.backward() (or right after optimizer.step()).",
         "每个批次调用一次 optimizer.zero_grad()，放在 loss.backward() 之前（或紧跟在 optimizer.step() 之后）。")),
    "step-before-backward": (
        ("optimizer.step() found no gradient to apply (step {step}, after {backward} backward calls): it came before "
         "loss.backward(), or zero_grad() came between backward() and step()",
         "optimizer.step()（第 {step} 次，此前有 {backward} 次 backward）没有可用的梯度：它在 loss.backward() 之前，"
         "或者 zero_grad() 放在了 backward() 与 step() 之间"),
        _TRAIN_HINT),
}
_KINDS_ZH = {"probabilities": "概率", "log-probabilities": "对数概率"}


def _check_loop_report(report):
    """Fail naming the loop pitfall the watchers around train_mnist saw (what they report may only fail the test)."""
    found = report.get("pitfall") if isinstance(report, dict) else None
    if not isinstance(found, dict) or found.get("slug") not in _LOOP_PITFALLS:
        return
    slug = found["slug"]
    facts = {"kind": str(found.get("what"))[:40], "kind_zh": _KINDS_ZH.get(found.get("what"), "概率"),
             **{key: found.get(key) if type(found.get(key)) is int else "?" for key in ("backward", "step")}}
    (what_en, what_zh), (hint_en, hint_zh) = _LOOP_PITFALLS[slug]
    fail(en=f"inside train_mnist's own training, {what_en.format(**facts)}.",
         zh=f"在 train_mnist 自己的训练中，{what_zh.format(**facts)}。", hint_en=hint_en, hint_zh=hint_zh, pitfall=slug,
         function="train_mnist")


def _train_mnist(submission, train, root, device):
    """The student's train_mnist(root, device=device, seed=0), run under the kit's loop watchers (kit.watch_loop:
    the loss's inputs, the order of backward and step, wherever the student wrote the loop); fails naming a loop
    pitfall they saw, else returns what train_mnist returned."""
    kit = submission.kit
    try:
        with diagnosed():
            result = kit.watch_loop(train.train_mnist, str(root), device=device, seed=0)
    except Exception as error:
        if getattr(error, "stub", None) or not any(words in str(error) for words in _NOT_FOUND):
            raise
        at_en, at_zh = raised_at(error)
        fail(en=f"MNIST was not found where train_mnist looked{at_en}: {str(error)[:160]}. The grader passes the folder "
                f"to read as data_root ({root}); while grading, no other MNIST is there to read.",
             zh=f"train_mnist 在它查找的位置没有找到 MNIST{at_zh}：{str(error)[:160]}。"
                f"评分程序通过 data_root 传入要读取的文件夹（{root}）；评分时没有其他 MNIST 可读。",
             hint_en="load both splits from the argument: load_mnist(data_root, train=True), load_mnist(data_root, "
                     "train=False), never a path of your own.",
             hint_zh="从参数读取两个划分：load_mnist(data_root, train=True)、load_mnist(data_root, train=False)，"
                     "不要使用自己写的路径。", function="train_mnist")
    _check_loop_report(kit.loop_report())
    return result


#: what torchvision and course_data say when MNIST is not in the folder given to them
_NOT_FOUND = ("Dataset not found", "MNIST is not prepared")


def _check_train_mnist(submission, result, images, labels, bar, where_en, where_zh):
    """Check (model, accuracy) from train_mnist: the grader measures the returned model's test accuracy from its
    weights, checks that the model's own outputs agree, then compares with the returned accuracy and the bar."""
    if not (isinstance(result, tuple) and len(result) == 2 and isinstance(result[0], Remote)
            and result[0].is_a("torch.nn.modules.module.Module")):
        fail(en=f"returned {describe(result)}; expected (model, accuracy).",
             zh=f"返回了 {describe_zh(result)}；应为 (模型, 准确率)。")
    model, accuracy = result
    weights = _contract_weights(submission.kit.state_of(model))
    if weights is None:
        fail(en="the returned model's state_dict does not hold just SimpleMNISTNet's layers (784 -> 128, 128 -> 10).",
             zh="返回模型的 state_dict 不是 SimpleMNISTNet 的两层（784 -> 128，128 -> 10）。",
             hint_en="return the SimpleMNISTNet you trained.", hint_zh="返回你训练的 SimpleMNISTNet。")
    expected = predictions_of(net("mlp", weights), images)
    own = torch.cat([submission.kit.outputs_of(model, images[i:i + 2000]).argmax(1) for i in range(0, len(labels), 2000)])
    measured = (expected == labels).sum().item() / len(labels)
    if own.shape != expected.shape or (own != expected).float().mean().item() > 2e-3:
        fail(en=f"the returned model's outputs on the {len(labels):,} test images do not follow from its weights "
             "(SimpleMNISTNet's layers).", zh="返回模型在测试图像上的输出与其权重（SimpleMNISTNet 的两层）不一致。")
    value = _as_number(accuracy)
    if value is None or not bar <= value <= 1 or measured < bar:
        fail(en=f"{where_en} with its own defaults gave accuracy {describe(accuracy)} (the grader measures "
                f"{measured:.4f}); expected at least {bar} there.{_own_data()}",
             zh=f"{where_zh}使用默认参数得到准确率 {describe_zh(accuracy)}（评分程序测得 {measured:.4f}）；应至少为 {bar}。"
                f"{_own_data(zh=True)}",
             hint_en="load both splits with load_mnist, make_loaders, SimpleMNISTNet, Adam(lr=1e-3), train_one_epoch "
                     "per epoch, then evaluate on the test loader.",
             hint_zh="用 load_mnist 加载两个划分，make_loaders，SimpleMNISTNet，Adam(lr=1e-3)，每轮 train_one_epoch，"
                     "最后 evaluate。")
    if abs(measured - value) > 2e-3:
        fail(en=f"returned accuracy {value:.4f}, but the returned model scores {measured:.4f} on the "
                f"{len(labels):,} test images of that folder; expected the test accuracy of the returned model."
                f"{_own_data()}",
             zh=f"返回的准确率为 {value:.4f}，但返回的模型在该文件夹的测试集上为 {measured:.4f}；应返回该模型的测试准确率。"
                f"{_own_data(zh=True)}",
             hint_en="return model, evaluate(model, test_loader, device) after the last epoch.",
             hint_zh="最后一轮之后返回 model, evaluate(model, test_loader, device)。")


@pytest.mark.points(3)
@pytest.mark.time_limit(300)
@pytest.mark.rests_on("secret-data")
def test_train_mnist_runs_the_whole_pipeline(submission, train, mnist_tensors, tmp_path):
    """Check train_mnist end to end on a reduced MNIST folder (3,000 training, 1,000 test images; when graded, of the
    grader's copy changed for this grading), its loop watched for pitfalls."""
    root = write_reduced(tmp_path / "mnist", n_train=3000, n_test=1000)  # from the graders' MNIST in memory
    result = _train_mnist(submission, train, root, "cpu")
    images, labels = mnist_tensors["test"]
    _check_train_mnist(submission, result, images[:1000], labels[:1000], 0.85,
                       "on 3,000 training images (0.95 on all of MNIST)", "在 3000 张训练图像上（完整 MNIST 上为 0.95）")


_META_DATA = ("meta tensor", "on meta tensors", "meta device")


def _run_on(device, call):
    """Run `call()`; on meta tolerate only the error of reading numbers out of meta tensors (the spies then tell
    whether the model really ran there)."""
    try:
        with diagnosed():
            return call()
    except (NotImplementedError, RuntimeError) as error:
        if device.type == "meta" and not getattr(error, "stub", None) and any(p in str(error) for p in _META_DATA):
            return None
        raise


def _on(probe, function, *args):
    """`function(*args)`, on the student side; with `probe` (kit.stand_in_device) under its CUDA stand-in, where
    `.tolist()`, `.item()`, `.cpu().numpy()` and `torch.autocast(device.type)` work as on CUDA."""
    return probe.call("run", function, *args) if probe is not None else function(*args)


def _device_or_skip(kind):
    if kind == "cuda" and not torch.cuda.is_available():
        pytest.skip("no CUDA on this machine; the meta case checks the same moves on the CPU")
    return torch.device(kind)


@pytest.mark.parametrize("kind", ["meta", pytest.param("cuda", marks=pytest.mark.cuda)])
def test_train_one_epoch_moves_batches_to_the_device(submission, train, mnist_tensors, kind):
    """Check the weights after an epoch on the CPU (on CUDA too, where there is one), then that images and labels
    reach the model on the given device (meta stands in for CUDA on CPU machines)."""
    device = _device_or_skip(kind)
    _one_epoch(submission, train, mnist_tensors, layers="mlp", seed=4, rows=slice(0, 128), batch_size=64,
               optimizer=("SGD", {"lr": 0.01}), device=kind if kind == "cuda" else "cpu", atol=1e-4)
    kit = submission.kit
    probe = kit.stand_in_device(kit.make_net(seed=4)) if kind == "meta" else None
    model = probe.get("model") if probe is not None else kit.to_device(kit.make_net(seed=4), kind)
    spy = kit.mode_spy(model)
    criterion = kit.device_probe_loss() if kind == "meta" else kit.cross_entropy()
    batches = kit.mnist_batches("train", 0, 128)
    _run_on(device, lambda: _on(probe, train.train_one_epoch, model, batches, criterion,
                                kit.optimizer("SGD", model, lr=0.01), device))
    seen = [call[2] for call in spy.call("report")]
    label_devices = [labels for _, labels in criterion.call("report")] if kind == "meta" else []
    if not seen or set(seen) != {kind} or set(label_devices) - {kind}:
        fail(en=f"with the model on {kind} and device={kind!r}, the model got images on "
                f"{sorted(set(map(str, seen))) or 'no device (never called)'} and the loss got labels on "
                f"{sorted(set(label_devices)) or 'the device expected'}; expected both on {kind}.",
             zh=f"模型在 {kind} 上且 device={kind!r} 时，图像在 {sorted(set(map(str, seen)))}，标签在 "
                f"{sorted(set(label_devices))}；两者都应在 {kind} 上。", pitfall="device-mismatch")


@pytest.mark.parametrize("kind", ["meta", pytest.param("cuda", marks=pytest.mark.cuda)])
@pytest.mark.rests_on("values")
def test_evaluate_moves_batches_to_the_device(submission, train, mnist_tensors, kind):
    """Check evaluate's accuracy on the CPU (on CUDA too, where there is one), then that it feeds the model on the
    given device (meta stands in for CUDA on CPU machines)."""
    _device_or_skip(kind)
    kit = submission.kit
    images, labels = (t[:500] for t in mnist_tensors["test"])
    state = start_weights("linear", 5)
    expected = accuracy_of(net("linear", state), images, labels)
    for where in ("cpu", kind):
        probe = kit.stand_in_device(_student_net(kit, "linear", state)) if where == "meta" else None
        model = probe.get("model") if probe is not None else kit.to_device(_student_net(kit, "linear", state), where)
        spy = kit.mode_spy(model)
        batches = kit.mnist_batches("test", 0, 500, batch_size=100)
        result = _run_on(torch.device(where), functools.partial(_on, probe, train.evaluate, model, batches,
                                                                torch.device(where)))
        if where != "meta" and (_as_number(result) is None or abs(_as_number(result) - expected) > 2.5 / 500):
            fail(en=f"on {where} returned {describe(result)} for 500 test images; expected the accuracy {expected:.4f} "
                    "as a number.", zh=f"在 {where} 上对 500 张测试图像返回 {describe_zh(result)}；应为准确率 {expected:.4f}。",
                 hint_en="use .item() (or float()) to turn a count on the GPU into a Python number.",
                 hint_zh="用 .item()（或 float()）把 GPU 上的计数变成 Python 数。")
    seen = [call[2] for call in spy.call("report")]
    if not seen or set(seen) != {kind}:
        fail(en=f"with the model on {kind} and device={kind!r}, the model got images on "
                f"{sorted(set(map(str, seen))) or 'no device (never called)'}; expected {kind}.",
             zh=f"模型在 {kind} 上且 device={kind!r} 时，图像在 {sorted(set(map(str, seen)))}；应在 {kind} 上。",
             pitfall="device-mismatch")


### BEGIN HIDDEN TESTS
import time


def test_train_one_epoch_returns_the_mean_loss_with_a_partial_batch(submission, train, mnist_tensors):
    """Check weights and the returned loss over 4 full batches and a half one: the mean over batches (or samples)."""
    result, losses = _one_epoch(submission, train, mnist_tensors, layers="mlp", seed=2, rows=slice(1000, 1288),
                                batch_size=64, optimizer=("SGD", {"lr": 0.05}))
    _check_mean_loss(result, losses, "on 288 images in batches of 64 (the last one has 32)",
                     "在 288 张图像（批大小 64，最后一批 32 张）上")


def test_train_one_epoch_steps_once_per_batch_after_backward(submission, train, mnist_tensors):
    """Check the loop with Adam against its replay: per batch one forward, one backward on cleared gradients,
    then one step."""
    kit = submission.kit
    model = _student_net(kit, "mlp", start_weights("mlp", 3))
    optimizer = kit.optimizer("Adam", model, lr=1e-3)
    spy = kit.loop_spy(model, optimizer)
    criterion = kit.cross_entropy()
    with diagnosed(criterion):
        train.train_one_epoch(model, kit.mnist_batches("train", 0, 200, batch_size=50), criterion, optimizer, "cpu")
    _check_loss_inputs(criterion)
    weights = kit.state_of(model)
    images, labels = (t[:200] for t in mnist_tensors["train"])

    def replay(*loop):
        return _replay("mlp", start_weights("mlp", 3), images, labels, 50, ("Adam", {"lr": 1e-3}), *loop)[0]

    same = _same(weights, replay())
    events = spy.call("report")  # the spy only names a pitfall or fails the test, never passes it
    counts = {kind: sum(event[0] == kind for event in events) for kind in ("forward", "backward", "step")}
    pitfall = (None if same else (_named_by_replay(weights, replay) or (None,))[0]) or _spy_pitfall(events)
    if not same or pitfall is not None or counts["backward"] != 4 or counts["step"] != 4:
        fail(en=f"4 batches with Adam(lr=1e-3) gave {counts['forward']} forwards, {counts['backward']} backwards and "
                f"{counts['step']} steps, and weights {'equal to' if same else 'unlike'} the "
                "reference loop's; expected one backward and one step per batch, in the order forward, backward, "
                "step, each backward on cleared gradients.",
             zh=f"Adam、4 个批次时得到 {counts['forward']} 次前向、{counts['backward']} 次反向、{counts['step']} 次更新；"
                "每个批次应有一次反向和一次更新，顺序为前向、反向、更新，且每次反向前梯度已清零。",
             hint_en="" if pitfall else "per batch: optimizer.zero_grad(); loss = criterion(model(images), labels); "
                     "loss.backward(); optimizer.step().",
             hint_zh="" if pitfall else "每个批次：optimizer.zero_grad()；计算损失；loss.backward()；optimizer.step()。",
             pitfall=pitfall)


@pytest.mark.rests_on("values")
def test_evaluate_counts_samples_not_batches(submission, train, mnist_tensors):
    """Check evaluate on a dropout + batch-norm model left in training mode, with a short, easy last batch."""
    kit = submission.kit
    images, labels = mnist_tensors["test"]
    model = net("bn-dropout", seed=6)
    right = predictions_of(model, images[:4000]) == labels[:4000]
    easy = torch.nonzero(right).flatten()[-100:]
    others = torch.ones(4000, dtype=torch.bool)
    others[easy] = False
    order = torch.cat([torch.nonzero(others).flatten()[:900], easy])  # the last 100 all predicted right
    # 1,000 images: the first 900 as they come, so the expected share follows from the data (when graded, the
    # grader's copy changed for this grading), never a number known in advance
    expected = accuracy_of(model, images[order], labels[order])
    student = kit.make_net(layers="bn-dropout")
    kit.load_state(student, model.state_dict())
    kit.set_mode(student, True)
    spy = kit.mode_spy(student)
    with diagnosed():
        result = train.evaluate(student, kit.mnist_batches("test", index=order, batch_size=300), "cpu")
    trained_mode = any(call[0] for call in spy.call("report"))
    value = _as_number(result)
    if value is None or abs(value - expected) > 1e-6 or trained_mode:
        fail(en=f"on 1,000 images in batches 300, 300, 300, 100 returned {describe(result)}"
                f"{' (the model ran in training mode)' if trained_mode else ''}; expected the share of correct "
                f"predictions over all images, {expected:.3f}.",
             zh=f"在 1000 张图像（批大小 300、300、300、100）上返回 {describe_zh(result)}；"
                f"应为所有图像中预测正确的比例 {expected:.3f}。",
             hint_en="sum the correct predictions of every batch and divide by the number of images, not of batches; "
                     "call model.eval() first.",
             hint_zh="累加每个批次预测正确的个数，再除以图像总数（不是批次数）；先调用 model.eval()。",
             pitfall="train-eval-mode" if trained_mode else None)


@pytest.mark.slow
@pytest.mark.full
@pytest.mark.points(5)
@pytest.mark.time_limit(900)
@pytest.mark.rests_on("secret-data")
def test_train_mnist_on_full_mnist_reaches_95_percent(submission, train, mnist_root, mnist_tensors, request):
    """Check train_mnist on all of MNIST with its own defaults: test accuracy >= 0.95 within 180 s (with --full)."""
    if not request.config.getoption("--full", default=False):
        pytest.skip("train_mnist on all of MNIST takes a minute or two: run with --full to include it")
    device = "cuda" if torch.cuda.is_available() else "cpu"
    start = time.monotonic()
    result = _train_mnist(submission, train, grading_root() or mnist_root, device)
    seconds = time.monotonic() - start
    _check_train_mnist(submission, result, *mnist_tensors["test"], 0.95, "on all of MNIST", "在完整 MNIST 上")
    if seconds > 180:
        fail(en=f"on all of MNIST took {seconds:.0f} s on {device}; the budget is 180 s.",
             zh=f"在完整 MNIST 上用了 {seconds:.0f} 秒（{device}）；时间预算为 180 秒。",
             hint_en="the defaults (2 epochs, batch 64, Adam lr=1e-3) fit easily; avoid extra epochs and per-item work.",
             hint_zh="默认参数（2 轮、批大小 64、Adam lr=1e-3）足够；避免多余的轮数和逐项计算。")
### END HIDDEN TESTS
