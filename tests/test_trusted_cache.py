"""Check lesson 4's trusted training done once (autograder/lesson4/test_model.py, trained_score; the trusted cache of
autograder/parent/runner.py): a second submission whose net starts from the same weights reuses the score the
trusted side computed for the first, grading as root a later run reuses it too (the lasting cache), and a net that
cannot learn still fails, even when it writes a forged score for its own start weights into every cache folder it
can find (tests/redteam/forged-trusted-cache).

With the walls up the folder is not in the sandbox; NOT ISOLATED, as the grading user (AUTOGRADER_UNPRIVILEGED=1), the
student process could write there, so the engine uses no cache at all. With the cache on in that mode (the guard in
autograder/lesson/worker.py removed), the forger passed the 95 % test.

The cache and the run folders lie in a folder closed to other users, as ~/.cache does under a 0700 /root that also
holds the Python (pyenv): the lesson process covers such a folder with a tmpfs for the student's uid. Before the
lesson process held the cache by a descriptor, that hid it (as root nothing lasted from run to run), and before
confine.open_paths bound through a descriptor, it hid the run folder too (no lesson was graded).

Grading as root, the collection of the tests (names, points, limits, skips) lasts in the same folder: a later run forks
no collection (runner.collect_all).

第 4 课的可信训练每次评分只做一次（按初始权重的每个字节区分）；伪造缓存的提交仍然失败。
"""
import os
import shutil

import pytest

from autograder import overlay
from coursetools import REPO_ROOT

CASE = REPO_ROOT / "tests" / "redteam" / "forged-trusted-cache"
TRAINED = "lesson4/test_model.py::test_simple_mnist_net_reaches_95_percent_when_trained"
MODES = {
    "default": {},
    "not-isolated-same-user": {"AUTOGRADER_NO_BWRAP": "1", "AUTOGRADER_UNPRIVILEGED": "1"},
}

pytestmark = [pytest.mark.mnist, pytest.mark.slow]


@pytest.fixture(scope="module", params=sorted(MODES))
def graded(request, tmp_path_factory):
    """(mode, {name: the 95 % test's record}) of a-honest, b-forger, c-honest graded on lesson 4, in that order."""
    mode = request.param
    if mode == "default" and not shutil.which("bwrap"):
        pytest.skip("bubblewrap is not installed (Debian package bubblewrap)")
    work = tmp_path_factory.mktemp(f"cache-{mode}")
    for name in ("a-honest", "c-honest"):
        shutil.copytree(REPO_ROOT / "solutions", work / "in" / name, ignore=shutil.ignore_patterns("__pycache__"))
    overlay.build(CASE, work / "in" / "b-forger")
    shutil.copytree(REPO_ROOT / "solutions", work / "again" / "d-honest", ignore=shutil.ignore_patterns("__pycache__"))
    # a cache of its own (nothing kept before), and the run folders beside it, in a folder closed to other users (like
    # ~/.cache under a 0700 /root that holds the Python too): the lesson process covers such a folder for the student's
    # uid, and before the fix that hid the cache (nothing lasted) and the run folder itself (no lesson was graded)
    closed = work / "closed"
    (closed / "tmp").mkdir(parents=True)
    closed.chmod(0o700)
    settings = {**MODES[mode], "AUTOGRADER_CACHE": str(closed / "cache"), "TMPDIR": str(closed / "tmp")}
    old = {key: os.environ.get(key) for key in settings}
    os.environ.update(settings)
    try:
        results = overlay.grade_batch(work / "in", work / "out", "--workers", "1", "--lessons", "4")
        results.update(overlay.grade_batch(work / "again", work / "out-again", "--workers", "1", "--lessons", "4",
                                           "--keep-run-dir"))
    finally:
        for key, value in old.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    kept = list((closed / "tmp").glob("autograder-*"))  # the later run's folder (the first one's was removed)
    assert len(kept) == 1, kept
    collected = (kept[0] / "collect").is_dir()
    shutil.rmtree(kept[0], ignore_errors=True)
    return mode, {name: next(t for t in result["tests"] if t["name"] == TRAINED) for name, result in results.items()}, \
        collected


def test_a_net_that_cannot_learn_fails_whatever_it_writes(graded):
    mode, tests, _ = graded
    assert tests["b-forger"]["status"] == "failed", (mode, tests["b-forger"])
    assert "expected at least 0.95" in tests["b-forger"]["output"], tests["b-forger"]["output"]


def test_honest_nets_pass_and_the_second_reuses_the_training(graded):
    mode, tests, _ = graded
    first, second = tests["a-honest"], tests["c-honest"]
    assert first["status"] == second["status"] == "passed", (first, second)
    if mode == "default":  # the same start weights: the trusted training (seconds) is not done again
        assert second["extra_data"]["duration"] < first["extra_data"]["duration"] / 2, (first, second)


def test_a_later_run_reuses_the_training_only_when_grading_as_root(graded):
    """Grading as root (default), the trusted cache lasts from run to run; as an ordinary user (NOT ISOLATED here) a
    run keeps nothing, so no student code run as that user can leave a score for a later run."""
    mode, tests, _ = graded
    first, later = tests["a-honest"], tests["d-honest"]
    assert first["status"] == "passed", first
    assert later["status"] == "passed", later
    if mode == "default":
        assert later["extra_data"]["duration"] < first["extra_data"]["duration"] / 2, (first, later)
    else:
        assert later["extra_data"]["duration"] > first["extra_data"]["duration"] / 2, (first, later)


def test_a_later_run_reads_the_collection_only_when_grading_as_root(graded):
    """Grading as root, the tests (names, points, limits, skips) are collected once per grader version and options,
    in the lasting trusted cache: the later run forks no collection. As an ordinary user every run collects."""
    mode, _, collected = graded
    assert collected == (mode != "default"), mode
