# APPEND
# Variant `transforms-v2`: torchvision's transforms.v2 (ToImage, ToDtype(float32, scale=True), Normalize), which
# return tv_tensors.Image (a torch.Tensor subclass); load_mnist built on it.
# 正确的不同写法：torchvision 的 transforms.v2（返回 tv_tensors.Image，它是 torch.Tensor 的子类）；load_mnist 基于它。
from torchvision.transforms import v2


def mnist_transform():
    return v2.Compose([
        v2.ToImage(),
        v2.ToDtype(torch.float32, scale=True),
        v2.Normalize([MNIST_MEAN], [MNIST_STD]),
    ])


def load_mnist(root, train: bool, transform=None):
    return datasets.MNIST(root, train=train, transform=transform if transform is not None else mnist_transform(),
                          download=False)
