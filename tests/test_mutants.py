"""Check that every mutant submission is caught with its pitfall tag, and its other lessons keep full marks.

A mutant is an overlay on solutions/ (tests/mutants/<slug>/lessonN/<topic>.py, only
the changed files) that makes the one beginner mistake named by its folder: the slug
must be a key of coursetools.checks.feedback.PITFALLS. A slug folder holds one lessonN folder
for each lesson where a student can make that mistake (WHERE_MADE); each (slug, lesson)
pair is its own submission. They are graded in a few batches (the pair's lesson, plus
lesson 5 whose train_mnist runs the student's lessons 3 and 4), then each is checked.

检查每个变异提交都被发现并带有对应的常见错误标签，而它没有改动的课程仍得满分。
"""
import pytest

from autograder import overlay
from coursetools import REPO_ROOT
from coursetools.checks.feedback import PITFALLS
from coursetools.lessons import where_made

MUTANTS = REPO_ROOT / "tests" / "mutants"
NAMES = overlay.overlay_names(MUTANTS)
PAIRS = overlay.lesson_pairs(MUTANTS)

#: the lessons where a student can make each pitfall (the course names it in every one of them): the lesson table's
WHERE_MADE = where_made()


def submission_name(slug: str, lesson: int) -> str:
    return f"{slug}.lesson{lesson}"


def slug_of(name: str) -> str:
    """The pitfall of a mutant folder: `<slug>`, or `<slug>.<where>` for the same mistake made in another place of
    the same lesson (no-zero-grad.train_mnist: in train_mnist's own loop rather than in train_one_epoch)."""
    return name.split(".", 1)[0]


def test_every_mutant_folder_names_a_known_pitfall():
    """Check that each folder under tests/mutants is a pitfall slug and holds lessonN/<topic>.py files."""
    unknown = [name for name in NAMES if slug_of(name) not in PITFALLS]
    assert not unknown, f"mutant folders without a matching slug in coursetools.checks.feedback.PITFALLS: {unknown}"
    empty = [name for name in NAMES if not overlay.overlay_files(MUTANTS / name)]
    assert not empty, f"mutant folders without lessonN/<topic>.py files: {empty}"


def test_every_pitfall_has_a_mutant_in_every_lesson_where_it_can_be_made():
    """Check that each pitfall has a mutant for each lesson of WHERE_MADE (and WHERE_MADE lists every pitfall)."""
    assert set(WHERE_MADE) == set(PITFALLS)
    missing = sorted(f"{slug}/lesson{n}" for slug, lessons in WHERE_MADE.items() for n in lessons
                     if (slug, n) not in PAIRS)
    assert not missing, f"pitfalls without a mutant in tests/mutants/ for a lesson where they can be made: {missing}"
    extra = sorted(f"{slug}/lesson{n}" for slug, n in PAIRS if n not in WHERE_MADE.get(slug_of(slug), ()))
    assert not extra, f"mutants for a lesson whose pitfalls (coursetools/lessons.py) do not list them (add them there): {extra}"


@pytest.fixture(scope="module")
def graded(request, tmp_path_factory):
    """{(slug, lesson): results.json} for every mutant pair this run selected (`-k`), each graded in its lesson (and
    lesson 5 for lessons 3 and 4: train_mnist), in one batch per set of graded lessons."""
    selected = {(item.callspec.params["slug"], item.callspec.params["lesson"]) for item in request.session.items
                if "slug" in getattr(getattr(item, "callspec", None), "params", {})}
    pairs = [pair for pair in PAIRS if pair in selected]
    found = overlay.grade_changed_lessons({submission_name(slug, n): (MUTANTS / slug, {n}) for slug, n in pairs},
                                          tmp_path_factory.mktemp("mutants"))
    return {(slug, n): found[submission_name(slug, n)] for slug, n in pairs}


@pytest.mark.slow
@pytest.mark.parametrize("slug, lesson", PAIRS, ids=[submission_name(*pair) for pair in PAIRS])
def test_mutant_is_caught_with_its_tag(graded, slug, lesson):
    """Check that the mutant fails a test tagged pitfall:<slug> in the lesson it changed, and nothing elsewhere."""
    result = graded[(slug, lesson)]
    assert result is not None, f"{slug} in lesson {lesson}: no results.json"
    assert result["extra_data"]["complete"], result["output"]
    failed = [t for t in result["tests"] if t["status"] == "failed"]
    tagged = [t for t in failed if f"pitfall:{slug_of(slug)}" in t["tags"]]
    listed = "; ".join(f"{t['name']} {t['tags']}" for t in failed) or "none"
    assert tagged, f"{slug} in lesson {lesson}: no failed test carries the tag pitfall:{slug_of(slug)}; failed: {listed}"
    # train_mnist runs the student's whole pipeline: it may name a mistake of lessons 3 and 4 too
    assert all(t["extra_data"]["lesson"] == lesson or (lesson in (3, 4) and "train_mnist" in t["name"])
               for t in tagged), [t["name"] for t in tagged]
    for test in failed:
        if test["extra_data"]["lesson"] != lesson:
            assert lesson in (3, 4) and "train_mnist" in test["name"], \
                f"{slug} changed lesson {lesson} but {test['name']} failed:\n{test['output']}"
