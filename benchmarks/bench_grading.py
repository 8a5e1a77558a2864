"""How long full grading of solutions/ takes, against a lower bound: 2 epochs of SimpleMNISTNet with Adam.

    .venv/bin/python benchmarks/bench_grading.py [--runs 2]

The lower bound trains the reference SimpleMNISTNet for 2 epochs (Adam, lr 1e-3,
batch 64, shuffled) on MNIST tensors already in memory, in a fresh process with
torch's default threads; only the training loop is timed. Grading is the wall time
of `python -m autograder grade solutions`, start to exit. The target is a ratio of
at most 2.0. Both are measured in this one run (a busy machine slows both); each
figure is the best of --runs.

评分 solutions/ 的总耗时与下界（在内存中的 MNIST 张量上用 Adam 训练 SimpleMNISTNet 2 轮）之比，目标不超过 2.0。
"""
import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

LOWER_BOUND = r"""
import sys, time, torch
sys.path.insert(0, sys.argv[1])
import course_data
from solutions.lesson4.model import SimpleMNISTNet
if len(sys.argv) > 2:
    torch.set_num_threads(int(sys.argv[2]))
images, labels = course_data.load_mnist_arrays(train=True)
x = ((torch.from_numpy(images).float() / 255 - 0.1307) / 0.3081).unsqueeze(1)
y = torch.from_numpy(labels)
torch.manual_seed(0)
model = SimpleMNISTNet()
optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
loss_fn = torch.nn.CrossEntropyLoss()
start = time.perf_counter()
for epoch in range(2):
    order = torch.randperm(len(y))
    for i in range(0, len(y), 64):
        index = order[i:i + 64]
        optimizer.zero_grad()
        loss_fn(model(x[index]), y[index]).backward()
        optimizer.step()
print(time.perf_counter() - start)
"""


def lower_bound(threads=None) -> float:
    command = [sys.executable, "-c", LOWER_BOUND, str(REPO)] + ([str(threads)] if threads else [])
    return float(subprocess.run(command, check=True, capture_output=True, text=True, cwd=REPO).stdout.split()[-1])


def grading() -> float:
    with tempfile.TemporaryDirectory() as out:
        start = time.perf_counter()
        done = subprocess.run([sys.executable, "-m", "autograder", "grade", "solutions", "--quiet", "--out", out],
                              cwd=REPO, capture_output=True, text=True)
        seconds = time.perf_counter() - start
    if done.returncode != 0 or "(100.0 %)" not in done.stdout:
        sys.exit(f"grading solutions/ did not complete with full marks:\n{done.stdout}\n{done.stderr}")
    return seconds


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=2, help="measure each figure this many times, keep the best")
    args = parser.parse_args()
    bounds, bounds_1, grades = [], [], []
    for _ in range(args.runs):
        bounds.append(lower_bound())
        bounds_1.append(lower_bound(threads=1))
        grades.append(grading())
    bound, bound_1, grade = min(bounds), min(bounds_1), min(grades)
    print(f"machine: {os.cpu_count()} CPU cores, load average {os.getloadavg()[0]:.2f}")
    print(f"lower bound (2 epochs, Adam, preloaded tensors, default threads): {bound:.2f} s")
    print(f"lower bound with one thread (what the grader gives each test):   {bound_1:.2f} s")
    print(f"grading solutions/ (python -m autograder grade solutions):        {grade:.2f} s")
    print(f"ratio: {grade / bound:.2f} (target <= 2.0); against one thread: {grade / bound_1:.2f}")


if __name__ == "__main__":
    main()
