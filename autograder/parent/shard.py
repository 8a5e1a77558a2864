"""Shards: the I-th of N deterministic, balanced slices of a class, so N machines grade one class.

    python -m autograder batch SUBMISSIONS --out DIR --shard I/N      # I = 0 ... N-1
    python -m autograder batch SUBMISSIONS --out DIR --shard auto     # I and N from the scheduler
    python -m autograder batch SUBMISSIONS --out DIR --shard auto/N   # I from the scheduler, N given

Shards are numbered from 0, like Slurm array ids from 0 and Kubernetes' JOB_COMPLETION_INDEX.
`auto` reads, first found wins:
  COURSE_SHARD=I/N                       explicit (a GitHub Actions matrix:
                                         `COURSE_SHARD: ${{ strategy.job-index }}/${{ strategy.job-total }}`)
  SLURM_ARRAY_TASK_ID                    a Slurm job array; the index is (ID - SLURM_ARRAY_TASK_MIN) /
                                         SLURM_ARRAY_TASK_STEP, so `--array=1-8` works too; the count is
                                         SLURM_ARRAY_TASK_COUNT
  JOB_COMPLETION_INDEX                   a Kubernetes Indexed Job; Kubernetes gives no count: set
                                         COURSE_SHARD_COUNT to the Job's `completions`, or use --shard auto/N
  COURSE_SHARD_INDEX (+ COURSE_SHARD_COUNT) anything else
A count on the command line (auto/N) must agree with the one in the environment.

The slicing reads only the class folder: the submission folders sorted by name, each weighed by the
lessons graded that it has files for (LESSON_COST, a fixed table, never this machine's calibration),
dealt out longest first to the lightest shard (ties: the earlier name, the lower shard). Every machine
that sees the same class folder computes the same slices. Each shard writes DIR/shard.json (MANIFEST):
its index, the count, the whole class with each student's shard, the grader version and options, so
`python -m autograder merge` (merge.py) can tell a missing shard from a missing student.

分片：把一个班级确定地、均衡地分成 N 份，每台机器评一份（编号从 0 开始）；merge 合并各份结果。
"""
import json
import os
import time

from coursetools.lessons import costs

MANIFEST = "shard.json"
# Seconds x 10 of one lesson process grading the reference on a 2-core machine: the lesson table's costs
# (coursetools/lessons.py). Only the proportions matter; fixed so that every machine slices alike.
LESSON_COST = costs()
ABSENT_COST = 15  # a lesson the submission has no files for: its lesson process starts, its tests fail at once
ENV_HELP = ("set COURSE_SHARD=I/N, or run it as a Slurm array task (SLURM_ARRAY_TASK_ID), a Kubernetes Indexed "
            "Job pod (JOB_COMPLETION_INDEX with COURSE_SHARD_COUNT), or give both numbers: --shard I/N")


class ShardError(ValueError):
    """A shard that cannot be worked out: what, where it came from, how to fix it."""


def _number(text, what: str, where: str) -> int:
    try:
        return int(str(text).strip())
    except ValueError:
        raise ShardError(f"{what} {text!r} (from {where}) is not a whole number; {ENV_HELP}") from None


def _check(index: int, count: int, where: str) -> tuple:
    if count < 1:
        raise ShardError(f"the shard count {count} (from {where}) must be at least 1")
    if not 0 <= index < count:
        raise ShardError(f"shard index {index} (from {where}) is out of range for {count} shards: shards are "
                         f"numbered 0 to {count - 1} (like Slurm array ids from 0 and Kubernetes' "
                         "JOB_COMPLETION_INDEX); for a Slurm array starting at 1, --shard auto subtracts "
                         "SLURM_ARRAY_TASK_MIN")
    return index, count, where


def parse(spec: str, env=None) -> tuple:
    """(index, count, where) of `--shard` SPEC: 'I/N', 'auto' or 'auto/N' (auto: from `env`, default os.environ)."""
    env = os.environ if env is None else env
    text = (spec or "auto").strip()
    head, slash, tail = text.partition("/")
    if slash and not tail.strip():
        raise ShardError(f"--shard {spec!r}: the count after '/' is missing; write --shard I/N (for example "
                         "--shard 0/4, shards 0 to 3), --shard auto or --shard auto/N")
    count = _number(tail, "the shard count", f"--shard {spec}") if slash else None
    if head.strip().lower() == "auto":
        return from_environment(env, count)
    if not slash:
        raise ShardError(f"--shard {spec!r} is neither I/N nor auto: write --shard I/N (for example --shard 0/4, "
                         "shards numbered 0 to 3), --shard auto (index and count from the scheduler's environment) "
                         "or --shard auto/N")
    return _check(_number(head, "the shard index", f"--shard {spec}"), count, f"--shard {spec}")


def from_environment(env, count=None) -> tuple:
    """(index, count, where) from the environment of a scheduler (see the module's docstring)."""
    def agree(found: int, where: str) -> int:
        if count is not None and found != count:
            raise ShardError(f"--shard auto/{count} disagrees with {where}={found}: give --shard auto alone, or "
                             "the same count")
        return found

    def given_count(where: str) -> int:
        if count is not None:
            return count
        if env.get("COURSE_SHARD_COUNT", "").strip():
            return _number(env["COURSE_SHARD_COUNT"], "COURSE_SHARD_COUNT", "the environment")
        raise ShardError(f"{where} gives the shard index but no count: set COURSE_SHARD_COUNT to the number of "
                         "shards (a Kubernetes Indexed Job: its `completions`) or use --shard auto/N")

    if env.get("COURSE_SHARD", "").strip():
        value = env["COURSE_SHARD"].strip()
        head, slash, tail = value.partition("/")
        if not slash or head.strip().lower() == "auto":
            raise ShardError(f"COURSE_SHARD={value!r} must be I/N (for example 0/4: shards 0 to 3); a GitHub "
                             "Actions matrix: COURSE_SHARD: ${{ strategy.job-index }}/${{ strategy.job-total }}")
        index = _number(head, "the shard index", f"COURSE_SHARD={value}")
        total = agree(_number(tail, "the shard count", f"COURSE_SHARD={value}"), "COURSE_SHARD")
        return _check(index, total, f"COURSE_SHARD={value}")
    if env.get("SLURM_ARRAY_TASK_ID", "").strip():
        task = _number(env["SLURM_ARRAY_TASK_ID"], "SLURM_ARRAY_TASK_ID", "the environment")
        low = _number(env.get("SLURM_ARRAY_TASK_MIN") or 0, "SLURM_ARRAY_TASK_MIN", "the environment")
        step = max(1, _number(env.get("SLURM_ARRAY_TASK_STEP") or 1, "SLURM_ARRAY_TASK_STEP", "the environment"))
        where = f"SLURM_ARRAY_TASK_ID={task} (SLURM_ARRAY_TASK_MIN={low}, step {step})"
        if (task - low) % step:
            raise ShardError(f"{where} is not on the array's step: use a plain range (sbatch --array=0-3 for 4 shards)")
        if env.get("SLURM_ARRAY_TASK_COUNT", "").strip():
            total = agree(_number(env["SLURM_ARRAY_TASK_COUNT"], "SLURM_ARRAY_TASK_COUNT", "the environment"),
                          "SLURM_ARRAY_TASK_COUNT")
        elif env.get("SLURM_ARRAY_TASK_MAX", "").strip():
            high = _number(env["SLURM_ARRAY_TASK_MAX"], "SLURM_ARRAY_TASK_MAX", "the environment")
            total = agree((high - low) // step + 1, "SLURM_ARRAY_TASK_MAX")
        else:
            total = given_count("SLURM_ARRAY_TASK_ID")
        return _check((task - low) // step, total, where)
    for variable in ("JOB_COMPLETION_INDEX", "COURSE_SHARD_INDEX"):
        if env.get(variable, "").strip():
            index = _number(env[variable], variable, "the environment")
            return _check(index, given_count(variable), f"{variable}={index}")
    raise ShardError(f"--shard auto found no shard in the environment (none of COURSE_SHARD, SLURM_ARRAY_TASK_ID, "
                     f"JOB_COMPLETION_INDEX, COURSE_SHARD_INDEX is set): {ENV_HELP}")


def cost(submission: str, lessons) -> int:
    """The estimated cost of grading one submission folder on `lessons` (LESSON_COST units)."""
    total = 0
    for lesson in lessons:
        folder = os.path.join(submission, f"lesson{lesson}")
        try:
            has_files = any(entry.is_file() and entry.name.endswith(".py") for entry in os.scandir(folder))
        except OSError:
            has_files = False
        total += LESSON_COST.get(lesson, ABSENT_COST) if has_files else ABSENT_COST
    return total


def assign(costs: list, count: int) -> list:
    """Shard of each of `costs` (in the class's order): longest first onto the lightest shard, ties broken by
    position then shard number, so the same list always gives the same slices."""
    loads = [0] * count
    shards = [0] * len(costs)
    for position in sorted(range(len(costs)), key=lambda i: (-costs[i], i)):
        lightest = min(range(count), key=lambda s: (loads[s], s))
        shards[position] = lightest
        loads[lightest] += costs[position]
    return shards


def plan(root: str, entries: list, lessons, count: int) -> list:
    """[{name, folder, cost, shard}] for the class `entries` ((fs name, display, folder), sorted by name)."""
    costs = [cost(os.path.join(root, name), lessons) for name, _, _ in entries]
    return [{"name": shown, "folder": folder, "cost": c, "shard": s}
            for (_, shown, folder), c, s in zip(entries, costs, assign(costs, count))]


def read_manifest(folder: str):
    """DIR/shard.json as a dict, or None (none there, or not readable)."""
    try:
        with open(os.path.join(folder, MANIFEST), encoding="utf-8") as file:
            data = json.load(file)
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and "shard" in data and "class" in data else None


def write_manifest(out: str, index: int, count: int, where: str, class_plan: list, version: str, options: dict,
                   root: str, finished: bool = False, exit_status=None) -> str:
    from autograder.parent.results import _atomic_write

    owned = [entry["folder"] for entry in class_plan if entry["shard"] == index]
    data = {"shard": index, "count": count, "from": where, "grader_version": version, "options": options,
            "submissions": root, "class": class_plan, "owned": owned, "finished": finished,
            "exit_status": exit_status, "host": os.uname().nodename,
            "updated": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
    path = os.path.join(out, MANIFEST)
    _atomic_write(path, json.dumps(data, ensure_ascii=False, indent=1) + "\n")
    return path


def same_class(plan_a: list, plan_b: list) -> bool:
    """Two manifests' class lists name the same students in the same results folders on the same shards."""
    def key(entries):
        return [(e.get("name"), e.get("folder"), e.get("shard")) for e in entries]

    return key(plan_a) == key(plan_b)
