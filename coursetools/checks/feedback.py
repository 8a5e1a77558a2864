"""Failure messages for students: what was called, on what, what came back, what was
expected, one hint; English then Simplified Chinese; and the 12 named beginner pitfalls.

给学生的失败信息：调用了什么、输入是什么、得到什么、期望什么，再加一条提示；
先英文后简体中文；以及 12 个常见初学者错误。
"""
from contextlib import contextmanager

import pytest

from coursetools.text import Text

#: slug -> (hint in English, hint in Simplified Chinese). The slugs are the contract (CURRICULUM.md).
PITFALLS = {
    "no-zero-grad": (
        "gradients add up across backward() calls: call optimizer.zero_grad() once per batch (before backward or after step).",
        "梯度会在多次 backward() 之间累加：每个批次调用一次 optimizer.zero_grad()（在 backward 之前或 step 之后）。",
    ),
    "eval-with-grad": (
        "wrap evaluation in `with torch.no_grad():` (or torch.inference_mode()) so no graph is recorded.",
        "把评估代码放进 `with torch.no_grad():`（或 torch.inference_mode()），不要记录计算图。",
    ),
    "train-eval-mode": (
        "call model.train() before training and model.eval() before evaluating (dropout and batch norm depend on it).",
        "训练前调用 model.train()，评估前调用 model.eval()（dropout 和 batch norm 依赖它）。",
    ),
    "device-mismatch": (
        "move the model and every batch to the `device` you were given with .to(device); never hard-code .cuda().",
        "用 .to(device) 把模型和每个批次移到给定的 `device` 上；不要写死 .cuda()。",
    ),
    "missing-channel-dim": (
        "grey images need a channel dimension: (N, 28, 28) -> (N, 1, 28, 28) with images.unsqueeze(1).",
        "灰度图像需要通道维度：用 images.unsqueeze(1) 把 (N, 28, 28) 变成 (N, 1, 28, 28)。",
    ),
    "view-non-contiguous": (
        "view() needs contiguous memory; use reshape() (or torch.flatten), which copies only when it must.",
        "view() 需要连续内存；请用 reshape()（或 torch.flatten），它只在必要时复制。",
    ),
    "tensor-constructor-dtype": (
        "torch.Tensor([...]) always gives float32; torch.tensor([...]) keeps the data's dtype (ints stay int64).",
        "torch.Tensor([...]) 总是得到 float32；torch.tensor([...]) 保留数据类型（整数仍为 int64）。",
    ),
    "numpy-on-grad-or-cuda": (
        ".numpy() needs a CPU tensor outside the graph: use t.detach().cpu().numpy().",
        ".numpy() 需要不在计算图中的 CPU 张量：请用 t.detach().cpu().numpy()。",
    ),
    "double-backward": (
        "the graph is freed after backward(); pass retain_graph=True to every backward that is not the last.",
        "backward() 之后计算图会被释放；除最后一次外，每次 backward 都要传入 retain_graph=True。",
    ),
    "softmax-before-ce": (
        "CrossEntropyLoss applies log-softmax itself: return raw logits from forward, no softmax.",
        "CrossEntropyLoss 自己会做 log-softmax：forward 应返回原始 logits，不要加 softmax。",
    ),
    "step-before-backward": (
        "the order is zero_grad(), forward, loss, loss.backward(), optimizer.step(); backward needs a scalar loss.",
        "顺序是 zero_grad()、前向、计算损失、loss.backward()、optimizer.step()；backward 需要标量损失。",
    ),
    "checkpoint-format": (
        "save model.state_dict() (not the model) and load it with torch.load(path, map_location=device).",
        "保存 model.state_dict()（而不是模型本身），并用 torch.load(path, map_location=device) 加载。",
    ),
}


class CallLog:
    """What the current test called last (lesson and function): failure messages take them from here.

    The pytest plugin sets `lesson` from the test's lessonN marker; the submission proxy sets
    `function` at every call of a student function."""

    lesson = None
    function = None


class CheckFailure(pytest.fail.Exception):
    """A failed check with a student-facing message, maybe the pitfall it diagnosed, and maybe the message as a
    Text (English and Chinese apart: the pytest plugin records it as the report's `message` user property)."""

    def __init__(self, message: str, pitfall=None, text: Text = None):
        super().__init__(message, pytrace=False)
        self.pitfall = pitfall
        self.text = text


def rendered(text: Text, pitfall=None) -> str:
    """A course message as pytest prints it: the English lines, the Chinese lines, then the pitfall line."""
    return str(text) + (f"\n{PITFALL_LINE} {pitfall}" if pitfall is not None else "")


#: The line that names a message's pitfall (rendered; the printer shows a pitfall block instead).
PITFALL_LINE = "Pitfall / 常见错误:"


def message_text(lesson: int, name: str, en: str, zh: str, hint_en: str = "", hint_zh: str = "",
                 pitfall=None) -> Text:
    """A failure message in the course's shape (STYLE.md) as a Text: `[lessonN name] en` and `Hint: ...`,
    `[第N课 name] zh` and `提示：...` (the pitfall's own hint when none is given)."""
    if pitfall is not None:
        if pitfall not in PITFALLS:
            raise KeyError(f"unknown pitfall slug {pitfall!r}; known: {sorted(PITFALLS)}")
        hint_en = hint_en or PITFALLS[pitfall][0]
        hint_zh = hint_zh or PITFALLS[pitfall][1]
    return Text("\n".join([f"[lesson{lesson} {name}] {en}"] + ([f"Hint: {hint_en}"] if hint_en else [])),
                "\n".join([f"[第{lesson}课 {name}] {zh}"] + ([f"提示：{hint_zh}"] if hint_zh else [])))


def message(lesson: int, name: str, en: str, zh: str, hint_en: str = "", hint_zh: str = "", pitfall=None) -> str:
    """Format a failure message in the course's shape (STYLE.md), as pytest prints it."""
    return rendered(message_text(lesson, name, en, zh, hint_en, hint_zh, pitfall), pitfall)


def fail(*positional, en: str = None, zh: str = None, hint_en: str = "", hint_zh: str = "", pitfall=None,
         lesson: int = None, function: str = None):
    """Fail the current test with a course-shaped message (no traceback), tagged with `pitfall`.

    Write it as a specification: `fail(en=..., zh=..., hint_en=..., hint_zh=..., pitfall=...)`; the
    lesson comes from the test's `lessonN` marker and the function from the student function the
    test called last (`function=` names another). The older positional form
    `fail(lesson, name, en, zh, hint_en, hint_zh)` still works.
    """
    if positional:
        names = ("lesson", "function", "en", "zh", "hint_en", "hint_zh", "pitfall")
        given = dict(zip(names, positional))
        lesson, function = given.get("lesson", lesson), given.get("function", function)
        en, zh = given.get("en", en), given.get("zh", zh)
        hint_en, hint_zh = given.get("hint_en", hint_en), given.get("hint_zh", hint_zh)
        pitfall = given.get("pitfall", pitfall)
    if en is None or zh is None:
        raise TypeError("fail() needs en= and zh=")
    lesson = lesson if lesson is not None else CallLog.lesson
    function = function or CallLog.function or "?"
    text = message_text(lesson, function, en, zh, hint_en, hint_zh, pitfall)
    failure = CheckFailure(rendered(text, pitfall), pitfall, text)
    failure.__suppress_context__ = True  # the message says it all; no "During handling ..." chain
    raise failure


@contextmanager
def failing_on(error_type, *positional, en: str = None, zh: str = None, hint_en: str = "", hint_zh: str = "",
               pitfall=None, lesson: int = None, function: str = None):
    """Turn an `error_type` raised inside the block into a course-shaped failure.

    `en` and `zh` are completed with ": <the error>". A stub's NotImplementedError
    (a RuntimeError too) passes through, so it still reads "not implemented yet"; a library's
    NotImplementedError raised in code the student wrote is an error like any other.
    """
    try:
        yield
    except NotImplementedError as error:
        if getattr(error, "stub", None) or not hasattr(error, "info") or not isinstance(error, error_type):
            raise
        _failed_on(error, positional, dict(lesson=lesson, function=function, en=en, zh=zh, hint_en=hint_en,
                                           hint_zh=hint_zh, pitfall=pitfall))
    except error_type as error:
        _failed_on(error, positional, dict(lesson=lesson, function=function, en=en, zh=zh, hint_en=hint_en,
                                           hint_zh=hint_zh, pitfall=pitfall))


def _failed_on(error, positional, keywords):
    """failing_on's failure for `error`."""
    names = ("lesson", "function", "en", "zh", "hint_en", "hint_zh", "pitfall")
    given = {**keywords, **dict(zip(names, positional))}
    from coursetools.checks import diagnosis

    found = diagnosis.of(error)  # what the error usually means (a library's message), when the grader says nothing
    hint_en, hint_zh, pitfall = given["hint_en"], given["hint_zh"], given["pitfall"]
    if found and pitfall is None and not hint_en:
        hint_en, hint_zh, pitfall = found.hint_en, found.hint_zh, found.slug
    shown = found.shown_en if found and found.shown_en else diagnosis.one_line(str(error), 200)
    detail = f"{type(error).__name__}: {shown}"
    detail_zh = (f"{type(error).__name__}：{found.shown_zh}" if found and found.shown_zh
                 else f"{type(error).__name__}（错误原文）：{shown}")
    frames = getattr(error, "frames", None) or []
    where = f" (at {frames[-1][0]}, line {frames[-1][1]}: {frames[-1][3]})" if frames else ""
    where_zh = f"（位置：{frames[-1][0]} 第 {frames[-1][1]} 行：{frames[-1][3]}）" if frames else ""
    fail(en=f"{given['en']}: {detail}{where}", zh=f"{given['zh']}：{detail_zh}{where_zh}", hint_en=hint_en,
         hint_zh=hint_zh, pitfall=pitfall, lesson=given["lesson"], function=given["function"])


_WORDS = {  # describe()'s words: (English, 中文)
    "tensor": ("tensor of shape {shape}, dtype {dtype}", "形状为 {shape}、dtype 为 {dtype} 的张量"),
    "device": ("device {device}", "设备 {device}"),
    "grad": ("requires_grad=True", "requires_grad=True"),
    "values": ("values [{values}]", "值 [{values}]"),
    "sep": (", ", "，"),
}


def raised_at(error, kind: bool = True) -> tuple:
    """Where the submission raised `error`, for a message: (English, 中文).

    kind=True: (' (RuntimeError at PATH, line N: SOURCE)', '（RuntimeError，位于 PATH 第 N 行：SOURCE）'), the type
    alone when no line of the submission is known; kind=False: (' (at PATH, line N: SOURCE)', '（PATH 第 N 行：SOURCE）'),
    or ('', '')."""
    frames = getattr(error, "frames", None) or []
    name = type(error).__name__
    if not frames:
        return (f" ({name})", f"（{name}）") if kind else ("", "")
    path, line, _, source = frames[-1]
    if kind:
        return f" ({name} at {path}, line {line}: {source})", f"（{name}，位于 {path} 第 {line} 行：{source}）"
    return f" (at {path}, line {line}: {source})", f"（{path} 第 {line} 行：{source}）"


def type_name(value) -> str:
    """The name of a value's type in course words: a student object (reached through the boundary) by its own
    class name (`Products`, `MNIST`), a tensor as `tensor`, anything else by `type(value).__name__`."""
    import torch

    from coursetools.boundary import wire

    if isinstance(value, torch.Tensor):
        return "tensor"
    kind = value.type if isinstance(value, wire.Handle) else None
    if kind is None and hasattr(type(value), "is_a") and hasattr(type(value), "_handle_for_wire"):  # a proxy.Remote
        kind = value.type
    if kind is not None:
        return str(kind).rsplit(".", 1)[-1] or "object"
    return type(value).__name__


def _first_values(value, count: int):
    """The first `count` elements of a tensor in row-major order, without copying the rest of it (a broadcast
    view may show far more elements than it holds)."""
    import torch

    flat = value.detach()
    count = min(count, flat.numel())
    if flat.is_contiguous():
        return flat.reshape(-1)[:count].cpu().tolist()
    index = torch.unravel_index(torch.arange(count, device=flat.device), flat.shape)
    return flat[index].cpu().tolist()


def describe(value, max_values: int = 4, lang: str = "en") -> str:
    """Describe a value for a message: shape, dtype, device and a few values of a tensor.

    `lang="zh"` gives the same facts in Chinese with the values formatted the same way
    (`describe_zh`); put it in the Chinese line of a message."""
    import torch

    zh = lang == "zh"
    word = {key: pair[1 if zh else 0] for key, pair in _WORDS.items()}
    if not isinstance(value, torch.Tensor):
        text = repr(value)
        return f"{type_name(value)} {text[:60]}{'...' if len(text) > 60 else ''}"
    parts = [word["tensor"].format(shape=tuple(value.shape), dtype=value.dtype)]
    if value.device.type != "cpu":
        parts.append(word["device"].format(device=value.device))
    if value.requires_grad:
        parts.append(word["grad"])
    if value.device.type != "meta" and value.numel() > 0:
        flat = _first_values(value, max_values)
        shown = ", ".join(f"{v:.4g}" if isinstance(v, float) else str(v) for v in flat)
        parts.append(word["values"].format(values=f"{shown}{', ...' if value.numel() > max_values else ''}"))
    return word["sep"].join(parts)


def describe_zh(value, max_values: int = 4) -> str:
    """describe() for the Chinese line of a message: 形状为 (1,)、dtype 为 torch.float32 的张量，值 [2]."""
    return describe(value, max_values, lang="zh")
