"""Timing and memory of one command: wall seconds, and the peak memory of each of its worker processes.

Memory is sampled from /proc every 0.1 s while the command runs: a *worker* is a direct child of
the command's process (the engine's lesson process) together with everything it started (its test
children); its memory is the sum of their PSS (proportional set size, /proc/PID/smaps_rollup, so pages
shared after a fork are counted once, split between the sharers). The figures kept are the highest
PSS one worker reached, the highest PSS of the whole tree (engine included), and the largest
single-process RSS reported by getrusage(RUSAGE_CHILDREN).ru_maxrss of a wrapper process (the
kernel's own peak; it misses nothing between samples, but counts shared pages in full).

一条命令的耗时与内存：每 0.1 秒从 /proc 采样各工作进程（含其子进程）的 PSS 之和，取峰值；另记录 ru_maxrss。
"""
import json
import os
import subprocess
import sys
import threading
import time

WRAPPER = r"""
import json, resource, subprocess, sys
done = subprocess.run(sys.argv[1:], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
sys.stdout.write(json.dumps({"rc": done.returncode, "stdout": done.stdout[-20000:], "stderr": done.stderr[-20000:],
                             "maxrss_kib": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}))
"""


def _parents() -> dict:
    """{pid: parent pid} of every process now."""
    parents = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                with open(f"/proc/{name}/stat") as f:
                    parents[int(name)] = int(f.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                pass
    return parents


def _pss_kib(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


class Sampler(threading.Thread):
    """Peak PSS per worker (a child of `root` and its descendants) and of the whole tree under `root`."""

    def __init__(self, root: int):
        super().__init__(daemon=True)
        self.root, self.stop, self.worker_peak, self.tree_peak = root, threading.Event(), 0, 0

    def run(self):
        while not self.stop.wait(0.1):
            parents = _parents()
            children = {}
            for pid, parent in parents.items():
                children.setdefault(parent, []).append(pid)

            def subtree(pid, children=children):
                total, todo = 0, [pid]
                while todo:
                    p = todo.pop()
                    total += _pss_kib(p)
                    todo.extend(children.get(p, []))
                return total

            for engine in children.get(self.root, []):  # the wrapper's one child: the engine
                workers = [subtree(w) for w in children.get(engine, [])]
                self.worker_peak = max([self.worker_peak, *workers])
                self.tree_peak = max(self.tree_peak, _pss_kib(engine) + sum(workers))


def measure(command, cwd, env=None, sample=True) -> dict:
    """Run `command` once: {'seconds', 'rc', 'stdout', 'stderr', 'maxrss_mib', 'worker_pss_mib', 'tree_pss_mib'}.

    The sampler takes CPU time from the command: time with sample=False, measure memory in a run of its own.
    """
    start = time.perf_counter()
    process = subprocess.Popen([sys.executable, "-c", WRAPPER, *map(str, command)], cwd=cwd, env=env,
                               stdout=subprocess.PIPE, text=True)
    sampler = Sampler(process.pid)
    if sample:
        sampler.start()
    out, _ = process.communicate()
    seconds = time.perf_counter() - start
    sampler.stop.set()
    if sample:
        sampler.join()
    report = json.loads(out)
    return {"seconds": seconds, "rc": report["rc"], "stdout": report["stdout"], "stderr": report["stderr"],
            "maxrss_mib": report["maxrss_kib"] / 1024, "worker_pss_mib": sampler.worker_peak / 1024,
            "tree_pss_mib": sampler.tree_peak / 1024}
