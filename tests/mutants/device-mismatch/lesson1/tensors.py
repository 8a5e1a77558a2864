# APPEND
# Mutant for the pitfall `device-mismatch`: the reference's to_device redefined with that one bug
# (.cuda() hard-coded where a device was given).
# 变异体（device-mismatch）：用带这个错误的版本重新定义参考答案中的 to_device（在给定 device 的地方写死了 .cuda()）。


def to_device(t: torch.Tensor, device) -> torch.Tensor:
    return t.cuda()
