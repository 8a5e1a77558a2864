"""The engine's processes cost what they should: a looping function costs seconds, a budget is kept.

引擎的进程开销有界：死循环的函数只浪费几秒钟，评分时间上限得到遵守。

A submission whose lesson 1 `filled` loops forever (tests/hostile/loop-filled) is graded with
the graders' own limits (60 s a test, no calibration): its first test runs out its limit, the
next ones get the short leash, the rest are cut short without calling it; nbgrader's engine run
keeps a budget inside its own timeout and keeps the points of the tests finished by then.
"""
import json
import time
from pathlib import Path

from autograder import overlay
from autograder.parent import notebooks

HERE = Path(__file__).resolve().parent
LOOPER = HERE / "hostile" / "loop-filled"


def _looper(tmp_path) -> Path:
    return overlay.build(LOOPER, tmp_path / "subs" / "looper", lessons=[1])


def test_a_looping_function_costs_at_most_two_minutes_of_a_batch(tmp_path):
    """Check that one endless loop in `filled` costs lesson 1 less than two minutes, and the messages say why."""
    _looper(tmp_path)
    started = time.monotonic()
    results = overlay.grade_batch(tmp_path / "subs", tmp_path / "out", "--lessons", "1", "--graders-time-limits",
                                  "--workers", "1", timeout=600)["looper"]
    wall = time.monotonic() - started
    lesson = results["extra_data"]["lessons"]["1"]
    failed = [t for t in results["tests"] if t["status"] == "failed"]
    assert failed and all("filled" in t["name"] for t in failed), [t["name"] for t in failed]
    assert lesson["seconds"] < 120, (lesson["seconds"], wall)
    first, *others = failed
    assert "filled ran longer than 60 s" in first["output"] and "filled 运行超过 60 秒" in first["output"]
    assert "10 s each" in first["output"] and "10 秒" in first["output"]
    again = [t for t in others if "ran longer than 10 s again" in t["output"]]
    cut = [t for t in others if "filled was not called in this test" in t["output"]]
    assert len(again) == 1 and len(cut) == len(others) - 1 >= 10
    assert all("本测试没有调用 filled" in t["output"] and "其他测试被直接终止" in t["output"] for t in cut)
    assert results["score"] > 0 and all(t["extra_data"]["duration"] < 30 for t in others)
    # a timeout stops the test's child only: the student process, torch imported, stays for the next tests
    assert lesson["student_process_starts"] == 1, lesson


def test_an_engine_run_for_nbgrader_keeps_its_budget_and_the_finished_points(tmp_path):
    """Check that run_engine's budget stops a looping lesson inside nbgrader's timeout with the finished points."""
    submission = _looper(tmp_path)
    timeout = 80
    started = time.monotonic()
    results = notebooks.run_engine(submission, 1, tmp_path / "out", timeout, 1.0)
    wall = time.monotonic() - started
    assert wall < timeout
    assert results["extra_data"]["complete"] is True
    passed = [t for t in results["tests"] if t["status"] == "passed"]
    unfinished = [t for t in results["tests"] if "not graded: grading this submission may take" in t["output"]]
    assert passed and results["score"] == sum(t["max_score"] for t in passed) > 0
    assert unfinished and all("未评分" in t["output"] and t["score"] == 0 for t in unfinished)
    json.dumps(results)  # plain JSON, as nbgrader reads it
