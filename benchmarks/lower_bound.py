"""The lower bound of grading: SimpleMNISTNet, 2 epochs of Adam on MNIST tensors already in memory, then evaluation.

    .venv/bin/python benchmarks/lower_bound.py [--naive]

Run as a fresh process (benchmarks/run.py times it from outside: Python start, `import torch`,
loading the MNIST arrays into tensors, training, evaluation). One torch thread, as every graded test
gets. It prints one JSON line: the seconds of the training loop alone, of the evaluation, the accuracy.
With --naive it trains the seed's pipeline instead: torchvision's MNIST with ToTensor + Normalize
applied per sample by PIL, DataLoader with num_workers=0 (the same model, optimizer, batch size, epochs).

评分的下界：在内存中的 MNIST 张量上用 Adam 训练 SimpleMNISTNet 2 轮并评估（单线程）；--naive 为逐样本 PIL 变换的原始流程。
"""
import json
import sys
import time
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

# After the path: this file runs as a script, timed from outside (benchmarks/run.py).
import course_data  # noqa: E402 (after the sys.path line above)
from coursetools.checks.mnist import MNIST_MEAN as MEAN  # noqa: E402 (after the sys.path line above)
from coursetools.checks.mnist import MNIST_STD as STD  # noqa: E402 (after the sys.path line above)
from coursetools.checks.mnist import normalized_mnist  # noqa: E402 (after the sys.path line above)
from solutions.lesson4.model import SimpleMNISTNet  # noqa: E402 (after the sys.path line above)

EPOCHS, BATCH, LR = 2, 64, 1e-3


def preloaded():
    """(train batches function, test batches) from tensors in memory."""
    x, y = normalized_mnist(train=True)
    tx, ty = normalized_mnist(train=False)

    def train_batches():
        order = torch.randperm(len(y))
        for i in range(0, len(y), BATCH):
            index = order[i:i + BATCH]
            yield x[index], y[index]

    return train_batches, [(tx[i:i + 1000], ty[i:i + 1000]) for i in range(0, len(ty), 1000)]


def naive():
    """(train batches function, test loader): the seed's per-sample PIL pipeline."""
    from torch.utils.data import DataLoader
    from torchvision import datasets, transforms

    transform = transforms.Compose([transforms.ToTensor(), transforms.Normalize((MEAN,), (STD,))])
    root = course_data.require_mnist()
    train = datasets.MNIST(root, train=True, transform=transform, download=False)
    test = datasets.MNIST(root, train=False, transform=transform, download=False)
    train_loader = DataLoader(train, batch_size=BATCH, shuffle=True, num_workers=0)
    return (lambda: iter(train_loader)), DataLoader(test, batch_size=1000, num_workers=0)


def main():
    torch.set_num_threads(1)
    torch.manual_seed(0)
    train_batches, test_batches = naive() if "--naive" in sys.argv else preloaded()
    model = SimpleMNISTNet()
    optimizer = torch.optim.Adam(model.parameters(), lr=LR)
    loss_fn = torch.nn.CrossEntropyLoss()
    start = time.perf_counter()
    model.train()
    for _ in range(EPOCHS):
        for images, labels in train_batches():
            optimizer.zero_grad()
            loss_fn(model(images), labels).backward()
            optimizer.step()
    trained = time.perf_counter()
    model.eval()
    correct = total = 0
    with torch.no_grad():
        for images, labels in test_batches:
            correct += (model(images).argmax(1) == labels).sum().item()
            total += len(labels)
    done = time.perf_counter()
    print(json.dumps({"train_s": trained - start, "eval_s": done - trained, "accuracy": correct / total}))


if __name__ == "__main__":
    main()
