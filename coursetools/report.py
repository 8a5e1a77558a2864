"""What `course` prints: progress bars, lesson summaries, the next thing to do.

`course` 打印的内容：进度条、每课摘要、下一步要做什么。

Plain text when the output is not a terminal (or NO_COLOR is set); a little
colour on a terminal.
输出不是终端（或设置了 NO_COLOR）时为纯文本；在终端上带一点颜色。
"""
import os
import sys

from coursetools import LESSONS
from coursetools.i18n import filter_lines, pick

TITLES = {
    1: ("tensors", "张量"),
    2: ("autograd", "自动求导"),
    3: ("datasets and loaders", "数据集与加载器"),
    4: ("models", "模型"),
    5: ("the training loop", "训练循环"),
    6: ("beyond the basics", "更进一步"),
}
MARKS = {"done": "[x]", "failing": "[!]", "todo": "[ ]", "unknown": "[?]"}
_COLORS = {"done": "32", "failing": "31", "todo": "0", "unknown": "33", "title": "1", "hint": "36"}
_PITFALL_LINE = "Pitfall / 常见错误:"


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

    def message(self, text: str, indent: str = "") -> None:
        """A bilingual message (EN lines, then 中文 lines) in the chosen language."""
        for text_line in filter_lines(self.lang, text).splitlines():
            self.line(indent + text_line)


def bar(done: int, total: int, width: int = 10) -> str:
    """`[#####-----] 5/10`"""
    filled = round(width * done / total) if total else 0
    return f"[{'#' * filled}{'-' * (width - filled)}] {done}/{total}"


def lesson_title(out: Printer, lesson: int) -> str:
    en, zh = TITLES.get(lesson, (LESSONS[lesson], LESSONS[lesson]))
    return f"lesson{lesson} {out.label(en, zh)}"


def failure_text(record: dict, lesson_file_name: str) -> str:
    """The useful part of a failing test's message: the course message, or the error lines of a traceback."""
    lines = [line for line in record["message"].splitlines() if not line.startswith(_PITFALL_LINE)]
    for slug in record.get("pitfalls", []):
        from coursetools.feedback import PITFALLS  # imports pytest; only needed once a test ran

        hint_en, hint_zh = PITFALLS.get(slug, ("", ""))
        lines = [line for line in lines if line not in (f"Hint: {hint_en}", f"提示：{hint_zh}")]
    if not any(line.startswith("E   ") for line in lines):
        return "\n".join(lines[:20])
    kept = []  # a traceback: where the student's file raised, then the error itself
    for number, line in enumerate(lines):
        if f"/{lesson_file_name}:" in line and ": in " in line:
            kept = [line] + ([lines[number + 1]] if number + 1 < len(lines) else [])
    kept += [line[4:] for line in lines if line.startswith("E   ")][:8]
    return "\n".join(kept)


def pitfall(out: Printer, slugs: list, indent: str = "") -> None:
    """The pitfall block: the slug and its hint."""
    from coursetools.feedback import PITFALLS

    for slug in slugs:
        hint_en, hint_zh = PITFALLS.get(slug, ("", ""))
        out.say(f"Common pitfall ({slug}): {hint_en}", f"常见错误（{slug}）：{hint_zh}", indent)
