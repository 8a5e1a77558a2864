"""The feedback page of `nbgrader generate_feedback` with the course's nbgrader_config.py: long diagnosis lines
wrap (the CSS of the element that holds them, computed from the page's own style sheets as a browser would) and
the table of contents names the function of each check cell. The real page of a real autograde:
tests/test_nbgrader.py."""
import copy

import nbformat
import pytest
from bs4 import BeautifulSoup

from autograder.parent.notebooks import _set_outputs
from coursetools import REPO_ROOT
from coursetools.authoring.notebooks import notebook_path
from harness.nbgrader_course import computed_style, feedback_exporter

LONG = ("[lesson1 flatten_images] flatten_images(<tensor (2, 28, 28) float32, not contiguous>) raised RuntimeError: "
        "view size is not compatible with input tensor's size and stride (at least one dimension spans across two "
        "contiguous subspaces). Use .reshape(...) instead.")


def _autograded(lesson=1):
    """Lesson `lesson`'s notebook as autograde leaves it: each check cell with a score and a long diagnosis."""
    notebook = copy.deepcopy(nbformat.read(str(notebook_path(REPO_ROOT, lesson)), as_version=4))
    for index, cell in enumerate(c for c in notebook.cells if c.metadata.get("nbgrader", {}).get("grade")):
        points = cell.metadata.nbgrader["points"]
        cell.metadata.nbgrader["score"] = 0.0 if index % 2 else points
        _set_outputs(cell, LONG + "\n" + LONG.replace("raised", "抛出了"), cell.metadata.nbgrader["score"])
    return notebook


def _page(notebook, exporter=None):
    html, _ = (exporter or feedback_exporter()).from_notebook_node(
        notebook, resources={"nbgrader": {"notebook": "lesson1", "score": 1, "max_score": 2, "late_penalty": 0}})
    return BeautifulSoup(html, "html.parser")


def wraps(soup) -> list:
    """[(output kind, white-space, overflow-wrap or word-break)] of every output <pre>, and whether all wrap."""
    found = []
    for pre in soup.select("div.output_subarea pre"):
        kind = " ".join(pre.parent.get("class", []))
        breaks = computed_style(soup, pre, "overflow-wrap") or computed_style(soup, pre, "word-wrap")
        found.append((kind, computed_style(soup, pre, "white-space"), breaks, computed_style(soup, pre, "word-break")))
    return found


def assert_wraps(soup):
    found = wraps(soup)
    assert {kind for kind, *_ in found} >= {"output_subarea output_text output_error",
                                            "output_subarea output_stream output_stdout output_text"}, found
    for kind, white_space, breaks, word_break in found:
        assert white_space in ("pre-wrap", "pre-line", "break-spaces"), (kind, white_space)
        assert breaks in ("anywhere", "break-word") or word_break == "break-all", (kind, breaks, word_break)


def test_long_diagnosis_lines_wrap_on_the_feedback_page():
    """Check every output <pre> (errors and stdout) gets white-space: pre-wrap and breaks long words."""
    assert_wraps(_page(_autograded()))


def test_nbgrader_s_own_page_would_clip_them():
    """Check the measure: nbgrader's own feedback template leaves the same <pre> at white-space: pre (clipped)."""
    from traitlets.config import Config

    own = feedback_exporter(Config())
    found = wraps(_page(_autograded(), own))
    assert found and all(white_space in (None, "pre") for _, white_space, _, _ in found), found


def test_the_table_of_contents_names_each_checked_function():
    """Check the contents list 'Check of flatten_images', one entry per check cell, and no bare 'Test cell'."""
    notebook = _autograded()
    names = [c.metadata["course"]["exercise"] for c in notebook.cells
             if c.metadata.get("course", {}).get("role") == "check"]
    entries = [li.get_text(" ", strip=True) for li in _page(notebook).select("#toc li")]
    assert len(entries) == len(names) == 9
    for entry, name in zip(entries, names):
        assert entry.startswith(f"Check of {name} / {name} 的检查 (Score: ")
    assert "Test cell" not in " ".join(entries)


def test_an_older_release_is_named_from_its_grade_ids():
    """Check a notebook released before the check cells carried `course.exercise` still lists function names."""
    notebook = _autograded()
    for cell in notebook.cells:
        cell.metadata.get("course", {}).pop("exercise", None)
    entries = [li.get_text(" ", strip=True) for li in _page(notebook).select("#toc li")]
    assert entries[0].startswith("Check of scalar_tensor") and "Test cell" not in " ".join(entries)


@pytest.mark.parametrize("lesson", [2, 5])
def test_every_check_cell_names_its_function(lesson):
    """Check the generator: each check cell's metadata and first line name the function it checks."""
    for cell in nbformat.read(str(notebook_path(REPO_ROOT, lesson)), as_version=4).cells:
        if cell.metadata.get("course", {}).get("role") == "check":
            name = cell.metadata["course"]["exercise"]
            assert cell.id == f"lesson{lesson}_{name}_check" and cell.source.startswith(f"# Check {name}: run this cell.")


def test_the_template_is_committed_and_goes_with_a_copy_of_the_course(tmp_path):
    """Check templates/feedback/ is not taken for nbgrader's feedback/ output folder: git keeps it, copy_course too."""
    import subprocess

    from harness.nbgrader_course import copy_course

    template = REPO_ROOT / "nbgrader" / "templates" / "feedback" / "course_feedback.html.j2"
    ignored = subprocess.run(["git", "check-ignore", "-q", str(template)], cwd=REPO_ROOT, capture_output=True)
    if ignored.returncode == 128:
        pytest.skip("not a git checkout")
    assert ignored.returncode == 1, "nbgrader/.gitignore ignores the feedback template"
    assert subprocess.run(["git", "check-ignore", "-q", str(REPO_ROOT / "nbgrader" / "feedback" / "x.html")],
                          cwd=REPO_ROOT).returncode == 0  # nbgrader's own feedback/ output stays ignored
    copy = copy_course(tmp_path / "course")
    assert (copy / "templates" / "feedback" / "course_feedback.html.j2").is_file()
