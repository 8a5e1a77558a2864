"""The one reader of numbers (coursetools/checks/numbers.py): what is a number, and what a wrong type is told.

数的读取：哪些值算作一个数，类型不对时信息说明返回了什么类型、要求什么类型。
"""
import numpy as np
import pytest
import torch

from coursetools.boundary import wire
from coursetools.checks.feedback import CallLog, CheckFailure, describe, type_name
from coursetools.checks.numbers import as_number, read_number


@pytest.mark.parametrize("value", [2.5, np.float32(2.5), np.float64(2.5), torch.tensor(2.5), torch.tensor([2.5]),
                                   torch.tensor([[2.5]], dtype=torch.float64), torch.tensor(2.5, requires_grad=True) * 1,
                                   np.array([2.5], dtype=np.float32)])
def test_every_form_of_a_number_reads_as_it(value):
    """Check a Python float, NumPy floating scalars and one-element tensors (with a graph too) are all 2.5."""
    assert as_number(value) == 2.5


@pytest.mark.parametrize("value", ["2.5", True, np.bool_(True), [2.5], (2.5,), None, torch.tensor([2.5, 2.5]),
                                   torch.empty(1, device="meta"), torch.tensor(True), torch.tensor(1 + 2j)])
def test_what_is_not_a_number_reads_as_none(value):
    """Check strings, bools, containers, several elements, meta and complex tensors are not numbers."""
    assert as_number(value) is None


def test_finite_refuses_nan_and_infinity():
    """Check `finite=True` reads NaN and infinities as no number (they would compare as close)."""
    assert as_number(float("nan"), finite=True) is None and as_number(np.float32("inf"), finite=True) is None
    assert as_number(np.float32(1.0), finite=True) == 1.0


def test_a_wrong_type_is_named_with_the_type_asked(monkeypatch):
    """Check the failure says which type came back and which was asked, in English and in Chinese."""
    monkeypatch.setattr(CallLog, "lesson", 5)
    with pytest.raises(CheckFailure) as caught:
        read_number("2.01", ("train_one_epoch(...)", "train_one_epoch(...)"), function="train_one_epoch")
    english, chinese = caught.value.text.en, caught.value.text.zh
    assert "(a str), which is not a number" in english and "a NumPy floating scalar" in english
    assert "str 类型" in chinese and "NumPy 浮点标量" in chinese and "一个数" in chinese


def test_a_student_object_is_named_by_its_class_not_by_the_engine():
    """Check a handle on a student object is described by its class and repr, never as 'Remote' or 'Handle'."""
    handle = wire.Handle(3, "lesson1.tensors.Products", ["lesson1.tensors.Products"], "Products(a=1, b=2)")
    assert type_name(handle) == "Products"
    assert describe(handle).startswith("Products Products(a=1") and "Handle" not in describe(handle)


def test_describe_never_copies_a_broadcast_view():
    """Check describing a 2 GiB broadcast view reads only its first values (the view is 8 bytes of memory)."""
    bomb = torch.arange(2.0).reshape(2, 1).expand(2, 2**28)
    assert describe(bomb).endswith("values [0, 0, 0, 0, ...]")
