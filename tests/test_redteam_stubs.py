"""Check that course code rebound inside the student process earns nothing (issue 21): attacks on untouched stubs.

Each case in tests/redteam/_on-stubs/<case>/ is an overlay on exercises/ (every function still raises
NotImplementedError); on import it rebinds the course kit's drivers and model reports in its own process so they
answer what a right answer would look like, without the student's function. The stubs score 0, so must every case,
in every mode. Before the graders judged the answer themselves (688aeb9), kit-rebinding scored 11 of 113 on lessons
1, 2 and 6 (matrix_from_numpy's sharing tests, to_numpy on a non-CPU tensor and mid-graph, get_device pretending
CUDA), as root, unprivileged and NOT ISOLATED alike.

红队：在学生进程中改写课程代码（工具箱的驱动与模型报告），未实现的桩函数仍然得 0 分。
"""
import pytest

from autograder import overlay
from coursetools import REPO_ROOT

CASES = REPO_ROOT / "tests" / "redteam" / "_on-stubs"
MODES = {
    "default": {},
    "unprivileged": {"AUTOGRADER_UNPRIVILEGED": "1"},
    "not-isolated": {"AUTOGRADER_NO_BWRAP": "1"},
}


@pytest.mark.slow
@pytest.mark.parametrize("mode", MODES)
def test_rebinding_course_code_on_stubs_scores_zero(tmp_path, mode, monkeypatch):
    """Check that every on-stubs case scores exactly the stubs' 0, with the stubs' maximum."""
    for key, value in MODES[mode].items():
        monkeypatch.setenv(key, value)
    submissions = tmp_path / "submissions"
    names = overlay.overlay_names(CASES)
    assert "kit-rebinding" in names
    lessons = sorted({n for name in names for n in overlay.touched_lessons(CASES / name)})
    for name in names:
        overlay.build(CASES / name, submissions / name, reference=REPO_ROOT / "exercises")
    results = overlay.grade_batch(submissions, tmp_path / "out", "--workers", "2", "--timeout-factor", "0.5",
                                  "--lessons", *map(str, lessons))
    for name in names:
        result = results[name]
        passed = [t["name"] for t in result["tests"] if t["score"] > 0]
        assert result["score"] == 0 and not passed, (name, mode, passed)
        assert result["max_score"] > 0 and result["extra_data"]["complete"], (name, mode)
