# APPEND
# Red team (issue 21): every lesson function above is still the stub that raises NotImplementedError. On import,
# this file rebinds the course kit's drivers in its own process so that each returns what a right answer would
# look like, computed from the data the trusted side sent, without calling the student's function at all.
import numpy as _np
import torch as _torch

from coursetools.sandbox import kit as _kit

_kit.lookup("make_net")  # load every kit module, then overwrite the entries


def _share_probe(function, array, write_array=None, write_tensor=None):
    report = {"result": _torch.from_numpy(_np.array(array)), "tensor_reads": None, "array_reads": None}
    if write_array is not None:
        report["tensor_reads"] = write_array[1]
        array[write_array[0]] = write_array[1]
    if write_tensor is not None:
        report["array_reads"] = write_tensor[1]
    return report


def _call_on_non_cpu(function, data):
    return data.detach().numpy()


def _call_mid_graph(function, w, factor):
    y = w * factor
    y.sum().backward()
    return {"result": y.detach().numpy(), "in_graph": True, "backward": None}


_FAKES = dict(share_probe=_share_probe, call_on_non_cpu=_call_on_non_cpu, call_mid_graph=_call_mid_graph)
_kit._REGISTRY.update(_FAKES)  # the registry itself
_real_lookup = _kit.lookup


def _lookup(name):  # and the name the student server resolves kit calls through
    return _FAKES.get(name) or _real_lookup(name)


_kit.lookup = _lookup
