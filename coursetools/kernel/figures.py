"""The kernel side of the notebooks' pictures: titles and "why there is no picture" (not graded).

笔记本图片在内核一侧的部分：标题，以及"为什么没有图片"（不计分）。

The cells themselves are written by the generator (coursetools/authoring/figures.py)
and call set_title and why_no_picture from here. Each code cell uses the student's
own functions and is guarded: a function not written yet (or failing) prints why, in two lines
(why_no_picture: the function to write, or the real cause, e.g. the transform
order of mnist_transform), instead of an error, so running the whole notebook
never stops on a picture.

A figure's title is English, then Chinese (set_title). matplotlib's own font
has no Chinese glyphs: the Chinese line uses a Chinese font of the machine
when there is one (chinese_font), else the title stays English and the
Chinese line is printed above the picture, so no "Glyph missing" warning.
"""
import re
import sys
import warnings

#: Fonts with Chinese glyphs, the usual ones first (Linux, Windows, macOS); any other font with them will do.
CHINESE_FONTS = ("Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "Source Han Sans CN", "WenQuanYi Zen Hei",
                 "WenQuanYi Micro Hei", "Microsoft YaHei", "SimHei", "PingFang SC", "Hiragino Sans GB", "Heiti SC",
                 "STHeiti", "Arial Unicode MS", "Droid Sans Fallback", "AR PL UMing CN", "Noto Sans CJK JP")
_chinese_font = []  # [] not looked for yet; [None] none; [name]


def chinese_font():
    """The name of a font matplotlib can use for Chinese text, or None (looked for once per process)."""
    if not _chinese_font:
        _chinese_font.append(_find_chinese_font())
    return _chinese_font[0]


def _find_chinese_font():
    from matplotlib import font_manager
    from matplotlib.ft2font import FT2Font

    fonts = list(font_manager.fontManager.ttflist)
    fonts.sort(key=lambda f: CHINESE_FONTS.index(f.name) if f.name in CHINESE_FONTS else len(CHINESE_FONTS))
    for font in fonts:
        if "Last Resort" in font.name:  # matplotlib's fallback: a placeholder box for every character
            continue
        try:
            if all(FT2Font(font.fname).get_char_index(ord(c)) for c in "训练损失"):
                return font.name
        except Exception:  # noqa: BLE001 (a font file matplotlib cannot read: try the next)
            continue
    return None


def set_title(target, en: str, zh: str, **kwargs):
    """Title a Figure (suptitle) or an Axes: English, then Chinese on a second line.

    给 Figure（总标题）或 Axes 加标题：英文在上，中文在下。
    Without a Chinese font the picture keeps the English line and the Chinese line is printed above it.
    没有中文字体时，图中只保留英文标题，中文标题打印在图的上方。
    """
    from matplotlib import rcParams

    setter = target.suptitle if hasattr(target, "suptitle") else target.set_title
    font = chinese_font()
    if font is None:
        print(f"{en} / {zh}")
        return setter(en, **kwargs)
    families = [name for name in rcParams["font.sans-serif"] if name != font][:1] + [font]
    return setter(f"{en}\n{zh}", fontfamily=families, **kwargs)


def why_no_picture(error: BaseException, namespace: dict, needs: tuple) -> str:
    """Why a picture cell drew nothing, in two lines (English, then Chinese): the real cause when it can tell.

    说明图片单元格为什么没有画出图（英文一行，中文一行）：尽量指出真正的原因。

    Args:
        error: what the cell's code raised. / 单元格代码抛出的异常。
        namespace: the notebook's globals(). / 笔记本的 globals()。
        needs: the exercises the picture uses, in order. / 图片用到的练习，按顺序。
    """
    kind = type(error).__name__
    frames = _frames(error)
    mine = [(name, line) for path, line, name in frames if _is_notebook(path, namespace)]
    if isinstance(error, NotImplementedError) and frames and _is_notebook(frames[-1][0], namespace) \
            and _stub_raised(error):
        name = mine[-1][0]
        return (f"No picture yet: {name} is not implemented yet; write it (and run its cell) first.\n"
                f"暂时没有图片：{name} 尚未实现，请先完成它（并运行那个单元格）。")
    if isinstance(error, NameError):
        name = getattr(error, "name", None) or str(error)
        return (f"No picture yet: {name} is not defined; write it and run its cell first.\n"
                f"暂时没有图片：{name} 还没有定义，请先完成它并运行那个单元格。")
    detail = f"{kind}: {str(error).splitlines()[0] if str(error) else ''}"[:300]
    if any("torchvision/transforms" in path.replace("\\", "/") for path, _, _ in frames):
        order = _transform_order(namespace)
        if order:
            return order
        return (f"No picture: the transform of your dataset raised {detail}; the check of mnist_transform "
                f"above says more.\n暂时没有图片：数据集的变换（transform）抛出了 {detail}；上面 mnist_transform "
                f"的检查会给出更多信息。")
    where = f"{mine[-1][0]}, line {mine[-1][1]}" if mine else ", ".join(needs)
    where_zh = f"{mine[-1][0]} 第 {mine[-1][1]} 行" if mine else "、".join(needs)
    return (f"No picture: {where} raised {detail}. The check cells of {', '.join(needs)} above say more.\n"
            f"暂时没有图片：{where_zh} 抛出了 {detail}。上面 {'、'.join(needs)} 的检查单元格会给出更多信息。")


def _stub_raised(error) -> bool:
    """Whether the innermost line of the error is a stub's `raise NotImplementedError` (torch's own is not)."""
    import linecache

    from coursetools.sandbox.server import is_stub_raise

    tb = error.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    return tb is not None and is_stub_raise(linecache.getline(tb.tb_frame.f_code.co_filename, tb.tb_lineno), error)


def _frames(error) -> list:
    """[(filename, line, function)] of the error's traceback, innermost last."""
    found, tb = [], error.__traceback__
    while tb is not None:
        code = tb.tb_frame.f_code
        found.append((code.co_filename, tb.tb_lineno, getattr(code, "co_qualname", code.co_name)))
        tb = tb.tb_next
    return found


def _is_notebook(path: str, namespace: dict) -> bool:
    """Is `path` the file of the notebook's code (a cell of this kernel, or an earlier lesson's notebook)?"""
    if re.search(r"\.ipynb \[cell \d+ from the top\]$", path):
        return True
    for value in namespace.values():
        code = getattr(value, "__code__", None)
        if code is not None and code.co_filename == path:
            return True
    from coursetools import REPO_ROOT

    return not path.startswith((sys.prefix, sys.base_prefix, "<frozen", str(REPO_ROOT))) \
        and "site-packages" not in path and "dist-packages" not in path


def _transform_order(namespace: dict):
    """The message for an mnist_transform whose steps are in the wrong order (Normalize before ToTensor), else None."""
    make = namespace.get("mnist_transform")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            steps = [type(step).__name__ for step in getattr(make(), "transforms", [])]
    except Exception:  # noqa: BLE001 (not written yet, or failing: the generic message says so)
        return None
    to_tensor = [i for i, step in enumerate(steps) if step in ("ToTensor", "PILToTensor")]
    tensor_only = [i for i, step in enumerate(steps) if step in ("Normalize", "ConvertImageDtype")]
    if tensor_only and (not to_tensor or tensor_only[0] < to_tensor[0]):
        shown = " -> ".join(steps)
        return (f"No picture: your mnist_transform runs {shown}; Normalize works on tensors, so ToTensor must come "
                f"first: Compose([ToTensor(), Normalize(...)]).\n"
                f"暂时没有图片：你的 mnist_transform 的顺序是 {shown}；Normalize 只能处理张量，所以必须先 ToTensor："
                f"Compose([ToTensor(), Normalize(...)])。")
    return None
