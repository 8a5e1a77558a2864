"""A student's JupyterLab shows nbgrader's student tools only: `python -m coursetools.student.jupyter` (README,
"Prefer notebooks?") turns off the instructor's lab plugins (Formgrader, Create Assignment, Course List) and
server extensions, as JupyterLab and Jupyter Server themselves then report; `--instructor` turns them back on.
Run at the user level in a private HOME and Jupyter folders (user configuration first, as outside a virtual
environment: JUPYTER_PREFER_ENV_PATH=0), so the course's environment is not touched; the default level is this
environment's (sys_prefix), checked without running it."""
import json
import re
import subprocess
import sys

import pytest

from coursetools.student.jupyter import INSTRUCTOR_LAB, INSTRUCTOR_SERVER, STUDENT_LAB, STUDENT_SERVER
from harness.nbgrader_course import isolated_env

pytestmark = pytest.mark.slow

EFFECTIVE_SERVER = """\
import json
from jupyter_core.paths import jupyter_config_path
from jupyter_server.extension.config import ExtensionConfigManager
print(json.dumps(ExtensionConfigManager(read_config_path=jupyter_config_path()).get_jpserver_extensions()))
"""


def _run(env, *args):
    run = subprocess.run([sys.executable, *args], env=env, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr
    return run.stdout + run.stderr


def _disabled_lab(env) -> set:
    """The plugins `jupyter labextension list` shows under "Disabled extensions"."""
    text = re.sub(r"\x1b\[[0-9;]*m", "", _run(env, "-m", "jupyter", "labextension", "list"))
    disabled = text.partition("Disabled extensions:")[2]
    return set(re.findall(r"^\s+(@[\w-]+/[\w-]+:[\w-]+)", disabled, re.MULTILINE))


def _server(env) -> dict:
    return json.loads(_run(env, "-c", EFFECTIVE_SERVER).strip().splitlines()[-1])


def test_a_students_jupyterlab_has_no_instructor_tools(tmp_path):
    """Check the instructor's plugins and server extensions are off, the student's on; --instructor undoes it."""
    env = {**isolated_env(tmp_path / "home"), "JUPYTER_PREFER_ENV_PATH": "0"}
    assert not _disabled_lab(env) & set(INSTRUCTOR_LAB)  # nbgrader's default: everything on
    out = _run(env, "-m", "coursetools.student.jupyter", "--user")
    assert "Formgrader" in out and "学生工具" in out
    assert _disabled_lab(env) >= set(INSTRUCTOR_LAB) and not _disabled_lab(env) & set(STUDENT_LAB)
    server = _server(env)
    assert all(server.get(name) is False for name in INSTRUCTOR_SERVER), server
    assert all(server.get(name) is True for name in STUDENT_SERVER), server
    _run(env, "-m", "coursetools.student.jupyter", "--user", "--instructor")
    assert not _disabled_lab(env) & set(INSTRUCTOR_LAB)
    assert all(_server(env).get(name) is True for name in INSTRUCTOR_SERVER)


def test_by_default_it_sets_up_this_environment(monkeypatch):
    """Check the default level is this Python environment (sys_prefix: the course's venv, which Jupyter prefers)."""
    from coursetools.student import jupyter

    commands = jupyter.lab_commands(instructor=False, level="sys_prefix")
    assert [c[3:5] for c in commands] == [["labextension", "disable"], ["labextension", "lock"]]
    assert all("--level=sys_prefix" in c and set(INSTRUCTOR_LAB) <= set(c) for c in commands)
    calls, toggles = [], []
    monkeypatch.setattr(jupyter.subprocess, "run",
                        lambda command, **kwargs: calls.append(command) or subprocess.CompletedProcess(command, 0))
    import jupyter_server.extension.serverextension as serverextension

    monkeypatch.setattr(serverextension, "toggle_server_extension_python",
                        lambda name, **kwargs: toggles.append((name, kwargs)))
    assert jupyter.main([]) == 0
    assert calls == commands
    assert toggles == [(name, {"enabled": False, "user": False, "sys_prefix": True}) for name in INSTRUCTOR_SERVER]
