"""Check that grading always ends in results: written as students finish, kept through kills, resumed,
for any folder name, with every file left out named, a fixed maximum, and time limits from this machine.

检查评分总有结果：每个学生评完即写出；被终止后已完成的测试仍在；可续评；任何文件夹名都能评分；
未评分的文件都有说明；满分固定；时间限制来自本机的校准。
"""
import csv
import json
import os
import shutil
import signal
import subprocess
import sys
import time

import pytest

from coursetools import REPO_ROOT

pytestmark = pytest.mark.slow
NON_UTF8 = os.fsdecode(b"caf\xe9")  # a folder name in Latin-1, as an old zip tool writes it


def engine(*args, env=None):
    return subprocess.Popen([sys.executable, "-m", "autograder", *map(str, args)], cwd=REPO_ROOT, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env={**os.environ, **(env or {})})


def finish(process, timeout=900):
    out, err = process.communicate(timeout=timeout)
    return process.returncode, out, err


def read(out, folder):
    return json.loads((out / folder / "results.json").read_text(encoding="utf-8"))


def gradebook(out):
    with (out / "gradebook.csv").open(encoding="utf-8") as file:
        return {row["submission"]: row for row in csv.DictReader(file)}


def wait_for(condition, seconds=600, what="the condition"):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if condition():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def progress(out) -> dict:
    try:
        return json.loads((out / "progress.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def lesson_processes(parent: int) -> list:
    """The children of the grading parent: its lesson processes."""
    children = []
    for task in os.listdir(f"/proc/{parent}/task"):
        try:
            with open(f"/proc/{parent}/task/{task}/children") as file:
                children += file.read().split()
        except OSError:
            pass
    return [int(pid) for pid in children]


@pytest.fixture()
def klass(tmp_path):
    """Three students, lessons 1 and 2: one solved, one stubbed, one whose folder name is not UTF-8."""
    root = tmp_path / "class"
    for name, source in (("alice", "solutions"), ("bob", "exercises"), (NON_UTF8, "solutions")):
        for lesson in (1, 2):
            shutil.copytree(REPO_ROOT / source / f"lesson{lesson}", root / name / f"lesson{lesson}")
    return root


def test_a_stopped_batch_keeps_finished_students_and_resume_grades_only_the_rest(klass, tmp_path):
    """Check SIGTERM halfway: exit 143, the finished student's results complete, the others marked unfinished
    with their finished tests kept; `--resume` then grades only those, and the gradebook has every student."""
    out = tmp_path / "out"
    batch = engine("batch", klass, "--out", out, "--lessons", "1", "2", "--workers", "1", "--quiet")
    wait_for(lambda: progress(out).get("finished", 0) >= 1, what="the first student to finish")
    first = read(out, "alice")  # sorted names: alice is graded first
    assert first["extra_data"]["finished"] and first["extra_data"]["complete"] and first["score"] == first["max_score"]
    assert gradebook(out)["alice"]["percent"] == "100.0"  # the gradebook is written as students finish
    written = (out / "alice" / "results.json").stat().st_mtime_ns
    wait_for(lambda: any(t["status"] == "passed" or "not graded yet" not in t["output"]
                         for t in read(out, "bob")["tests"]), what="a verdict for the second student")
    batch.send_signal(signal.SIGTERM)
    code, _, err = finish(batch, 120)
    assert code == 143 and "stopped" in err, err
    bob = read(out, "bob")
    assert bob["extra_data"]["finished"] is False and bob["max_score"] == first["max_score"]
    assert any("not implemented" in t["output"] for t in bob["tests"])  # its finished tests are kept
    assert any("stopped" in e or "not graded" in e for e in bob["extra_data"]["errors"] + [bob["output"]])
    rows = gradebook(out)
    assert sorted(rows) == sorted(["alice", "bob", "caf\\xe9"]) and "did not finish" in rows["bob"]["error"]

    code, out_text, err = finish(engine("batch", klass, "--out", out, "--lessons", "1", "2", "--workers", "1",
                                        "--quiet", "--resume"))
    assert code == 0, out_text + err
    assert "resuming: 1 of 3" in err
    assert (out / "alice" / "results.json").stat().st_mtime_ns == written  # not graded again
    rows = gradebook(out)
    assert [rows[n]["percent"] for n in ("alice", "bob", "caf\\xe9")] == ["100.0", "0.0", "100.0"]
    assert not any(row["error"] for row in rows.values())
    assert read(out, "caf_xe9")["extra_data"]["submission"] == "caf\\xe9"


def test_a_killed_lesson_process_costs_its_lesson_and_a_killed_grader_leaves_partial_results(tmp_path):
    """Check SIGKILL of a lesson process: its lesson's unfinished tests fail with the reason, the other lesson is
    graded and the maximum does not move; then SIGKILL of the whole grader: results.json holds the tests done.
    Lessons 1 and 4 have lesson processes of their own (the table's `process`); 1 and 2 share one (below)."""
    submission = tmp_path / "sub"
    for lesson in (1, 2, 4):
        shutil.copytree(REPO_ROOT / "solutions" / f"lesson{lesson}", submission / f"lesson{lesson}")
    code, _, err = finish(engine("grade", submission, "--out", tmp_path / "ref", "--lessons", "1", "2", "4",
                                 "--workers", "1", "--quiet"))
    reference = read(tmp_path / "ref", "")
    assert code == 0 and reference["score"] == reference["max_score"] > 0, err
    lesson_max = {n: lesson["max_score"] for n, lesson in reference["extra_data"]["lessons"].items()}
    reference["max_score"] = lesson_max["1"] + lesson_max["4"]
    out = tmp_path / "out"
    grade = engine("grade", submission, "--out", out, "--lessons", "1", "4", "--workers", "1", "--quiet")
    wait_for(lambda: (out / "results.json").exists() and sum(t["status"] == "passed" and t["name"].startswith("lesson1/")
                                                             for t in read(out, "")["tests"]) >= 3,
             what="three verdicts of lesson 1 (graded after lesson 4)")
    [lesson_process] = lesson_processes(grade.pid)
    os.kill(lesson_process, signal.SIGKILL)
    code, _, err = finish(grade)
    assert code == 1, err  # a grader error (not the student's): exit status 1
    data = read(out, "")
    assert data["max_score"] == reference["max_score"]
    lessons = data["extra_data"]["lessons"]
    broken = [n for n, lesson in lessons.items() if lesson["error"]]
    assert len(broken) == 1 and "stopped unexpectedly" in lessons[broken[0]]["error"]
    other = "1" if broken == ["4"] else "4"
    assert lessons[other]["score"] == lessons[other]["max_score"] > 0
    assert 0 < data["score"] < data["max_score"]

    # one lesson process for lessons 1 and 2, killed in lesson 1: both lessons say so, the verdicts sent keep points
    out = tmp_path / "out-1-2"
    grade = engine("grade", submission, "--out", out, "--lessons", "1", "2", "--workers", "1", "--quiet")
    wait_for(lambda: (out / "results.json").exists() and sum(t["status"] == "passed" for t in read(out, "")["tests"]) >= 3,
             what="three verdicts")
    [lesson_process] = lesson_processes(grade.pid)
    os.kill(lesson_process, signal.SIGKILL)
    code, _, err = finish(grade)
    assert code == 1, err
    data = read(out, "")
    lessons = data["extra_data"]["lessons"]
    assert data["max_score"] == lesson_max["1"] + lesson_max["2"] and 0 < data["score"] < lessons["1"]["max_score"]
    assert all("stopped unexpectedly" in (lessons[n]["error"] or "") for n in ("1", "2")), lessons
    assert lessons["2"]["score"] == 0

    grade = engine("grade", submission, "--out", tmp_path / "out2", "--lessons", "1", "2", "--workers", "1", "--quiet")
    wait_for(lambda: (tmp_path / "out2" / "results.json").exists()
             and sum(t["status"] == "passed" for t in read(tmp_path / "out2", "")["tests"]) >= 3, what="three verdicts")
    grade.kill()
    finish(grade)
    partial = read(tmp_path / "out2", "")
    assert partial["extra_data"]["finished"] is False and partial["max_score"] == lesson_max["1"] + lesson_max["2"]
    assert sum(t["status"] == "passed" for t in partial["tests"]) >= 3
    assert any("not graded yet" in t["output"] for t in partial["tests"])


def test_a_non_utf8_folder_grades_alone_and_in_a_batch(tmp_path):
    """Check `grade` on a folder whose name is not UTF-8: results written, the name shown with an escape."""
    submission = tmp_path / NON_UTF8
    shutil.copytree(REPO_ROOT / "solutions" / "lesson1", submission / "lesson1")
    code, out, err = finish(engine("grade", submission, "--lessons", "1", "--quiet", "--workers", "1",
                                   "--out", tmp_path / "out"))
    assert code == 0, out + err
    data = read(tmp_path / "out", "")
    assert data["score"] == data["max_score"] > 0 and data["extra_data"]["submission"] == "caf\\xe9"
    assert "caf\\xe9" in out


def test_files_left_out_are_listed_with_the_reason(tmp_path):
    """Check that a symlink, a FIFO, a file over 20 MiB and files past the 200 MiB cap are named with why."""
    submission = tmp_path / "sub"
    shutil.copytree(REPO_ROOT / "solutions" / "lesson1", submission / "lesson1")
    (submission / "lesson1" / "secret.py").symlink_to("/etc/hostname")
    os.mkfifo(submission / "lesson1" / "pipe")
    with open(submission / "big.bin", "wb") as file:
        file.truncate(30 * 2**20)  # sparse: no disk used
    for index in range(11):  # 11 x 19 MiB: the last files pass the 200 MiB a submission may have
        with open(submission / f"data{index:02d}.bin", "wb") as file:
            file.truncate(19 * 2**20)
    code, out, err = finish(engine("grade", submission, "--lessons", "1", "--quiet", "--workers", "1",
                                   "--out", tmp_path / "out"))
    assert code == 0, out + err
    data = read(tmp_path / "out", "")
    reasons = {item["path"]: item["reason"] for item in data["extra_data"]["skipped_files"]}
    assert "symbolic link" in reasons["lesson1/secret.py"] and "FIFO" in reasons["lesson1/pipe"]
    assert "over the 20 MiB" in reasons["big.bin"]
    assert "200 MiB" in reasons["data10.bin"] and "data00.bin" not in reasons
    assert "lesson1/pipe" in data["output"] and "not graded: big.bin" in out
    assert data["score"] == data["max_score"] > 0  # the lesson file itself was graded


def test_calibrated_time_limits_stop_an_endless_loop_in_seconds(tmp_path):
    """Check `calibrate` (the reference's times on this machine) and that an endless loop in sgd_step then costs
    about ten seconds per test, not the graders' 60 to 300 s."""
    env = {"AUTOGRADER_CACHE": str(tmp_path / "cache")}
    code, out, err = finish(engine("calibrate", "--lessons", "2", "--workers", "1", "--quiet", env=env))
    assert code == 0 and "calibrated" in out, out + err
    [cache] = (tmp_path / "cache").glob("calibration-*.json")  # beside it, as root: the lasting trusted cache
    limits = json.loads(cache.read_text(encoding="utf-8"))["limits"]
    assert limits and all(10 <= value < 60 for value in limits.values())
    submission = tmp_path / "hang"
    shutil.copytree(REPO_ROOT / "solutions" / "lesson2", submission / "lesson2")
    source = submission / "lesson2" / "autograd.py"
    text = source.read_text(encoding="utf-8")
    start = text.index("def sgd_step")
    body = text.index('    """\n', text.index('"""', start) + 3) + len('    """\n')
    source.write_text(text[:body] + "    while True:\n        pass\n" + text[body:], encoding="utf-8")
    started = time.monotonic()
    code, out, err = finish(engine("grade", submission, "--lessons", "2", "--workers", "1", "--quiet",
                                   "--out", tmp_path / "out", env=env))
    seconds = time.monotonic() - started
    data = read(tmp_path / "out", "")
    timed_out = [t for t in data["tests"] if "timed out after" in t["output"] or "ran longer than" in t["output"]]
    # after two stops the looping function is not called again in this lesson (client.py's leash): cut short at once
    cut_short = [t for t in data["tests"] if "was not called in this test" in t["output"]]
    assert len(timed_out) >= 2 and len(timed_out) + len(cut_short) >= 4, out + err
    assert all(" 60 s" not in t["output"] and " 300 s" not in t["output"] for t in timed_out)
    assert seconds < 60 * len(timed_out), seconds
