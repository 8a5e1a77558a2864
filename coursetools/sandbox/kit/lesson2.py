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
