"""A private, throw-away copy of the nbgrader course, for tests and benchmarks that run real nbgrader.

The copy leaves out nbgrader's working folders, and the environment gives nbgrader its own HOME and
Jupyter folders, so nothing touches the user's configuration or the committed course.
"""
import os
import shutil
import sys
from pathlib import Path

from coursetools import REPO_ROOT

#: What nbgrader writes into a course directory; never copied from the committed one.
NBGRADER_OUTPUTS = ("gradebook.db", "release", "submitted", "autograded", "feedback", "grades.csv",
                    ".ipynb_checkpoints")
#: The venv's bin folder: nbgrader, jupyter-execute, and the `alembic` nbgrader runs from PATH.
BIN = Path(sys.executable).parent


def isolated_env(home: Path) -> dict:
    """os.environ with HOME and every Jupyter/IPython folder inside `home`, the venv's bin first on PATH,
    and one torch thread per process."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(("JUPYTER", "IPYTHON"))}
    for key, folder in (("HOME", ""), ("JUPYTER_CONFIG_DIR", "jupyter-config"), ("JUPYTER_DATA_DIR", "jupyter-data"),
                        ("JUPYTER_RUNTIME_DIR", "jupyter-runtime"), ("IPYTHONDIR", "ipython"), ("MPLCONFIGDIR", "mpl")):
        (home / folder).mkdir(parents=True, exist_ok=True)
        env[key] = str(home / folder)
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"  # nbgrader runs `alembic` from PATH
    env["OMP_NUM_THREADS"] = "1"
    return env


def copy_course(destination: Path) -> Path:
    """Copy the course directory nbgrader/ to `destination` without nbgrader's outputs; returns it."""
    shutil.copytree(REPO_ROOT / "nbgrader", destination, ignore=shutil.ignore_patterns(*NBGRADER_OUTPUTS))
    return Path(destination)
