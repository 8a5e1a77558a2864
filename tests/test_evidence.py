"""Check what every graded test's pass rests on (issue 21): a `rests_on` kind on each grader test, 0 points for
`feedback`, and the engine README's table equal to what the graders say.

The kinds are in coursetools/checks/evidence.py. A point may rest only on what the student's function answered,
judged on the trusted side, or on work the trusted side did itself; course code inside the student process may only
fail a test. tests/test_redteam_stubs.py shows the same from the attacker's side: rebinding that code earns nothing.

评分依据检查：每个评分测试都标明通过依据；feedback 类测试记 0 分；引擎 README 中的表与评分测试一致。
"""
import json
import subprocess
import sys
from collections import defaultdict

import pytest

from coursetools import REPO_ROOT
from coursetools.checks import evidence

_COLLECT = """
import json, pytest
from coursetools.checks import evidence
rows = []
class Collector:
    def pytest_collection_modifyitems(self, items):
        for item in items:
            marker = item.get_closest_marker("points")
            rows.append([item.nodeid, float(marker.args[0]) if marker and marker.args else 1.0, evidence.kind_of(item)])
code = pytest.main(["--collect-only", "-p", "no:terminal", "autograder"], plugins=[Collector()])
print("ROWS" + json.dumps(rows))
"""

TABLE_START = "<!-- rests-on table: tests/test_evidence.py checks it -->"
TABLE_END = "<!-- end of rests-on table -->"


@pytest.fixture(scope="module")
def graded():
    """[(node id, points, kind)] of every grader test, CUDA and --full tests included."""
    out = subprocess.run([sys.executable, "-c", _COLLECT], cwd=REPO_ROOT, capture_output=True, text=True, timeout=300)
    line = next((line for line in out.stdout.splitlines() if line.startswith("ROWS")), None)
    assert line, out.stdout[-2000:] + out.stderr[-2000:]
    return [tuple(row) for row in json.loads(line[4:])]


def table(rows) -> str:
    """The README's table: points of each lesson by what they rest on."""
    points = defaultdict(float)
    for node, value, kind in rows:
        points[node.split("/")[1], kind] += value
    lessons = sorted({lesson for lesson, _ in points}, key=lambda name: int(name[len("lesson"):]))
    lines = ["| lesson | " + " | ".join(f"`{kind}`" for kind in evidence.KINDS) + " |",
             "| --- |" + " ---: |" * len(evidence.KINDS)]
    for lesson in lessons:
        cells = [f"{points[lesson, kind]:g}" if points.get((lesson, kind)) else "" for kind in evidence.KINDS]
        lines.append(f"| {lesson} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def test_every_grader_test_says_what_its_pass_rests_on(graded):
    """Check that each grader test (or its module) carries rests_on with a known kind."""
    assert len(graded) > 150
    missing = [node for node, _, kind in graded if kind not in evidence.KINDS]
    assert not missing, f"tests without a known rests_on kind: {missing[:10]}"


def test_feedback_tests_are_worth_nothing(graded):
    """Check that a test resting only on the student process's own conclusions is worth 0 points, and only those."""
    wrong = [(node, points, kind) for node, points, kind in graded if (kind == "feedback") != (points == 0)]
    assert not wrong, wrong


def test_training_points_rest_on_secret_data_or_trusted_work(graded):
    """Check that no accuracy test (a name that says 95 percent or the whole pipeline) rests on plain values."""
    accuracy = [(node, kind) for node, _, kind in graded if "95_percent" in node or "whole_pipeline" in node]
    assert accuracy and all(kind in ("secret-data", "trusted-work") for _, kind in accuracy), accuracy


def test_the_engine_readme_table_matches_the_graders(graded):
    """Check that autograder/README.md's rests-on table is the one the graders give."""
    readme = (REPO_ROOT / "autograder" / "README.md").read_text(encoding="utf-8")
    assert TABLE_START in readme and TABLE_END in readme
    shown = readme.split(TABLE_START)[1].split(TABLE_END)[0].strip()
    assert shown == table(graded), "autograder/README.md's table should read:\n" + table(graded)
