"""How fast grading is, in one run on this machine: ratios against a lower bound, nbgrader, workers, memory.

    .venv/bin/python benchmarks/run.py [--out benchmarks/results] [--runs 3] [--skip nbgrader ...]

Items, measured one after another (never two at once), each the best of --runs unless said:
  a1 lower bound, fresh process: benchmarks/lower_bound.py timed from outside (Python start, import torch,
     MNIST arrays into tensors, 2 epochs Adam batch 64, evaluation; one torch thread). The goals are judged on it.
  a2 the same training loop alone, timed inside that process.
  b  the seed's naive pipeline (torchvision MNIST, ToTensor + Normalize per sample, num_workers=0), same training
     (1 run: it is the slow one).
  c  `python -m autograder grade solutions` (default workers).
  d  nbgrader autograde of the solved lesson-5 notebook (lessons 3, 4, 5 submitted; 1 run; scored by the
     engine, autograder/parent/notebooks.py) against `python -m autograder grade solutions --lessons 5`.
  e  `python -m autograder batch` of 8 copies of solutions/ with --workers 1 and --workers 2 (1 run each).
  f  peak memory per worker (see benchmarks/measure.py), sampled in one extra run of c.
  g  student waiting time: `pytest exercises/lessonN --submission solutions` for each lesson.
  h  the boundary: one call's cost in process and through the bubblewrap sandbox, the sandbox's start,
     one test's fork (benchmarks/boundary.py).
  i  throughput for sizing a cluster, from e (no extra run): submissions per core-minute of one machine,
     8 / (wall minutes x cores used, i.e. min(workers, CPUs this process may use)); and, when the Slurm test
     (tests/test_slurm.py) has left its timing file, the wall time of its class sharded over a Slurm job array
     (sbatch to merged gradebook) against one machine's `batch` of that class. The file is the one
     tests/test_slurm.py writes when run with COURSE_SLURM_TIMING=PATH (the same variable here), else
     /tmp/autograder-slurm-timing.json: JSON with "submissions", "shards", "sharded_wall_s",
     "one_machine_wall_s" (seconds), optionally "lessons", "cpus_per_task", "node_cpus".
It prints a table, and writes OUT/benchmark.json and OUT/benchmark.png.

评分速度基准：与下界、nbgrader 的比值，并行效果与内存；结果写入 OUT/benchmark.json 与 OUT/benchmark.png。
"""
import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

from coursetools import LESSONS

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))

import measure  # noqa: E402 (after the sys.path line above)
import nbgrader_item  # noqa: E402 (after the sys.path line above)

PY = sys.executable
BATCH_CLASS = 8  # submissions in item e's batch
SLURM_TIMING = os.environ.get("COURSE_SLURM_TIMING") or os.path.join(tempfile.gettempdir(),
                                                                       "autograder-slurm-timing.json")
ITEMS = ("a", "b", "c", "d", "e", "f", "g", "h", "i")


def best(runs, command, env=None, check=None):
    """The fastest of `runs` measurements of `command` (each a dict from measure.measure)."""
    results = []
    for _ in range(runs):
        result = measure.measure(command, REPO, env, sample=False)
        if check and not check(result):
            sys.exit(f"{' '.join(map(str, command))} failed (status {result['rc']}):\n"
                     f"{result['stdout'][-3000:]}\n{result['stderr'][-3000:]}")
        results.append(result)
    return min(results, key=lambda r: r["seconds"])


def full_marks(result):
    return result["rc"] == 0 and "(100.0 %)" in result["stdout"]


def lower_bound(runs, naive=False):
    result = best(runs, [PY, HERE / "lower_bound.py", *(["--naive"] if naive else [])], check=lambda r: r["rc"] == 0)
    inside = json.loads(result["stdout"].strip().splitlines()[-1])
    return {"process_s": result["seconds"], "train_s": inside["train_s"], "eval_s": inside["eval_s"],
            "accuracy": inside["accuracy"]}


def grade(runs, *options, sample=False):
    with tempfile.TemporaryDirectory() as out:
        command = [PY, "-m", "autograder", "grade", "solutions", "--quiet", "--out", out, *options]
        if sample:
            result = measure.measure(command, REPO, sample=True)
        else:
            result = best(runs, command, check=full_marks)
    return {k: result[k] for k in ("seconds", "maxrss_mib", "worker_pss_mib", "tree_pss_mib")}


def batch(workers):
    with tempfile.TemporaryDirectory() as tmp:
        for n in range(BATCH_CLASS):
            shutil.copytree(REPO / "solutions", Path(tmp) / "in" / f"student{n}",
                            ignore=shutil.ignore_patterns("__pycache__"))
        command = [PY, "-m", "autograder", "batch", Path(tmp) / "in", "--out", Path(tmp) / "out", "--quiet",
                   "--workers", str(workers)]
        result = best(1, command, check=lambda r: r["rc"] == 0 and r["stdout"].count("100.0") >= BATCH_CLASS)
    cores = min(workers, len(os.sched_getaffinity(0)))
    return {"seconds": result["seconds"], "maxrss_mib": result["maxrss_mib"], "cores": cores,
            "per_core_minute": BATCH_CLASS / (result["seconds"] / 60 * cores)}


def slurm_timing(path=SLURM_TIMING):
    """The Slurm test's timing file (see the docstring, item i), or None when it has not run here."""
    try:
        with open(path, encoding="utf-8") as file:
            data = json.load(file)
        return {"students": int(data["submissions"]), "shards": int(data["shards"]),
                "sharded_s": float(data["sharded_wall_s"]), "batch_s": float(data.get("one_machine_wall_s") or 0) or None,
                "lessons": data.get("lessons"), "cpus_per_task": data.get("cpus_per_task"),
                "node_cpus": data.get("node_cpus"), "file": str(path)}
    except (OSError, ValueError, KeyError, TypeError):
        return None


def throughput_rows(f: dict) -> list:
    """Item i's rows (same shape as report.rows): submissions per core-minute, the Slurm test's class."""
    out = []

    def add(item, what, value, unit):
        out.append({"item": item, "what": what, "value": round(value, 3), "unit": unit, "goal": "", "met": None})

    e = f.get("e_batch8") or {}
    for key, item in (("workers1", "i1"), ("workers2", "i2")):
        if e.get(key, {}).get("per_core_minute"):
            add(item, f"submissions per core-minute (/cm), batch of {BATCH_CLASS}, --{key[:-1]} {key[-1]} on "
                      f"{e[key]['cores']} core(s)", e[key]["per_core_minute"], "/cm")
    slurm = f.get("i_slurm")
    if slurm:
        lessons = " ".join(map(str, slurm.get("lessons") or [])) or "all"
        add("i3", f"Slurm test: {slurm['students']} submissions (lessons {lessons}), {slurm['shards']} array tasks, "
                  "sbatch to merged", slurm["sharded_s"], "s")
        if slurm.get("batch_s"):
            add("i4", "the same class, one machine's batch", slurm["batch_s"], "s")
    return out


def student_wait(runs):
    times = {}
    for lesson in LESSONS:
        command = [PY, "-m", "pytest", f"exercises/lesson{lesson}", "--submission", "solutions", "-q"]
        times[lesson] = best(runs, command, check=lambda r: r["rc"] == 0)["seconds"]
    return times


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(HERE / "results"), help="folder for benchmark.json and benchmark.png")
    parser.add_argument("--runs", type=int, default=3, help="runs of each cheap item, the best kept (default 3)")
    parser.add_argument("--skip", nargs="+", default=[], choices=ITEMS, help="items to leave out")
    args = parser.parse_args()
    figures = {"cpu_cores": os.cpu_count(), "load_start": os.getloadavg(), "runs": args.runs}
    started = time.perf_counter()
    if "a" not in args.skip:
        figures["a_lower_bound"] = lower_bound(args.runs)
    if "b" not in args.skip:
        figures["b_naive_pipeline"] = lower_bound(1, naive=True)
    if "c" not in args.skip:
        figures["c_grade_solutions"] = grade(args.runs)
    if "d" not in args.skip:
        figures["d_nbgrader_lesson5_s"] = nbgrader_item.autograde_lesson5_seconds()
        figures["d_grade_lesson5"] = grade(args.runs, "--lessons", "5")
    if "e" not in args.skip:
        figures["e_batch8"] = {"workers1": batch(1), "workers2": batch(2)}
    if "f" not in args.skip:
        figures["f_memory"] = grade(1, sample=True)
    if "g" not in args.skip:
        figures["g_student_wait_s"] = student_wait(args.runs)
    if "h" not in args.skip:
        result = measure.measure([PY, HERE / "boundary.py"], REPO, sample=False)
        figures["h_boundary"] = json.loads(result["stdout"].strip().splitlines()[-1])
    if "i" not in args.skip:
        figures["i_slurm"] = slurm_timing()
    figures["load_end"] = os.getloadavg()
    figures["total_s"] = time.perf_counter() - started
    import report

    rows = report.rows(figures) + ([] if "i" in args.skip else throughput_rows(figures))
    print(report.table(figures, rows))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "benchmark.json").write_text(json.dumps({"figures": figures, "rows": rows}, indent=2) + "\n")
    report.chart(rows, out / "benchmark.png")
    print(f"written: {out / 'benchmark.json'}, {out / 'benchmark.png'}")


if __name__ == "__main__":
    main()
