"""The kit: what the trusted side may build *in the student process* to call student code with.

Fixtures that must live where student code runs (a network the student's loop trains,
batches of MNIST, an optimizer over the student's model, spies that watch call order
and modes) are made here by name, through `submission.kit.<name>(...)`. Kit code is
public course code, never the reference solutions and never expected values; what a
spy reports is only data the trusted side may use to *name* a pitfall or lower a
score, never to raise one.

`common.py` holds the shared kit functions, `lessonN.py` a lesson's own ones (where it has any);
register a function with `@kit`; a name belongs to one function across all of them.

工具箱：在学生进程中按名字构建调用学生代码所需的对象（网络、MNIST 批次、优化器、监视器）。
它们报告的内容只能用来指出错误或扣分，不能加分。
"""
import importlib
from types import MappingProxyType

from coursetools import LESSONS

_REGISTRY = {}
_LOADED = []
#: the registry once every kit module is loaded: read-only (defence in depth only; anything in the student process
#: can be patched, so what kit code reports may never pass a test: coursetools/checks/evidence.py)
_TABLE = []
_MODULES = ("common", *(f"lesson{n}" for n in LESSONS))  # a lesson without kit functions has no module


def kit(function):
    """Register `function` under its name (one name, one function, across every lesson's kit)."""
    if function.__name__ in _REGISTRY and _REGISTRY[function.__name__] is not function:
        raise ValueError(f"two kit functions are called {function.__name__!r}")
    _REGISTRY[function.__name__] = function
    return function


def lookup(name: str):
    if not _LOADED:
        _LOADED.append(True)
        for module in _MODULES:
            try:
                importlib.import_module(f"{__name__}.{module}")
            except ModuleNotFoundError as error:
                if error.name != f"{__name__}.{module}":
                    raise
        _TABLE.append(MappingProxyType(dict(_REGISTRY)))
    try:
        return _TABLE[0][name]
    except KeyError:
        raise LookupError(f"the course kit has no {name!r}") from None
