"""What an error raised inside code the student called usually means: one table, easy to extend.

`diagnose(type_name, message)` reads an exception that came back from student code (its
class name and message text; torch, torchvision and Python raise them, the student's line
called them) and gives a `Diagnosis`: the pitfall slug of the contract (CURRICULUM.md) when
one applies, a hint in English and in Simplified Chinese, and, for messages that must never
reach a student as they are (the grader's own process model), the text to show instead.

Add a row to RULES for a new message: a regular expression searched in the message (and,
optionally, the exception class names it applies to). The first matching row wins, so put
the precise rows before the general ones. tests/test_diagnosis.py produces each message
with the torch/torchvision installed here, so an upgrade that rewords one is caught.

学生调用的代码抛出的异常通常意味着什么：一张表（类型 + 消息 -> 常见错误标识、中英文提示）。
"""
import re
from dataclasses import dataclass

from coursetools.checks.feedback import PITFALLS, rendered
from coursetools.text import Text


@dataclass(frozen=True)
class Rule:
    pattern: str  # a regular expression searched in the message (case-insensitive)
    slug: object = None  # the pitfall slug (feedback.PITFALLS), or None
    hint_en: str = ""  # "" with a slug: the slug's own hint
    hint_zh: str = ""
    types: tuple = ()  # exception class names it applies to (any when empty)
    shown_en: str = ""  # replaces the raw message where the raw one must not be shown
    shown_zh: str = ""


@dataclass(frozen=True)
class Diagnosis:
    slug: object
    hint_en: str
    hint_zh: str
    shown_en: str = ""
    shown_zh: str = ""


_DEVICE_EN = ("use the device you were given: .to(device) for the model and every batch; never hard-code .cuda() "
              "(the grader may have no GPU)")
_DEVICE_ZH = "使用给你的 device：模型和每个批次都用 .to(device) 移动；不要写死 .cuda()（评分机器可能没有 GPU）"
_NO_CUDA_EN = "CUDA is not available here (your code asked for a GPU directly)"
_NO_CUDA_ZH = "这里没有可用的 CUDA（你的代码直接请求了 GPU）"
_READ_ONLY_EN = ("the copy of your submission that is graded (or checked) is read-only, so nothing can be saved next "
                 "to your own .py file (Path(__file__).parent) or in the current folder: write where you are told "
                 "to, the path your function was given (save_checkpoint's `path`), or a temporary folder "
                 "(tempfile.TemporaryDirectory()), which every machine that runs your code lets you write.")
_READ_ONLY_ZH = ("被评分（或检查）的提交副本是只读的，所以不能把文件保存在你自己的 .py 文件旁边（Path(__file__).parent）"
                 "或当前文件夹里：请写到指定的位置，即函数收到的路径（save_checkpoint 的 `path`），或写到临时文件夹"
                 "（tempfile.TemporaryDirectory()），运行你代码的每台机器都允许在那里写入。")

#: message -> (pitfall, hint EN, hint 中文). First match wins: precise rows before general ones.
RULES = (
    # numpy-on-grad-or-cuda
    Rule(r"can't call numpy\(\) on tensor that requires grad", "numpy-on-grad-or-cuda"),
    Rule(r"can't convert (cuda|meta|mps|xpu)[\w:]* ?(device type )?tensor to numpy", "numpy-on-grad-or-cuda"),
    # view-non-contiguous
    Rule(r"view size is not compatible with input tensor's size and stride", "view-non-contiguous"),
    # double-backward
    Rule(r"trying to backward through the graph a second time", "double-backward"),
    # step-before-backward (CURRICULUM's precise reading: backward on a non-scalar, step between forward and backward)
    Rule(r"grad can be implicitly created only for scalar outputs", "step-before-backward",
         "backward() needs a scalar loss: reduce it first (criterion(...) gives one; or loss.sum()/loss.mean()); "
         "the order is zero_grad(), forward, loss, loss.backward(), optimizer.step().",
         "backward() 需要标量损失：先把它归约（criterion(...) 给出的就是标量；或用 loss.sum()/loss.mean()）；"
         "顺序是 zero_grad()、前向、损失、loss.backward()、optimizer.step()。"),
    Rule(r"has been modified by an inplace operation", "step-before-backward",
         "a tensor the graph still needs was changed in place before backward(): optimizer.step() between the "
         "forward pass and loss.backward() does that (call step() after backward()), and so does an in-place op "
         "(x += ..., relu_) on a tensor used earlier.",
         "计算图还需要的张量在 backward() 之前被原地修改了：在前向和 loss.backward() 之间调用 optimizer.step() 就会这样"
         "（step() 要在 backward() 之后），对之前用过的张量做原地运算（x += ...、relu_）也会。"),
    # device-mismatch: CUDA asked for where there is none (the fork message is the grader's, never shown)
    Rule(r"cannot re-initialize cuda in forked subprocess", "device-mismatch", _DEVICE_EN, _DEVICE_ZH,
         shown_en=_NO_CUDA_EN, shown_zh=_NO_CUDA_ZH),
    Rule(r"found no nvidia driver", "device-mismatch", _DEVICE_EN, _DEVICE_ZH,
         shown_en=_NO_CUDA_EN, shown_zh=_NO_CUDA_ZH),
    Rule(r"torch not compiled with cuda enabled", "device-mismatch", _DEVICE_EN, _DEVICE_ZH,
         shown_en=_NO_CUDA_EN, shown_zh=_NO_CUDA_ZH),
    Rule(r"no cuda gpus are available", "device-mismatch", _DEVICE_EN, _DEVICE_ZH,
         shown_en=_NO_CUDA_EN, shown_zh=_NO_CUDA_ZH),
    Rule(r"expected all tensors to be on the same device", "device-mismatch", _DEVICE_EN, _DEVICE_ZH),
    Rule(r"tensor on device \S+ is not on the expected device", "device-mismatch", _DEVICE_EN, _DEVICE_ZH),
    Rule(r"input type \([^)]*(cuda|meta)[^)]*\) and weight type", "device-mismatch", _DEVICE_EN, _DEVICE_ZH),
    Rule(r"input type \(\S+\) and weight type \((\S*cuda|\S*meta)", "device-mismatch", _DEVICE_EN, _DEVICE_ZH),
    Rule(r"input type \((\w+)\) and (weight|bias) type \((\w+)\) should be the same",
         None, "the input and the layer's weights must have the same dtype: images as float32 (.float()), "
               "as the model's parameters are.",
         "输入和层的权重必须是同一 dtype：图像要是 float32（.float()），与模型参数一致。"),
    # checkpoint-format
    Rule(r"attempting to deserialize object on a cuda device", "checkpoint-format",
         "a checkpoint saved on a GPU loads elsewhere only with torch.load(path, map_location=device).",
         "在 GPU 上保存的检查点，要在别处加载必须用 torch.load(path, map_location=device)。"),
    Rule(r"weights only load failed", "checkpoint-format",
         "save model.state_dict() (tensors only), not the model object: torch.load reads only tensors and plain "
         "containers by default.",
         "保存 model.state_dict()（只含张量），不要保存模型对象：torch.load 默认只读取张量和普通容器。",
         shown_en="torch.load refused the file: it holds more than tensors (a pickled object)",
         shown_zh="torch.load 拒绝了这个文件：里面不只有张量（有被 pickle 的对象）"),
    Rule(r"(missing key\(s\)|unexpected key\(s\)) in state_dict", "checkpoint-format",
         "the keys must be the model's own: save model.state_dict() and load it with model.load_state_dict(...) "
         "into the same architecture.",
         "键必须是模型自己的：保存 model.state_dict()，再用 model.load_state_dict(...) 加载到同一结构的模型中。"),
    # missing-channel-dim: a batch of grey images (N, 28, 28) reaches a conv2d as one unbatched image of N channels
    Rule(r"expected input\[1, \d+, \d+, \d+\] to have 1 channels", "missing-channel-dim"),
    Rule(r"expected 3d \(unbatched\) or 4d \(batched\) input to conv2d, but got input of size: \[\d+, \d+, \d+\]",
         "missing-channel-dim"),
    Rule(r"expected 3d \(unbatched\) or 4d \(batched\) input to conv2d", None,
         "a conv layer needs images shaped (N, 1, 28, 28): do not flatten before the convolutions; flatten only "
         "before the first Linear layer.",
         "卷积层需要形状为 (N, 1, 28, 28) 的图像：卷积之前不要展平；只在第一个 Linear 层之前展平。"),
    Rule(r"mat1 and mat2 shapes cannot be multiplied", None,
         "the input of a Linear layer has the wrong last dimension: flatten the images (x.flatten(1)) and check "
         "in_features against the size that reaches the layer.",
         "Linear 层输入的最后一维不对：先展平图像（x.flatten(1)），并核对 in_features 与到达该层的大小。"),
    # torchvision transforms in the wrong order
    Rule(r"img should be tensor image\. got <class 'pil\.", None,
         "Normalize works on tensors, so ToTensor() must come first: Compose([ToTensor(), Normalize(mean, std)]).",
         "Normalize 作用于张量，所以 ToTensor() 必须放在前面：Compose([ToTensor(), Normalize(mean, std)])。"),
    Rule(r"pic should be pil image or ndarray\. got <class 'torch\.tensor'>", None,
         "ToTensor() was given a tensor: it converts a PIL image once; do not apply it twice or to a tensor.",
         "ToTensor() 收到的是张量：它只把 PIL 图像转换一次；不要用两次，也不要用在张量上。"),
    # writing next to the submission: the graded copy is read-only (torch.save's own words first, then Python's)
    Rule(r"enforce fail.*strerror: read-only file system", None, _READ_ONLY_EN, _READ_ONLY_ZH,
         shown_en="the file could not be written: read-only file system",
         shown_zh="无法写入文件：只读文件系统"),
    Rule(r"read-only file system", None, _READ_ONLY_EN, _READ_ONLY_ZH),
    # autograd outside a pitfall of the table
    Rule(r"a leaf variable that requires grad is being used in an in-place operation", None,
         "update parameters inside `with torch.no_grad():` (p -= lr * p.grad there), or use p.data.",
         "在 `with torch.no_grad():` 中更新参数（在其中写 p -= lr * p.grad），或使用 p.data。"),
    Rule(r"element 0 of tensors does not require grad", None,
         "the loss is not connected to anything with requires_grad=True: create the inputs with "
         "requires_grad=True and do not compute the loss under torch.no_grad() or from .detach()/.item() values.",
         "损失与任何 requires_grad=True 的张量都没有联系：创建输入时设 requires_grad=True，"
         "不要在 torch.no_grad() 中或用 .detach()/.item() 的值计算损失。"),
)

_COMPILED = [(re.compile(rule.pattern, re.IGNORECASE | re.DOTALL), rule) for rule in RULES]
for _rule in RULES:
    assert _rule.slug is None or _rule.slug in PITFALLS, _rule.slug


def diagnose(type_name: str, message: str):
    """The Diagnosis of an exception (its class name and message), or None when the table knows nothing."""
    text = str(message or "")
    for pattern, rule in _COMPILED:
        if rule.types and type_name not in rule.types:
            continue
        if pattern.search(text):
            hint_en, hint_zh = rule.hint_en, rule.hint_zh
            if rule.slug and not hint_en:
                hint_en, hint_zh = PITFALLS[rule.slug]
            return Diagnosis(rule.slug, hint_en, hint_zh, rule.shown_en, rule.shown_zh)
    return None


def diagnose_error(error: BaseException):
    """diagnose() for an exception object (a student error re-raised here keeps its student-side class name)."""
    return diagnose(type(error).__name__, str(error))


def one_line(text: str, limit: int = 160) -> str:
    """The first line of a message, cut to `limit` characters."""
    first = str(text).strip().splitlines()[0] if str(text).strip() else ""
    if len(first) <= limit:
        return first
    sentence = first.find(". ", 30, limit)  # a whole first sentence reads better than a cut one
    return first[:sentence + 1] if sentence > 0 else first[:limit - 3].rstrip() + "..."


def of(error: BaseException):
    """diagnose() for an exception that came back from student code (its student-side type and message)."""
    info = getattr(error, "info", None)
    if isinstance(info, dict) and info.get("kind") in ("raised", "timeout", "import"):
        return diagnose(str(info.get("type") or type(error).__name__), str(info.get("message") or ""))
    return diagnose(type(error).__name__, str(error))


# ------------------------------------------------------------------ what was called, on what

def describe_value(value, depth: int = 0) -> str:
    """A few characters for an argument: objects by class, tensors by shape, short values as they are
    (never more: an argument may be a grader's input, not something to print in full)."""
    import numpy
    import torch

    from coursetools.boundary import wire

    kind = getattr(value, "type", None) if type(value).__name__ == "Remote" else None
    if isinstance(value, wire.Handle):
        kind = value.type
    if kind is not None:
        return f"<{str(kind).rsplit('.', 1)[-1] or 'object'}>"
    if isinstance(value, torch.Tensor):
        extra = "" if value.dtype == torch.float32 else f" {str(value.dtype).replace('torch.', '')}"
        extra += "" if value.device.type == "cpu" else f" on {value.device.type}"
        return f"<tensor {tuple(value.shape)}{extra}>"
    if isinstance(value, numpy.ndarray):
        return f"<array {tuple(value.shape)} {value.dtype}>"
    if value is None or isinstance(value, (bool, int, float, str)):
        text = repr(value)
        return text if len(text) <= 24 else text[:20] + "...'"
    if isinstance(value, (list, tuple)):
        if depth or len(value) > 3:
            return f"<{type(value).__name__} of {len(value)}>"
        inner = ", ".join(describe_value(v, depth + 1) for v in value)
        return f"[{inner}]" if isinstance(value, list) else f"({inner}{',' if len(value) == 1 else ''})"
    if isinstance(value, dict):
        return f"<dict of {len(value)}>"
    return f"<{type(value).__name__}>"


def describe_call(function: str, args=(), kwargs=None, limit: int = 110) -> str:
    """`evaluate(<SimpleMNISTNet>, <DataLoader>, 'cpu')`: what the test called, on what."""
    try:
        parts = [describe_value(a) for a in args] + [f"{k}={describe_value(v)}" for k, v in (kwargs or {}).items()]
    except Exception:
        parts = ["..."]
    text = f"{function}({', '.join(parts)})"
    return text if len(text) <= limit else text[:limit - 4] + "...)"


# ------------------------------------------------------------------ the messages

def _heads(lesson, function):
    name = f" {function}" if function else ""
    if lesson:
        return f"[lesson{lesson}{name}]", f"[第{lesson}课{name}]"
    return f"[grader{name}]", f"[评分{name}]"


_WHERE = {"en": ("  at {0}, line {1}, in {2}: {3}", "  called from {0}, line {1}, in {2}: {3}"),
          "zh": ("  位置：{0} 第 {1} 行，{2} 中：{3}", "  调用处：{0} 第 {1} 行，{2} 中：{3}")}


def _where(frames, language) -> list:
    """The submission's own last line and, when it was inside a helper, the one that called it, in `language`."""
    at, called_from = _WHERE[language]
    lines = []
    if frames:
        path, line, function, source = frames[-1]
        lines.append(at.format(path, line, function, one_line(source, 100)))
    if len(frames or ()) > 1:
        path, line, function, source = frames[-2]
        lines.append(called_from.format(path, line, function, one_line(source, 90)))
    return lines


def where_lines(frames) -> list:
    """The submission's own last line and, when it was inside a helper, the one that called it."""
    return _where(frames, "en")


def where_lines_zh(frames) -> list:
    """where_lines in Chinese: the same places, lines and source (`course --lang zh` shows only these)."""
    return _where(frames, "zh")


def raised_text(lesson, function, call, error) -> tuple:
    """The course block for an error raised by code the student called: (Text, pitfall or None)."""
    info = getattr(error, "info", {}) or {}
    type_name = str(info.get("type") or type(error).__name__)
    found = of(error)
    en_head, zh_head = _heads(lesson, function)
    call = call or (f"{function}(...)" if function else "your code")
    shown_en = found.shown_en if found and found.shown_en else one_line(info.get("message", str(error)))
    en = [f"{en_head} {call} raised {type_name}: {shown_en}", *where_lines(getattr(error, "frames", []))]
    if found and found.hint_en:
        en.append(f"Hint: {found.hint_en}")
    if found and found.shown_zh:
        zh = [f"{zh_head} {call} 抛出了 {type_name}：{found.shown_zh}"]
    else:  # the library's own words (English): the Chinese line carries them too
        zh = [f"{zh_head} {call} 抛出了 {type_name}（错误原文）：{shown_en}"]
    zh += where_lines_zh(getattr(error, "frames", []))
    if found and found.hint_zh:
        zh.append(f"提示：{found.hint_zh}")
    slug = found.slug if found and found.slug else None
    return Text("\n".join(en), "\n".join(zh)), slug


def raised_message(lesson, function, call, error) -> tuple:
    """The course block for an error raised by code the student called, as pytest prints it: (message, pitfall or
    None)."""
    text, slug = raised_text(lesson, function, call, error)
    return rendered(text, slug), slug


def timeout_message(lesson, function, call, seconds, frames) -> str:
    en_head, zh_head = _heads(lesson, function)
    call = call or (f"{function}(...)" if function else "the test")
    lines = [f"{en_head} {call} ran longer than {seconds:g} s and was stopped: an endless loop?"]
    lines += where_lines(frames)
    lines.append("Hint: look for a loop whose condition never turns false (a `while` without `break`, a counter "
                 "never increased), or far more work than asked (more epochs, a loop over every pixel).")
    lines.append(f"{zh_head} {call} 运行超过 {seconds:g} 秒，已被停止：是死循环吗？")
    lines += where_lines_zh(frames)
    lines.append("提示：检查是否有永远不会结束的循环（没有 break 的 while、从不递增的计数器），"
                 "或计算量远超要求（更多轮次、逐像素循环）。")
    return "\n".join(lines)
