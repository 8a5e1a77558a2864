"""The student command `pytest exercises/lessonN`, run for real on the reference and on fresh stubs."""
import json
import subprocess
import sys

import pytest

from coursetools import LESSONS, REPO_ROOT

pytestmark = pytest.mark.mnist


def _run_public_tests(tmp_path, *args):
    report = tmp_path / "report.jsonl"
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "exercises", "-p", "no:cacheprovider", "--course-report", str(report), *args],
        cwd=REPO_ROOT, capture_output=True, text=True,
    )
    records = [json.loads(line) for line in report.read_text(encoding="utf-8").splitlines()]
    return run, records


def test_solutions_pass_every_public_test(tmp_path):
    """Check that the generated public tests, given solutions/ as the submission, all pass."""
    run, records = _run_public_tests(tmp_path, "--submission", "solutions")
    failed = [r["nodeid"] for r in records if r["outcome"] == "failed"]
    assert run.returncode == 0 and not failed, run.stdout[-3000:]
    lessons = {r["nodeid"].split("/")[1] for r in records if r["outcome"] == "passed"}
    assert lessons == {f"lesson{n}" for n in LESSONS}


def test_fresh_stubs_fail_every_public_test_only_as_not_implemented(tmp_path):
    """Check that fresh stubs give exit code 1 and one not-implemented line per test, nothing else."""
    run, records = _run_public_tests(tmp_path)
    assert run.returncode == 1, run.stdout[-3000:]
    ran = [r for r in records if r["outcome"] != "skipped"]
    others = [(r["nodeid"], r["when"], r["message"][:200]) for r in ran
              if not (r["outcome"] == "failed" and r["when"] == "call" and r["not_implemented"])]
    assert ran and not others
    for record in ran:
        assert "is not implemented yet" in record["message"] and "尚未实现" in record["message"]
        assert "\n" not in record["message"]


def test_a_newcomer_sees_no_traceback(tmp_path):
    """Check `pytest exercises/lesson3` as a newcomer runs it: short lines, no traceback, no collection error."""
    run = subprocess.run([sys.executable, "-m", "pytest", "exercises/lesson3", "-p", "no:cacheprovider"],
                         cwd=REPO_ROOT, capture_output=True, text=True)
    assert run.returncode == 1
    assert "not implemented yet" in run.stdout
    for noise in ("Traceback", "ERROR", "raise NotImplementedError", "site-packages"):
        assert noise not in run.stdout, noise
