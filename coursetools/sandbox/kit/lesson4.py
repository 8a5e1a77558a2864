"""Kit functions for lesson 4 (models): models to count, and a model's parameters (with gradients) to check.

第 4 课的工具：构建供 count_parameters 统计的模型，读出模型的参数（及梯度）供可信一侧核对。
"""
from torch import nn

from coursetools.sandbox.kit import kit

#: the torch layers `layers()` may build (nothing else is constructed from a name sent by the trusted side)
_LAYERS = {name: getattr(nn, name) for name in ("Linear", "Conv2d", "BatchNorm1d", "BatchNorm2d", "ReLU", "Flatten",
                                                  "Dropout", "Sequential")}


@kit
def layers(specs, frozen=(), single=False):
    """nn.Sequential of `specs` ([["Linear", 4, 3], ["ReLU"], ...]); parameters named in `frozen` get
    requires_grad=False; `single` returns the one layer itself instead of a Sequential."""
    built = [_LAYERS[str(name)](*args) for name, *args in specs]
    model = built[0] if single else nn.Sequential(*built)
    named = dict(model.named_parameters())
    for name in frozen:
        named[name].requires_grad_(False)
    return model


@kit
def parameters_of(model, images=None, labels=None):
    """`dict(model.named_parameters())`; with `images` and `labels`, after one cross-entropy backward on them
    (gradients cleared first), so each parameter comes back with its `.grad`."""
    if images is not None:
        model.zero_grad(set_to_none=True)
        nn.functional.cross_entropy(model(images), labels).backward()
    return {name: param for name, param in model.named_parameters()}
