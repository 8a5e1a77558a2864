"""Kit functions for lesson 3 (datasets and loaders): transforms, datasets and loader passes
built next to the student's code, and PIL images turned into data the trusted side can check.

第 3 课（数据集与加载器）的工具：在学生代码旁构建变换、数据集，遍历加载器，
并把 PIL 图像变成可信一侧能检查的数据。
"""
import math
import socket
import time

import numpy as np
import torch
from PIL import Image
from torch.utils.data import TensorDataset

from coursetools.sandbox.kit import kit

MAX_BATCHES = 100_000  # a loader that never ends is cut here


_TRANSFORMS = ("ToTensor", "PILToTensor")


def _vision():
    """torchvision, imported when a lesson-3 kit function first needs it (other lessons' kits do not)."""
    from torchvision import datasets, transforms

    return datasets, transforms


@kit
def vision_transform(name):
    """A plain torchvision transform by name: ToTensor or PILToTensor."""
    if name not in _TRANSFORMS:
        raise ValueError(f"unknown transform {name!r}; known: {sorted(_TRANSFORMS)}")
    return getattr(_vision()[1], name)()


@kit
def transform_pixels(transform, pixels):
    """`transform(PIL image of the uint8 array pixels)`: (H, W) gives a grey image, (H, W, 3) an RGB one."""
    pixels = np.array(pixels, dtype=np.uint8, copy=True)
    return image_data(transform(Image.fromarray(pixels)))


@kit
def tensor_dataset(*tensors):
    """TensorDataset over tensors sent by the trusted side."""
    return TensorDataset(*tensors)


@kit
def mnist_dataset(root, train, transform="ToTensor"):
    """torchvision's MNIST `train` split under root with a plain transform (never downloads)."""
    datasets = _vision()[0]
    return datasets.MNIST(str(root), train=bool(train), transform=vision_transform(transform), download=False)


def image_data(image):
    """A PIL image as data: {"pil_mode", "size", "pixels"}; anything else unchanged."""
    if isinstance(image, Image.Image):
        return {"pil_mode": str(image.mode), "size": tuple(image.size), "pixels": np.array(image)}
    return image


def _item_data(item):
    if isinstance(item, (tuple, list)):
        return type(item)(image_data(part) for part in item)
    return image_data(item)


@kit
def dataset_items(dataset, indices):
    """[dataset[i] for i in indices], PIL images given as data (see image_data)."""
    return [_item_data(dataset[int(index)]) for index in indices]


@kit
def loader_pass(loader, field=0):
    """One pass over `loader`: (the size of every batch, batch[field] of all batches concatenated)."""
    sizes, parts = [], []
    for count, batch in enumerate(loader):
        if count >= MAX_BATCHES:
            raise ValueError(f"the loader gave more than {MAX_BATCHES} batches")
        part = batch[field]
        sizes.append(len(part))
        parts.append(torch.as_tensor(part))
    return sizes, torch.cat(parts) if parts else torch.empty(0, dtype=torch.long)


class RecordingTransform:
    """A transform that returns ("transformed", its call number, the image it got as data)."""

    def __init__(self):
        self.calls = 0

    def __call__(self, image):
        self.calls += 1
        return "transformed", self.calls, image_data(image)


@kit
def recording_transform():
    return RecordingTransform()


@kit
def item_times(datasets_, count=10, repeats=9):
    """Best time, in seconds, of reading the last `count` items of each dataset, measured in turns."""
    best = [math.inf] * len(datasets_)
    for _ in range(repeats):
        for which, dataset in enumerate(datasets_):
            start = time.perf_counter()
            for index in range(len(dataset) - count, len(dataset)):
                dataset[index]
            best[which] = min(best[which], time.perf_counter() - start)
    return best


class DownloadBlocker:
    """While it is active, MNIST downloads and network connections raise and are recorded in `attempts`."""

    def __init__(self):
        self.attempts = []
        datasets = _vision()[0]
        self.saved = [(datasets.MNIST, "download", datasets.MNIST.__dict__.get("download")),
                      (socket.socket, "connect", socket.socket.__dict__.get("connect")),
                      (socket, "create_connection", socket.__dict__.get("create_connection"))]
        datasets.MNIST.download = self._no_download
        socket.socket.connect = self._no_connect
        socket.create_connection = self._no_connect

    def _no_download(self, *args, **kwargs):
        self.attempts.append("download")
        raise RuntimeError("the grader blocks downloads")

    def _no_connect(self, *args, **kwargs):
        self.attempts.append("network")
        raise OSError("the grader blocks network access")

    def restore(self):
        """Undo the blocking; returns the attempts seen ("download", "network")."""
        for owner, name, original in self.saved:
            if original is None:
                if name in owner.__dict__:
                    delattr(owner, name)
            else:
                setattr(owner, name, original)
        self.saved = []
        return list(self.attempts)


@kit
def download_blocker():
    """Block MNIST downloads and network connections here until .restore()."""
    return DownloadBlocker()


@kit
def transform_steps(transform):
    """The class names of a composed transform's steps, in the order they run (None when it is not a Compose-like
    object with a `.transforms` list): data for a message about the order, never for a pass."""
    steps = getattr(transform, "transforms", None)
    if not isinstance(steps, (list, tuple)):
        return None
    return [type(step).__name__[:60] for step in steps[:20]]
