"""Trusted oracles shared by the graders: the course's networks, MNIST as tensors, the reference loop replayed,
and accuracy measured here.

When grading, it runs only in the trusted process that runs the graders, never in the student process.
It is public course code (the public tests of lesson 5 use it too): the loop it replays is the one lesson 5
teaches; expected values are computed from it at test time, never stored.
Each grader decides what to replay and compares the student side's data with the result.

评分程序共用的可信参照：课程的网络、以张量形式提供的 MNIST、重放的参考训练循环，以及在此测得的准确率。
只在运行评分测试的可信进程中运行；学生代码既不调用它，也看不到它的结果。
"""
import torch
from torch import nn

#: the networks by name, as the kit's make_net builds them on the student side (same layers, same order)
_LAYERS = {
    "mlp": lambda: (nn.Flatten(), nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 10)),
    "linear": lambda: (nn.Flatten(), nn.Linear(784, 10)),
    "batchnorm": lambda: (nn.Flatten(), nn.Linear(784, 32), nn.BatchNorm1d(32), nn.ReLU(), nn.Linear(32, 10)),
    "bn-dropout": lambda: (nn.Flatten(), nn.Linear(784, 32), nn.BatchNorm1d(32), nn.ReLU(), nn.Dropout(0.5),
                           nn.Linear(32, 10)),
}


def net(layers: str = "mlp", state: dict = None, seed: int = None) -> nn.Sequential:
    """The network `layers` (mlp: Flatten-Linear(784, 128)-ReLU-Linear(128, 10); linear; batchnorm; bn-dropout),
    started from torch.manual_seed(seed) when `seed` is given, holding `state` (any device) when it is given."""
    if seed is not None:
        torch.manual_seed(seed)
    model = nn.Sequential(*_LAYERS[layers]())
    if state is not None:
        model.load_state_dict({k: v.detach().cpu() for k, v in state.items()})
    return model


def mlp(state: dict = None, seed: int = None) -> nn.Sequential:
    """The lesson-4 network (Flatten, Linear(784, 128), ReLU, Linear(128, 10)) as nn.Sequential."""
    return net("mlp", state, seed)


def state_of(model: nn.Module) -> dict:
    """A detached copy of model.state_dict()."""
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def start_weights(layers: str, seed: int) -> dict:
    """The start weights of `layers` after torch.manual_seed(seed) (made here, then sent to the student side)."""
    return state_of(net(layers, seed=seed))


class MnistImages:
    """MNIST images kept as the file's bytes (uint8 (N, 28, 28): 47 MB for the training split, not 188 MB of
    float32). `images[rows]` (a slice, an index tensor or list, an int) gives float32 (n, 1, 28, 28) normalized
    exactly as coursetools.checks.mnist.normalized_mnist does (the same elementwise steps, so the same bits), and
    `len(images)` the number of images: what the graders and the loops here do with MNIST. The student process's
    kit keeps its copy the same way (kit.common.MnistImages), so neither side holds MNIST as float32.
    """

    def __init__(self, raw: torch.Tensor):
        self.raw = raw

    def __len__(self) -> int:
        return len(self.raw)

    @property
    def shape(self) -> torch.Size:
        return torch.Size((len(self.raw), 1, 28, 28))

    dtype = torch.float32

    def __getitem__(self, rows) -> torch.Tensor:
        from coursetools.checks.mnist import MNIST_MEAN, MNIST_STD

        if isinstance(rows, tuple):
            raise TypeError("index MNIST images by rows only (images[rows]), then index the tensor that gives")
        return self.raw[rows].float().div_(255).sub_(MNIST_MEAN).div_(MNIST_STD).unsqueeze(-3)


_MNIST = {}


def use_mnist(split: str, images, labels):
    """Make uint8 (N, 28, 28) `images` and `labels` this process's MNIST `split` (the grading copy of
    coursetools.checks.mnist.changed_copy: held here, never read back from files the student process could reach)."""
    _MNIST[split] = MnistImages(torch.as_tensor(images)), torch.as_tensor(labels).long()


def mnist(split: str) -> tuple:
    """MNIST `split` ('train' or 'test') as (MnistImages: rows come out float32 (n, 1, 28, 28) normalized like
    mnist_transform(); int64 labels), read once per process (or the grading copy given to use_mnist); missing data
    fails the test with course_data's message."""
    if split not in _MNIST:
        import course_data
        from coursetools.checks.feedback import CheckFailure

        try:
            images, labels = course_data.load_mnist_arrays(train=split == "train")
        except course_data.CourseDataError as error:
            raise CheckFailure(str(error)) from None
        _MNIST[split] = MnistImages(torch.from_numpy(images)), torch.from_numpy(labels)
    return _MNIST[split]


def replay_loop(model: nn.Module, images, labels, *, batch_size: int, optimizer=("SGD", {"lr": 0.1}),
                epochs: int = 1, shuffle_seed: int = None, order: str = "zfbs", softmax: bool = False,
                training: bool = True, threads: int = None) -> list:
    """Train `model` here, in place, the way a loop does; returns [(batch loss, batch size), ...].

    optimizer: (kind, options) for torch.optim.<kind>(model.parameters(), **options). Per batch, `order` runs
    zero_grad (z), forward and loss (f), backward (b) and step (s); `softmax` puts a softmax before the
    cross-entropy; `training` is the model's mode throughout. Batches follow the images in order, or, with
    `shuffle_seed`, torch.randperm from one torch.Generator().manual_seed(shuffle_seed) drawn anew each epoch.
    `images`: a tensor or MnistImages (anything that gives a batch of tensors for images[index]).
    `threads` limits torch's threads meanwhile (1 is fastest for small batches, and graders run in parallel).
    """
    kind, options = optimizer
    opt = getattr(torch.optim, kind)(model.parameters(), **options)
    model.train(training)
    generator = torch.Generator().manual_seed(shuffle_seed) if shuffle_seed is not None else None
    saved = torch.get_num_threads()
    if threads:
        torch.set_num_threads(threads)
    losses = []
    try:
        for _ in range(epochs):
            if generator is not None:
                batches = torch.randperm(len(labels), generator=generator).split(batch_size)
            else:
                batches = [slice(first, first + batch_size) for first in range(0, len(labels), batch_size)]
            for index in batches:
                x, y = images[index], labels[index]
                for op in order:
                    if op == "z":
                        opt.zero_grad()
                    elif op == "f":
                        outputs = model(x)
                        loss = nn.functional.cross_entropy(outputs.softmax(dim=1) if softmax else outputs, y)
                    elif op == "b":
                        loss.backward()
                    else:
                        opt.step()
                losses.append((loss.item(), len(y)))
    finally:
        torch.set_num_threads(saved)
    return losses


def predictions_of(model: nn.Module, images, *, batch_size: int = 2000, training: bool = False) -> torch.Tensor:
    """argmax of model's outputs for `images`, in batches, without gradients, in eval mode (or training mode:
    batch statistics per batch, as an evaluate that forgot model.eval() gets them)."""
    model.train(training)
    with torch.no_grad():
        return torch.cat([model(images[i:i + batch_size]).argmax(1) for i in range(0, len(images), batch_size)])


def accuracy_of(model: nn.Module, images, labels, *, batch_size: int = 2000, training: bool = False) -> float:
    """The share of `images` the model classifies right, measured here (see predictions_of)."""
    right = (predictions_of(model, images, batch_size=batch_size, training=training) == labels).sum().item()
    return right / len(labels)
