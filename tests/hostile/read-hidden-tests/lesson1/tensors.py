# APPEND
# Hostile case: read the hidden tests and import the reference; fail loudly if any of it works.
# 恶意用例：读取隐藏测试、导入参考答案；只要有一项成功就报错。
import importlib as _importlib
import inspect as _inspect
import sys as _sys

_scalar_tensor = scalar_tensor


def _leaks():
    import coursetools

    leaks = []
    caller = _sys._getframe(2)
    candidates = [coursetools.REPO_ROOT / "autograder" / "lesson1" / "test_tensors.py",
                  coursetools.REPO_ROOT / "solutions" / "lesson1" / "tensors.py", caller.f_code.co_filename]
    for path in candidates:
        try:
            with open(path, encoding="utf-8") as file:
                text = file.read()
                if "def test_" in text or "BEGIN SOLUTION" in text:
                    leaks.append(f"read {path}")
        except OSError:
            pass
    try:
        if "def test_" in _inspect.getsource(caller):
            leaks.append("inspect.getsource of the test")
    except (OSError, TypeError):
        pass
    for name in ("solutions.lesson1.tensors", "autograder", "autograder.lesson1.test_tensors"):
        try:
            _importlib.import_module(name)
            leaks.append(f"import {name}")
        except ImportError:
            pass
    return leaks


def scalar_tensor(value):
    leaks = _leaks()
    if leaks:
        raise RuntimeError("LEAKED: " + "; ".join(leaks))
    return _scalar_tensor(value)
