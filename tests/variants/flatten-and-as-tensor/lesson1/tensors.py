# APPEND
# Variant `flatten-and-as-tensor`: correct code written another way; the reference's scalar_tensor, vector_from_list, matrix_from_numpy, filled, flatten_images, add_channel_dim, multiply, to_device, to_numpy redefined.
# 正确的不同写法（flatten-and-as-tensor）：重新定义参考答案中的 scalar_tensor, vector_from_list, matrix_from_numpy, filled, flatten_images, add_channel_dim, multiply, to_device, to_numpy。


def scalar_tensor(value: float) -> torch.Tensor:
    return torch.tensor(float(value))


def vector_from_list(values: list) -> torch.Tensor:
    return torch.as_tensor(values)


def matrix_from_numpy(array: np.ndarray) -> torch.Tensor:
    return torch.as_tensor(array)


def filled(shape: tuple, kind: str) -> torch.Tensor:
    if kind == "zeros":
        return torch.full(shape, 0.0)
    elif kind == "ones":
        return torch.full(shape, 1.0)
    elif kind == "rand":
        return torch.empty(shape).uniform_(0, 1)
    raise ValueError("kind must be \"zeros\", \"ones\" or \"rand\", not " + repr(kind))


def flatten_images(images: torch.Tensor) -> torch.Tensor:
    return torch.flatten(images, 1)


def add_channel_dim(images: torch.Tensor) -> torch.Tensor:
    return images[:, None]


def multiply(a: torch.Tensor, b: torch.Tensor) -> tuple:
    return torch.mul(a, b), torch.matmul(a, b)


def to_device(t: torch.Tensor, device) -> torch.Tensor:
    return t.to(device=torch.device(device))


def to_numpy(t: torch.Tensor) -> np.ndarray:
    return t.numpy(force=True)
