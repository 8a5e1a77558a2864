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
    """`meta` tensors that behave like CUDA tensors holding data, while the mode is on.

    A meta tensor has no data, so copying it to the CPU would fail. Here every operation on a
    tracked meta tensor is also run on its CPU twin: where the meta result is a tensor, the two
    are paired; where the meta device cannot give data (.cpu(), .to("cpu"), .tolist(), .item()),
    the CPU result is returned, as a GPU would give. `.numpy()` on it raises, as on CUDA. A
    tensor sent to the device (`.to(device)`, `torch.zeros(..., device=device)`) and a model's
    weights (`adopt`) get a twin too, and `torch.autocast("meta")` is autocast switched off
    (CUDA code's `torch.autocast(device.type)` runs; the probe checks places, not dtypes).
    """

    def __init__(self, data: torch.Tensor = None):
        super().__init__()
        self._pairs = {}  # id -> (meta tensor kept alive, its CPU data)
        if data is not None:
            self.tensor = torch.empty(data.shape, dtype=data.dtype, device="meta").requires_grad_(data.requires_grad)
            self._pairs[id(self.tensor)] = (self.tensor, data)

    def adopt(self, model: torch.nn.Module) -> torch.nn.Module:
        """Move `model` to the meta device, each weight and buffer paired with a CPU copy of its values."""
        before = {name: t.detach().clone() for name, t in [*model.named_parameters(), *model.named_buffers()]}
        model.to("meta")
        for name, t in [*model.named_parameters(), *model.named_buffers()]:
            if name in before:
                self._pairs[id(t)] = (t, before[name])
        return model

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
        if isinstance(value, torch.device) and value.type == "meta" or isinstance(value, str) and value == "meta":
            return torch.device("cpu")
        if isinstance(value, (list, tuple)):
            return type(value)(self._on_cpu(v) for v in value)
        if isinstance(value, dict):
            return {k: self._on_cpu(v) for k, v in value.items()}
        return value

    def _pair(self, out, on_cpu):
        if isinstance(out, torch.Tensor) and out.device.type == "meta" and isinstance(on_cpu, torch.Tensor) \
                and on_cpu.device.type == "cpu" and out.shape == on_cpu.shape:
            self._pairs[id(out)] = (out, on_cpu)
        elif isinstance(out, (list, tuple)) and isinstance(on_cpu, (list, tuple)) and len(out) == len(on_cpu):
            for a, b in zip(out, on_cpu):
                self._pair(a, b)

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if not self._tracked((args, kwargs)):
            out = func(*args, **kwargs)
            if isinstance(out, torch.Tensor) and out.device.type == "meta" and id(out) not in self._pairs:
                try:  # sent to the device or made there: its twin is the same call on the CPU
                    self._pair(out, func(*self._on_cpu(args), **self._on_cpu(kwargs)))
                except Exception:
                    pass
            return out
        if func in (torch.Tensor.numpy, torch.Tensor.__array__) and not kwargs.get("force", False):
            raise TypeError("can't convert meta device type tensor (the grader's stand-in for a cuda:0 tensor) to "
                            "numpy. Use Tensor.cpu() to copy the tensor to host memory first.")
        try:
            on_cpu = func(*self._on_cpu(args), **self._on_cpu(kwargs))
        except Exception:  # a tensor without a twin (a gradient): only the meta result can be given
            on_cpu = None
        try:
            out = func(*args, **kwargs)
        except (NotImplementedError, RuntimeError) as error:  # "Cannot copy out of meta tensor", ".item() cannot
            if on_cpu is None or "meta" not in str(error):     # be called on meta tensors": the data leaves the device
                raise
            return on_cpu
        self._pair(out, on_cpu)
        return out

    def __enter__(self):
        _AUTOCAST_OFF_ON_META.append(True)
        return super().__enter__()

    def __exit__(self, *exc):
        _AUTOCAST_OFF_ON_META.pop()
        return super().__exit__(*exc)


_AUTOCAST_OFF_ON_META = []  # non-empty while a stand-in is on
_autocast_init = torch.amp.autocast_mode.autocast.__init__


def _autocast_init_meta(self, device_type, *args, **kwargs):
    if _AUTOCAST_OFF_ON_META and str(device_type) == "meta":
        return _autocast_init(self, "cpu", enabled=False)
    return _autocast_init(self, device_type, *args, **kwargs)


torch.amp.autocast_mode.autocast.__init__ = _autocast_init_meta


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
