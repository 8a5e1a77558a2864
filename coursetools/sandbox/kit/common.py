"""Kit functions shared by several lessons: networks and models by name, MNIST batches, optimizers, spies,
a model's parameters and outputs, paths and files.

多课共用的工具：按名字构建的网络与模型、MNIST 批次、优化器、监视器、模型的参数与输出、路径与文件读取。
"""
import math
from functools import partial
from pathlib import Path

import torch
from torch import nn
from torch.utils.data import TensorDataset

from coursetools.checks.mnist import MNIST_MEAN, MNIST_STD
from coursetools.sandbox.kit import kit


@kit
def make_net(seed=None, layers="mlp"):
    """A network by name, as torch layers (so lessons 5 and 6 are graded on their own): mlp (the lesson-4 network),
    linear, batchnorm, bn-dropout; `seed` fixes its start."""
    if seed is not None:
        torch.manual_seed(seed)
    if layers == "mlp":
        return nn.Sequential(nn.Flatten(), nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 10))
    if layers == "linear":
        return nn.Sequential(nn.Flatten(), nn.Linear(784, 10))
    if layers == "batchnorm":  # training mode changes its results (batch norm, no dropout: repeatable)
        return nn.Sequential(nn.Flatten(), nn.Linear(784, 32), nn.BatchNorm1d(32), nn.ReLU(), nn.Linear(32, 10))
    if layers == "bn-dropout":
        return nn.Sequential(nn.Flatten(), nn.Linear(784, 32), nn.BatchNorm1d(32), nn.ReLU(), nn.Dropout(0.5),
                             nn.Linear(32, 10))
    raise ValueError(f"unknown layers {layers!r}")


#: the torch layers `layers()` may build (nothing else is constructed from a name sent by the trusted side)
_LAYERS = {name: getattr(nn, name) for name in ("Linear", "Conv2d", "BatchNorm1d", "BatchNorm2d", "ReLU", "Flatten",
                                                  "Dropout", "Sequential")}


@kit
def layers(specs, frozen=(), single=False):
    """nn.Sequential of `specs` ([["Linear", 4, 3], ["ReLU"], ...]); parameters named in `frozen` get
    requires_grad=False; `single` returns the one layer itself instead of a Sequential."""
    built = [_LAYERS[str(name)](*args) for name, *args in specs]
    model = built[0] if single else nn.Sequential(*built)
    named = dict(model.named_parameters())
    for name in frozen:
        named[name].requires_grad_(False)
    return model


@kit
def set_mode(model, training):
    """`model.train(training)`."""
    model.train(bool(training))


@kit
def parameters_of(model, images=None, labels=None):
    """`dict(model.named_parameters())`; with `images` and `labels`, after one cross-entropy backward on them
    (gradients cleared first), so each parameter comes back with its `.grad`."""
    if images is not None:
        model.zero_grad(set_to_none=True)
        nn.functional.cross_entropy(model(images), labels).backward()
    return {name: param for name, param in model.named_parameters()}


@kit
def outputs_of(model, images):
    """`model(images)` without gradient tracking, on the device of the model's parameters, brought back to the CPU."""
    device = next(iter(model.parameters())).device
    with torch.no_grad():
        return model(images.to(device)).detach().cpu()


@kit
def load_state(model, state):
    """Give `model` the weights `state` (a dict of tensors sent by the trusted side)."""
    model.load_state_dict(state)
    return None


@kit
def state_of(model):
    """`model.state_dict()` as plain tensors (what the trusted side checks); sent at once, so not copied first
    (a ResNet-18's is 45 MB)."""
    return {k: v.detach() for k, v in model.state_dict().items()}


class MnistImages:
    """MNIST images kept as the file's bytes (uint8 (N, 28, 28): 47 MB for the training split, not 188 MB of
    float32); indexing rows gives float32 (n, 1, 28, 28) normalized exactly as coursetools.checks.mnist.normalized_mnist
    does (the same elementwise steps, so the same bits, batch by batch). The trusted side's oracles.mnist does the
    same; the student process holds one copy, shared with every test's child.
    """

    def __init__(self, raw):
        self.raw = raw

    def __len__(self):
        return len(self.raw)

    @property
    def shape(self):
        return torch.Size((len(self.raw), 1, 28, 28))

    dtype = torch.float32

    def size(self, dim=None):
        """Like Tensor.size (TensorDataset asks for size(0))."""
        return self.shape if dim is None else self.shape[dim]

    def __getitem__(self, rows):
        if isinstance(rows, tuple):
            raise TypeError("index MNIST images by rows only (images[rows]), then index the tensor that gives")
        return self.raw[rows].float().div_(255).sub_(MNIST_MEAN).div_(MNIST_STD).unsqueeze(-3)

    def rows(self, rows):
        """The images at `rows`, still as bytes (nothing normalized yet)."""
        return MnistImages(self.raw[rows])


class TensorBatches:
    """(images, labels) batches of tensors in memory (or MnistImages); shuffled anew on every pass when `shuffle`.

    Like a DataLoader it has `len()` (the number of batches) and `.dataset` (the samples).
    """

    def __init__(self, images, labels, batch_size=64, shuffle=False, seed=0):
        self.images, self.labels = images, labels
        self.dataset = TensorDataset(images, labels)
        self.batch_size, self.shuffle = batch_size, shuffle
        self.generator = torch.Generator().manual_seed(seed)

    def __iter__(self):
        order = torch.randperm(len(self.labels), generator=self.generator) if self.shuffle else None
        for start in range(0, len(self.labels), self.batch_size):
            index = order[start:start + self.batch_size] if order is not None else slice(start, start + self.batch_size)
            yield self.images[index], self.labels[index]

    def __len__(self):
        return math.ceil(len(self.labels) / self.batch_size)


_MNIST = {}
#: the data root MNIST is read from: the trusted side's choice when grading (its copy changed in secret for this
#: grading, `python -m coursetools.sandbox --mnist DIR`), else the prepared MNIST (None)
_MNIST_SOURCE = {"root": None}


def mnist(split):
    """MNIST `split` ('train' or 'test') as (MnistImages, int64 labels), loaded once per process from the data
    root the trusted side chose (mnist_source), else from the prepared MNIST."""
    if split not in _MNIST:
        import course_data

        images, labels = course_data.load_mnist_arrays(train=split == "train", root=_MNIST_SOURCE["root"])
        _MNIST[split] = MnistImages(torch.from_numpy(images)), torch.from_numpy(labels)
    return _MNIST[split]


@kit
def mnist_source(root):
    """Read MNIST from the data root `root` (torchvision's layout) from now on (set before preloading)."""
    _MNIST_SOURCE["root"] = str(root)
    _MNIST.clear()


@kit
def preload_mnist():
    """Load both splits now (before the per-test fork, so every test shares them)."""
    for split in ("train", "test"):
        mnist(split)


@kit
def batches(images, labels, batch_size=64, shuffle=False, seed=0):
    """TensorBatches over tensors sent by the trusted side."""
    return TensorBatches(images, labels, batch_size=batch_size, shuffle=shuffle, seed=seed)


@kit
def mnist_batches(split, start=0, stop=None, batch_size=64, shuffle=False, seed=0, index=None):
    """TensorBatches over MNIST[split][start:stop] (or at `index`), read here, not sent."""
    images, labels = mnist(split)
    rows = index if index is not None else slice(start, stop)
    images, labels = images.rows(rows), labels[rows]  # normalized batch by batch, as they are taken
    return TensorBatches(images, labels, batch_size=batch_size, shuffle=shuffle, seed=seed)


@kit
def optimizer(kind, model, **options):
    """torch.optim.<kind>(model.parameters(), **options); kind in SGD, Adam."""
    if kind not in ("SGD", "Adam"):
        raise ValueError(f"unknown optimizer {kind!r}")
    return getattr(torch.optim, kind)(model.parameters(), **options)


def _tensor_facts(value):
    """[shape, dtype, requires_grad, device type] of a tensor; [type name] of anything else."""
    if isinstance(value, torch.Tensor):
        return [list(value.shape), str(value.dtype).replace("torch.", ""), bool(value.requires_grad),
                value.device.type]
    return [type(value).__name__]


def _rows_kind(outputs):
    """'probabilities' (rows in [0, 1] summing to 1), 'log-probabilities' (rows whose logsumexp is 0), 'logits'
    (anything else with values), or None (not a 2-D float tensor with values here)."""
    if not (isinstance(outputs, torch.Tensor) and outputs.dim() == 2 and outputs.is_floating_point()
            and outputs.device.type != "meta" and outputs.numel() and outputs.shape[1] > 1):
        return None
    with torch.no_grad():
        low, high = torch.aminmax(outputs.detach())  # in the outputs' own dtype: exact, and no copy
        rows = outputs.detach().double()
        if bool(low >= 0) and bool(high <= 1) and bool(((rows.sum(dim=1) - 1).abs() < 1e-4).all()):
            return "probabilities"
        if bool(high <= 1e-4) and bool((torch.logsumexp(rows, dim=1).abs() < 1e-4).all()):  # log-probabilities are <= 0
            return "log-probabilities"
    return "logits"


class CrossEntropySpy(nn.CrossEntropyLoss):
    """nn.CrossEntropyLoss that records what its inputs look like at every call (probabilities,
    log-probabilities, logits: see _rows_kind) and the facts of the last call's input and target (_tensor_facts).
    It computes exactly what nn.CrossEntropyLoss computes; what it reports may only name a pitfall or fail a test."""

    def __init__(self):
        super().__init__()
        self.kinds, self.last = {}, None

    def forward(self, input, target):
        kind = _rows_kind(input)
        self.kinds[str(kind)] = self.kinds.get(str(kind), 0) + 1
        self.last = {"kind": kind, "input": _tensor_facts(input), "target": _tensor_facts(target)}
        return super().forward(input, target)

    def report(self):
        """{"kinds": {kind: number of calls}, "last": what the last call was given (None before any)}."""
        return {"kinds": dict(self.kinds), "last": None if self.last is None else dict(self.last)}


@kit
def cross_entropy():
    """nn.CrossEntropyLoss, watched: `.report()` says what each call was given (CrossEntropySpy)."""
    return CrossEntropySpy()


@kit
def to_device(model, device):
    return model.to(device)


class ModeSpy:
    """Records model.training and torch.is_grad_enabled() at every forward, and the input's device."""

    def __init__(self, model):
        self.calls = []
        model.register_forward_pre_hook(self._record)

    def _record(self, module, args):
        device = args[0].device.type if args and isinstance(args[0], torch.Tensor) else None
        self.calls.append((module.training, torch.is_grad_enabled(), device))

    def report(self):
        return [list(call) for call in self.calls]


@kit
def mode_spy(model):
    return ModeSpy(model)


class LoopSpy:
    """Records the order of forwards, backwards and optimizer steps, and the gradients each one met."""

    def __init__(self, model, optimizer):
        self.events = []
        self.params = sorted(model.parameters(), key=lambda p: p.numel())  # smallest first: any() stops early
        model.register_forward_pre_hook(lambda module, args: self.events.append(["forward", False]))
        optimizer.register_step_pre_hook(lambda opt, args, kwargs: self.events.append(["step", self._has_grad()]))
        for param in self.params:
            param.register_hook(partial(self._on_backward, param))

    def _has_grad(self):
        return any(p.grad is not None and bool(p.grad.any()) for p in self.params)  # any(): non-zero (NaN too)

    def _on_backward(self, param, grad):
        """Runs before `grad` is added to param.grad: a non-zero param.grad is a stale gradient."""
        stale = param.grad is not None and bool(param.grad.any())
        if self.events and self.events[-1][0] == "backward":
            self.events[-1] = ["backward", self.events[-1][1] or stale]
        else:
            self.events.append(["backward", stale])

    def report(self):
        return [list(event) for event in self.events]


@kit
def loop_spy(model, optimizer):
    return LoopSpy(model, optimizer)


class LoopWatch:
    """Process-wide watchers for one call of a student's function that builds its own loss and optimizer (train_mnist):
    the inputs of every cross-entropy (nn.CrossEntropyLoss and F.cross_entropy: probabilities or log-probabilities
    mean a softmax before the loss), and the order of backwards and optimizer steps (a step that finds no gradient
    came before backward, or after a zero_grad between backward and step; a backward that finds the gradients of the
    last step still there means they were never cleared; gradient accumulation, several backwards before one step,
    is fine). Installed only for the call, then removed; what it reports may only name a pitfall or fail a test."""

    def __init__(self):
        self.kinds, self.counts, self.pitfall = {}, {"backward": 0, "step": 0}, None
        self.stepped = []  # the optimizers that stepped since the last backward
        self.saved = None

    def _found(self, pitfall, what):
        if self.pitfall is None:
            self.pitfall = {"slug": pitfall, "what": what, "backward": self.counts["backward"],
                            "step": self.counts["step"]}

    def _cross_entropy(self, input, target, *args, **kwargs):
        kind = _rows_kind(input)
        self.kinds[str(kind)] = self.kinds.get(str(kind), 0) + 1
        if kind in ("probabilities", "log-probabilities"):
            self._found("softmax-before-ce", kind)
        return self.saved[0](input, target, *args, **kwargs)

    def _backward(self, *args, **kwargs):
        self.counts["backward"] += 1
        if self.stepped and any(p.grad is not None and bool(p.grad.any())
                                for optimizer in self.stepped for p in _parameters(optimizer)):
            self._found("no-zero-grad", "stale gradients at backward")
        self.stepped = []
        return self.saved[1](*args, **kwargs)

    def _step(self, optimizer, args, kwargs):
        self.counts["step"] += 1
        closure = [a for a in args if a is not optimizer] or kwargs.get("closure")  # args: the step's, self first
        if not closure and not any(p.grad is not None and bool(p.grad.any()) for p in _parameters(optimizer)):
            self._found("step-before-backward", "a step without gradients")
        if all(o is not optimizer for o in self.stepped):
            self.stepped.append(optimizer)

    def __enter__(self):
        from torch.optim.optimizer import register_optimizer_step_pre_hook

        self.saved = (nn.functional.cross_entropy, torch.autograd.backward)
        nn.functional.cross_entropy, torch.autograd.backward = self._cross_entropy, self._backward
        self.hook = register_optimizer_step_pre_hook(self._step)
        return self

    def __exit__(self, *exc):
        self.hook.remove()
        nn.functional.cross_entropy, torch.autograd.backward = self.saved

    def report(self):
        """{"pitfall": None or {"slug", "what", "backward": backwards so far, "step": steps so far}, "kinds": {kind of
        the cross-entropy's input: calls}, "backward": calls, "step": calls}."""
        return {"pitfall": None if self.pitfall is None else dict(self.pitfall), "kinds": dict(self.kinds),
                **self.counts}


def _parameters(optimizer):
    """The optimizer's parameters, smallest first (an any() over their gradients stops early, at a bias)."""
    return sorted((p for group in optimizer.param_groups for p in group["params"]), key=lambda p: p.numel())


_WATCHED = {}


@kit
def watch_loop(function, *args, **kwargs):
    """`function(*args, **kwargs)` (the student's train_mnist) under a LoopWatch; `loop_report()` says what it saw."""
    _WATCHED["last"] = watch = LoopWatch()
    with watch:
        return function(*args, **kwargs)


@kit
def loop_report():
    """What the LoopWatch of the last watch_loop in this test saw (its report), None before any."""
    return _WATCHED["last"].report() if "last" in _WATCHED else None


class DeviceProbeLoss:
    """A criterion that records where outputs and labels are, and returns a CPU loss so a meta-device loop can end."""

    def __init__(self):
        self.devices = []
        self.weight = torch.ones((), requires_grad=True)

    def __call__(self, outputs, labels):
        self.devices.append([outputs.device.type, labels.device.type])
        return self.weight * 1.0

    def report(self):
        return [list(pair) for pair in self.devices]


@kit
def device_probe_loss():
    return DeviceProbeLoss()


@kit
def as_path(text):
    """pathlib.Path(text) here, so student code gets a real Path as it would from a caller."""
    return Path(str(text))


@kit
def read_file(path, limit=64 * 2**20):
    """The bytes of a file the student's code wrote (a checkpoint), for the trusted side to inspect."""
    with open(path, "rb") as file:
        data = file.read(limit + 1)
    if len(data) > limit:
        raise ValueError(f"{path} is larger than {limit} bytes")
    return data


@kit
def write_file(path, data):
    """Write bytes sent by the trusted side (a checkpoint to load) where the student's code can read them."""
    with open(path, "wb") as file:
        file.write(data)
    return path


@kit
def work_dir():
    """The folder this test's student code may write in (private to the test, gone after it)."""
    import os

    from coursetools.sandbox.server import SCRATCH

    return SCRATCH["dir"] or os.getcwd()
