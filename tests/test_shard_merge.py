"""Check shards and merge: `batch --shard I/N` slices a class alike on every machine, and `merge` makes the
shards' folders into the one-machine `batch` output, saying who is missing and refusing mixed graders.

检查分片与合并：各机器分片一致且均衡；合并结果与单机 batch 相同；缺少学生时非零退出；评分程序版本不同时拒绝。
"""
import csv
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from autograder.overlay import build
from autograder.parent import shard
from coursetools import REPO_ROOT

SLURM = {"SLURM_ARRAY_TASK_ID": "3", "SLURM_ARRAY_TASK_MIN": "1", "SLURM_ARRAY_TASK_MAX": "4",
         "SLURM_ARRAY_TASK_COUNT": "4"}
SCHEDULER_VARIABLES = ("COURSE_SHARD", "COURSE_SHARD_INDEX", "COURSE_SHARD_COUNT", "SLURM_ARRAY_TASK_ID",
                       "SLURM_ARRAY_TASK_MIN", "SLURM_ARRAY_TASK_MAX", "SLURM_ARRAY_TASK_COUNT",
                       "SLURM_ARRAY_TASK_STEP", "JOB_COMPLETION_INDEX")


def engine(*args, env=None, timeout=600):
    environment = {k: v for k, v in os.environ.items() if k not in SCHEDULER_VARIABLES}
    environment.update(env or {})
    return subprocess.run([sys.executable, "-m", "autograder", *map(str, args)], check=False, cwd=REPO_ROOT,
                          text=True, capture_output=True, env=environment, timeout=timeout)


def gradebook(folder: Path) -> list:
    with (folder / "gradebook.csv").open(encoding="utf-8", newline="") as file:
        return list(csv.reader(file))


# -- the slicing, without grading

@pytest.mark.parametrize("spec, env, expected", [
    ("1/4", {}, (1, 4)),
    ("auto", SLURM, (2, 4)),  # an array --array=1-4: task 3 is the third shard
    ("auto", {"SLURM_ARRAY_TASK_ID": "4", "SLURM_ARRAY_TASK_MIN": "0", "SLURM_ARRAY_TASK_STEP": "2",
              "SLURM_ARRAY_TASK_MAX": "6"}, (2, 4)),
    ("auto", {"JOB_COMPLETION_INDEX": "2", "COURSE_SHARD_COUNT": "3"}, (2, 3)),  # Kubernetes Indexed Job
    ("auto/3", {"JOB_COMPLETION_INDEX": "0"}, (0, 3)),
    ("auto", {"COURSE_SHARD": "1/2"}, (1, 2)),  # a GitHub Actions matrix
    ("auto", {"COURSE_SHARD": "0/2", "SLURM_ARRAY_TASK_ID": "1", "SLURM_ARRAY_TASK_COUNT": "2"}, (0, 2)),
    ("auto", {"COURSE_SHARD_INDEX": "1", "COURSE_SHARD_COUNT": "2"}, (1, 2)),
])
def test_shard_spec_comes_from_the_command_or_the_schedulers_environment(spec, env, expected):
    """Check I/N, auto and auto/N with Slurm (arrays from 1, with a step), Kubernetes and GitHub variables."""
    assert shard.parse(spec, env)[:2] == expected


@pytest.mark.parametrize("spec, env, words", [
    ("4/4", {}, "numbered 0 to 3"),
    ("-1/4", {}, "out of range"),
    ("1/0", {}, "at least 1"),
    ("one/4", {}, "not a whole number"),
    ("3", {}, "neither I/N nor auto"),
    ("1/", {}, "count after '/' is missing"),
    ("auto", {}, "found no shard in the environment"),
    ("auto", {"JOB_COMPLETION_INDEX": "1"}, "COURSE_SHARD_COUNT"),
    ("auto/5", SLURM, "disagrees with SLURM_ARRAY_TASK_COUNT=4"),
    ("auto", {"COURSE_SHARD": "2"}, "must be I/N"),
])
def test_a_bad_shard_says_what_where_and_how_to_fix(spec, env, words):
    """Check each bad spec or environment gives a ShardError naming the problem and a fix."""
    with pytest.raises(shard.ShardError) as error:
        shard.parse(spec, env)
    assert words in str(error.value)


def test_slices_are_deterministic_balanced_and_cover_the_class():
    """Check every student is in exactly one shard, loads differ by at most one student's cost, and the
    same costs give the same slices (they depend on the list alone)."""
    costs = [57] * 7 + [72, 15 + 25, 57, 30, 57]
    for count in (1, 2, 3, 5, 20):
        shards = shard.assign(costs, count)
        assert shards == shard.assign(list(costs), count) and len(shards) == len(costs)
        assert all(0 <= s < count for s in shards)
        loads = [sum(c for c, s in zip(costs, shards) if s == k) for k in range(count)]
        assert max(loads) - min(loads) <= max(costs), loads
    assert shard.assign([10] * 5, 2) == [0, 1, 0, 1, 0]  # equal costs: dealt round the shards in name order


def test_cost_counts_the_lessons_a_submission_has(tmp_path):
    """Check a submission weighs the lessons it has files for, and the plan is the same from any folder order."""
    for name, lessons in (("b", (1, 2)), ("a", (1,)), ("c", ())):
        for lesson in lessons:
            (tmp_path / name / f"lesson{lesson}").mkdir(parents=True)
            (tmp_path / name / f"lesson{lesson}" / "x.py").write_text("")
        (tmp_path / name).mkdir(exist_ok=True)
    assert shard.cost(str(tmp_path / "b"), [1, 2]) == shard.LESSON_COST[1] + shard.LESSON_COST[2]
    assert shard.cost(str(tmp_path / "a"), [1, 2]) == shard.LESSON_COST[1] + shard.ABSENT_COST
    entries = [(n, n, n) for n in ("a", "b", "c")]
    plan = shard.plan(str(tmp_path), entries, [1, 2], 2)
    assert [e["shard"] for e in plan] == [1, 0, 1] and plan == shard.plan(str(tmp_path), entries, [1, 2], 2)


def test_batch_with_a_bad_shard_is_a_usage_error(tmp_path):
    """Check the command exits 2 with the reason before grading anything."""
    (tmp_path / "class" / "alice").mkdir(parents=True)
    result = engine("batch", tmp_path / "class", "--out", tmp_path / "out", "--shard", "2/2", timeout=120)
    assert result.returncode == 2 and "numbered 0 to 1" in result.stderr, result.stderr
    result = engine("batch", tmp_path / "class", "--out", tmp_path / "out", "--shard", timeout=120)
    assert result.returncode == 2 and "found no shard in the environment" in result.stderr, result.stderr


# -- a class graded for real: one machine, two shards, merged

@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """Four students on lessons 1 and 2 (solved; stubs; the double-backward mutant; lesson 1 only), graded by one
    `batch` and by two shards (one from --shard 0/2, one from a Slurm array's environment, --array=1-2)."""
    tmp = tmp_path_factory.mktemp("shards")
    root = tmp / "class"
    empty = tmp / "overlay"
    empty.mkdir()
    build(empty, root / "alice")
    build(REPO_ROOT / "tests" / "mutants" / "double-backward", root / "carol", lessons={2})
    shutil.copytree(REPO_ROOT / "exercises", root / "bob", ignore=shutil.ignore_patterns("__pycache__", "test_*"))
    build(empty, root / "dave")
    shutil.rmtree(root / "dave" / "lesson2")
    common = ["--lessons", "1", "2", "--quiet"]
    whole = engine("batch", root, "--out", tmp / "whole", *common)
    assert whole.returncode == 0, whole.stdout + whole.stderr
    first = engine("batch", root, "--out", tmp / "shard-0", "--shard", "0/2", *common)
    assert first.returncode == 0 and "shard 0/2" in first.stderr, first.stdout + first.stderr
    second = engine("batch", root, "--out", tmp / "shard-1", "--shard", *common,
                    env={"SLURM_ARRAY_TASK_ID": "2", "SLURM_ARRAY_TASK_MIN": "1", "SLURM_ARRAY_TASK_COUNT": "2"})
    assert second.returncode == 0 and "shard 1/2" in second.stderr, second.stdout + second.stderr
    return tmp


@pytest.mark.slow
def test_shards_merged_in_any_order_equal_one_machines_batch(graded):
    """Check each shard grades only its students, and merging them (either order) gives the batch's gradebook,
    every results.json and the table, exit 0."""
    manifests = [json.loads((graded / f"shard-{i}" / "shard.json").read_text()) for i in (0, 1)]
    owned = [set(m["owned"]) for m in manifests]
    assert owned[0] | owned[1] == {"alice", "bob", "carol", "dave"} and not owned[0] & owned[1]
    assert all(m["finished"] and m["count"] == 2 and m["exit_status"] == 0 for m in manifests)
    for i in (0, 1):
        assert {row[0] for row in gradebook(graded / f"shard-{i}")[1:]} == owned[i]
    for order in ((0, 1), (1, 0)):
        out = graded / f"merged-{order[0]}{order[1]}"
        result = engine("merge", *[graded / f"shard-{i}" for i in order], "--out", out)
        assert result.returncode == 0, result.stdout + result.stderr
        assert gradebook(out) == gradebook(graded / "whole")
        assert "4 of 4 students graded" in result.stderr and "carol" in result.stdout
        for name in ("alice", "bob", "carol", "dave"):
            merged = json.loads((out / name / "results.json").read_text())
            alone = json.loads((graded / "whole" / name / "results.json").read_text())
            assert (merged["score"], merged["max_score"]) == (alone["score"], alone["max_score"])
    assert (graded / "merged-01" / "gradebook.csv").read_bytes() == (graded / "merged-10" / "gradebook.csv").read_bytes()
    rows = {row[0]: row for row in gradebook(graded / "merged-01")}
    assert rows["alice"][5] == "100.0" and "double-backward" in rows["carol"][6]


@pytest.mark.slow
def test_a_missing_shard_names_the_missing_students_and_fails(graded):
    """Check merging one of two shards exits 1, names the other shard's students, and lists them as not graded."""
    result = engine("merge", graded / "shard-0", "--out", graded / "half")
    missing = sorted(json.loads((graded / "shard-1" / "shard.json").read_text())["owned"])
    assert result.returncode == 1, result.stdout + result.stderr
    assert f"missing students ({len(missing)}): {', '.join(missing)} (shards not given: 1 of 2" in result.stderr
    assert "--resume" in result.stderr and "not graded: shard 1/2 is missing" in result.stdout
    rows = {row[0]: row for row in gradebook(graded / "half")}
    assert all("shard 1/2 is missing" in rows[name][-2] for name in missing)


@pytest.mark.slow
def test_a_student_graded_twice_is_kept_once_or_refused_when_graders_differ(graded, tmp_path):
    """Check the one-machine folder merged with the shards says 'graded twice, identical' (exit 0); a shard
    graded with another grader version, or other options, is refused (exit 2) and nothing is written."""
    result = engine("merge", graded / "shard-0", graded / "shard-1", graded / "whole", "--out", tmp_path / "all")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "graded twice, identical results (one kept): alice" in result.stderr
    for field, value, words in (("grader_version", "0123456789abcdef", "different grader version"),
                                ("options", {"lessons": [1], "full": False, "cuda": False}, "different options")):
        odd = tmp_path / f"odd-{field}"
        shutil.copytree(graded / "shard-1", odd)
        manifest = json.loads((odd / "shard.json").read_text())
        name = manifest["owned"][0]
        data = json.loads((odd / name / "results.json").read_text())
        data["extra_data"][field] = value
        (odd / name / "results.json").write_text(json.dumps(data))
        result = engine("merge", graded / "whole", odd, "--out", tmp_path / f"refused-{field}")
        assert result.returncode == 2 and "refused" in result.stderr and words in result.stderr, result.stderr
        assert not (tmp_path / f"refused-{field}").exists()


@pytest.mark.slow
def test_resume_works_on_a_shard_and_a_shard_folder_is_kept_to_its_shard(graded):
    """Check `--resume` on a finished shard grades nothing, and another shard into that folder is refused."""
    common = ["--lessons", "1", "2", "--quiet"]
    result = engine("batch", graded / "class", "--out", graded / "shard-0", "--shard", "0/2", "--resume", *common)
    count = len(json.loads((graded / "shard-0" / "shard.json").read_text())["owned"])
    assert result.returncode == 0 and f"resuming: {count} of {count}" in result.stderr, result.stderr
    result = engine("batch", graded / "class", "--out", graded / "shard-0", "--shard", "1/2", *common)
    assert result.returncode == 2 and "already holds shard 0/2" in result.stderr, result.stderr
