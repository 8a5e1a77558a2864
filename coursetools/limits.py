"""Calibrated time limits: the file's place, its format and its rule, read by the engine and the student tools.

    limit = max(FLOOR, ceil(FACTOR x the reference's seconds on this machine + SLACK))

`python -m autograder calibrate` (autograder/parent/calibrate.py) measures the reference and
writes the file; the engine (`grade`, `batch`) and the in-process limits of the student tools
(coursetools/checks/pytest_plugin.py) read it through `load`. The file lives in the cache folder
($AUTOGRADER_CACHE, else ~/.cache/pytorch-from-zero), one per grader version, per CUDA-or-not
and per --full. This module imports neither side, so imports flow one way: engine -> lesson ->
boundary, and student tools -> checks -> boundary, both onto this base.

校准后的时间限制：文件位置、格式与规则；评分引擎和学生工具都从这里读取。
"""
import functools
import hashlib
import json
import math
import os
from pathlib import Path

from coursetools import REPO_ROOT

FACTOR = 5.0  # the reference's time on this machine, times this
SLACK = 5.0  # plus this many seconds (scheduling noise, a busy neighbour)
FLOOR = 10.0  # and never less than this
RULE = f"limit = max({FLOOR:g}, {FACTOR:g} x seconds + {SLACK:g}), never above the grader's time_limit"

#: What decides scores, hashed into the grader version (and so into the calibration file's name).
VERSIONED_PACKAGES = ("autograder", "coursetools", "course_data", "solutions")


@functools.cache  # one run asks several times (results, calibration); the files do not change
def grader_version() -> str:
    """A fingerprint of the graders, the engine, the course tools and the reference (what decides scores)."""
    digest = hashlib.sha256()
    for package in VERSIONED_PACKAGES:
        for path in sorted((REPO_ROOT / package).rglob("*.py")):
            if "__pycache__" not in path.parts:
                digest.update(path.relative_to(REPO_ROOT).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def limit_for(seconds: float) -> float:
    """The calibrated limit of a test that took the reference `seconds` here."""
    return float(max(FLOOR, math.ceil(FACTOR * seconds + SLACK)))


def cache_dir() -> Path:
    return Path(os.environ.get("AUTOGRADER_CACHE") or Path.home() / ".cache" / "pytorch-from-zero")


def path_for(cuda: bool, full: bool, version: str = None) -> Path:
    """The calibration file of these graders (default: the ones here) for CUDA-or-not and --full."""
    kind = ("cuda" if cuda else "cpu") + ("-full" if full else "")
    return cache_dir() / f"calibration-{version or grader_version()}-{kind}.json"


def read(path) -> dict:
    """The calibration file at `path` as a dict ({} when it is missing or unreadable); its `limits` and `seconds`
    are {test name: float}."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        data["limits"] = {str(name): float(value) for name, value in data["limits"].items()}
        data["seconds"] = {str(name): float(value) for name, value in (data.get("seconds") or {}).items()}
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return {}
    return data


def load(cuda: bool, full: bool):
    """{test name: seconds} calibrated on this machine for these graders, or None."""
    if not cache_dir().is_dir() or not any(cache_dir().glob("calibration-*.json")):
        return None  # nothing calibrated here: skip hashing the graders
    return read(path_for(cuda, full)).get("limits") or None
