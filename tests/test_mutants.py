"""Check that every mutant submission is caught with its pitfall tag, and its other lessons keep full marks.

A mutant is an overlay on solutions/ (tests/mutants/<slug>/lessonN/<topic>.py, only
the changed files) that makes the one beginner mistake named by its folder: the slug
must be a key of coursetools.feedback.PITFALLS. All mutants are graded in one batch
(`python -m autograder batch ... --workers 2`), then each is checked.

检查每个变异提交都被发现并带有对应的常见错误标签，而它没有改动的课程仍得满分。
"""
import pytest

from autograder import overlay
from coursetools import REPO_ROOT
from coursetools.feedback import PITFALLS

MUTANTS = REPO_ROOT / "tests" / "mutants"
NAMES = overlay.overlay_names(MUTANTS)


def test_every_mutant_folder_names_a_known_pitfall():
    """Check that each folder under tests/mutants is a pitfall slug and holds lessonN/<topic>.py files."""
    unknown = [name for name in NAMES if name not in PITFALLS]
    assert not unknown, f"mutant folders without a matching slug in coursetools.feedback.PITFALLS: {unknown}"
    empty = [name for name in NAMES if not overlay.overlay_files(MUTANTS / name)]
    assert not empty, f"mutant folders without lessonN/<topic>.py files: {empty}"


def test_every_pitfall_has_a_mutant():
    """Check that each of the pitfalls has a mutant proving some grader can diagnose it."""
    missing = sorted(set(PITFALLS) - set(NAMES))
    assert not missing, f"pitfalls without a mutant in tests/mutants/: {missing}"


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """{slug: results.json} for every mutant, graded in one batch."""
    return overlay.grade_overlays(MUTANTS, NAMES, tmp_path_factory.mktemp("mutants"))


@pytest.mark.slow
@pytest.mark.parametrize("slug", NAMES)
def test_mutant_is_caught_with_its_tag(graded, slug):
    """Check that the mutant fails a test tagged pitfall:<slug> in a lesson it changed, and nothing elsewhere."""
    result = graded[slug]
    assert result["extra_data"]["complete"], result["output"]
    touched = overlay.touched_lessons(MUTANTS / slug)
    failed = [t for t in result["tests"] if t["status"] == "failed"]
    tagged = [t for t in failed if f"pitfall:{slug}" in t["tags"]]
    listed = "; ".join(f"{t['name']} {t['tags']}" for t in failed) or "none"
    assert tagged, f"{slug}: no failed test carries the tag pitfall:{slug}; failed: {listed}"
    assert all(t["extra_data"]["lesson"] in touched for t in tagged), [t["name"] for t in tagged]
    pipeline = bool(touched & {3, 4})  # train_mnist runs the student's own lessons 3 and 4 (CURRICULUM.md)
    for test in failed:
        if test["extra_data"]["lesson"] not in touched:
            assert pipeline and "train_mnist" in test["name"], \
                f"{slug} changed lessons {sorted(touched)} but {test['name']} failed:\n{test['output']}"
