"""Kit functions for lesson 2 (autograd): what must watch the autograd graph next to the student code.

The graph does not cross the boundary (a tensor arrives as a leaf), so whatever needs a live
graph is observed here. What these report can only name a pitfall or fail a check; the points
come from values the trusted side checks against torch.

第 2 课的工具：计算图不会跨越边界，所以需要观察计算图的内容在学生一侧完成。
它们报告的内容只能用来指出错误或判为不通过，分数来自可信一侧核对过的数值。
"""
import torch
from torch.overrides import TorchFunctionMode

from coursetools.sandbox.kit import kit


class BackwardSpy(TorchFunctionMode):
    """Records each backward pass started during `run`: Tensor.backward, torch.autograd.backward or .grad."""

    def __init__(self):
        super().__init__()
        self.calls = []  # one [non_scalar, retain_graph, raised] per backward pass

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if func is torch.Tensor.backward:
            outputs, seeds = args[0], args[1] if len(args) > 1 else kwargs.get("gradient")
            retain = args[2] if len(args) > 2 else kwargs.get("retain_graph")
        elif func is torch.autograd.backward:
            outputs, seeds = args[0] if args else kwargs.get("tensors"), \
                args[1] if len(args) > 1 else kwargs.get("grad_tensors")
            retain = args[2] if len(args) > 2 else kwargs.get("retain_graph")
        elif func is torch.autograd.grad:
            outputs, seeds = args[0] if args else kwargs.get("outputs"), \
                args[2] if len(args) > 2 else kwargs.get("grad_outputs")
            retain = args[3] if len(args) > 3 else kwargs.get("retain_graph")
        else:
            return func(*args, **kwargs)
        outputs = [outputs] if isinstance(outputs, torch.Tensor) else list(outputs)
        call = [seeds is None and any(o.numel() != 1 for o in outputs), bool(retain), False]
        self.calls.append(call)
        try:
            return func(*args, **kwargs)
        except Exception:
            call[2] = True
            raise

    def run(self, function, *args):
        """`function(*args)` with this spy on."""
        with self:
            return function(*args)

    def report(self):
        """[[non_scalar, retain_graph, raised], ...], one per backward pass, in order."""
        return [list(call) for call in self.calls]


@kit
def backward_spy():
    """A BackwardSpy: `spy.run(function, *args)` calls student code under it, `spy.report()` tells what it saw."""
    return BackwardSpy()


@kit
def step_outcome(sgd_step, values, grads, lr):
    """Call `sgd_step` on leaf tensors made here (`values`, each with `.grad` from `grads`) and report, per
    tensor, what does not cross the boundary: [is_leaf, the name of its grad_fn or None]."""
    params = [v.detach().clone().requires_grad_(True) for v in values]
    for p, g in zip(params, grads):
        p.grad = g.detach().clone()
    sgd_step(params, lr)
    return [[bool(p.is_leaf), type(p.grad_fn).__name__ if p.grad_fn is not None else None] for p in params]


class _WatchedGrad(torch.Tensor):
    """A `.grad` that notes which in-place clearing methods were looked up on it (called or not)."""

    named = []
    _CLEARING = ("zero_", "fill_", "mul_", "sub_", "copy_", "detach_")

    def __getattribute__(self, name):
        if name in _WatchedGrad._CLEARING:
            _WatchedGrad.named.append(name)
        return super().__getattribute__(name)


@kit
def zero_grads_probe(zero_grads, grads):
    """Call `zero_grads` on fresh leaves whose `.grad` are `grads` (watched); report what it did to them.

    Returns {"named": the clearing methods (zero_, fill_, ...) looked up on a .grad, "unchanged": every
    .grad is still the same tensor holding the same values}. A method looked up but nothing changed is a
    method named without its parentheses (`p.grad.zero_`). What this reports can only explain a failure.
    """
    params = []
    for g in grads:
        p = torch.zeros_like(g).requires_grad_(True)
        p.grad = g.detach().clone().as_subclass(_WatchedGrad)
        params.append(p)
    before = [(p.grad, p.grad.detach().clone()) for p in params]
    _WatchedGrad.named = []
    try:
        zero_grads(params)
    finally:
        named = sorted(set(_WatchedGrad.named))
        _WatchedGrad.named = []
    unchanged = all(p.grad is same and torch.equal(p.grad.as_subclass(torch.Tensor), values.as_subclass(torch.Tensor))
                    for p, (same, values) in zip(params, before))
    return {"named": named, "unchanged": bool(unchanged)}
