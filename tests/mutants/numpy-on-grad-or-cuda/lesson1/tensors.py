# APPEND
# Mutant for the pitfall `numpy-on-grad-or-cuda`: the reference's to_numpy redefined with that one bug.
# 变异体（numpy-on-grad-or-cuda）：用带这个错误的版本重新定义参考答案中的 to_numpy。


def to_numpy(t: torch.Tensor) -> np.ndarray:
    return t.detach().numpy()
