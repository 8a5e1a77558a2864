"""Check the pieces lesson 5's graders use to name a pitfall made inside the training loop: the replays of pitfall
loops (one that cannot run is not that loop, never a grader error) and the kit's watched CrossEntropyLoss
(probabilities, log-probabilities, wrong inputs).

检查第 5 课评分程序在训练循环中指出常见错误所用的部件：错误循环的重放（无法运行的重放只是"不是这种循环"，
不是评分程序错误），以及课程工具中被监视的 CrossEntropyLoss（概率、对数概率、错误的输入）。
"""
import torch
from torch import nn

from autograder.lesson5 import test_train as lesson5
from coursetools.checks.oracles import net, replay_loop, start_weights, state_of
from coursetools.sandbox.kit.common import CrossEntropySpy


def _data(seed=0, n=96):
    generator = torch.Generator().manual_seed(seed)
    return torch.randn(n, 1, 28, 28, generator=generator), torch.randint(0, 10, (n,), generator=generator)


def _replay(order, softmax, training, images, labels, state):
    model = net("mlp", state)
    replay_loop(model, images, labels, batch_size=32, optimizer=("SGD", {"lr": 0.1}), order=order, softmax=softmax,
                training=training)
    return state_of(model)


def test_a_replay_that_cannot_run_is_not_that_loop():
    """Check that weights matching no pitfall loop give None, although the 'fsb' replay raises (a step between
    forward and backward changes weights the graph still needs), and that a later loop is still found."""
    images, labels = _data()
    state = start_weights("mlp", 0)
    def replay(*loop):
        return _replay(*loop, images, labels, state)

    try:
        replay("fsb", False, True)
    except RuntimeError:
        pass
    else:
        raise AssertionError("the 'fsb' replay was expected to raise (that is what this test guards)")
    assert lesson5._named_by_replay(start_weights("mlp", 1), replay) is None
    softmax = replay("zfbs", True, True)
    assert lesson5._named_by_replay(softmax, replay)[0] == "softmax-before-ce"


def test_the_watched_cross_entropy_computes_the_same_loss_and_tells_what_it_was_given():
    """Check CrossEntropySpy: nn.CrossEntropyLoss's value and gradient, and the kind of rows it was given."""
    logits = torch.randn(8, 10, requires_grad=True)
    labels = torch.arange(8)
    spy = CrossEntropySpy()
    loss = spy(logits, labels)
    assert isinstance(spy, nn.CrossEntropyLoss)
    assert torch.equal(loss, nn.CrossEntropyLoss()(logits, labels))
    spy(logits.softmax(dim=1), labels)
    spy(torch.log_softmax(logits, 1), labels)
    report = spy.report()
    assert report["kinds"] == {"logits": 1, "probabilities": 1, "log-probabilities": 1}
    assert report["last"]["input"] == [[8, 10], "float32", True, "cpu"]
    assert report["last"]["target"] == [[8], "int64", False, "cpu"]


def test_wrong_loss_inputs_are_described_and_right_ones_are_not():
    """Check _loss_input_problem: predictions (argmax) as input are described in both languages; the model's
    logits with their labels are not a problem."""
    spy = CrossEntropySpy()
    logits = torch.randn(4, 10, requires_grad=True)
    spy(logits, torch.arange(4))
    assert lesson5._loss_input_problem(spy.report()) is None
    try:
        spy(logits.argmax(dim=1), torch.arange(4))
    except (RuntimeError, NotImplementedError):
        pass
    en, zh = lesson5._loss_input_problem(spy.report())
    assert "shape (4,), dtype int64" in en and "形状为 (4,)、dtype 为 int64 的张量" in zh
