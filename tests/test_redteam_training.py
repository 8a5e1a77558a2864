"""Check that training points need training during the grading: the `shipped-weights` red-team case (lesson 5 with
SimpleMNISTNet's weights trained elsewhere and shipped as base64, no training loop, the kit's state_of and outputs_of
rebound on import to report those weights) earns nothing on lesson 5, whose graders train and measure on their own
copy of MNIST, changed in secret for each grading (coursetools/checks/mnist.py).

Graded with `--full` (the attack trains nothing, so the full-MNIST test costs seconds) as this user (root in CI: a uid
of its own), with `AUTOGRADER_UNPRIVILEGED=1` and NOT ISOLATED (`AUTOGRADER_NO_BWRAP=1`): the secret is drawn on the
trusted side, so the walls are not what stops it. Before the grading copy, the case got 13 of 21 (8 of 16 without
--full): the 95 % test, train_mnist on the reduced folder and on all of MNIST.

红队：在别处训练好的权重（没有训练循环）在第 5 课得不到任何分数，因为评分使用本次评分秘密改动过的 MNIST 副本。
"""
import os
import shutil

import pytest

from autograder import overlay
from coursetools import REPO_ROOT

REDTEAM = REPO_ROOT / "tests" / "redteam"
CASE = "shipped-weights"
#: the tests whose points rest on accuracy reached by the student's training code
ACCURACY = ("test_train_one_epoch_and_evaluate_reach_95_percent", "test_train_mnist_runs_the_whole_pipeline",
            "test_train_mnist_on_full_mnist_reaches_95_percent")
OWN_DATA = ("its own copy of MNIST, changed for this grading", "在本次评分中被改动过")
MODES = {
    "default": {},
    "unprivileged": {"AUTOGRADER_UNPRIVILEGED": "1"},
    "not-isolated": {"AUTOGRADER_NO_BWRAP": "1"},
}

pytestmark = [pytest.mark.mnist, pytest.mark.slow]


@pytest.fixture(scope="module", params=sorted(MODES))
def graded(request, tmp_path_factory):
    """(mode, results.json of the case graded on lesson 5 with --full)."""
    mode = request.param
    if mode != "not-isolated" and not shutil.which("bwrap"):
        pytest.skip("bubblewrap is not installed (Debian package bubblewrap)")
    work = tmp_path_factory.mktemp(f"shipped-{mode}")
    overlay.build(REDTEAM / CASE, work / "submissions" / CASE, reference=REDTEAM / "_honest")
    old = {key: os.environ.get(key) for key in MODES[mode]}
    os.environ.update(MODES[mode])
    try:
        results = overlay.grade_batch(work / "submissions", work / "out", "--workers", "1", "--lessons", "5", "--full")
    finally:
        for key, value in old.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    return mode, results[CASE]


def test_shipped_weights_earn_no_training_point(graded):
    """Check that every accuracy test fails, saying that the grader trains and tests on its own changed MNIST."""
    mode, result = graded
    assert result["extra_data"]["complete"], result["output"]
    assert result["extra_data"]["isolated"] == (mode != "not-isolated"), result["extra_data"].get("isolation")
    tests = {t["name"].split("::")[-1]: t for t in result["tests"]}
    assert set(ACCURACY) <= set(tests), f"{mode}: accuracy tests missing from {sorted(tests)}"
    for name in ACCURACY:
        test = tests[name]
        assert test["status"] == "failed" and test["score"] == 0, f"{mode} {name} passed:\n{test['output']}"
        assert all(words in test["output"] for words in OWN_DATA), f"{mode} {name}:\n{test['output']}"
    passed = [name for name, test in tests.items() if test["status"] == "passed"]
    assert result["score"] == 0, f"{mode}: {result['score']} points from a submission that trains nothing: {passed}"
