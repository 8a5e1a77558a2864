"""Check that a student's numbers cannot size the trusted side's work: a length bomb and a stride bomb, with ceilings.

- `tests/bombs/length-bomb/` (lesson 3, on solutions/): an ImageLabelDataset whose len() claims 30 million items.
- `tests/redteam/stride-bomb/` (lessons 1 and 2, on the red team's honest code): 4 bytes of data with zero strides
  that stand for 2 GiB tensors.

Each is graded on its own, next to its honest baseline graded the same way; the bomb must cost no more than twice
the honest CPU time, no process of the grading (trusted or not) may grow past 1.5 GB, and the bomb's tests fail
with a message that says what was wrong.

炸弹测试：学生给出的长度和步长不能决定评分端的工作量；时间不超过诚实代码的两倍，任何进程的内存不超过 1.5 GB。
"""
import json
import os
import subprocess
import sys
import time

import pytest

from autograder import overlay
from coursetools import REPO_ROOT

CEILING_BYTES = 1.5e9
LENGTH_BOMB = REPO_ROOT / "tests" / "bombs" / "length-bomb"
STRIDE_BOMB = REPO_ROOT / "tests" / "redteam" / "stride-bomb"
HONEST = REPO_ROOT / "tests" / "redteam" / "_honest"

#: runs one batch in a process of its own and reports the largest resident size of any process it waited for
_MEASURE = """
import json, resource, subprocess, sys, time
start = time.monotonic()
done = subprocess.run(sys.argv[1:], capture_output=True, text=True)
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps({"rc": done.returncode, "wall": time.monotonic() - start, "peak": usage.ru_maxrss * 1024,
                  "cpu": usage.ru_utime + usage.ru_stime, "stderr": done.stderr[-2000:]}))
"""


def measure(repo, submission, out, lessons, python=sys.executable) -> dict:
    """Grade one submission with the engine of `repo`: {rc, wall (s), cpu (s, every process waited for), peak (bytes
    of the largest process), result}.

    A function, not a fixture, so the same measurement runs on an older checkout (`git worktree add`) to show
    the harm the bombs did before the trusted side bounded its work."""
    command = [python, "-m", "autograder", "grade", str(submission), "--out", str(out), "--quiet", "--workers", "1",
               "--lessons", *map(str, lessons)]
    done = subprocess.run([python, "-c", _MEASURE, *command], cwd=repo, capture_output=True, text=True,
                          env={**os.environ, "PYTHONHASHSEED": "0"}, timeout=1800)
    report = json.loads(done.stdout.strip().splitlines()[-1])
    results = out / "results.json"
    report["result"] = json.loads(results.read_text(encoding="utf-8")) if results.is_file() else None
    return report


def _check(bomb, honest, words):
    assert bomb["rc"] == 0 and bomb["result"] and bomb["result"]["extra_data"]["complete"], bomb["stderr"]
    # the cost is the CPU time of the whole grading (wall time on a shared machine is noise: benchmarks/run.py
    # times things); 5 s of slack for a process start that the load of the machine stretched
    assert bomb["cpu"] <= 2 * honest["cpu"] + 5, \
        f"the bomb took {bomb['cpu']:.1f} s of CPU ({bomb['wall']:.1f} s wall), honest {honest['cpu']:.1f} s"
    assert bomb["peak"] <= CEILING_BYTES, f"a process of the grading reached {bomb['peak'] / 1e9:.2f} GB"
    failed = [t for t in bomb["result"]["tests"] if t["status"] == "failed"]
    assert any(words in t["output"] for t in failed), [t["output"][:300] for t in failed]
    assert bomb["result"]["score"] <= honest["result"]["score"]


@pytest.mark.slow
@pytest.mark.mnist
def test_a_length_bomb_costs_no_more_than_honest_code(tmp_path):
    """Check a dataset claiming 30 million items is refused by its label file's length, quickly and in little
    memory, while its honest twin (the reference) is graded as usual."""
    honest = measure(REPO_ROOT, REPO_ROOT / "solutions", tmp_path / "honest", [3])
    bomb = measure(REPO_ROOT, overlay.build(LENGTH_BOMB, tmp_path / "length-bomb"), tmp_path / "bomb", [3])
    assert honest["result"]["score"] == honest["result"]["max_score"]
    _check(bomb, honest, "len(dataset) is 30,000,000")


@pytest.mark.slow
def test_a_stride_bomb_costs_no_more_than_honest_code(tmp_path):
    """Check 2 GiB tensors made of 4 bytes are refused before they are built (the reply cap counts what a tensor
    shows), quickly and in little memory."""
    honest = measure(REPO_ROOT, HONEST, tmp_path / "honest", [1, 2])
    bomb = measure(REPO_ROOT, overlay.build(STRIDE_BOMB, tmp_path / "stride-bomb", reference=HONEST),
                   tmp_path / "bomb", [1, 2])
    _check(bomb, honest, "2,147,483,648 bytes")


if __name__ == "__main__":  # measure on another checkout: python tests/test_bombs.py REPO OUT
    repo, out = map(__import__("pathlib").Path, sys.argv[1:3])
    for name, submission, lessons in (
            ("honest-3", REPO_ROOT / "solutions", [3]),
            ("length-bomb", overlay.build(LENGTH_BOMB, out / "sub-length"), [3]),
            ("honest-1-2", HONEST, [1, 2]),
            ("stride-bomb", overlay.build(STRIDE_BOMB, out / "sub-stride", reference=HONEST), [1, 2])):
        begin = time.monotonic()
        report = measure(repo, submission, out / name, lessons)
        score = report["result"] and (report["result"]["score"], report["result"]["max_score"])
        print(f"{name}: rc {report['rc']}, {report['wall']:.1f} s, peak {report['peak'] / 1e9:.2f} GB, score {score}",
              flush=True)
