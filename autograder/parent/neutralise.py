"""Student text made harmless for the instructor's tools: CSV cells a spreadsheet will not run, terminal text
that cannot move the cursor or clear the screen, and columns padded by what a terminal shows.

Student-controlled text reaches these tools in folder names, exception messages and the lists made from
them. Every CSV the engine writes goes through `csv_text`; everything it prints that may hold such text
goes through `terminal`; every padded column through `ljust`/`rjust`.

- CSV (OWASP, "CSV Injection"): a cell that begins with `=`, `+`, `-`, `@`, a tab or a carriage return
  is read as a formula by Excel, LibreOffice and Google Sheets. Such a cell is prefixed with a single
  quote, and the data rows are written with every cell quoted. A cell that already begins with a single
  quote gets one more, so `csv_value` gives back exactly what was written.
- Terminal: C0 and C1 control characters (ESC and so every ANSI sequence, CR, backspace, bell, DEL)
  but the newline and the tab, and the bidirectional overrides that reorder what is shown, are removed.
- Width: East Asian wide and fullwidth characters take two columns, combining marks none
  (`unicodedata.east_asian_width`), so a table stays aligned after a Chinese name.

学生可控制的文本（文件夹名、异常信息）在写入 CSV、打印到终端之前先被无害化：CSV 中以 = + - @、制表符或回车开头的
单元格前加单引号并加引号（OWASP 规则）；终端输出去掉控制字符（ANSI 转义序列、回车、退格等）；按显示宽度对齐列。
"""
import csv
import io
import re
import unicodedata

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_QUOTE = "'"
# C0 controls but tab and newline, DEL, C1 controls; the bidirectional embeddings, overrides and isolates
_CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def csv_cell(value) -> str:
    """One CSV cell as text that no spreadsheet reads as a formula (OWASP: a leading single quote)."""
    text = "" if value is None else str(value)
    return _QUOTE + text if text.startswith(FORMULA_STARTS + (_QUOTE,)) else text


def csv_value(cell: str) -> str:
    """What `csv_cell` was given, from the cell read back (one leading single quote removed)."""
    return cell[1:] if isinstance(cell, str) and cell.startswith(_QUOTE) else cell


def csv_text(rows: list, header: list = None) -> str:
    """The CSV file of `header` (engine text, written plain) and `rows` (every cell neutralised and quoted)."""
    buffer = io.StringIO()
    if header is not None:
        csv.writer(buffer).writerow([csv_cell(h) for h in header])
    csv.writer(buffer, quoting=csv.QUOTE_ALL).writerows([[csv_cell(c) for c in row] for row in rows])
    return buffer.getvalue()


def terminal(text) -> str:
    """`text` without the characters that drive a terminal (control characters, bidirectional overrides)."""
    return _CONTROLS.sub("", str(text))


def width(text) -> int:
    """Columns `text` takes on a terminal: wide and fullwidth characters two, combining marks none."""
    total = 0
    for char in str(text):
        if unicodedata.combining(char) or unicodedata.category(char) in ("Mn", "Me", "Cf"):
            continue
        total += 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1
    return total


def ljust(text, columns: int) -> str:
    """`text` padded with spaces on the right to `columns` display columns."""
    text = str(text)
    return text + " " * max(0, columns - width(text))


def rjust(text, columns: int) -> str:
    """`text` padded with spaces on the left to `columns` display columns."""
    text = str(text)
    return " " * max(0, columns - width(text)) + text
