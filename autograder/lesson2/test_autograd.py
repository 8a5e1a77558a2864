"""Tests for lesson 2, autograd. / 第 2 课（自动求导）的测试。

Expected gradients come from torch itself (the oracle), never typed in by hand. The autograd graph
does not cross to the student side, so what needs one (counting backward passes, seeing whether an
update was recorded) is watched there by the course kit; what it reports can only fail a check.
期望的梯度来自 torch 本身（作为标准答案），而不是手工抄写。计算图不会传到学生一侧，需要计算图的观察
（统计 backward 次数、更新是否被记录）由课程工具在那一侧完成，其报告只能判为不通过。
"""

import pytest
import torch

from coursetools.boundary.proxy import StudentExit
from coursetools.checks.feedback import describe, describe_zh, fail, raised_at
from coursetools.checks.numbers import read_number

pytestmark = [pytest.mark.lesson2, pytest.mark.rests_on("values")]


@pytest.fixture(scope="module")
def autograd(submission):
    """lesson2/autograd.py of the submission under test."""
    return submission.module("lesson2", "autograd")


def _diagnosis(passes, error=None):
    """The pitfall the backward passes the spy saw (and the error raised) show, or None."""
    for later, (_, _, raised) in enumerate(passes):
        if raised and any(not retain for _, retain, _ in passes[:later]):
            return "double-backward"
    if error is not None and "backward through the graph a second time" in str(error):
        return "double-backward"
    if any(non_scalar for non_scalar, _, _ in passes) or "only for scalar outputs" in str(error or ""):
        return "step-before-backward"
    if error is not None and "numpy() on Tensor that requires grad" in str(error):
        return "numpy-on-grad-or-cuda"
    return None


#: pitfall -> (hint, 提示) in the words of this lesson (no optimizer, no training loop yet)
_PITFALL_HINTS = {
    "step-before-backward": (
        "backward() starts from a single number: make the loss a scalar by summing the products first, "
        "loss = (torch.sum(w * x) + b - y_true) ** 2.",
        "backward() 要从一个数开始：先把乘积求和，让 loss 成为标量：loss = (torch.sum(w * x) + b - y_true) ** 2。"),
    "numpy-on-grad-or-cuda": (
        ".numpy() refuses a tensor that requires grad: return loss.item() (a Python float) or loss.detach().",
        ".numpy() 不接受需要梯度的张量：返回 loss.item()（Python 浮点数）或 loss.detach()。"),
    "no-zero-grad": (
        "gradients add up in .grad across backward() calls: make fresh copies in every call "
        "(w.detach().clone().requires_grad_(True)) and call backward() once on them.",
        "梯度会在多次 backward() 之间累加到 .grad 中：每次调用都重新复制"
        "（w.detach().clone().requires_grad_(True)），并只对副本调用一次 backward()。"),
}


def _where(error, zh=False) -> str:
    """' (at <file>, line <n>: <code>)': the student's line an error was raised from, or ''."""
    return raised_at(error, kind=False)[1 if zh else 0]


def _passes(spy):
    """The spy's report as [[non_scalar, retain_graph, raised], ...]; what is not in that shape is left out."""
    try:
        report = spy.call("report")
    except Exception:  # the student side could not answer: no passes seen
        return []
    return [[bool(v) for v in row] for row in report if isinstance(row, list) and len(row) == 3
            and all(isinstance(v, bool) for v in row)] if isinstance(report, list) else []


def _copy(value):
    """A tensor argument's copy (same values, dtype and requires_grad); anything else as it is."""
    return value.detach().clone().requires_grad_(value.requires_grad) if isinstance(value, torch.Tensor) else value


def _run(submission, autograd, name, call, call_zh, *args, hint=("", "")):
    """Call the submission's `name`(*args) on the student side under the kit's backward spy.

    Returns (result, backward passes the spy saw: [non_scalar, retain_graph, raised] each). An error
    it raises fails the test, naming the call and, when the spy or the error shows one, the pitfall.
    The result is what the function answered when called from here (on copies of the arguments, after the spied
    call, whose changes to the arguments come back to the caller's objects): what the spy reports, or what the
    spied call gave, may only fail a test or name a pitfall, never pass one.
    """
    spy = submission.kit.backward_spy()
    try:
        spy.call("run", getattr(autograd, name), *args)
        passes = _passes(spy)
        return getattr(autograd, name)(*(_copy(a) for a in args)), passes
    except (NotImplementedError, StudentExit):
        raise
    except Exception as error:
        detail = f"{type(error).__name__}: {str(error).split('. ')[0][:300]}"
        pitfall = _diagnosis(_passes(spy), error)
        hint_en, hint_zh = _PITFALL_HINTS.get(pitfall, ("", "")) if pitfall else hint
        fail(en=f"{call} raised {detail}{_where(error)}", zh=f"{call_zh} 抛出 {type(error).__name__}{_where(error, True)}",
             hint_en=hint_en, hint_zh=hint_zh, pitfall=pitfall, function=name)


def _oracle_linear(w, b, x, y_true):
    w, b = w.detach().clone().requires_grad_(True), b.detach().clone().requires_grad_(True)
    loss = (torch.sum(w * x) + b - y_true) ** 2
    loss.backward()
    return loss.item(), w.grad, b.grad


def _linear_inputs(n=3, seed=0):
    g = torch.Generator().manual_seed(seed)
    return (torch.randn(n, generator=g), torch.randn((), generator=g), torch.randn(n, generator=g),
            torch.randn((), generator=g))


def _times_oracle(got, expected):
    """k when `got` is k (2..5) times `expected`: gradients added up over k backward passes (replayed here)."""
    return next((k for k in range(2, 6) if torch.allclose(got, k * expected, rtol=1e-4, atol=1e-5)), None) \
        if bool(expected.abs().max() > 1e-3) else None


def _check_linear(submission, autograd, w, b, x, y_true):
    """linear_loss_grads(w, b, x, y_true) must match torch's autograd on copies of the same inputs."""
    n = len(w)
    call = f"linear_loss_grads(w, b, x, y_true) with w of shape ({n},)"
    call_zh = f"w 形状为 ({n},) 时的 linear_loss_grads(w, b, x, y_true)"
    result, passes = _run(submission, autograd, "linear_loss_grads", call, call_zh, w, b, x, y_true,
                          hint=_LINEAR_HINT)
    exp_loss, exp_w, exp_b = _oracle_linear(w, b, x, y_true)
    if not (isinstance(result, tuple) and len(result) == 3):
        fail(en=f"{call} returned {describe(result)}; expected a tuple (loss, w_grad, b_grad).",
             zh=f"{call_zh} 返回了 {describe_zh(result)}；应为元组 (loss, w_grad, b_grad)。", function="linear_loss_grads")
    loss, w_grad, b_grad = result
    if not isinstance(w_grad, torch.Tensor) or not isinstance(b_grad, torch.Tensor):
        fail(en=f"{call} returned gradients {describe(w_grad)} and {describe(b_grad)}; expected tensors.",
             zh=f"{call_zh} 返回的梯度为 {describe_zh(w_grad)} 和 {describe_zh(b_grad)}；应为张量。",
             hint_en="after loss.backward() the gradients are w.grad and b.grad (of your copies).",
             hint_zh="loss.backward() 之后梯度在（副本的）w.grad 和 b.grad 中。", function="linear_loss_grads")
    loss_value = read_number(loss, (f"{call}'s loss", f"{call_zh} 的 loss"), function="linear_loss_grads")
    loss_ok = abs(loss_value - exp_loss) <= 1e-4 * max(1.0, abs(exp_loss))  # with its graph or not (CURRICULUM.md)
    shapes_ok = w_grad.shape == w.shape and b_grad.shape == ()
    got_w, got_b = w_grad.detach().cpu().float(), b_grad.detach().cpu().float()
    values_ok = shapes_ok and torch.allclose(got_w, exp_w, rtol=1e-4, atol=1e-5) \
        and torch.allclose(got_b, exp_b, rtol=1e-4, atol=1e-5)
    if not (loss_ok and values_ok):
        off = f"; w_grad is off by up to {(got_w - exp_w).abs().max().item():.3g}" if w_grad.shape == w.shape else ""
        added = shapes_ok and _times_oracle(got_w, exp_w)
        pitfall = "no-zero-grad" if added and _times_oracle(got_b, exp_b) in (added, None) else \
            "step-before-backward" if _diagnosis(passes) == "step-before-backward" else None
        fail(en=f"{call} gave loss {describe(loss)}, w_grad {describe(w_grad)}, b_grad {describe(b_grad)}{off}; "
             "expected the loss as a float (or 0-dim tensor), w_grad shaped like w and b_grad 0-dim, equal to "
             "torch's autograd on the same inputs" + (f" (w_grad is {added} times it: gradients added up)."
                                                      if pitfall == "no-zero-grad" else "."),
             zh=f"{call_zh} 得到 loss {describe_zh(loss)}、w_grad {describe_zh(w_grad)}、b_grad {describe_zh(b_grad)}；"
             "loss 应为浮点数（或 0 维张量），w_grad 与 w 同形，b_grad 为 0 维，并与 torch 自动求导在相同输入上的结果一致"
             + (f"（w_grad 是它的 {added} 倍：梯度被累加了）。" if pitfall == "no-zero-grad" else "。"),
             hint_en=_PITFALL_HINTS[pitfall][0] if pitfall else
             "loss = (torch.sum(w * x) + b - y_true) ** 2 is one number; loss.backward(), then read w.grad, b.grad.",
             hint_zh=_PITFALL_HINTS[pitfall][1] if pitfall else
             "loss = (torch.sum(w * x) + b - y_true) ** 2 是一个数；调用 loss.backward()，再读取 w.grad 和 b.grad。",
             pitfall=pitfall, function="linear_loss_grads")
    return result, passes


def _check_square(submission, autograd, x):
    """square_grad(x) must be a number equal to torch's d(2x²)/dx at x; returns the backward passes seen."""
    result, passes = _run(submission, autograd, "square_grad", f"square_grad({x})", f"square_grad({x})", x,
                          hint=_SQUARE_HINT)
    t = torch.tensor(x, requires_grad=True)
    (2 * t**2).backward()
    expected = t.grad.item()
    def close(number):
        return abs(number - expected) <= 1e-5 * max(1.0, abs(expected))

    number = read_number(result, (f"square_grad({x})", f"square_grad({x})"), hint=_SQUARE_HINT,
                         function="square_grad")  # a float, a NumPy scalar or a one-element tensor (CURRICULUM.md)
    if not close(number):
        fail(en=f"square_grad({x}) returned {describe(result)}; expected {round(expected, 6)}, the derivative of 2x² at "
             f"x = {x} (4x) that torch's autograd gives.", zh=f"square_grad({x}) 返回 {describe_zh(result)}；应为 "
             f"{round(expected, 6)}，即 torch 自动求导给出的 2x² 在 x = {x} 处的导数（4x）。", hint_en=_SQUARE_HINT[0],
             hint_zh=_SQUARE_HINT[1],
             function="square_grad")
    return passes


_SQUARE_HINT = ("make x a tensor with requires_grad=True, compute y = 2 * x**2, call y.backward(), read x.grad.",
                "用 requires_grad=True 创建 x，计算 y = 2 * x**2，调用 y.backward()，读取 x.grad。")
_LINEAR_HINT = ("copy w and b with .detach().clone().requires_grad_(True), compute the scalar loss "
                "(torch.sum(w * x) + b - y_true) ** 2, call loss.backward().",
                "用 .detach().clone().requires_grad_(True) 复制 w 和 b，计算标量 loss (torch.sum(w * x) + b - y_true) ** 2，"
                "再调用 loss.backward()。")


@pytest.mark.parametrize("x", [3.0, -1.5])
def test_square_grad_matches_autograd(submission, autograd, x):
    """Check square_grad(x) against d/dx 2x² computed by torch."""
    _check_square(submission, autograd, x)


### BEGIN HIDDEN TESTS
@pytest.mark.parametrize("x", [0.0, 0.5, -2.25, 10.0, 1e-3])
def test_square_grad_at_more_points(submission, autograd, x):
    """Check square_grad at more points against torch's autograd (relative tolerance 1e-5)."""
    _check_square(submission, autograd, x)


def test_square_grad_is_computed_by_autograd(submission, autograd):
    """Check the value at 1.75, and that square_grad runs a backward pass (backward() or torch.autograd.grad)."""
    if not _check_square(submission, autograd, 1.75):
        fail(en="square_grad(1.75) returned the right number without running any backward pass; expected the "
             "derivative computed by autograd.", zh="square_grad(1.75) 没有执行任何反向传播就给出了结果；导数应由自动"
             "求导计算。", hint_en="the exercise is autograd: build y = 2 * x**2 from a tensor that requires grad and "
             "call y.backward().", hint_zh="这道题练习的是自动求导：用需要梯度的张量算出 y = 2 * x**2，再调用 y.backward()。",
             function="square_grad")
### END HIDDEN TESTS


def test_linear_loss_grads_match_autograd(submission, autograd):
    """Check the loss and both gradients against torch's autograd."""
    _check_linear(submission, autograd, *_linear_inputs())


def test_linear_loss_grads_leaves_inputs_untouched(submission, autograd):
    """Check that the caller's tensors keep their values, requires_grad and have no .grad."""
    w, b, x, y_true = _linear_inputs()
    before = [t.clone() for t in (w, b, x, y_true)]
    _run(submission, autograd, "linear_loss_grads", "linear_loss_grads(w, b, x, y_true)",
         "linear_loss_grads(w, b, x, y_true)", w, b, x, y_true, hint=_LINEAR_HINT)
    changed = [name for name, t, old in zip("w b x y_true".split(), (w, b, x, y_true), before)
               if t.grad is not None or t.requires_grad or not torch.equal(t, old)]
    if changed:
        fail(en=f"the caller's {', '.join(changed)} changed (values, requires_grad or .grad).",
             zh=f"调用者的 {', '.join(changed)} 被修改了（值、requires_grad 或 .grad）。",
             hint_en="work on copies: w = w.detach().clone().requires_grad_(True).",
             hint_zh="在副本上计算：w = w.detach().clone().requires_grad_(True)。", function="linear_loss_grads")


### BEGIN HIDDEN TESTS
@pytest.mark.parametrize("n, seed", [(1, 10), (5, 11), (32, 12)])
def test_linear_loss_grads_on_random_shapes(submission, autograd, n, seed):
    """Check loss and gradients against torch's autograd for weights of several sizes."""
    w, b, x, y_true = _linear_inputs(n, seed)
    _check_linear(submission, autograd, w * 2, b, x, y_true * 3)


def test_linear_loss_grads_is_computed_by_autograd(submission, autograd):
    """Check the values, and that linear_loss_grads runs a backward pass, not hand-written formulas."""
    _, passes = _check_linear(submission, autograd, *_linear_inputs(4, 13))
    if not passes:
        fail(en="linear_loss_grads gave the right numbers without running any backward pass; expected the "
             "gradients computed by autograd.", zh="linear_loss_grads 没有执行任何反向传播就给出了结果；梯度应由自动求导计算。",
             hint_en="make copies of w and b that require grad, compute the loss, call loss.backward().",
             hint_zh="复制 w 和 b 并设置 requires_grad，计算 loss，调用 loss.backward()。", function="linear_loss_grads")


def test_linear_loss_grads_leaves_parameters_that_require_grad_untouched(submission, autograd):
    """Check with w and b that already require grad: they get no .grad and keep their values, twice in a row."""
    w0, b0, x, y_true = _linear_inputs(6, 14)
    w, b = w0.clone().requires_grad_(True), b0.clone().requires_grad_(True)
    for attempt in ("first", "second"):
        _check_linear(submission, autograd, w, b, x, y_true)  # the second call also fails if gradients added up
        changed = [name for name, t, old in (("w", w, w0), ("b", b, b0))
                   if t.grad is not None or not t.requires_grad or not torch.equal(t.detach(), old)]
        if changed:
            fail(en=f"with w and b that require grad, the {attempt} call changed the caller's {', '.join(changed)} "
                 "(got a .grad, lost requires_grad or changed value).", zh=f"当 w 和 b 需要梯度时，第"
                 f"{'一' if attempt == 'first' else '二'}次调用修改了调用者的 {', '.join(changed)}（得到了 .grad、"
                 "失去了 requires_grad 或数值改变）。", hint_en="work on copies: w = w.detach().clone()."
                 "requires_grad_(True), and call backward on the copies' loss.", hint_zh="在副本上计算：w = "
                 "w.detach().clone().requires_grad_(True)，并对副本计算出的 loss 调用 backward。", function="linear_loss_grads")
### END HIDDEN TESTS


_ZERO_HINT = ("zero_grads must clear every p.grad in place: p.grad.zero_() or p.grad = None (skip a .grad that is "
              "None); giving a loop variable a new tensor changes nothing.",
              "zero_grads 必须原地清除每个 p.grad：p.grad.zero_() 或 p.grad = None（.grad 为 None 时跳过）；"
              "给循环变量赋一个新张量不会改变任何东西。")


def _expect_cleared(submission, autograd, params, call, call_zh):
    """Fail, naming no-zero-grad, when zero_grads left a non-zero .grad in `params`.

    The kit then replays zero_grads on watched copies of those gradients: `zero_` looked up but nothing
    changed is the method named without its parentheses, which the hint then says (it only explains)."""
    left = [p.grad for p in params if p.grad is not None and bool(p.grad.any())]
    if not left:
        return
    hint = _ZERO_HINT
    try:
        seen = submission.kit.zero_grads_probe(autograd.zero_grads, [g.detach().clone() for g in left])
    except Exception:  # the replay could not tell: the plain hint
        seen = None
    if isinstance(seen, dict) and seen.get("unchanged") is True and "zero_" in (seen.get("named") or []):
        hint = ("zero_grads looks up p.grad.zero_ but never calls it: a method without parentheses does nothing. "
                "Write p.grad.zero_() (or set p.grad = None).",
                "zero_grads 取到了 p.grad.zero_ 却没有调用它：不加括号的方法什么也不做。请写 p.grad.zero_()"
                "（或设置 p.grad = None）。")
    fail(en=f"{call} left {len(left)} of {len(params)} gradients not cleared, e.g. {describe(left[0])}; expected every "
         ".grad None or all zeros.", zh=f"{call_zh} 之后 {len(params)} 个梯度中有 {len(left)} 个没有清零，例如 "
         f"{describe_zh(left[0])}；每个 .grad 都应为 None 或全零。", hint_en=hint[0], hint_zh=hint[1],
         pitfall="no-zero-grad", function="zero_grads")


def test_zero_grads_clears_every_grad(submission, autograd):
    """Check that every .grad is None or all zeros afterwards."""
    params = [torch.ones(2, requires_grad=True), torch.ones(3, requires_grad=True)]
    (params[0].sum() * 2 + params[1].sum() * 3).backward()
    autograd.zero_grads(params)
    _expect_cleared(submission, autograd, params, "zero_grads(params)", "zero_grads(params)")


### BEGIN HIDDEN TESTS
def _model_params(seed=20):
    torch.manual_seed(seed)
    model = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.ReLU(), torch.nn.Linear(3, 2))
    return model, list(model.parameters())


def _backward_once(model, seed=21):
    x = torch.randn(5, 4, generator=torch.Generator().manual_seed(seed))
    model(x).pow(2).sum().backward()


def test_zero_grads_then_backward_gives_fresh_gradients(autograd):
    """Check a training-loop pattern: backward, zero_grads, backward gives one backward's gradients, not two."""
    model, params = _model_params()
    _backward_once(model)
    once = [p.grad.clone() for p in params]
    autograd.zero_grads(params)
    _backward_once(model)
    if any(p.grad is None or not torch.allclose(p.grad, g) for p, g in zip(params, once)):
        worst = max((p.grad - g).abs().max().item() if p.grad is not None else float("inf")
                    for p, g in zip(params, once))
        fail(en=f"backward, zero_grads(params), backward left gradients that differ from one backward's by up to "
             f"{worst:.3g} (they added up); expected zero_grads to clear them.", zh="执行 backward、zero_grads(params)、"
             f"再 backward 后，梯度与只做一次 backward 相差最多 {worst:.3g}（被累加了）；zero_grads 应把它们清零。",
             hint_en=_ZERO_HINT[0], hint_zh=_ZERO_HINT[1], pitfall="no-zero-grad")


def test_zero_grads_accepts_parameters_without_grad(submission, autograd):
    """Check that a parameter whose .grad is still None (never used) is fine, and the others get cleared."""
    used, unused = torch.ones(3, requires_grad=True), torch.ones(2, requires_grad=True)
    (used * 4).sum().backward()
    try:
        autograd.zero_grads([used, unused])
    except (NotImplementedError, StudentExit):
        raise
    except Exception as error:
        fail(en=f"zero_grads([used, unused]) where unused.grad is None raised {type(error).__name__}: "
             f"{str(error)[:200]}{_where(error)}", zh=f"zero_grads([used, unused])（其中 unused.grad 为 None）抛出 "
             f"{type(error).__name__}{_where(error, True)}",
             hint_en="a parameter that took part in no backward has .grad None: skip it (if p.grad is not None).",
             hint_zh="没参与过 backward 的参数 .grad 为 None：跳过它（if p.grad is not None）。")
    _expect_cleared(submission, autograd, [used, unused], "zero_grads([used, unused])", "zero_grads([used, unused])")


def test_zero_grads_leaves_parameter_values_alone(submission, autograd):
    """Check that zero_grads clears .grad only: the parameters keep their values and still require grad."""
    model, params = _model_params(22)
    before = [p.detach().clone() for p in params]
    _backward_once(model, 23)
    autograd.zero_grads(params)
    if any(not torch.equal(p.detach(), old) or not p.requires_grad for p, old in zip(params, before)):
        fail(en="zero_grads(params) changed the parameters themselves (their values or requires_grad); expected "
             "only their .grad cleared.", zh="zero_grads(params) 修改了参数本身（数值或 requires_grad）；应只清除它们的 .grad。",
             hint_en="clear p.grad (p.grad.zero_() or p.grad = None), never p.",
             hint_zh="清除的是 p.grad（p.grad.zero_() 或 p.grad = None），而不是 p。")
    _expect_cleared(submission, autograd, params, "zero_grads(a model's parameters)", "对模型参数调用 zero_grads")
### END HIDDEN TESTS


_SGD_HINT = ("update in place inside `with torch.no_grad():` so the step is not part of the graph.",
             "在 `with torch.no_grad():` 中原地更新，这样这一步不会进入计算图。")


def _sgd_step(autograd, params, lr, call, call_zh):
    """sgd_step(params, lr); an error it raises (an in-place update of a leaf recorded in the graph) fails."""
    try:
        autograd.sgd_step(params, lr)
    except (NotImplementedError, StudentExit):
        raise
    except Exception as error:
        fail(en=f"{call} raised {type(error).__name__}: {str(error).split('. ')[0][:200]}{_where(error)}",
             zh=f"{call_zh} 抛出 {type(error).__name__}{_where(error, True)}", hint_en=_SGD_HINT[0], hint_zh=_SGD_HINT[1])


def _check_step_not_recorded(submission, autograd, values, grads, lr, call, call_zh):
    """The kit calls sgd_step on leaves made next to the student code and reports whether they stayed leaves
    outside the graph (the graph does not cross). This can only fail the test: its points come from values."""
    outcome = submission.kit.step_outcome(autograd.sgd_step, values, grads, lr)
    recorded = [grad_fn for is_leaf, grad_fn in outcome if not is_leaf or grad_fn is not None]
    if recorded:
        fail(en=f"{call} put {len(recorded)} of {len(values)} parameters into the autograd graph (grad_fn "
             f"{recorded[0]}): they are no longer leaves; expected the update left out of the graph.",
             zh=f"{call_zh} 把 {len(values)} 个参数中的 {len(recorded)} 个放进了计算图（grad_fn {recorded[0]}），"
             "它们不再是叶子张量；更新不应进入计算图。", hint_en=_SGD_HINT[0], hint_zh=_SGD_HINT[1], function="sgd_step")


def test_sgd_step_updates_without_recording(submission, autograd):
    """Check that sgd_step does p -= lr * p.grad in place, p still requiring grad and outside the graph."""
    p = torch.tensor([1.0, -2.0], requires_grad=True)
    (p**2).sum().backward()  # grad = 2p
    start, grad = p.detach().clone(), p.grad.clone()
    expected = start - 0.1 * grad
    _sgd_step(autograd, [p], 0.1, "sgd_step([p], 0.1)", "sgd_step([p], 0.1)")
    if not torch.allclose(p.detach(), expected) or not p.requires_grad:
        shown = ", ".join(f"{v:.4g}" for v in expected.tolist())
        fail(en=f"sgd_step([p], 0.1) left p = {describe(p)} (requires_grad {p.requires_grad}); expected values "
             f"[{shown}], still requiring grad.", zh=f"sgd_step([p], 0.1) 之后 p = {describe_zh(p)}（requires_grad 为 "
             f"{p.requires_grad}）；应为 [{shown}]，并且仍需要梯度。",
             hint_en=_SGD_HINT[0], hint_zh=_SGD_HINT[1])
    _check_step_not_recorded(submission, autograd, [start], [grad], 0.1, "sgd_step([p], 0.1)",
                             "sgd_step([p], 0.1)")


### BEGIN HIDDEN TESTS
@pytest.mark.parametrize("lr", [0.5, 1e-3])
def test_sgd_step_on_several_parameters(submission, autograd, lr):
    """Check sgd_step on a model's weights and biases: p - lr * p.grad (with tolerance), in place, outside the graph."""
    model, params = _model_params(24)
    _backward_once(model, 25)
    starts, grads = [p.detach().clone() for p in params], [p.grad.clone() for p in params]
    expected = [s - lr * g for s, g in zip(starts, grads)]
    _sgd_step(autograd, params, lr, f"sgd_step(model parameters, {lr})", f"sgd_step(模型参数, {lr})")
    wrong = [describe(p) for p, e in zip(params, expected) if not torch.allclose(p.detach(), e, rtol=1e-5, atol=1e-7)]
    lost = [p for p in params if not p.requires_grad]
    if wrong or lost:
        fail(en=f"sgd_step(model parameters, {lr}): {len(wrong)} of {len(params)} parameters hold wrong values "
             f"(e.g. {wrong[:1]}), {len(lost)} no longer require grad; expected each p updated in place to "
             "p - lr * p.grad, still requiring grad.", zh=f"sgd_step(模型参数, {lr})：{len(params)} 个参数中有 "
             f"{len(wrong)} 个数值不对，{len(lost)} 个不再需要梯度；每个 p 都应原地更新为 p - lr * p.grad，并仍需要梯度。",
             hint_en=_SGD_HINT[0], hint_zh=_SGD_HINT[1])
    _check_step_not_recorded(submission, autograd, starts, grads, lr, f"sgd_step(model parameters, {lr})",
                             f"sgd_step(模型参数, {lr})")


@pytest.mark.time_limit(300)
def test_sgd_step_in_a_training_loop(autograd):
    """Check three steps of a tiny regression against the same loop with the update written out (with tolerance)."""
    g = torch.Generator().manual_seed(26)
    x, y = torch.randn(8, 3, generator=g), torch.randn(8, generator=g)
    w0, b0 = torch.randn(3, generator=g), torch.zeros(())

    def run(step):
        w, b = w0.clone().requires_grad_(True), b0.clone().requires_grad_(True)
        for _ in range(3):
            w.grad = b.grad = None
            ((x @ w + b - y) ** 2).mean().backward()
            step([w, b])
            if not (w.requires_grad and b.requires_grad):
                fail(en="after sgd_step([w, b], 0.1) in a training loop, w or b no longer requires grad, so the next "
                     "backward cannot reach it; expected it to keep requires_grad.", zh="训练循环中调用 "
                     "sgd_step([w, b], 0.1) 之后，w 或 b 不再需要梯度，下一次 backward 无法到达它；应保持 requires_grad。",
                     hint_en=_SGD_HINT[0], hint_zh=_SGD_HINT[1])
        return w.detach(), b.detach()

    def reference(params):
        with torch.no_grad():
            for p in params:
                p -= 0.1 * p.grad

    expected_w, expected_b = run(reference)
    got_w, got_b = run(lambda params: _sgd_step(autograd, params, 0.1, "sgd_step([w, b], 0.1) in a training loop",
                                                "训练循环中的 sgd_step([w, b], 0.1)"))
    if not torch.allclose(got_w, expected_w, rtol=1e-5, atol=1e-6) or not torch.allclose(got_b, expected_b,
                                                                                        rtol=1e-5, atol=1e-6):
        fail(en=f"three steps of a training loop with sgd_step(lr 0.1) gave w {describe(got_w)} and b "
             f"{describe(got_b)}; these differ from p -= 0.1 * p.grad under torch.no_grad() on the same loop by up to "
             f"{(got_w - expected_w).abs().max().item():.3g}.", zh="用 sgd_step(lr 0.1) 训练三步得到的 w 和 b 与 "
             "在 torch.no_grad() 下执行 p -= 0.1 * p.grad 的同一循环结果不同。", hint_en=_SGD_HINT[0], hint_zh=_SGD_HINT[1])
### END HIDDEN TESTS


def _check_accumulated(submission, autograd, x, times):
    """accumulated_grad(x, times) must be the 0-dim tensor times * 4x, with the caller's x untouched."""
    shown = f"torch.tensor({x.item()!r}{', requires_grad=True' if x.requires_grad else ''})" \
        if isinstance(x, torch.Tensor) else repr(x)
    call = f"accumulated_grad({shown}, {times})"
    snapshot = (x.detach().clone(), x.requires_grad) if isinstance(x, torch.Tensor) else None
    result, passes = _run(submission, autograd, "accumulated_grad", call, call, x, times)
    t = torch.tensor(float(x.detach()) if isinstance(x, torch.Tensor) else float(x), requires_grad=True)
    y = 2 * t**2
    for _ in range(times):
        y.backward(retain_graph=True)
    if not isinstance(result, torch.Tensor) or result.dim() != 0 or not result.is_floating_point() \
            or abs(result.item() - t.grad.item()) > 1e-5 * max(1.0, abs(t.grad.item())):
        fail(en=f"{call} returned {describe(result)}; expected a 0-dim tensor equal to {times} backward passes' worth "
             "of d(2x²)/dx, accumulated in x.grad.", zh=f"{call} 返回 {describe_zh(result)}；应为 0 维张量，等于 {times} "
             "次 backward 在 x.grad 中累加的 d(2x²)/dx。", hint_en="one graph y = 2 * x**2, then "
             "y.backward(retain_graph=True) `times` times, then return x.grad.", hint_zh="只建一个计算图 y = 2 * x**2，"
             "调用 `times` 次 y.backward(retain_graph=True)，返回 x.grad。", pitfall=_diagnosis(passes),
             function="accumulated_grad")
    if snapshot is not None and (not torch.equal(x.detach(), snapshot[0]) or x.requires_grad != snapshot[1]
                                 or x.grad is not None):
        fail(en=f"{call} changed the caller's tensor x (its value, requires_grad or .grad); expected it untouched.",
             zh=f"{call} 修改了调用者的张量 x（数值、requires_grad 或 .grad）；不应修改它。",
             hint_en="work on a copy: "
             "t = torch.as_tensor(x, dtype=torch.float32).detach().clone().requires_grad_(True).",
             hint_zh="在副本上计算：t = torch.as_tensor(x, dtype=torch.float32).detach().clone().requires_grad_(True)。",
             function="accumulated_grad")
    return result, passes


@pytest.mark.parametrize("times", [1, 3])
def test_accumulated_grad_adds_up(submission, autograd, times):
    """Check that `times` backward calls on one graph accumulate to times * 4x."""
    _check_accumulated(submission, autograd, torch.tensor(3.0), times)


### BEGIN HIDDEN TESTS
@pytest.mark.parametrize("x, times", [(3.0, 2), (-1.25, 5), (torch.tensor(2.0), 1), (torch.tensor(-0.5), 4),
                                      (0.0, 3)], ids=["float-2", "float-5", "tensor-1", "tensor-4", "zero-3"])
def test_accumulated_grad_on_floats_and_tensors(submission, autograd, x, times):
    """Check accumulated_grad for float and 0-dim tensor inputs and several `times` against torch."""
    _check_accumulated(submission, autograd, x.clone() if isinstance(x, torch.Tensor) else x, times)


def test_accumulated_grad_leaves_a_tensor_that_requires_grad_untouched(submission, autograd):
    """Check a caller's 0-dim tensor that requires grad: it gets no .grad and keeps requires_grad."""
    _check_accumulated(submission, autograd, torch.tensor(1.5, requires_grad=True), 3)


def test_accumulated_grad_runs_times_backward_passes(submission, autograd):
    """Check the value of accumulated_grad(2.5, 4) and that it runs 4 backward passes (the accumulation is the point)."""
    _, passes = _check_accumulated(submission, autograd, 2.5, 4)
    if len(passes) != 4:
        fail(en=f"accumulated_grad(2.5, 4) ran {len(passes)} backward passes; expected 4 (x.grad adds up across them).",
             zh=f"accumulated_grad(2.5, 4) 执行了 {len(passes)} 次反向传播；应为 4 次（x.grad 会在多次之间累加）。",
             hint_en="call y.backward(retain_graph=True) in a loop `times` times.",
             hint_zh="在循环中调用 `times` 次 y.backward(retain_graph=True)。", function="accumulated_grad")
### END HIDDEN TESTS
