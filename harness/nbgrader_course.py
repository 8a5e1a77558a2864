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
    """Copy the course directory nbgrader/ to `destination` without nbgrader's outputs; returns it.

    The outputs are left out at the top level only: templates/feedback/ is the course's feedback template."""
    source = REPO_ROOT / "nbgrader"

    def outputs(folder, names):
        top = Path(folder).resolve() == source.resolve()
        return [name for name in names if name == ".ipynb_checkpoints" or top and name in NBGRADER_OUTPUTS]

    shutil.copytree(source, destination, ignore=outputs)
    return Path(destination)


def feedback_exporter(config=None):
    """The HTMLExporter `nbgrader generate_feedback` uses with the course's nbgrader_config.py (or `config`)."""
    from nbconvert.exporters import HTMLExporter
    from nbgrader.converters import GenerateFeedback
    from nbgrader.coursedir import CourseDirectory
    from traitlets.config.loader import PyFileConfigLoader

    if config is None:
        config = PyFileConfigLoader("nbgrader_config.py", path=str(REPO_ROOT / "nbgrader")).load_config()
    converter = GenerateFeedback(coursedir=CourseDirectory(root=str(REPO_ROOT / "nbgrader")), config=config)
    return HTMLExporter(config=converter.config)


_INHERITED = {"white-space", "overflow-wrap", "word-wrap", "word-break"}


def _specificity(selector: str) -> tuple:
    """CSS specificity (ids, classes/attributes/pseudo-classes, types) of one complex selector."""
    import re

    ids = len(re.findall(r"#[\w-]+", selector))
    classes = len(re.findall(r"\.[\w-]+|\[[^\]]*\]|(?<!:):(?!not\()[\w-]+", selector))
    types = len(re.findall(r"(?:^|[\s>+~(])([a-zA-Z][\w-]*)", selector))
    return ids, classes, types


def computed_style(soup, element, prop: str):
    """The value the page's own <style> sheets give `prop` on `element` (a BeautifulSoup tag), as a browser would
    compute it for the screen: the cascade (!important, specificity, order), inline styles, inheritance for the
    text properties. None when nothing sets it. Rules in @media blocks are left out (bootstrap's print rules)."""
    import soupsieve
    import tinycss2

    rules = []
    for style in soup.find_all("style"):
        for rule in tinycss2.parse_stylesheet(style.get_text(), skip_whitespace=True, skip_comments=True):
            if rule.type == "qualified-rule":
                rules.append(rule)

    def declared(node):
        found = []
        for order, rule in enumerate(rules):
            declarations = [d for d in tinycss2.parse_declaration_list(rule.content, skip_whitespace=True,
                                                                       skip_comments=True)
                            if d.type == "declaration" and d.lower_name == prop]
            if not declarations:
                continue
            for selector in tinycss2.serialize(rule.prelude).split(","):
                selector = selector.strip()
                if not selector or "::" in selector or ":hover" in selector or ":focus" in selector:
                    continue
                try:
                    matched = soupsieve.match(selector, node)
                except Exception:  # noqa: BLE001 (a selector soupsieve does not know: not ours)
                    continue
                if matched:
                    for declaration in declarations:
                        value = tinycss2.serialize(declaration.value).strip()
                        found.append((declaration.important, _specificity(selector), order, value))
        inline = node.get("style") if hasattr(node, "get") else None
        if inline:
            for declaration in tinycss2.parse_declaration_list(inline, skip_whitespace=True):
                if declaration.type == "declaration" and declaration.lower_name == prop:
                    found.append((declaration.important, (9, 0, 0), len(rules),
                                  tinycss2.serialize(declaration.value).strip()))
        return max(found)[3] if found else None

    node = element
    while node is not None and getattr(node, "name", None) not in (None, "[document]"):
        value = declared(node)
        if value is not None and value != "inherit":
            return value
        if prop not in _INHERITED:
            return None
        node = node.parent
    return None
