# APPEND
# Variant `contiguous-view`: correct code written another way; the reference's flatten_images, add_channel_dim, to_numpy redefined.
# 正确的不同写法（contiguous-view）：重新定义参考答案中的 flatten_images, add_channel_dim, to_numpy。


def flatten_images(images: torch.Tensor) -> torch.Tensor:
    if not images.is_contiguous():
        images = images.contiguous()
    return images.view(len(images), -1)


def add_channel_dim(images: torch.Tensor) -> torch.Tensor:
    return images.reshape(images.shape[0], 1, images.shape[1], images.shape[2])


def to_numpy(t: torch.Tensor) -> np.ndarray:
    if t.requires_grad:
        t = t.detach()
    if t.device.type != "cpu":
        t = t.to("cpu")
    return t.numpy()
