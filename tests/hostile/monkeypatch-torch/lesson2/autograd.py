# APPEND
# Hostile case: replacing torch.Tensor.backward at import. / 恶意用例：导入时替换 torch.Tensor.backward。


def _no_backward(self, gradient=None, retain_graph=None, create_graph=False, inputs=None):
    return None


torch.Tensor.backward = _no_backward
