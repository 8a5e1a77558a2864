# APPEND
# Mutant for the pitfall `view-non-contiguous`: the reference's flatten_images redefined with that one bug.
# 变异体（view-non-contiguous）：用带这个错误的版本重新定义参考答案中的 flatten_images。


def flatten_images(images: torch.Tensor) -> torch.Tensor:
    return images.view(images.shape[0], -1)
