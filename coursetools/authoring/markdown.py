"""Docstrings to Markdown for the notebooks: bilingual paragraphs, Args/Returns/Raises as lists.

把文档字符串转换成笔记本中的 Markdown：双语段落，Args/Returns/Raises 变成列表。

The course's docstrings (STYLE.md) alternate English and Chinese lines; a
paragraph is split into an English and a Chinese paragraph, wrapped lines are
joined (with a space in English, with nothing in Chinese).
"""
import inspect
import re

from coursetools.text import has_chinese as is_chinese

_CJK_PUNCTUATION = re.compile(r"[\u3000-\u303f\uff00-\uffef]")  # no space after these either
_SECTIONS = {"Args": "参数", "Returns": "返回值", "Raises": "异常", "Yields": "产出", "Attributes": "属性"}
_ITEM = re.compile(r"^ {4}(\*{0,2}[\w.]+(?: \([^)]*\))?): (.*)$")


def _runs(lines: list) -> list:
    """Join wrapped lines into runs of one language each (Chinese wraps without a space)."""
    runs = []
    for line in (line.strip() for line in lines):
        if not line:
            continue
        if runs and is_chinese(line) == is_chinese(runs[-1]):
            tight = is_chinese(runs[-1][-1]) and (is_chinese(line[0]) or bool(_CJK_PUNCTUATION.match(runs[-1][-1])))
            runs[-1] += line if tight else " " + line
        else:
            runs.append(line)
    return runs


def _section(title: str, lines: list) -> str:
    head = f"**{title} / {_SECTIONS[title]}**"
    if title == "Returns":
        return head + "\n\n" + "<br>".join(_runs(lines))
    items = []
    for line in lines:
        match = _ITEM.match(line)
        if match:
            items.append([f"`{match.group(1)}`: {match.group(2)}"])
        elif items:
            items[-1].append(line)
        else:
            items.append([line])
    return head + "\n\n" + "\n".join("- " + "<br>".join(_runs(item)) for item in items)


def docstring_markdown(docstring: str) -> str:
    """Markdown for a course docstring."""
    paragraphs = re.split(r"\n\s*\n", inspect.cleandoc(docstring))
    blocks = []
    for paragraph in paragraphs:
        lines = paragraph.splitlines()
        title = lines[0].strip().rstrip(":")
        if lines[0].strip().endswith(":") and title in _SECTIONS:
            blocks.append(_section(title, lines[1:]))
        else:
            blocks.extend(_runs(lines))
    return "\n\n".join(blocks)


def title_markdown(docstring: str) -> str:
    """The module docstring as the notebook's title cell: the first two lines as headings."""
    lines = inspect.cleandoc(docstring).splitlines()
    heading = [f"# {line.strip().rstrip('.。')}" for line in lines[:2] if line.strip()]
    rest = "\n".join(lines[2:]).strip()
    return "\n".join(heading) + ("\n\n" + docstring_markdown(rest) if rest else "")
