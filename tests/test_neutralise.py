"""Check that student text is harmless where an instructor's tool reads it, and that the sandbox sees nothing of
the trusted side (issue 21, items 4 and 5).

- CSV (OWASP): no cell of gradebook.csv or pitfalls.csv opens with = + - @ tab or CR; a folder named
  =HYPERLINK("x.example","100") is text there, and reads back as its name.
- Terminal: a student's exception message "\\x1b[2J\\x1b[H total 67 / 67 (100.0 %)" neither clears the screen nor
  draws a line of its own in `grade`'s table, and `batch`'s table stays aligned after a Chinese name.
- HTML: the same message reaches the class report escaped.
- /proc inside the sandbox (tests/redteam/read-trusted-proc): bubblewrap's own process (/proc/1) shows no
  environment, no option of its command line and no test name of the trusted side.

检查学生文本在教师工具中无害（CSV 公式注入、终端控制字符、HTML 转义），以及沙箱内看不到评分方的命令行和环境变量。
"""
import csv
import io
import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from autograder import overlay
from autograder.parent import classreport, neutralise, report, results
from coursetools import REPO_ROOT

FORMULA = '=HYPERLINK("x.example","100")'  # a submission folder's name (a file name holds no slash)
CJK = "张伟同学"
ESCAPES = "\x1b[2J\x1b[H total 67 / 67 (100.0 %) <b>bold</b>\r\x08"
FUNCTIONS = ("scalar_tensor", "vector_from_list", "matrix_from_numpy", "filled", "flatten_images", "add_channel_dim",
             "multiply", "to_device", "to_numpy")


def formula_cells(text: str) -> list:
    """The cells of a CSV text that a spreadsheet would read as a formula."""
    return [cell for row in csv.reader(io.StringIO(text)) for cell in row if cell.startswith(neutralise.FORMULA_STARTS)]


# ------------------------------------------------------------------ the helpers

@pytest.mark.parametrize("cell", ["=1+1", "+1", "-1", "@SUM(A1)", "\t=1", "\r=1", "'=1", "'quoted", FORMULA])
def test_a_csv_cell_that_a_spreadsheet_would_run_is_text_and_reads_back(cell):
    """Check OWASP's rule on each formula opening (and a leading quote), and that csv_value undoes it."""
    text = neutralise.csv_text([[cell, "85"]], ["submission", "total"])
    assert formula_cells(text) == []
    header, row = list(csv.reader(io.StringIO(text)))
    assert header == ["submission", "total"] and row[0].startswith("'")
    assert [neutralise.csv_value(c) for c in row] == [cell, "85"]
    assert text.splitlines()[1].startswith('"') and ',"85"' in text  # data rows quoted, OWASP's second half


def test_plain_csv_cells_are_unchanged():
    """Check that names, numbers and lists without a formula opening are written as they are."""
    text = neutralise.csv_text([["ann", "12.5", "no-zero-grad double-backward", "", CJK]], ["a", "b", "c", "d", "e"])
    assert list(csv.reader(io.StringIO(text)))[1] == ["ann", "12.5", "no-zero-grad double-backward", "", CJK]


def test_the_gradebook_writes_a_formula_name_as_text_and_the_report_reads_it_back(tmp_path):
    """Check results.write_gradebook (batch, merge) and classreport.load_class on a formula-named student."""
    row = [FORMULA, "9", "9", "67", "13.4", "", "-lesson1: @crashed", "_HYPERLINK_"]
    path = results.write_gradebook([row, ["ann", "67", "67", "67", "100.0", "", "", "ann"]], tmp_path / "gradebook.csv",
                                   [1])
    text = Path(path).read_text(encoding="utf-8")
    assert text.startswith("submission,lesson1,total") and formula_cells(text) == []
    (tmp_path / "_HYPERLINK_").mkdir()
    (tmp_path / "_HYPERLINK_" / "results.json").write_text(json.dumps({"score": 9, "max_score": 67, "tests": []}))
    students = {s["folder"]: s for s in classreport.load_class(str(tmp_path))}
    assert (students["_HYPERLINK_"]["name"], students["_HYPERLINK_"]["error"]) == (FORMULA, "-lesson1: @crashed")


def test_terminal_text_keeps_no_control_character():
    """Check that ESC, CR, backspace, C1 controls and bidirectional overrides go; newlines, tabs and Chinese stay."""
    shown = neutralise.terminal(ESCAPES + "\n\tnext 下一行\x9b2J\u202eevil")
    assert shown == "[2J[H total 67 / 67 (100.0 %) <b>bold</b>\n\tnext 下一行2Jevil"


def test_display_width_counts_wide_characters_twice():
    """Check the columns a terminal gives Chinese, fullwidth and combining characters."""
    assert [neutralise.width(s) for s in ("ann", CJK, "ＡＢ", "e\u0301")] == [3, 8, 4, 1]
    assert neutralise.width(neutralise.ljust(CJK, 12)) == 12 and neutralise.rjust("ab", 4) == "  ab"


def test_the_batch_table_stays_aligned_after_a_chinese_name():
    """Check that every row's columns end where the header's do, with a CJK name and a name full of escapes."""
    rows = [[name, "9", "9", "67", "13.4", "", "", "f"] for name in ("ann", CJK, "王" * 12, "x\x1b[2Jy")]
    table = report.batch_table(rows, [1])
    assert "\x1b" not in table
    lines = table.splitlines()
    ends = {neutralise.width(line[:line.index("13.4") + 4]) for line in lines[2:]}
    assert ends == {neutralise.width(lines[0])}, table


# ------------------------------------------------------------------ a class graded for real

def _escaping_lesson1(folder: Path):
    """A lesson 1 whose every function raises ESCAPES (what a student's message may hold)."""
    folder.mkdir(parents=True)
    body = "".join(f"\n\ndef {name}(*args, **kwargs):\n    raise RuntimeError(MESSAGE)\n" for name in FUNCTIONS)
    (folder / "tensors.py").write_text(f"MESSAGE = {ESCAPES!r}{body}", encoding="utf-8")


@pytest.fixture(scope="module")
def hostile_class(tmp_path_factory):
    work = tmp_path_factory.mktemp("neutralise")
    for name in (FORMULA, CJK, "-2+3+cmd|' C calc'!A0"):
        _escaping_lesson1(work / "class" / name / "lesson1")
    command = [sys.executable, "-m", "autograder", "batch", str(work / "class"), "--out", str(work / "out"),
               "--lessons", "1", "--workers", "2", "--quiet"]
    done = subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True, timeout=600,
                          env={**os.environ, "PYTHONHASHSEED": "0"})
    assert done.returncode == 0, done.stdout + done.stderr
    return work, done


@pytest.mark.slow
def test_no_csv_cell_of_a_batch_opens_with_a_formula(hostile_class):
    """Check gradebook.csv and the class report's pitfalls.csv: a formula-named folder is text, read back whole."""
    work, _ = hostile_class
    for path in (work / "out" / "gradebook.csv", work / "out" / "report" / "pitfalls.csv"):
        text = path.read_text(encoding="utf-8")
        assert formula_cells(text) == [], path
        names = {neutralise.csv_value(row["submission"]) for row in csv.DictReader(io.StringIO(text))}
        assert names == {FORMULA, CJK, "-2+3+cmd|' C calc'!A0"}, path
    summary = json.loads((work / "out" / "report" / "summary.json").read_text(encoding="utf-8"))
    assert set(summary["names"].values()) == {FORMULA, CJK, "-2+3+cmd|' C calc'!A0"}  # the report read them back


@pytest.mark.slow
def test_the_terminal_gets_no_escape_from_a_students_message(hostile_class):
    """Check `batch` and `grade` output: no ESC, CR or backspace, the fake total not on a line of its own."""
    work, done = hostile_class
    graded = subprocess.run([sys.executable, "-m", "autograder", "grade", str(work / "class" / FORMULA), "--lessons",
                             "1", "--out", str(work / "one"), "--quiet"], cwd=REPO_ROOT, capture_output=True,
                            text=True, timeout=600, env={**os.environ, "PYTHONHASHSEED": "0"})
    assert graded.returncode == 0, graded.stdout + graded.stderr
    data = json.loads((work / "one" / "results.json").read_text(encoding="utf-8"))
    assert any("\x1b[2J" in test["output"] for test in data["tests"])  # the attack reached the engine as written
    assert "total 67 / 67" in graded.stdout  # shown, as text
    for text in (done.stdout, done.stderr, graded.stdout, graded.stderr):
        assert not re.search("[\x00-\x08\x0b-\x1f\x7f-\x9f]", text), repr(text[:2000])
        assert not any(line.lstrip().startswith("total 67") for line in text.splitlines())


@pytest.mark.slow
def test_the_class_report_page_escapes_the_message(hostile_class):
    """Check that the student's message reaches index.html escaped (who to help shows its first line)."""
    work, _ = hostile_class
    page = (work / "out" / "report" / "index.html").read_text(encoding="utf-8")
    assert "&lt;b&gt;bold&lt;/b&gt;" in page and "<b>bold</b>" not in page
    assert classreport._e(FORMULA) in page


# ------------------------------------------------------------------ what the sandbox sees of the trusted side

def _bwrap_works() -> bool:
    return shutil.which("bwrap") is not None and subprocess.run(
        ["bwrap", "--unshare-all", "--ro-bind", "/", "/", "true"], capture_output=True).returncode == 0


@pytest.mark.slow
@pytest.mark.parametrize("mode", [{}, {"AUTOGRADER_UNPRIVILEGED": "1"}], ids=["default", "unprivileged"])
def test_the_sandbox_reads_no_argv_environment_or_test_name_of_the_trusted_side(mode, tmp_path, monkeypatch):
    """Check tests/redteam/read-trusted-proc: what it printed of every /proc/N it saw holds nothing trusted."""
    if not _bwrap_works():
        pytest.skip("bubblewrap cannot start here (install the Debian package bubblewrap)")
    for key, value in mode.items():
        monkeypatch.setenv(key, value)
    redteam = REPO_ROOT / "tests" / "redteam"
    overlay.build(redteam / "read-trusted-proc", tmp_path / "class" / "proc", reference=redteam / "_honest")
    data = overlay.grade_batch(tmp_path / "class", tmp_path / "out", "--lessons", "1")["proc"]
    assert data["extra_data"]["isolated"], data["output"]
    printed = "\n".join(test["output"] for test in data["tests"])
    environments = re.findall(r"redteam-proc pid 1 environ names(.*)", printed)
    assert environments, "the red-team case printed nothing: " + printed[:500]
    assert all(not names.strip() for names in environments), environments[0]  # bubblewrap's: empty
    assert "PYTEST_CURRENT_TEST" not in printed and "_course_graders" not in printed
    commands = dict(re.findall(r"redteam-proc pid (\d+) cwd \S+ cmdline (.*)", printed))
    bwrap, server = commands["1"], commands["2"]
    assert re.fullmatch(r"\S*bwrap --args \d+ -- " + re.escape(server), bwrap), textwrap.shorten(bwrap, 300)
    assert not re.search(r"--(ro-bind|setenv|uid|tmpfs|bind)\b", printed)
