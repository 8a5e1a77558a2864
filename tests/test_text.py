"""Unit tests of coursetools/text.py: the bilingual Text, the one language selection, the one Chinese test."""
import pytest

from coursetools.text import LanguageError, Text, choose, filter_lines, has_chinese, pick


def test_text_renders_english_then_chinese():
    text = Text("[lesson1 f] wrong shape", "[第1课 f] 形状不对")
    assert str(text) == "[lesson1 f] wrong shape\n[第1课 f] 形状不对"
    assert text.pick("en") == text.en and text.pick("zh") == text.zh and text.pick("both") == str(text)
    assert text.pick("both", " / ") == "[lesson1 f] wrong shape / [第1课 f] 形状不对"


def test_text_json_round_trip_and_no_structure():
    text = Text("a\nb", "甲\n乙")
    assert text.to_json() == {"en": "a\nb", "zh": "甲\n乙"}
    assert Text.from_json(text.to_json()) == text
    assert Text.from_json(None) is None and Text.from_json("a\n甲") is None and Text.from_json({"en": "a"}) is None


def test_text_joins_language_by_language():
    first, second = Text("a", "甲"), Text("b", "乙")
    assert first + second == Text("ab", "甲乙") and first + "!" == Text("a!", "甲!")
    assert Text.join("\n", [first, second]) == Text("a\nb", "甲\n乙")
    assert first.map(str.upper) == Text("A", "甲")


def test_guess_splits_a_message_without_structure():
    assert Text.guess("Hint: x\n提示：x") == Text("Hint: x", "提示：x")
    assert Text.guess("ValueError: boom") == Text("ValueError: boom", "ValueError: boom")  # not bilingual


def test_pick_and_choose(monkeypatch):
    assert pick("en", "a", "甲") == "a" and pick("zh", "a", "甲") == "甲" and pick("both", "a", "甲", " / ") == "a / 甲"
    monkeypatch.delenv("COURSE_LANG", raising=False)
    assert choose() == "both" and choose("zh") == "zh"
    monkeypatch.setenv("COURSE_LANG", "EN")
    assert choose() == "en"
    monkeypatch.setenv("COURSE_LANG", "fr")
    with pytest.raises(LanguageError):
        choose()


def test_has_chinese_is_the_one_test():
    assert has_chinese("形状") and has_chinese("（") and has_chinese("㐀") and not has_chinese("shape (1, 2)")


def test_filter_lines_keeps_an_indented_line_with_its_language():
    text = "Run this:\n    course check\n运行：\n    course check"
    assert filter_lines("en", text) == "Run this:\n    course check"
    assert filter_lines("zh", text) == "运行：\n    course check"
    assert filter_lines("zh", "only English") == "only English"


def test_a_course_failure_carries_its_text():
    """feedback.fail raises with the message pytest prints (unchanged) and the same message as a Text."""
    from coursetools.checks.feedback import CheckFailure, fail, message

    with pytest.raises(CheckFailure) as raised:
        fail(en="wrong", zh="不对", pitfall="no-zero-grad", lesson=2, function="f")
    error = raised.value
    assert str(error.msg) == message(2, "f", "wrong", "不对", pitfall="no-zero-grad")
    assert str(error.msg) == str(error.text) + "\nPitfall / 常见错误: no-zero-grad"
    assert error.text.en.startswith("[lesson2 f] wrong\nHint: gradients") and error.text.zh.startswith("[第2课 f] 不对\n提示：")


def test_the_printer_picks_the_language_of_a_structured_message():
    import io

    from coursetools.student.printer import Printer, failure_text

    record = {"message": "[lesson1 f] wrong / mixed 中文\n[第1课 f] 不对", "pitfalls": [],
              "text": {"en": "[lesson1 f] wrong / mixed 中文", "zh": "[第1课 f] 不对"}}
    for lang, expected in (("en", "[lesson1 f] wrong / mixed 中文\n"), ("zh", "[第1课 f] 不对\n")):
        stream = io.StringIO()
        Printer(lang, stream).message(failure_text(record))
        assert stream.getvalue() == expected  # the line guess would have taken the English line for Chinese
