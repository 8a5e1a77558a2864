"""Smoke tests of benchmarks/: the memory sampler sees a worker's allocation, and the table, goals and
chart come out of a set of figures (the benchmark itself takes minutes: `python benchmarks/run.py`).
"""
import sys
from pathlib import Path

import pytest

from coursetools import REPO_ROOT

sys.path.insert(0, str(REPO_ROOT / "benchmarks"))
import measure  # noqa: E402 (after the sys.path line above)
import report  # noqa: E402 (after the sys.path line above)

# An "engine" that starts one "worker" holding 300 MiB (touched, so resident) for a second.
ENGINE = """
import subprocess, sys
subprocess.run([sys.executable, "-c", "import time; block = bytearray(300 << 20); time.sleep(1.0)"], check=True)
print("done")
"""


def test_sampler_sees_the_memory_of_a_worker_process():
    """Check that measure() attributes a child's 300 MiB to one worker and to the tree, and times the command."""
    result = measure.measure([sys.executable, "-c", ENGINE], REPO_ROOT)
    assert result["rc"] == 0 and result["stdout"].strip() == "done"
    assert 290 <= result["worker_pss_mib"] <= 450, result
    assert result["tree_pss_mib"] >= result["worker_pss_mib"]
    assert result["maxrss_mib"] >= 300 and result["seconds"] >= 1.0


FIGURES = {
    "cpu_cores": 2, "load_start": (1.0, 1.0, 1.0), "load_end": (2.0, 2.0, 2.0), "runs": 3, "total_s": 100.0,
    "a_lower_bound": {"process_s": 5.0, "train_s": 1.5, "eval_s": 0.03, "accuracy": 0.96},
    "b_naive_pipeline": {"process_s": 30.0, "train_s": 26.0, "eval_s": 1.0, "accuracy": 0.96},
    "c_grade_solutions": {"seconds": 11.0, "maxrss_mib": 600, "worker_pss_mib": 0, "tree_pss_mib": 0},
    "d_nbgrader_lesson5_s": 8.0, "d_grade_lesson5": {"seconds": 6.0},
    "e_batch8": {"workers1": {"seconds": 100.0}, "workers2": {"seconds": 55.0}},
    "f_memory": {"worker_pss_mib": 500.0, "tree_pss_mib": 1200.0, "maxrss_mib": 700.0},
    "g_student_wait_s": {"1": 2.0, "3": 4.0, "6": 5.0},
    "h_boundary": {"in_process": {"scalar_call_us": 90.0}, "sandbox": {"scalar_call_us": 200.0,
                   "batch_64x784_call_us": 550.0}, "sandbox_start_s": 1.2, "per_test_fork_ms": 30.0},
}


def test_table_states_goals_met_and_missed_and_chart_is_written(tmp_path: Path):
    """Check the goal flags (11/5 > 2 is missed, 55/100 <= 0.6 met, lesson 6 at 5 s missed) and the PNG."""
    rows = {r["item"]: r for r in report.rows(FIGURES)}
    assert rows["c/a1"]["value"] == pytest.approx(2.2) and rows["c/a1"]["met"] is False
    assert rows["e2/e1"]["met"] is True and rows["d1/d2"]["met"] is True and rows["f1"]["met"] is True
    assert rows["g1"]["met"] is True and rows["g6"]["met"] is False and rows["g3"]["met"] is None
    assert rows["h2"]["value"] == 200.0 and rows["h5"]["unit"] == "ms"
    text = report.table(FIGURES, list(rows.values()))
    assert "load average at start 1.00" in text and "NO" in text
    report.chart(list(rows.values()), tmp_path / "chart.png")
    assert (tmp_path / "chart.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
