"""Check that no submission can forge a score: the red team (tests/redteam/, see its README) against the engine.

Every attack is an overlay on `_honest` (right shapes, wrong values). Graded in one batch
per mode, each must: complete; keep the honest maximum score; pass no test the honest
code fails; and, where it leaves its return values alone, get exactly the honest
statuses. The modes: as this user (root in CI: a uid of its own per submission),
`AUTOGRADER_UNPRIVILEGED=1` (bubblewrap without root), and `AUTOGRADER_NO_BWRAP=1`
(NOT ISOLATED: student code in a plain process; the forging families must still fail
there, because points are decided elsewhere). The Gradescope layout is checked in
tests/test_gradescope.py.

红队测试：任何攻击都不能得到比诚实（错误）代码更多的分数。
"""
import os
import shutil
import subprocess
import time

import pytest

from autograder import overlay
from coursetools import REPO_ROOT

REDTEAM = REPO_ROOT / "tests" / "redteam"
HONEST = REDTEAM / "_honest"
CASES = overlay.overlay_names(REDTEAM)
#: cases that change what they return (the rest must get exactly the honest statuses)
CHANGE_VALUES = {"forge-replies", "oversized-reply", "kill-everyone", "stride-bomb"}
#: cases that only make sense behind the sandbox's walls (they would hit this machine itself without them)
NEEDS_WALLS = {"read-reference", "daemon", "fill-scratch", "kill-everyone"}
MODES = {
    "default": {},
    "unprivileged": {"AUTOGRADER_UNPRIVILEGED": "1"},
    "not-isolated": {"AUTOGRADER_NO_BWRAP": "1"},
}


def test_every_case_is_documented():
    """Check that each red-team folder has a row in tests/redteam/README.md."""
    readme = (REDTEAM / "README.md").read_text(encoding="utf-8")
    assert CASES and all(f"`{case}`" in readme for case in CASES)


def _grade(work, cases, env):
    submissions = work / "submissions"
    shutil.copytree(HONEST, submissions / "_honest")
    for case in cases:
        overlay.build(REDTEAM / case, submissions / case, reference=HONEST)
    old = {key: os.environ.get(key) for key in env}
    os.environ.update(env)
    try:
        return overlay.grade_batch(submissions, work / "out", "--workers", "2", "--lessons", "1", "2",
                                   "--timeout-factor", "0.5")
    finally:
        for key, value in old.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _bwrap_works() -> bool:
    return shutil.which("bwrap") is not None and subprocess.run(
        ["bwrap", "--unshare-all", "--ro-bind", "/", "/", "true"], capture_output=True).returncode == 0


@pytest.fixture(scope="module", params=sorted(MODES))
def graded(request, tmp_path_factory):
    mode = request.param
    walls = mode != "not-isolated"
    if walls and not _bwrap_works():
        pytest.skip("bubblewrap cannot start here (install the Debian package bubblewrap)")
    cases = [c for c in CASES if walls or c not in NEEDS_WALLS]
    results = _grade(tmp_path_factory.mktemp(f"redteam-{mode}"), cases, MODES[mode])
    return mode, cases, results


def _statuses(result):
    return {t["name"]: t["status"] for t in result["tests"]}


@pytest.mark.slow
def test_no_attack_scores_more_than_honest_code(graded):
    """Check every case against the honest baseline graded in the same batch."""
    mode, cases, results = graded
    honest = results["_honest"]
    assert honest["extra_data"]["complete"], honest["output"]
    assert 0 < honest["score"] < honest["max_score"]
    assert honest["extra_data"]["isolated"] == (mode != "not-isolated")
    for case in cases:
        result = results[case]
        assert result["extra_data"]["complete"], f"{mode} {case}: {result['output']}"
        assert result["max_score"] == honest["max_score"], f"{mode} {case}: max {result['max_score']}"
        mine, base = _statuses(result), _statuses(honest)
        assert set(mine) == set(base), f"{mode} {case}: other tests were reported"
        gained = [name for name, status in mine.items() if status == "passed" and base[name] != "passed"]
        assert not gained, f"{mode} {case} passed tests the honest code fails: {gained}"
        assert result["score"] <= honest["score"], f"{mode} {case}: {result['score']} > {honest['score']}"
        if case not in CHANGE_VALUES:
            assert mine == base, f"{mode} {case}: " + str({n: s for n, s in mine.items() if s != base[n]})


@pytest.mark.slow
def test_a_forged_reply_costs_its_test_and_not_the_student_process(graded):
    """Check that frames forged on a test's channel fail that test only: the lessons' student process is started
    once, as for the honest code (each test's child talks on a channel of its own, so the student process's own
    channel stays clean; before, every forged test killed it and the next test imported torch again)."""
    mode, _, results = graded
    for case in ("_honest", "forge-replies"):
        starts = {n: lesson["student_process_starts"] for n, lesson in results[case]["extra_data"]["lessons"].items()}
        assert set(starts.values()) == {1}, f"{mode} {case}: student process starts per lesson {starts}"


@pytest.mark.slow
def test_nothing_outlives_the_grading(graded):
    """Check that no process the attacks started survives and nothing they wrote is left in /tmp or /dev/shm."""
    mode, cases, _ = graded
    time.sleep(1)
    survivors = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as file:
                if b"redteam-daemon-marker" in file.read():
                    survivors.append(pid)
        except OSError:
            pass
    assert not survivors, f"{mode}: processes left running: {survivors}"
    left = [name for folder in ("/tmp", "/dev/shm") if os.path.isdir(folder)
            for name in os.listdir(folder) if name.startswith("redteam-")]
    assert not left, f"{mode}: files left behind: {left[:5]}"
