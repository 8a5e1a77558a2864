"""Edge cases of the region parser and the golden stub / public-test outputs."""
from pathlib import Path

import pytest

from coursetools.regions import SOLUTION, RegionError, find_regions, make_stub, strip_hidden

GOLDEN = Path(__file__).parent / "golden"
BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"


def test_make_stub_matches_the_golden_file():
    """Check that solution regions become the stub, indentation and docstrings kept."""
    source = (GOLDEN / "lesson_source.py").read_text(encoding="utf-8")
    expected = (GOLDEN / "lesson_stub.expected.py").read_text(encoding="utf-8")
    assert make_stub(source, "lesson_source.py") == expected


def test_strip_hidden_matches_the_golden_file():
    """Check that hidden regions disappear with their markers and leave tidy spacing."""
    source = (GOLDEN / "grader_source.py").read_text(encoding="utf-8")
    expected = (GOLDEN / "grader_public.expected.py").read_text(encoding="utf-8")
    assert strip_hidden(source, "grader_source.py") == expected


def test_regions_report_their_lines_and_indent():
    """Check the parsed regions: kind, marker lines and indentation."""
    text = f"def f():\n    {BEGIN}\n    return 1\n    {END}\n"
    assert find_regions(text, "f.py", SOLUTION)[0].__dict__ == {"kind": SOLUTION, "begin": 2, "end": 4, "indent": "    "}


@pytest.mark.parametrize(
    "text, line, words",
    [
        (f"def f():\n    {BEGIN}\n    return 1\n", 2, "never closed"),
        (f"def f():\n    {BEGIN}\n    {BEGIN}\n    return 1\n    {END}\n    {END}\n", 3, "nested"),
        (f"def f():\n    return 1\n    {END}\n", 3, "without a matching"),
        (f'def f():\n    {BEGIN}\n    return "{BEGIN[4:]}"\n    {END}\n', 3, "marker words inside other text"),
        (f"def f():\n    # see {END[4:]} below\n    {BEGIN}\n    return 1\n    {END}\n", 2, "marker words"),
        (f"def f():\n    {BEGIN}\n    return 1\n{END}\n", 4, "indented differently"),
        ("def f():\n    ### BEGIN HIDDEN TESTS\n    return 1\n    ### END HIDDEN TESTS\n", 2, "does not belong"),
        ("def f():\n    return 1\n", 1, "no '### BEGIN SOLUTION' region"),
    ],
    ids=["unclosed", "nested", "end-without-begin", "in-a-string", "in-a-comment", "misindented", "wrong-kind",
         "no-region"],
)
def test_author_mistakes_name_file_and_line(text, line, words):
    """Check that every author mistake raises RegionError naming the file and the line."""
    with pytest.raises(RegionError) as raised:
        make_stub(text, "solutions/lesson9/topic.py")
    assert raised.value.line == line
    assert str(raised.value).startswith(f"solutions/lesson9/topic.py:{line}: ")
    assert words in str(raised.value)


def test_strip_hidden_rejects_solution_markers():
    """Check that a test file may not hold solution regions."""
    with pytest.raises(RegionError, match="does not belong"):
        strip_hidden(f"{BEGIN}\nx = 1\n{END}\n", "autograder/lesson1/test_x.py")


def test_region_errors_survive_python_optimisation():
    """Check that the checks are real errors, not asserts that `python -O` would skip."""
    import subprocess
    import sys

    code = ("from coursetools.regions import make_stub\n"
            f"make_stub('def f():\\n    {BEGIN}\\n', 'x.py')\n")
    run = subprocess.run([sys.executable, "-O", "-c", code], capture_output=True, text=True)
    assert run.returncode != 0 and "RegionError: x.py:2:" in run.stderr
