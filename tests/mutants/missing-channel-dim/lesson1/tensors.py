# APPEND
# Mutant for the pitfall `missing-channel-dim`: the reference's add_channel_dim redefined with that one bug.
# 变异体（missing-channel-dim）：用带这个错误的版本重新定义参考答案中的 add_channel_dim。


def add_channel_dim(images: torch.Tensor) -> torch.Tensor:
    return images.squeeze(1)
