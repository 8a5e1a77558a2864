# APPEND
# Red team: make every comparison say "equal" while the call runs, and restore it before returning.
# 红队：调用期间让所有比较都返回“相等”，返回前再恢复。
import numpy as _np
import torch as _torch


def _lying(function):
    def wrapper(*args, **kwargs):
        saved = (_torch.equal, _torch.allclose, _np.array_equal, _torch.Tensor.__eq__)
        _torch.equal = lambda *a, **k: True
        _torch.allclose = lambda *a, **k: True
        _np.array_equal = lambda *a, **k: True
        try:
            return function(*args, **kwargs)
        finally:
            _torch.equal, _torch.allclose, _np.array_equal, _torch.Tensor.__eq__ = saved
    return wrapper


for _name in ["scalar_tensor", "vector_from_list", "matrix_from_numpy", "filled", "flatten_images", "add_channel_dim",
              "multiply", "to_device", "to_numpy"]:
    globals()[_name] = _lying(globals()[_name])
