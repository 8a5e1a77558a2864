"""What `course` prints: progress bars, lesson summaries, the next thing to do.

`course` 打印的内容：进度条、每课摘要、下一步要做什么。

Plain text when the output is not a terminal (or NO_COLOR is set); a little
colour on a terminal.
输出不是终端（或设置了 NO_COLOR）时为纯文本；在终端上带一点颜色。
"""
import os
import re
import sys

from coursetools import LESSONS, lessons
from coursetools.text import Text, filter_lines, pick

TITLES = lessons.titles()  # {number: (English, 中文)}, from the lesson table
MARKS = {"done": "[x]", "failing": "[!]", "todo": "[ ]", "unknown": "[?]"}
_COLORS = {"done": "32", "failing": "31", "todo": "0", "unknown": "33", "title": "1", "hint": "36"}
_PITFALL_LINE = "Pitfall / 常见错误:"  # coursetools.checks.feedback.PITFALL_LINE


class Printer:
    """Prints in the chosen language ("en", "zh" or "both"), flushing every line (watch reads it live)."""

    def __init__(self, lang: str, stream=None):
        self.lang = lang
        self.stream = stream or sys.stdout
        self.color = (hasattr(self.stream, "isatty") and self.stream.isatty()
                      and not os.environ.get("NO_COLOR") and os.environ.get("TERM") != "dumb")

    def line(self, text: str = "") -> None:
        print(text, file=self.stream, flush=True)

    def say(self, en: str, zh: str, indent: str = "") -> None:
        """A sentence: English line, then Chinese line (or only the chosen one)."""
        for text in pick(self.lang, en, zh).splitlines():
            self.line(indent + text)

    def label(self, en: str, zh: str) -> str:
        """A short label: "en / zh" (or only the chosen one)."""
        return pick(self.lang, en, zh, " / ")

    def paint(self, text: str, kind: str) -> str:
        return f"\033[{_COLORS[kind]}m{text}\033[0m" if self.color else text

    def message(self, text, indent: str = "") -> None:
        """A message in the chosen language: a Text picks its language; a plain str (a raw exception, pytest's
        own output: no structure) keeps the lines the line guess of filter_lines gives the language."""
        shown = text.pick(self.lang) if isinstance(text, Text) else filter_lines(self.lang, text)
        for text_line in shown.splitlines():
            self.line(indent + text_line)


def bar(done: int, total: int, width: int = 10) -> str:
    """`[#####-----] 5/10`"""
    filled = round(width * done / total) if total else 0
    return f"[{'#' * filled}{'-' * (width - filled)}] {done}/{total}"


def lesson_title(out: Printer, lesson: int) -> str:
    en, zh = TITLES.get(lesson, (LESSONS[lesson], LESSONS[lesson]))
    return f"lesson{lesson} {out.label(en, zh)}"


_HINT_EN, _HINT_ZH = "Hint: ", "提示："
_FRAME = re.compile(r"^(?P<path>\S+\.py):(?P<line>\d+): in (?P<function>\S+)$")
_STUDENT_FILE = re.compile(r"(^|/)lesson\d+/(?!test_|conftest)[^/]+\.py$")
_ERROR_LINE = re.compile(r"^[A-Za-z_][\w.]*(Error|Exception|Warning|Exit|Interrupt|Failed)\b:?")
#: The most lines a failure message gets in `course check` (a course message has five).
MAX_LINES = 12
#: Longer lines are cut (an error that prints a whole tensor).
MAX_LINE = 800


def failure_text(record: dict):
    """The failing test's message, compact: no pytest traceback, no repeated line, no hint that the
    pitfall block shows (see message_hint), at most MAX_LINES lines (half of them Chinese when it
    is bilingual).

    A course message (`[lessonN fn] ...`, `Hint: ...`, `[第N课 fn] ...`, `提示：...`) is kept as it
    is, as a Text when the record holds its two languages apart (record["text"]); a message without
    that structure stays a str, and a pytest traceback (`--tb=short`, lines `E   ...`) becomes its
    error line and the student's own line that led to it.
    """
    text = Text.from_json(record.get("text"))
    if text is not None:
        en, zh = _compact(text.en.splitlines(), record), _compact(text.zh.splitlines(), record)
        most = None if len(en) + len(zh) <= MAX_LINES else MAX_LINES // 2
        return Text("\n".join(en[:most]), "\n".join(zh[:most]))
    # No structure (a raw exception, pytest's traceback, a record saved before Text): the line guess decides.
    lines = record.get("message", "").splitlines()
    if any(line.startswith("E   ") for line in lines):
        lines = _from_traceback(lines)
    kept = _compact(lines, record)
    if len(kept) <= MAX_LINES:
        return "\n".join(kept)
    text = "\n".join(kept)
    en, zh = filter_lines("en", text).splitlines(), filter_lines("zh", text).splitlines()
    if en == zh:  # not bilingual
        return "\n".join(kept[:MAX_LINES])
    return "\n".join(en[:MAX_LINES // 2] + zh[:MAX_LINES // 2])


def _compact(lines: list, record: dict) -> list:
    """`lines` without blank or repeated lines, the pitfall line, the hints the pitfall block shows; long lines
    cut."""
    kept = []
    for line in lines:
        if line.startswith(_PITFALL_LINE) or not line.strip():
            continue
        if record.get("pitfalls") and line.startswith((_HINT_EN, _HINT_ZH)):
            continue  # shown once, in the pitfall block
        line = line if len(line) <= MAX_LINE else line[:MAX_LINE - 1] + "…"
        if line not in kept:
            kept.append(line)
    return kept


def _from_traceback(lines: list) -> list:
    """A pytest traceback reduced to its error line and the deepest frame in a lesson file (not a test)."""
    blocks, block = [], []
    for line in lines:
        if line.startswith("E   "):
            block.append(line[4:].strip())
        elif block:
            blocks.append(block)
            block = []
    if block:
        blocks.append(block)
    last = [line for line in (blocks[-1] if blocks else []) if line]
    error = next((line for line in last if _ERROR_LINE.match(line)), last[0] if last else "")
    where = ""
    for number, line in enumerate(lines):
        frame = _FRAME.match(line.strip())
        if frame and _STUDENT_FILE.search(frame["path"]):
            source = lines[number + 1].strip() if number + 1 < len(lines) else ""
            where = f"  at {frame['path']}, line {frame['line']}, in {frame['function']}: {source}".rstrip(": ")
    return [error, where] if where else [error]


def message_hint(record: dict) -> tuple:
    """(English, Chinese) of the message's own `Hint:` and `提示：` lines ("" when it has none)."""
    lines = record.get("message", "").splitlines()
    en = next((line[len(_HINT_EN):] for line in lines if line.startswith(_HINT_EN)), "")
    zh = next((line[len(_HINT_ZH):] for line in lines if line.startswith(_HINT_ZH)), "")
    return en, zh


def pitfall(out: Printer, slugs: list, indent: str = "", hint: tuple = ("", "")) -> None:
    """The pitfall block: each slug and one hint. The first slug gets `hint`, the message's own
    (more precise) hint when it has one; otherwise the pitfall's general hint."""
    from coursetools.checks.feedback import PITFALLS

    for number, slug in enumerate(slugs):
        hint_en, hint_zh = PITFALLS.get(slug, ("", ""))
        if number == 0 and hint[0] and hint[1]:
            hint_en, hint_zh = hint
        out.say(f"Common pitfall ({slug}): {hint_en}", f"常见错误（{slug}）：{hint_zh}", indent)
