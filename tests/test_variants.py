"""Check that correct code written another way gets full marks.

A variant is an overlay on solutions/ (tests/variants/<name>/lessonN/<topic>.py, only
the changed files): `nn.Sequential`, `torch.flatten`, `zero_grad()` after `step()`,
SGD with momentum, ... Graders check behaviour, not spelling (CURRICULUM.md), so every
variant must score 100 %. Each variant is graded in the lessons it changes (plus lesson 5, whose
train_mnist runs lessons 3 and 4), in one batch per set of lessons.

检查用另一种方式写出的正确代码能得满分。
"""
import pytest

from autograder import overlay
from coursetools import REPO_ROOT

VARIANTS = REPO_ROOT / "tests" / "variants"
NAMES = overlay.overlay_names(VARIANTS)


def test_there_are_at_least_five_variants():
    """Check that at least five correct-but-different submissions exist, each with lessonN/<topic>.py files."""
    assert len(NAMES) >= 5, f"only {len(NAMES)} variants in tests/variants: {NAMES}"
    empty = [name for name in NAMES if not overlay.overlay_files(VARIANTS / name)]
    assert not empty, f"variant folders without lessonN/<topic>.py files: {empty}"


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """{name: results.json} for every variant, graded in the lessons it changes (and lesson 5 where it changes lesson
    3 or 4: train_mnist runs them); its other lessons are the reference's, whose full marks test_engine checks."""
    return overlay.grade_changed_lessons({name: (VARIANTS / name, None) for name in NAMES},
                                         tmp_path_factory.mktemp("variants"))


@pytest.mark.slow
@pytest.mark.parametrize("name", NAMES)
def test_variant_gets_full_marks(graded, name):
    """Check that the variant passes every test."""
    result = graded[name]
    assert result is not None, f"{name}: no results.json"
    assert {t["extra_data"]["lesson"] for t in result["tests"]} == set(overlay.graded_lessons(
        overlay.touched_lessons(VARIANTS / name))), f"{name}: graded in other lessons than it changes"
    assert result["extra_data"]["complete"], result["output"]
    failed = [f"{t['name']} {t['tags']}:\n{t['output']}" for t in result["tests"] if t["status"] != "passed"]
    assert not failed, f"{name} lost points:\n" + "\n\n".join(failed)
    assert result["score"] == result["max_score"] > 0
