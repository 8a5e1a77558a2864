"""Tests for lesson 2, autograd. / 第 2 课（自动求导）的测试。

Expected gradients come from torch itself (the oracle), never typed in by hand.
期望的梯度来自 torch 本身（作为标准答案），而不是手工抄写。
"""
import pytest
import torch
from torch.overrides import TorchFunctionMode

from coursetools.feedback import describe, fail

pytestmark = pytest.mark.lesson2


@pytest.fixture(scope="module")
def autograd(submission):
    """lesson2/autograd.py of the submission under test."""
    return submission.module("lesson2", "autograd")


class BackwardSpy(TorchFunctionMode):
    """Records each backward pass started while it is on: Tensor.backward, torch.autograd.backward or .grad."""

    def __init__(self):
        super().__init__()
        self.calls = []  # one dict per backward pass: non_scalar, retain_graph, error

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if func is torch.Tensor.backward:
            outputs, seeds = args[0], args[1] if len(args) > 1 else kwargs.get("gradient")
        elif func is torch.autograd.backward:
            outputs, seeds = args[0] if args else kwargs.get("tensors"), kwargs.get("grad_tensors")
        elif func is torch.autograd.grad:
            outputs, seeds = args[0] if args else kwargs.get("outputs"), kwargs.get("grad_outputs")
        else:
            return func(*args, **kwargs)
        outputs = [outputs] if isinstance(outputs, torch.Tensor) else list(outputs)
        call = {"non_scalar": seeds is None and any(o.numel() != 1 for o in outputs),
                "retain_graph": bool(kwargs.get("retain_graph")), "error": None}
        self.calls.append(call)
        try:
            return func(*args, **kwargs)
        except Exception as error:
            call["error"] = error
            raise

    def diagnosis(self):
        """The pitfall these backward passes show, or None."""
        for later, call in enumerate(self.calls):
            if call["error"] is not None and any(not c["retain_graph"] for c in self.calls[:later]):
                return "double-backward"
        if any(call["non_scalar"] for call in self.calls):
            return "step-before-backward"
        return None


def _run(autograd, name, call, call_zh, *args, hint=("", "")):
    """Call the submission's `name`(*args) under a BackwardSpy; return (result, spy).

    An error it raises fails the test, naming the call and, when the spy saw one, the pitfall.
    """
    function = getattr(autograd, name)
    spy = BackwardSpy()
    try:
        with spy:
            return function(*args), spy
    except NotImplementedError:
        raise
    except Exception as error:
        detail = f"{type(error).__name__}: {str(error).split('. ')[0][:300]}"
        pitfall = spy.diagnosis()
        fail(2, name, f"{call} raised {detail}", f"{call_zh} 抛出 {detail}", *(("", "") if pitfall else hint),
             pitfall=pitfall)


def _oracle_linear(w, b, x, y_true):
    w, b = w.detach().clone().requires_grad_(True), b.detach().clone().requires_grad_(True)
    loss = (torch.sum(w * x) + b - y_true) ** 2
    loss.backward()
    return loss.item(), w.grad, b.grad


def _linear_inputs(n=3, seed=0):
    g = torch.Generator().manual_seed(seed)
    return (torch.randn(n, generator=g), torch.randn((), generator=g), torch.randn(n, generator=g),
            torch.randn((), generator=g))


def _check_linear(autograd, w, b, x, y_true):
    """linear_loss_grads(w, b, x, y_true) must match torch's autograd on copies of the same inputs."""
    n = len(w)
    call = f"linear_loss_grads(w, b, x, y_true) with w of shape ({n},)"
    call_zh = f"w 形状为 ({n},) 时的 linear_loss_grads(w, b, x, y_true)"
    result, spy = _run(autograd, "linear_loss_grads", call, call_zh, w, b, x, y_true, hint=_LINEAR_HINT)
    exp_loss, exp_w, exp_b = _oracle_linear(w, b, x, y_true)
    if not (isinstance(result, tuple) and len(result) == 3):
        fail(2, "linear_loss_grads", f"{call} returned {describe(result)}; expected a tuple (loss, w_grad, b_grad).",
             f"{call_zh} 返回了 {describe(result)}；应为元组 (loss, w_grad, b_grad)。")
    loss, w_grad, b_grad = result
    if not isinstance(w_grad, torch.Tensor) or not isinstance(b_grad, torch.Tensor):
        fail(2, "linear_loss_grads", f"{call} returned gradients {describe(w_grad)} and {describe(b_grad)}; "
             "expected tensors.", f"{call_zh} 返回的梯度为 {describe(w_grad)} 和 {describe(b_grad)}；应为张量。",
             "after loss.backward() the gradients are w.grad and b.grad (of your copies).",
             "loss.backward() 之后梯度在（副本的）w.grad 和 b.grad 中。")
    loss_ok = (isinstance(loss, (float, int)) or isinstance(loss, torch.Tensor) and loss.dim() == 0) \
        and abs(float(loss) - exp_loss) <= 1e-4 * max(1.0, abs(exp_loss))
    shapes_ok = w_grad.shape == w.shape and b_grad.shape == ()
    values_ok = shapes_ok and torch.allclose(w_grad.detach().cpu().float(), exp_w, rtol=1e-4, atol=1e-5) \
        and torch.allclose(b_grad.detach().cpu().float(), exp_b, rtol=1e-4, atol=1e-5)
    if not (loss_ok and values_ok):
        off = f"; w_grad is off by up to {(w_grad.detach().cpu().float() - exp_w).abs().max().item():.3g}" \
            if w_grad.shape == w.shape else ""
        fail(2, "linear_loss_grads", f"{call} gave loss {describe(loss)}, w_grad {describe(w_grad)}, b_grad "
             f"{describe(b_grad)}{off}; expected the loss as a float (or 0-dim tensor), w_grad shaped like w "
             "and b_grad 0-dim, equal to torch's autograd on the same inputs.",
             f"{call_zh} 得到 loss {describe(loss)}、w_grad {describe(w_grad)}、b_grad {describe(b_grad)}；"
             "loss 应为浮点数（或 0 维张量），w_grad 与 w 同形，b_grad 为 0 维，并与 torch 自动求导在相同输入上的结果一致。",
             "loss = (torch.sum(w * x) + b - y_true) ** 2 is one number; loss.backward(), then read w.grad, b.grad.",
             "loss = (torch.sum(w * x) + b - y_true) ** 2 是一个数；调用 loss.backward()，再读取 w.grad 和 b.grad。",
             pitfall="step-before-backward" if spy.diagnosis() == "step-before-backward" else None)
    return result, spy


_SQUARE_HINT = ("make x a tensor with requires_grad=True, compute y = 2 * x**2, call y.backward(), read x.grad.",
                "用 requires_grad=True 创建 x，计算 y = 2 * x**2，调用 y.backward()，读取 x.grad。")
_LINEAR_HINT = ("copy w and b with .detach().clone().requires_grad_(True), compute the scalar loss "
                "(torch.sum(w * x) + b - y_true) ** 2, call loss.backward().",
                "用 .detach().clone().requires_grad_(True) 复制 w 和 b，计算标量 loss (torch.sum(w * x) + b - y_true) ** 2，"
                "再调用 loss.backward()。")


@pytest.mark.parametrize("x", [3.0, -1.5])
def test_square_grad_matches_autograd(autograd, x):
    """Check square_grad(x) against d/dx 2x² computed by torch."""
    result, _ = _run(autograd, "square_grad", f"square_grad({x})", f"square_grad({x})", x, hint=_SQUARE_HINT)
    t = torch.tensor(x, requires_grad=True)
    (2 * t**2).backward()
    if not isinstance(result, (float, int, torch.Tensor)) or isinstance(result, torch.Tensor) and result.numel() != 1 \
            or abs(float(result) - t.grad.item()) > 1e-5:
        fail(2, "square_grad", f"square_grad({x}) returned {describe(result)}; expected {t.grad.item()} (4x).",
             f"square_grad({x}) 返回 {describe(result)}；应为 {t.grad.item()}（即 4x）。",
             "make x a tensor with requires_grad=True, compute y = 2 * x**2, call y.backward(), read x.grad.",
             "用 requires_grad=True 创建 x，计算 y = 2 * x**2，调用 y.backward()，读取 x.grad。")


### BEGIN HIDDEN TESTS
@pytest.mark.parametrize("x", [0.0, 0.5, -2.25, 10.0, 1e-3])
def test_square_grad_at_more_points(autograd, x):
    """Check square_grad at more points against torch's autograd (relative tolerance 1e-5)."""
    result, _ = _run(autograd, "square_grad", f"square_grad({x})", f"square_grad({x})", x, hint=_SQUARE_HINT)
    t = torch.tensor(x, requires_grad=True)
    (2 * t**2).backward()
    expected = t.grad.item()
    ok = isinstance(result, (float, int)) or isinstance(result, torch.Tensor) and result.numel() == 1
    if not ok or abs(float(result) - expected) > 1e-5 * max(1.0, abs(expected)):
        fail(2, "square_grad", f"square_grad({x}) returned {describe(result)}; expected a number equal to the "
             "derivative of 2x² at x that torch's autograd gives.", f"square_grad({x}) 返回 {describe(result)}；"
             "应为一个数，等于 torch 自动求导给出的 2x² 在 x 处的导数。",
             "y = 2 * x**2 with x = torch.tensor(x, requires_grad=True); y.backward(); return x.grad.item().",
             "x = torch.tensor(x, requires_grad=True)，y = 2 * x**2；y.backward()；返回 x.grad.item()。")


def test_square_grad_is_computed_by_autograd(autograd):
    """Check that square_grad runs a backward pass (backward() or torch.autograd.grad), not the formula 4x."""
    result, spy = _run(autograd, "square_grad", "square_grad(1.75)", "square_grad(1.75)", 1.75, hint=_SQUARE_HINT)
    if not spy.calls:
        fail(2, "square_grad", f"square_grad(1.75) returned {describe(result)} without running any backward pass; "
             "expected the derivative computed by autograd.", f"square_grad(1.75) 返回 {describe(result)}，但没有"
             "执行任何反向传播；导数应由自动求导计算。",
             "the exercise is autograd: build y = 2 * x**2 from a tensor that requires grad and call y.backward().",
             "这道题练习的是自动求导：用需要梯度的张量算出 y = 2 * x**2，再调用 y.backward()。")
### END HIDDEN TESTS


def test_linear_loss_grads_match_autograd(autograd):
    """Check the loss and both gradients against torch's autograd."""
    _check_linear(autograd, *_linear_inputs())


def test_linear_loss_grads_leaves_inputs_untouched(autograd):
    """Check that the caller's tensors keep their values, requires_grad and have no .grad."""
    w, b, x, y_true = _linear_inputs()
    before = [t.clone() for t in (w, b, x, y_true)]
    _run(autograd, "linear_loss_grads", "linear_loss_grads(w, b, x, y_true)", "linear_loss_grads(w, b, x, y_true)",
         w, b, x, y_true, hint=_LINEAR_HINT)
    changed = [name for name, t, old in zip("w b x y_true".split(), (w, b, x, y_true), before)
               if t.grad is not None or t.requires_grad or not torch.equal(t, old)]
    if changed:
        fail(2, "linear_loss_grads", f"the caller's {', '.join(changed)} changed (values, requires_grad or .grad).",
             f"调用者的 {', '.join(changed)} 被修改了（值、requires_grad 或 .grad）。",
             "work on copies: w = w.detach().clone().requires_grad_(True).",
             "在副本上计算：w = w.detach().clone().requires_grad_(True)。")


### BEGIN HIDDEN TESTS
@pytest.mark.parametrize("n, seed", [(1, 10), (5, 11), (32, 12)])
def test_linear_loss_grads_on_random_shapes(autograd, n, seed):
    """Check loss and gradients against torch's autograd for weights of several sizes."""
    w, b, x, y_true = _linear_inputs(n, seed)
    _check_linear(autograd, w * 2, b, x, y_true * 3)


def test_linear_loss_grads_is_computed_by_autograd(autograd):
    """Check that linear_loss_grads runs a backward pass on a scalar loss, not hand-written formulas."""
    _, spy = _check_linear(autograd, *_linear_inputs(4, 13))
    if not spy.calls:
        fail(2, "linear_loss_grads", "linear_loss_grads gave the right numbers without running any backward pass; "
             "expected the gradients computed by autograd.", "linear_loss_grads 没有执行任何反向传播就给出了结果；"
             "梯度应由自动求导计算。", "make copies of w and b that require grad, compute the loss, call loss.backward().",
             "复制 w 和 b 并设置 requires_grad，计算 loss，调用 loss.backward()。")


def test_linear_loss_grads_leaves_parameters_that_require_grad_untouched(autograd):
    """Check with w and b that already require grad: they stay leaves with no .grad, twice in a row, same results."""
    w0, b0, x, y_true = _linear_inputs(6, 14)
    w, b = w0.clone().requires_grad_(True), b0.clone().requires_grad_(True)
    first, _ = _check_linear(autograd, w, b, x, y_true)
    changed = [name for name, t, old in (("w", w, w0), ("b", b, b0))
               if t.grad is not None or not t.requires_grad or not t.is_leaf or not torch.equal(t.detach(), old)]
    if changed:
        fail(2, "linear_loss_grads", f"with w and b that require grad, the caller's {', '.join(changed)} changed "
             "(got a .grad, lost requires_grad or changed value).", f"当 w 和 b 需要梯度时，调用者的 "
             f"{', '.join(changed)} 被修改了（得到了 .grad、失去了 requires_grad 或数值改变）。",
             "work on copies: w = w.detach().clone().requires_grad_(True), and call backward on the copies' loss.",
             "在副本上计算：w = w.detach().clone().requires_grad_(True)，并对副本计算出的 loss 调用 backward。")
    first_w_grad = first[1].detach().clone()
    second, _ = _check_linear(autograd, w, b, x, y_true)
    if not torch.allclose(first_w_grad, second[1].detach()):
        fail(2, "linear_loss_grads", f"two calls with the same inputs gave w_grad {describe(first_w_grad)} and then "
             f"{describe(second[1])}; expected the same gradients.", f"相同输入调用两次，w_grad 先后为 "
             f"{describe(first_w_grad)} 和 {describe(second[1])}；两次应相同。", pitfall="no-zero-grad")
### END HIDDEN TESTS


def test_zero_grads_clears_every_grad(autograd):
    """Check that every .grad is None or all zeros afterwards."""
    params = [torch.ones(2, requires_grad=True), torch.ones(3, requires_grad=True)]
    (params[0].sum() * 2 + params[1].sum() * 3).backward()
    _run(autograd, "zero_grads", "zero_grads(params)", "zero_grads(params)", params)
    left = [describe(p.grad) for p in params if p.grad is not None and bool(p.grad.any())]
    if left:
        fail(2, "zero_grads", f"after zero_grads the gradients are still {left}; expected None or zeros.",
             f"zero_grads 之后梯度仍为 {left}；应为 None 或全零。", pitfall="no-zero-grad")


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
    _run(autograd, "zero_grads", "zero_grads(model parameters)", "zero_grads(模型参数)", params)
    _backward_once(model)
    if any(p.grad is None or not torch.allclose(p.grad, g) for p, g in zip(params, once)):
        worst = max((p.grad - g).abs().max().item() if p.grad is not None else float("inf")
                    for p, g in zip(params, once))
        fail(2, "zero_grads", f"backward, zero_grads(params), backward left gradients that differ from one "
             f"backward's by up to {worst:.3g} (they added up); expected zero_grads to clear them.",
             f"执行 backward、zero_grads(params)、再 backward 后，梯度与只做一次 backward 相差最多 {worst:.3g}"
             "（被累加了）；zero_grads 应把它们清零。", pitfall="no-zero-grad")


def test_zero_grads_accepts_parameters_without_grad(autograd):
    """Check that a parameter whose .grad is still None (never used) is fine, and the others get cleared."""
    used, unused = torch.ones(3, requires_grad=True), torch.ones(2, requires_grad=True)
    (used * 4).sum().backward()
    _run(autograd, "zero_grads", "zero_grads([used, unused]) where unused.grad is None",
         "zero_grads([used, unused])（其中 unused.grad 为 None）", [used, unused],
         hint=("a parameter that took part in no backward has .grad None: skip it (if p.grad is not None).",
               "没参与过 backward 的参数 .grad 为 None：跳过它（if p.grad is not None）。"))
    if used.grad is not None and bool(used.grad.any()) or unused.grad is not None and bool(unused.grad.any()):
        fail(2, "zero_grads", f"after zero_grads([used, unused]) the gradients are {describe(used.grad)} and "
             f"{describe(unused.grad)}; expected None or zeros.", f"zero_grads([used, unused]) 之后梯度为 "
             f"{describe(used.grad)} 和 {describe(unused.grad)}；应为 None 或全零。", pitfall="no-zero-grad")


def test_zero_grads_leaves_parameter_values_alone(autograd):
    """Check that zero_grads clears .grad only: the parameters keep their values and stay leaves that require grad."""
    model, params = _model_params(22)
    before = [p.detach().clone() for p in params]
    _backward_once(model, 23)
    _run(autograd, "zero_grads", "zero_grads(model parameters)", "zero_grads(模型参数)", params)
    if any(not torch.equal(p.detach(), old) or not p.requires_grad or not p.is_leaf for p, old in zip(params, before)):
        fail(2, "zero_grads", "zero_grads(params) changed the parameters themselves (their values or "
             "requires_grad); expected only their .grad cleared.", "zero_grads(params) 修改了参数本身（数值或 "
             "requires_grad）；应只清除它们的 .grad。", "clear p.grad (p.grad.zero_() or p.grad = None), never p.",
             "清除的是 p.grad（p.grad.zero_() 或 p.grad = None），而不是 p。")
    left = [describe(p.grad) for p in params if p.grad is not None and bool(p.grad.any())]
    if left:
        fail(2, "zero_grads", f"after zero_grads on a model's parameters the gradients are still {left[:2]}; "
             "expected None or zeros.", f"对模型参数调用 zero_grads 后梯度仍为 {left[:2]}；应为 None 或全零。",
             pitfall="no-zero-grad")
### END HIDDEN TESTS


_SGD_HINT = ("update in place inside `with torch.no_grad():` so the step is not part of the graph.",
             "在 `with torch.no_grad():` 中原地更新，这样这一步不会进入计算图。")


def test_sgd_step_updates_without_recording(autograd):
    """Check that sgd_step does p -= lr * p.grad and keeps p a leaf outside the graph."""
    p = torch.tensor([1.0, -2.0], requires_grad=True)
    (p**2).sum().backward()  # grad = 2p
    expected = p.detach() - 0.1 * p.grad
    _run(autograd, "sgd_step", "sgd_step([p], 0.1)", "sgd_step([p], 0.1)", [p], 0.1, hint=_SGD_HINT)
    if not torch.allclose(p.detach(), expected) or p.grad_fn is not None or not p.requires_grad:
        shown = ", ".join(f"{v:.4g}" for v in expected.tolist())
        fail(2, "sgd_step", f"sgd_step([p], 0.1) left p = {describe(p)} (grad_fn {p.grad_fn}); expected values "
             f"[{shown}], still a leaf that requires grad.",
             f"sgd_step([p], 0.1) 之后 p = {describe(p)}；应为 [{shown}]，并且仍是需要梯度的叶子张量。",
             *_SGD_HINT)


### BEGIN HIDDEN TESTS
@pytest.mark.parametrize("lr", [0.5, 1e-3])
def test_sgd_step_on_several_parameters(autograd, lr):
    """Check sgd_step on a model's weights and biases: p - lr * p.grad (with tolerance), in place, still leaves."""
    model, params = _model_params(24)
    _backward_once(model, 25)
    expected = [(p.detach() - lr * p.grad).clone() for p in params]
    ids = [id(p) for p in params]
    _run(autograd, "sgd_step", f"sgd_step(model parameters, {lr})", f"sgd_step(模型参数, {lr})", params, lr,
         hint=_SGD_HINT)
    same_objects = [id(p) for p in model.parameters()] == ids
    wrong = [describe(p) for p, e in zip(model.parameters(), expected)
             if not torch.allclose(p.detach(), e, rtol=1e-5, atol=1e-7)]
    outside = [p for p in model.parameters() if p.grad_fn is not None or not p.is_leaf or not p.requires_grad]
    if wrong or outside or not same_objects:
        fail(2, "sgd_step", f"sgd_step(model parameters, {lr}): "
             f"{len(wrong)} of {len(params)} parameters hold wrong values (e.g. {wrong[:1]}), "
             f"{len(outside)} are no longer leaves that require grad; expected each p updated in place to "
             "p - lr * p.grad, still a leaf.", f"sgd_step(模型参数, {lr})：{len(params)} 个参数中有 {len(wrong)} "
             f"个数值不对，{len(outside)} 个不再是需要梯度的叶子张量；每个 p 都应原地更新为 p - lr * p.grad，并仍是叶子张量。",
             *_SGD_HINT)


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
        return w.detach(), b.detach()

    def reference(params):
        with torch.no_grad():
            for p in params:
                p -= 0.1 * p.grad

    expected_w, expected_b = run(reference)
    try:
        got_w, got_b = run(lambda params: _run(autograd, "sgd_step", "sgd_step([w, b], 0.1) in a training loop",
                                               "训练循环中的 sgd_step([w, b], 0.1)", params, 0.1, hint=_SGD_HINT))
    except NotImplementedError:
        raise
    except RuntimeError as error:  # the loop's own backward fails when sgd_step put w into the graph
        fail(2, "sgd_step", f"after sgd_step the next backward of a training loop raised {type(error).__name__}: "
             f"{str(error)[:200]}; expected the update to stay out of the graph.", "sgd_step 之后，训练循环的下一次 "
             f"backward 抛出 {type(error).__name__}；更新不应进入计算图。", *_SGD_HINT)
    if not torch.allclose(got_w, expected_w, rtol=1e-5, atol=1e-6) or not torch.allclose(got_b, expected_b,
                                                                                        rtol=1e-5, atol=1e-6):
        fail(2, "sgd_step", f"three steps of a training loop with sgd_step(lr 0.1) gave w {describe(got_w)} and b "
             f"{describe(got_b)}; these differ from p -= 0.1 * p.grad under torch.no_grad() on the same loop by up to "
             f"{(got_w - expected_w).abs().max().item():.3g}.", "用 sgd_step(lr 0.1) 训练三步得到的 w 和 b 与 "
             "在 torch.no_grad() 下执行 p -= 0.1 * p.grad 的同一循环结果不同。", *_SGD_HINT)
### END HIDDEN TESTS


def _check_accumulated(autograd, x, times):
    """accumulated_grad(x, times) must be the 0-dim tensor times * 4x, with the caller's x untouched."""
    shown = f"torch.tensor({x.item()!r}{', requires_grad=True' if x.requires_grad else ''})" \
        if isinstance(x, torch.Tensor) else repr(x)
    call = f"accumulated_grad({shown}, {times})"
    snapshot = (x.detach().clone(), x.requires_grad, x.grad) if isinstance(x, torch.Tensor) else None
    result, spy = _run(autograd, "accumulated_grad", call, call, x, times)
    t = torch.tensor(float(x.detach()) if isinstance(x, torch.Tensor) else float(x), requires_grad=True)
    y = 2 * t**2
    for _ in range(times):
        y.backward(retain_graph=True)
    if not isinstance(result, torch.Tensor) or result.dim() != 0 \
            or abs(result.item() - t.grad.item()) > 1e-5 * max(1.0, abs(t.grad.item())):
        fail(2, "accumulated_grad", f"{call} returned {describe(result)}; expected a 0-dim tensor equal to "
             f"{times} backward passes' worth of d(2x²)/dx, accumulated in x.grad.", f"{call} 返回 {describe(result)}；"
             f"应为 0 维张量，等于 {times} 次 backward 在 x.grad 中累加的 d(2x²)/dx。",
             "one graph y = 2 * x**2, then y.backward(retain_graph=True) `times` times, then return x.grad.",
             "只建一个计算图 y = 2 * x**2，调用 `times` 次 y.backward(retain_graph=True)，返回 x.grad。")
    if snapshot is not None and (not torch.equal(x.detach(), snapshot[0]) or x.requires_grad != snapshot[1]
                                 or x.grad is not snapshot[2]):
        fail(2, "accumulated_grad", f"{call} changed the caller's tensor x (its value, requires_grad or .grad); "
             "expected it untouched.", f"{call} 修改了调用者的张量 x（数值、requires_grad 或 .grad）；不应修改它。",
             "work on a copy: t = torch.as_tensor(x, dtype=torch.float32).detach().clone().requires_grad_(True).",
             "在副本上计算：t = torch.as_tensor(x, dtype=torch.float32).detach().clone().requires_grad_(True)。")
    return result, spy


@pytest.mark.parametrize("times", [1, 3])
def test_accumulated_grad_adds_up(autograd, times):
    """Check that `times` backward calls on one graph accumulate to times * 4x."""
    _check_accumulated(autograd, torch.tensor(3.0), times)


### BEGIN HIDDEN TESTS
@pytest.mark.parametrize("x, times", [(3.0, 2), (-1.25, 5), (torch.tensor(2.0), 1), (torch.tensor(-0.5), 4),
                                      (0.0, 3)], ids=["float-2", "float-5", "tensor-1", "tensor-4", "zero-3"])
def test_accumulated_grad_on_floats_and_tensors(autograd, x, times):
    """Check accumulated_grad for float and 0-dim tensor inputs and several `times` against torch."""
    _check_accumulated(autograd, x.clone() if isinstance(x, torch.Tensor) else x, times)


def test_accumulated_grad_leaves_a_tensor_that_requires_grad_untouched(autograd):
    """Check a caller's 0-dim tensor that requires grad: it gets no .grad and keeps requires_grad."""
    _check_accumulated(autograd, torch.tensor(1.5, requires_grad=True), 3)


def test_accumulated_grad_runs_times_backward_passes(autograd):
    """Check that accumulated_grad(x, 4) runs 4 backward passes, the accumulation being the point."""
    _, spy = _check_accumulated(autograd, 2.5, 4)
    if len(spy.calls) != 4:
        fail(2, "accumulated_grad", f"accumulated_grad(2.5, 4) ran {len(spy.calls)} backward passes; expected 4 "
             "(x.grad adds up across them).", f"accumulated_grad(2.5, 4) 执行了 {len(spy.calls)} 次反向传播；"
             "应为 4 次（x.grad 会在多次之间累加）。", "call y.backward(retain_graph=True) in a loop `times` times.",
             "在循环中调用 `times` 次 y.backward(retain_graph=True)。")
### END HIDDEN TESTS
