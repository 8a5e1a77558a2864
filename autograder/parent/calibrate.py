"""Time limits that scale with the machine: the reference's own time on it, times a factor.

    python -m autograder calibrate [--lessons ...] [--workers N]

grades solutions/ once, with the options given, and keeps each test's time. Afterwards
`grade` and `batch` on this machine give a test FACTOR × the reference's time + SLACK
seconds (at least FLOOR), never more than the grader's own `time_limit` marker: an endless
loop in a one-second test costs about ten seconds, not the minutes a training test may
need. Without a calibration the graders' limits apply. The file lives in the cache folder
($AUTOGRADER_CACHE, else ~/.cache/pytorch-from-zero), one per grader version, per
CUDA-or-not and per --full; the Gradescope image calibrates when it is built (setup.sh).
`--timeout-factor` still multiplies every limit.

用参考答案在本机上的运行时间乘以系数作为每个测试的时间限制：死循环只浪费几秒钟。
"""
import dataclasses
import json
import math
import os
import platform
import time
from pathlib import Path

from coursetools import REPO_ROOT

FACTOR = 5.0  # the reference's time on this machine, times this
SLACK = 5.0  # plus this many seconds (scheduling noise, a busy neighbour)
FLOOR = 10.0  # and never less than this


class CalibrationError(Exception):
    """The reference did not grade cleanly here, so its times say nothing."""


def cuda_present() -> bool:
    from autograder.parent.runner import prepare_environment

    prepare_environment()  # no CUDA initialisation in the parent, which forks
    import torch

    return bool(torch.cuda.is_available())


def cache_dir() -> Path:
    return Path(os.environ.get("AUTOGRADER_CACHE") or Path.home() / ".cache" / "pytorch-from-zero")


def cache_path(options) -> Path:
    from autograder.parent.results import grader_version

    kind = ("cuda" if cuda_present() else "cpu") + ("-full" if options.full else "")
    return cache_dir() / f"calibration-{grader_version()}-{kind}.json"


def limit_for(seconds: float) -> float:
    return float(max(FLOOR, math.ceil(FACTOR * seconds + SLACK)))


def load(options):
    """{test name: seconds} calibrated on this machine for these graders, or None."""
    try:
        data = json.loads(cache_path(options).read_text(encoding="utf-8"))
        limits = {str(name): float(value) for name, value in data["limits"].items()}
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None
    return limits or None


def calibrate(options, progress=None):
    """Grade the reference with `options`; keep its tests' limits. Returns (path, {test: limit})."""
    from autograder.parent import runner
    from autograder.parent.results import _atomic_write, grader_version

    reference = dataclasses.replace(options, time_limits=None)
    [result] = runner.grade_all([("reference", str(REPO_ROOT / "solutions"), "reference")], reference, progress)
    failed = [test for test in result.tests() if test.status == "failed"]
    if not result.complete or failed or not result.max_score:
        errors = [lesson.error for lesson in result.lessons.values() if lesson.error]
        first = failed[0].name if failed else (errors or [result.error])[0]
        raise CalibrationError(f"the reference did not get full marks on this machine ({len(failed)} failed; first: "
                               f"{first}); time limits not calibrated, the graders' own limits apply")
    path = cache_path(options)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        limits, seconds = dict(data["limits"]), dict(data["seconds"])
    except (OSError, ValueError, KeyError, TypeError):
        limits, seconds = {}, {}
    for test in result.tests():
        if test.status == "passed":
            limits[test.name] = limit_for(test.duration)
            seconds[test.name] = round(test.duration, 3)
    path.parent.mkdir(parents=True, exist_ok=True)
    _atomic_write(str(path), json.dumps({
        "grader_version": grader_version(), "machine": platform.node(), "cpus": len(os.sched_getaffinity(0)),
        "workers": options.workers, "measured": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "rule": f"limit = max({FLOOR:g}, {FACTOR:g} x seconds + {SLACK:g}), never above the grader's time_limit",
        "limits": dict(sorted(limits.items())), "seconds": dict(sorted(seconds.items()))}, indent=1) + "\n")
    return path, limits


def summary(limits: dict) -> str:
    values = sorted(limits.values())
    return (f"calibrated {len(values)} tests on this machine: limits {values[0]:g} s to {values[-1]:g} s "
            f"(median {values[len(values) // 2]:g} s; never above a grader's own limit)") if values else "no tests"
