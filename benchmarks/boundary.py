"""The cost of one call across the boundary: the same student function called through the in-process
transport and through the bubblewrap sandbox (one torch thread). Prints one JSON line.

    .venv/bin/python benchmarks/boundary.py [--calls 2000]

边界开销：同一个学生函数分别经进程内传输与 bubblewrap 沙箱调用时，每次调用的耗时。
"""
import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
os.environ.setdefault("OMP_NUM_THREADS", "1")


def per_call(submission, calls: int) -> dict:
    import torch

    tensors = submission.module("lesson1", "tensors")
    images = torch.randn(64, 1, 28, 28)
    tensors.scalar_tensor(1.0)  # import the lesson file first
    start = time.perf_counter()
    for _ in range(calls):
        tensors.scalar_tensor(3.0)
    small = (time.perf_counter() - start) / calls
    start = time.perf_counter()
    for _ in range(calls // 10):
        tensors.flatten_images(images)
    batch = (time.perf_counter() - start) / (calls // 10)
    return {"scalar_call_us": small * 1e6, "batch_64x784_call_us": batch * 1e6}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=2000)
    args = parser.parse_args()
    import torch

    torch.set_num_threads(1)
    from autograder.lesson import launch
    from autograder.lesson.client import SandboxTransport
    from coursetools.boundary.proxy import InProcess, Submission

    root = REPO / "solutions"
    figures = {}
    local = Submission(root, InProcess(root))
    local.transport.begin(0)
    figures["in_process"] = per_call(local, args.calls)
    local.transport.end()
    with tempfile.TemporaryDirectory() as work:
        plan = launch.Plan(root=str(root), work_dir=work)
        isolated = not launch.bwrap_available()
        transport = SandboxTransport(plan, 1, isolated=isolated)
        start = time.perf_counter()
        transport.begin(0, 600)
        figures["sandbox_start_s"] = time.perf_counter() - start
        figures["isolated"] = isolated
        figures["sandbox"] = per_call(Submission(root, transport), args.calls)
        transport.end()
        start = time.perf_counter()
        for seed in range(20):
            transport.begin(seed, 60)
            transport.end()
        figures["per_test_fork_ms"] = (time.perf_counter() - start) / 20 * 1e3
        transport.stop()
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
