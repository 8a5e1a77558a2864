"""Reading a number a student's function returned, one way for every lesson (CURRICULUM.md, "Numbers").

Where the contract says `float`, a Python float, a NumPy floating scalar and a one-element
tensor are all that number (an int, a NumPy integer and a one-element array too: they are
numbers). Anything else is not a number, and the message says which type came back and
which was asked, in course words (a student object by its class name, never an engine word).

读取学生函数返回的数：Python 浮点数、NumPy 浮点标量和只有一个元素的张量都表示同一个数；
类型不对时，信息说明返回的是什么类型、要求的是什么类型。
"""
import math
import numbers

from coursetools.checks.feedback import describe, fail, type_name

#: what "a number" means, for messages: (English, 中文)
ASKED = ("a number (a Python float, a NumPy floating scalar or a one-element tensor)",
         "一个数（Python 浮点数、NumPy 浮点标量或只有一个元素的张量）")


def as_number(value, finite: bool = False):
    """The float `value` stands for, or None when it is not a number (or, with `finite`, not a finite one).

    Accepted: int and float (not bool), NumPy integer and floating scalars, one-element NumPy arrays of those
    kinds, one-element real tensors (any shape, with or without a graph, on any device but `meta`)."""
    import numpy as np
    import torch

    number = None
    if isinstance(value, torch.Tensor):
        if value.numel() == 1 and value.device.type != "meta" and not value.is_complex() \
                and value.dtype != torch.bool:
            number = float(value.detach().reshape(-1)[0].cpu())
    elif isinstance(value, np.ndarray):
        if value.size == 1 and value.dtype.kind in "iuf":
            number = float(value.reshape(-1)[0])
    elif isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_)):
        number = float(value)
    if number is not None and finite and not math.isfinite(number):
        return None
    return number


def not_a_number(value, asked: tuple = ASKED) -> tuple:
    """(English, 中文) saying which type came back and which was asked: 'gave str '2.0' (a str); expected a number
    (a Python float, ...)'."""
    kind = type_name(value)
    shown, shown_zh = describe(value), describe(value, lang="zh")
    return (f"gave {shown} (a {kind}), which is not a number; expected {asked[0]}",
            f"得到 {shown_zh}（{kind} 类型），不是一个数；应为{asked[1]}")


def read_number(value, call: tuple, asked: tuple = ASKED, hint: tuple = ("", ""), finite: bool = False,
                function: str = None) -> float:
    """The number `value` stands for; a not-a-number fails the test: '`call` gave <type> ...; expected `asked`'.

    `call` and `asked` are (English, 中文) pairs; `hint` too."""
    number = as_number(value, finite=finite)
    if number is None and as_number(value) is not None:  # a number, but NaN or infinite where a finite one is asked
        fail(en=f"{call[0]} gave {as_number(value)}; expected a finite number.",
             zh=f"{call[1]} 得到 {as_number(value)}；应为有限的数。", hint_en=hint[0], hint_zh=hint[1],
             function=function)
    if number is None:
        en, zh = not_a_number(value, asked)
        fail(en=f"{call[0]} {en}.", zh=f"{call[1]} {zh}。", hint_en=hint[0], hint_zh=hint[1], function=function)
    return number
