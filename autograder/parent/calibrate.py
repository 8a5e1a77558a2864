"""Time limits that scale with the machine: the reference's own time on it, times a factor.

    python -m autograder calibrate [--lessons ...] [--workers N]
    python -m autograder calibrate --from-times reference-times.json     # an image without solutions/

The first grades solutions/ once, with the options given, and keeps each test's time, with the
time of a fixed small torch workload (`probe`) on this machine. Afterwards `grade` and `batch`
on this machine give a test FACTOR × the reference's time + SLACK seconds (at least FLOOR),
never more than the grader's own `time_limit` marker: an endless loop in a one-second test
costs about ten seconds, not the minutes a training test may need. Without a calibration the
graders' limits apply. The file's place, format and rule: coursetools/limits.py.

The second is for a machine that has the graders but not the reference (the Gradescope image):
the bundle carries the reference's times measured on the machine that built it, with that
machine's probe time (`export_times`); here the probe runs again and the times are scaled by
the ratio of the two (never below MIN_SCALE). `--timeout-factor` still multiplies every limit.

用参考答案在本机上的运行时间乘以系数作为每个测试的时间限制：死循环只浪费几秒钟。没有参考答案的机器
（Gradescope 镜像）使用构建评分包的机器上测得的时间，并按一个固定的小型 torch 任务在两台机器上的耗时比例缩放。
"""
import dataclasses
import json
import os
import platform
import time
from pathlib import Path

from coursetools import REPO_ROOT
from coursetools import limits as limits_file

MIN_SCALE = 0.5  # a faster image shortens limits at most this much
PROBE_ROUNDS = 3  # the probe's best of this many runs


class CalibrationError(Exception):
    """The reference did not grade cleanly here (or the shipped times do not fit), so no limits were made."""


def cuda_present() -> bool:
    from autograder.parent.runner import prepare_environment

    prepare_environment()  # no CUDA initialisation in the parent, which forks
    import torch

    return bool(torch.cuda.is_available())


def cache_path(options) -> Path:
    return limits_file.path_for(cuda_present(), bool(options.full))


def load(options):
    """{test name: seconds} calibrated on this machine for these graders, or None."""
    return limits_file.load(cuda_present(), bool(options.full))


def probe() -> float:
    """Seconds of a fixed small torch workload on one thread (the best of PROBE_ROUNDS): a small MLP's training
    steps on random MNIST-sized batches, like the graders' own work. Only its ratio between machines is used."""
    from autograder.parent.runner import prepare_environment

    prepare_environment()
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        generator = torch.Generator().manual_seed(0)
        images = torch.rand(64, 784, generator=generator)
        labels = torch.randint(0, 10, (64,), generator=generator)
        best = float("inf")
        for _ in range(PROBE_ROUNDS):
            torch.manual_seed(0)
            model = torch.nn.Sequential(torch.nn.Linear(784, 128), torch.nn.ReLU(), torch.nn.Linear(128, 10))
            optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
            started = time.perf_counter()
            for _ in range(150):
                optimizer.zero_grad()
                torch.nn.functional.cross_entropy(model(images), labels).backward()
                optimizer.step()
            best = min(best, time.perf_counter() - started)
    finally:
        torch.set_num_threads(threads)
    return best


def _write(path: Path, seconds: dict, limits: dict, options, **about):
    from autograder.parent.results import _atomic_write

    path.parent.mkdir(parents=True, exist_ok=True)
    _atomic_write(str(path), json.dumps({
        "grader_version": limits_file.grader_version(), "machine": platform.node(),
        "cpus": len(os.sched_getaffinity(0)), "workers": options.workers,
        "measured": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "rule": limits_file.RULE, **about,
        "limits": dict(sorted(limits.items())), "seconds": dict(sorted(seconds.items()))}, indent=1) + "\n")


def calibrate(options, progress=None):
    """Grade the reference with `options`; keep its tests' limits. Returns (path, {test: limit})."""
    from autograder.parent import runner

    reference = dataclasses.replace(options, time_limits=None)
    [result] = runner.grade_all([("reference", str(REPO_ROOT / "solutions"), "reference")], reference, progress)
    failed = [test for test in result.tests() if test.status == "failed"]
    if not result.complete or failed or not result.max_score:
        errors = [lesson.error for lesson in result.lessons.values() if lesson.error]
        first = failed[0].name if failed else (errors or [result.error])[0]
        raise CalibrationError(f"the reference did not get full marks on this machine ({len(failed)} failed; first: "
                               f"{first}); time limits not calibrated, the graders' own limits apply")
    path = cache_path(options)
    known = limits_file.read(path)
    limits, seconds = known.get("limits", {}), known.get("seconds", {})
    for test in result.tests():
        if test.status == "passed":
            limits[test.name] = limits_file.limit_for(test.duration)
            seconds[test.name] = round(test.duration, 3)
    _write(path, seconds, limits, options, probe=round(probe(), 4))
    return path, limits


def export_times(options, target) -> Path:
    """Write this machine's calibration (the reference's seconds per test and the probe's) to `target`, for a
    machine without the reference (`from_times`). Raises CalibrationError when this machine has none."""
    data = limits_file.read(cache_path(options))
    if not data.get("seconds"):
        raise CalibrationError(
            f"no calibration of these graders on this machine ({cache_path(options)}): run `python -m autograder "
            "calibrate` first (it grades solutions/ once, a few minutes), then build the bundle again")
    if not data.get("probe"):
        data["probe"] = probe()  # a calibration written before the probe existed: measure it now
    target = Path(target)
    target.write_text(json.dumps({"grader_version": data.get("grader_version"), "machine": data.get("machine"),
                                  "probe": data["probe"], "full": bool(options.full),
                                  "seconds": data["seconds"]}, indent=1) + "\n", encoding="utf-8")
    return target


def from_times(options, source):
    """Calibrate from the reference's times measured elsewhere (`export_times`), scaled by this machine's probe
    time over theirs. Returns (path, {test: limit}, scale)."""
    try:
        data = json.loads(Path(source).read_text(encoding="utf-8"))
        theirs = float(data["probe"])
        seconds = {str(name): float(value) for name, value in data["seconds"].items()}
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as error:
        raise CalibrationError(f"cannot read the reference's times in {source}: {error}") from None
    if not seconds or theirs <= 0:
        raise CalibrationError(f"{source} holds no reference times")
    ours = probe()
    scale = max(MIN_SCALE, ours / theirs)
    scaled = {name: round(value * scale, 3) for name, value in seconds.items()}
    limits = {name: limits_file.limit_for(value) for name, value in scaled.items()}
    path = cache_path(options)
    _write(path, scaled, limits, options, probe=round(ours, 4), scaled_from={
        "machine": data.get("machine"), "grader_version": data.get("grader_version"), "probe": theirs,
        "scale": round(scale, 3)})
    return path, limits, scale


def summary(limits: dict) -> str:
    values = sorted(limits.values())
    return (f"calibrated {len(values)} tests on this machine: limits {values[0]:g} s to {values[-1]:g} s "
            f"(median {values[len(values) // 2]:g} s; never above a grader's own limit)") if values else "no tests"
