"""Kit functions of lesson 1 (tensors): what must happen next to the student's code.

Shared memory with a NumPy array, a tensor in a graph and a non-CPU tensor (a meta-device
stand-in for CUDA, under a TorchFunctionMode) exist only where they were made,
so these calls are made here and what they give back is data the trusted side checks.
What they *observe* (does the array see a write through the tensor, is `y` still in the
graph) may only fail a test, never pass one.

第 1 课的工具：共享内存、计算图中的张量和非 CPU 张量只能在学生进程中构建；
这里只返回数据，由可信一侧检查；观察结果只能用来判定失败。
"""
import torch
from torch.overrides import TorchFunctionMode

from coursetools.sandbox.kit import kit


def _number(value):
    return value.item() if hasattr(value, "item") else value


@kit
def share_probe(function, array, write_array=None, write_tensor=None):
    """Call `function(array)`; then write through the array and through the result, and read the other side.

    `write_array` / `write_tensor` are `(index, value)`. Returns `{"result": the result as it was
    returned (a copy), "tensor_reads": result[index] after array[index] = value, "array_reads":
    array[index] after result[index] = value}` (None where it could not be read).
    """
    result = function(array)
    if not isinstance(result, torch.Tensor):
        return {"result": result, "tensor_reads": None, "array_reads": None}
    report = {"result": result.detach().clone(), "tensor_reads": None, "array_reads": None}
    try:
        if write_array is not None:
            index, value = write_array
            array[index] = value
            report["tensor_reads"] = _number(result.detach()[index].cpu())
        if write_tensor is not None:
            index, value = write_tensor
            with torch.no_grad():
                result[index] = value
            report["array_reads"] = _number(array[index])
    except Exception:  # a result of another shape or device: the trusted side already sees that in "result"
        pass
    return report


class NonCpuStandIn(TorchFunctionMode):
    """A `meta` tensor that behaves like a CUDA tensor holding `data`, while the mode is on.

    A meta tensor has no data, so copying it to the CPU would fail. Here every operation on
    it is also run on `data` (a CPU copy): where the meta result is a tensor, the two are
    paired; where the meta device cannot give data (.cpu(), .to("cpu"), .tolist()), the CPU
    result is returned, as a GPU would give. `.numpy()` on it raises, as on CUDA.
    """

    def __init__(self, data: torch.Tensor):
        super().__init__()
        self.tensor = torch.empty(data.shape, dtype=data.dtype, device="meta").requires_grad_(data.requires_grad)
        self._pairs = {id(self.tensor): (self.tensor, data)}  # id -> (meta tensor kept alive, its CPU data)

    def _tracked(self, value) -> bool:
        if isinstance(value, torch.Tensor):
            return id(value) in self._pairs
        if isinstance(value, (list, tuple)):
            return any(self._tracked(v) for v in value)
        if isinstance(value, dict):
            return any(self._tracked(v) for v in value.values())
        return False

    def _on_cpu(self, value):
        if isinstance(value, torch.Tensor) and id(value) in self._pairs:
            return self._pairs[id(value)][1]
        if isinstance(value, (list, tuple)):
            return type(value)(self._on_cpu(v) for v in value)
        if isinstance(value, dict):
            return {k: self._on_cpu(v) for k, v in value.items()}
        return value

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if not self._tracked((args, kwargs)):
            return func(*args, **kwargs)
        if func in (torch.Tensor.numpy, torch.Tensor.__array__) and not kwargs.get("force", False):
            raise TypeError("can't convert meta device type tensor (the grader's stand-in for a cuda:0 tensor) to "
                            "numpy. Use Tensor.cpu() to copy the tensor to host memory first.")
        on_cpu = func(*self._on_cpu(args), **self._on_cpu(kwargs))
        try:
            out = func(*args, **kwargs)
        except NotImplementedError:  # "Cannot copy out of meta tensor": the data leaves the device
            return on_cpu
        if isinstance(out, torch.Tensor) and out.device.type == "meta" and isinstance(on_cpu, torch.Tensor):
            self._pairs[id(out)] = (out, on_cpu)
        return out


@kit
def call_on_non_cpu(function, data):
    """`function(t)` where `t` stands in for a CUDA tensor holding `data` (NonCpuStandIn); returns the result."""
    stand_in = NonCpuStandIn(data)  # `data` keeps its requires_grad: t.cpu().numpy() fails as on CUDA
    with stand_in:
        return function(stand_in.tensor)


@kit
def call_mid_graph(function, w, factor):
    """`function(y)` with `y = w * factor` in the graph; then `y.sum().backward()` (w.grad comes back with w).

    Returns {"result": what function gave, "in_graph": y still requires grad and has a grad_fn,
    "backward": None or the error backward raised}.
    """
    y = w * factor
    result = function(y)
    report = {"result": result, "in_graph": bool(y.requires_grad and y.grad_fn is not None), "backward": None}
    if report["in_graph"]:
        try:
            y.sum().backward()
        except Exception as error:
            report["backward"] = f"{type(error).__name__}: {error}"[:200]
    return report
