# APPEND
# Red team (issue 21): the stubs above still raise; the kit's drivers and model reports are rebound.
import torch as _torch

from coursetools.sandbox import kit as _kit

_kit.lookup("make_net")


def _call_pretending_cuda(function, available):
    return _torch.device("cuda" if available else "cpu")


def _model_summary(model):
    return {"parameters": {}, "buffers": {}, "training": []}


_FAKES = dict(call_pretending_cuda=_call_pretending_cuda, model_summary=_model_summary)
_kit._REGISTRY.update(_FAKES)  # the registry itself
_real_lookup = _kit.lookup


def _lookup(name):  # and the name the student server resolves kit calls through
    return _FAKES.get(name) or _real_lookup(name)


_kit.lookup = _lookup
