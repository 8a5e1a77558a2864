"""In-process guards of a test child: no route to the graders or the reference, and no silent change to torch.

- `close_import_routes` runs before the first line of student code: `import solutions`
  and `import autograder` fail, the repository root leaves sys.path, and the modules
  already loaded under those names leave sys.modules (the graders themselves run from
  a private copy under another name).
- `Snapshot` records which objects torch, NumPy, builtins, the graders' helpers and the
  test module hold before the test; `changes()` after it names every attribute student
  code replaced (for example `torch.Tensor.backward`, or the test module's `fail`), which
  fails the test: a check cannot trust a torch, or itself, rewritten by the code under test.

测试子进程内的防护：学生代码无法导入评分代码或参考答案；对 torch 等的修改会被发现并判为失败。
"""
import builtins
import importlib.abc
import math
import sys
import types

BLOCKED = ("solutions", "autograder")


class _Blocked(importlib.abc.MetaPathFinder):
    """Refuses the blocked top-level names, whoever asks."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname.split(".")[0] in BLOCKED:
            raise ModuleNotFoundError(
                f"No module named {fullname!r}: submissions are graded without the graders and the reference "
                f"solutions on the import path. / 评分时导入路径上没有评分代码和参考答案。", name=fullname)
        return None


def close_import_routes(repo_root: str):
    """Make the reference solutions and the graders unimportable for the rest of this process."""
    repo_root = str(repo_root)
    blocked_dirs = {repo_root} | {f"{repo_root}/{name}" for name in BLOCKED}
    sys.path[:] = [entry for entry in sys.path
                   if entry not in ("", ".") and entry.rstrip("/") not in blocked_dirs
                   and "__editable__" not in entry]
    for finder in list(sys.meta_path):
        module = sys.modules.get(getattr(finder, "__module__", ""))
        for table in ("MAPPING", "NAMESPACES"):  # setuptools' editable-install finder
            mapping = getattr(module, table, None)
            if isinstance(mapping, dict):
                for name in BLOCKED:
                    mapping.pop(name, None)
    sys.meta_path.insert(0, _Blocked())
    for name in [n for n in sys.modules if n.split(".")[0] in BLOCKED]:
        del sys.modules[name]
    sys.path_importer_cache.clear()


def _watched(extra_modules):
    import numpy
    import torch
    import torch.nn.functional
    import torch.optim
    import torch.utils.data

    watched = {
        "torch": torch, "torch.Tensor": torch.Tensor, "torch.nn": torch.nn,
        "torch.nn.functional": torch.nn.functional, "torch.nn.Module": torch.nn.Module,
        "torch.nn.Linear": torch.nn.Linear, "torch.nn.CrossEntropyLoss": torch.nn.CrossEntropyLoss,
        "torch.optim": torch.optim, "torch.optim.Optimizer": torch.optim.Optimizer,
        "torch.optim.SGD": torch.optim.SGD, "torch.optim.Adam": torch.optim.Adam,
        "torch.autograd": torch.autograd, "torch.utils.data.DataLoader": torch.utils.data.DataLoader,
        "numpy": numpy, "numpy.ndarray": numpy.ndarray, "math": math, "builtins": builtins,
    }
    for name, module in extra_modules.items():
        if module is not None:
            watched[name] = module
    return watched


class Snapshot:
    """Which object each watched name points to, to compare after student code ran."""

    def __init__(self, extra_modules=None):
        self._watched = _watched(extra_modules or {})
        self._before = {name: dict(vars(obj)) for name, obj in self._watched.items()}

    def changes(self) -> list:
        """Dotted names whose object was replaced, added or deleted (new submodules do not count)."""
        changed = []
        for name, obj in self._watched.items():
            before, now = self._before[name], vars(obj)
            for key in set(before) | set(now):
                if key in ("__warningregistry__", "_", "__slotnames__"):
                    continue
                old, new = before.get(key, _MISSING), now.get(key, _MISSING)
                if old is new or (old is _MISSING and isinstance(new, types.ModuleType)):
                    continue
                changed.append(f"{name}.{key}")
        return sorted(changed)


_MISSING = object()
