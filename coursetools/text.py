"""Which language the `course` command speaks: English, Chinese, or both (the default).

`course` 命令使用的语言：英文、中文，或两者都用（默认）。

The choice, first match wins:
选择顺序（先匹配者优先）：

1. `--lang en|zh|both` on the command line; / 命令行上的 `--lang en|zh|both`；
2. the COURSE_LANG environment variable (en, zh or both); / 环境变量 COURSE_LANG；
3. both, English first. / 两者都用，英文在前。

LANG is deliberately not read: almost every system sets it (often to
en_US.UTF-8 or C.UTF-8 even for Chinese speakers), so it would silently hide
one language. A student who wants one language asks for it explicitly.
这里有意不读取 LANG：几乎所有系统都会设置它（即使是中文用户也常常是
en_US.UTF-8 或 C.UTF-8），读取它会悄悄隐藏一种语言。想只看一种语言的学生请明确指定。
"""
import os
import re
from dataclasses import dataclass

CHOICES = ("en", "zh", "both")
ENV_VAR = "COURSE_LANG"

#: The one Chinese-text test of the course (CJK punctuation, ideographs with extension A, full-width forms).
_CJK = re.compile(r"[\u3000-\u303f\u3400-\u9fff\uff00-\uffef]")


class LanguageError(ValueError):
    """COURSE_LANG holds something other than en, zh or both."""


def choose(option=None) -> str:
    """The language to speak: `option` (from --lang), else $COURSE_LANG, else "both"."""
    if option:
        return option
    value = os.environ.get(ENV_VAR, "").strip().lower()
    if not value:
        return "both"
    if value not in CHOICES:
        raise LanguageError(
            f"{ENV_VAR}={value!r} is not a language of the course: set it to en, zh or both (or unset it).\n"
            f"{ENV_VAR}={value!r} 不是本课程支持的语言：请设为 en、zh 或 both（或删除该变量）。")
    return value


def has_chinese(text: str) -> bool:
    """True when `text` holds Chinese characters or full-width punctuation."""
    return bool(_CJK.search(text))


def pick(lang: str, en: str, zh: str, sep: str = "\n") -> str:
    """`en`, `zh`, or both joined by `sep` (a line break for sentences, " / " for short labels)."""
    if lang == "en":
        return en
    if lang == "zh":
        return zh
    return f"{en}{sep}{zh}"


@dataclass(frozen=True)
class Text:
    """A bilingual text: the English and the Simplified Chinese of one message, kept apart from the grader's
    message to the terminal, the notebook and results.json (so no one has to guess which line is Chinese).

    一条双语文本：同一信息的英文和简体中文分开保存，从评分信息一直到终端、笔记本和 results.json。

    `str()` is the English then the Chinese on the next line; `pick(lang)` the chosen language."""

    en: str
    zh: str

    def __str__(self) -> str:
        return pick("both", self.en, self.zh)

    def pick(self, lang: str, sep: str = "\n") -> str:
        """The English, the Chinese, or both joined by `sep` (see pick)."""
        return pick(lang, self.en, self.zh, sep)

    def __add__(self, other: "Text | str") -> "Text":
        """Concatenation, language by language (a plain str is added to both)."""
        if isinstance(other, str):
            return Text(self.en + other, self.zh + other)
        return Text(self.en + other.en, self.zh + other.zh)

    def map(self, function) -> "Text":
        """`function` applied to each language's text."""
        return Text(function(self.en), function(self.zh))

    @staticmethod
    def join(sep: str, texts) -> "Text":
        """The texts joined language by language: Text.join("\n", [a, b]) is Text(a.en\nb.en, a.zh\nb.zh)."""
        texts = list(texts)
        return Text(sep.join(t.en for t in texts), sep.join(t.zh for t in texts))

    def to_json(self) -> dict:
        return {"en": self.en, "zh": self.zh}

    @classmethod
    def from_json(cls, data) -> "Text | None":
        """The Text of a to_json() dictionary; None for anything else (no structure: a raw message)."""
        if isinstance(data, dict) and isinstance(data.get("en"), str) and isinstance(data.get("zh"), str):
            return cls(data["en"], data["zh"])
        return None

    @classmethod
    def guess(cls, text: str) -> "Text":
        """A Text from a pre-joined message that has no structure (a raw exception, an engine message), by the
        line guess of filter_lines; a text that is not bilingual is the same in both languages."""
        return cls(filter_lines("en", text), filter_lines("zh", text))


def filter_lines(lang: str, text: str) -> str:
    """Keep the lines of a bilingual message that are in `lang` (all of them for "both").

    An indented line (a command to type, say) belongs to the language of the line
    above it. A message with no Chinese line, or only Chinese lines, is kept whole:
    it is not bilingual (a Python traceback, say), and dropping it would leave nothing.
    """
    lines = text.splitlines()
    chinese, previous = [], False
    for line in lines:
        if line.strip() and not line[0].isspace():
            previous = has_chinese(line)
        chinese.append(previous)
    if lang == "both" or all(chinese) or not any(chinese):
        return text
    return "\n".join(line for line, is_zh in zip(lines, chinese) if is_zh == (lang == "zh"))
