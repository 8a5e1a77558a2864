"""Check that the student's own `pytest exercises/lessonN` agrees with the engine on correct code in other styles.

The variants about what crosses the boundary and how numbers are read (named tuples, transforms.v2's tensor
subclass, a zero_grads written like torch's, NumPy-scalar returns) get full marks from the engine
(tests/test_variants.py); here the public tests, run as a student runs them (in one process, every call through
the wire format), must pass them too.

学生自己运行的公开测试与评分引擎对这些正确写法的判断必须一致。
"""
import json
import subprocess
import sys

import pytest

from autograder import overlay
from coursetools import REPO_ROOT

VARIANTS = REPO_ROOT / "tests" / "variants"
NAMES = ["named-tuple-returns", "transforms-v2", "zero-grads-like-torch", "numpy-scalar-returns"]


@pytest.mark.slow
@pytest.mark.mnist
@pytest.mark.parametrize("name", NAMES)
def test_public_tests_pass_the_variant(tmp_path, name):
    """Check every public test of the lessons the variant touches passes on it."""
    submission = overlay.build(VARIANTS / name, tmp_path / name)
    lessons = [f"exercises/lesson{n}" for n in sorted(overlay.touched_lessons(VARIANTS / name))]
    report = tmp_path / "report.jsonl"
    run = subprocess.run([sys.executable, "-m", "pytest", *lessons, "-p", "no:cacheprovider", "--submission",
                          str(submission), "--course-report", str(report)], cwd=REPO_ROOT, capture_output=True,
                         text=True, timeout=900)
    records = [json.loads(line) for line in report.read_text(encoding="utf-8").splitlines()]
    failed = [f"{r['nodeid']}: {r['message'][:300]}" for r in records if r["outcome"] == "failed"]
    assert run.returncode == 0 and not failed, "\n".join(failed) or run.stdout[-3000:]
    assert any(r["outcome"] == "passed" for r in records)
