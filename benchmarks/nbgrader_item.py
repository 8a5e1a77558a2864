"""Item (d): nbgrader autograde of the solved lesson-5 notebook, for real, in a temporary copy of nbgrader/.

The course folder is copied to a temporary folder with HOME and the Jupyter folders inside it (as
tests/test_nbgrader.py does); generate_assignment for lessons 3, 4 and 5; the solved source notebooks
of those three are submitted (lesson 5's notebook imports lesson 3's and 4's from sibling folders); only
`nbgrader autograde lesson5` is timed.

nbgrader 自动评分第 5 课（已解答）笔记本的耗时，在 nbgrader/ 的临时副本中真实运行。
"""
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # harness/ is not installed
from harness.nbgrader_course import BIN, copy_course, isolated_env  # noqa: E402 (after the path)


def _nbgrader(root: Path, env: dict, *args) -> None:
    done = subprocess.run([str(BIN / "nbgrader"), *args, f"--CourseDirectory.root={root}"], cwd=root, env=env,
                          capture_output=True, text=True, timeout=900)
    if done.returncode != 0:
        sys.exit(f"nbgrader {' '.join(args)} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")


def autograde_lesson5_seconds() -> float:
    with tempfile.TemporaryDirectory() as tmp:
        root, env = copy_course(Path(tmp) / "course"), isolated_env(Path(tmp) / "home")
        for lesson in (3, 4, 5):
            _nbgrader(root, env, "generate_assignment", f"lesson{lesson}")
            target = root / "submitted" / "solved" / f"lesson{lesson}"
            target.mkdir(parents=True)
            shutil.copy(root / "source" / f"lesson{lesson}" / f"lesson{lesson}.ipynb", target)
        start = time.perf_counter()
        _nbgrader(root, env, "autograde", "lesson5")
        seconds = time.perf_counter() - start
        from nbgrader.api import Gradebook

        with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gradebook:
            submission = gradebook.find_submission("lesson5", "solved")
            if not submission.max_score or submission.score != submission.max_score:
                sys.exit(f"nbgrader gave the solved lesson 5 {submission.score} / {submission.max_score}")
        return seconds
