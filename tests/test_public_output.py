"""What a student sees from `pytest exercises/lessonN`: one compact bilingual block per failing test.

End to end through real pytest subprocesses on overlays of the reference (autograder.overlay):
an endless loop, a library error in a transform, .numpy() on a model's outputs, a syntax error,
and a check that cannot use what the student returned. Each failing test prints at most 12 lines
(header and summary line included), no traceback, no site-packages frame, no `E   ` lines; the
pitfall or the hint is named; the endless loop stops within its limit.

学生在 `pytest exercises/lessonN` 中看到的内容：每个失败的测试只有一段简短的中英文说明。
"""
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from autograder import overlay
from coursetools import REPO_ROOT
from coursetools.text import has_chinese

MAX_LINES = 12


def build(tmp_path, name: str, files: dict) -> Path:
    """An overlay of the reference: {"lesson2/autograd.py": text} (a first line `# APPEND` appends)."""
    folder = tmp_path / f"{name}-overlay"
    for relative, text in files.items():
        (folder / relative).parent.mkdir(parents=True, exist_ok=True)
        (folder / relative).write_text(text, encoding="utf-8")
    return overlay.build(folder, tmp_path / name)


def run(submission: Path, *args, env=None, cwd=REPO_ROOT, timeout=120):
    """`pytest ARGS --submission SUBMISSION`: (output, seconds)."""
    started = time.monotonic()
    process = subprocess.run([sys.executable, "-m", "pytest", *args, "--submission", str(submission),
                              "-p", "no:cacheprovider"], cwd=cwd, capture_output=True, text=True, timeout=timeout,
                             env={**os.environ, **(env or {})})
    return process.stdout + process.stderr, time.monotonic() - started


def failure_blocks(output: str) -> dict:
    """{test name: its lines in the FAILURES section}."""
    start = min((output.index(mark) for mark in ("= ERRORS =", "= FAILURES =") if mark in output), default=None)
    section = output[start:] if start is not None else ""
    section = re.split(r"^=+ (short test summary info|warnings summary|\d+ (failed|passed)).*$", section,
                       maxsplit=1, flags=re.M)[0]
    section = re.sub(r"^=+ FAILURES =+$", "", section, flags=re.M)
    blocks, name = {}, None
    for line in section.splitlines()[1:]:
        header = re.fullmatch(r"_{3,} (ERROR at setup of )?(.+?) _{3,}", line)
        if header:
            name = header.group(2)
            blocks[name] = [line]
        elif name:
            blocks[name].append(line)
    return blocks


def assert_compact(output: str, failed: int = None) -> dict:
    assert "Traceback" not in output and "site-packages" not in output, output
    assert not re.search(r"^E   ", output, re.M), output
    blocks = failure_blocks(output)
    assert blocks, output
    if failed is not None:
        assert len(blocks) == failed, output
    for name, lines in blocks.items():
        assert len(lines) + 1 <= MAX_LINES, f"{name}: {len(lines) + 1} lines\n" + "\n".join(lines)
        text = "\n".join(lines)
        assert has_chinese(text), f"{name} has no Chinese line:\n{text}"
    return blocks


def test_an_endless_loop_stops_within_its_limit(tmp_path):
    submission = build(tmp_path, "hang", {"lesson2/autograd.py": "# APPEND\ndef sgd_step(params, lr):\n"
                                                                  "    while True:\n        pass\n"})
    # COURSE_TIME_FACTOR 0.2: lesson 2's 20 s default becomes 4 s
    output, seconds = run(submission, "exercises/lesson2", "-k", "sgd_step", env={"COURSE_TIME_FACTOR": "0.2"})
    blocks = assert_compact(output)
    assert seconds < 4 * len(blocks) + 30, (seconds, output)
    text = "\n".join(next(iter(blocks.values())))
    assert "sgd_step(" in text and "ran longer than 4 s" in text and "endless loop" in text, text
    assert "lesson2/autograd.py, line" in text and "while True" in text, text
    assert "死循环" in text, text


def test_a_library_error_in_a_transform_gets_its_hint(tmp_path):
    submission = build(tmp_path, "normalize-first", {"lesson3/data.py": (
        "# APPEND\ndef mnist_transform():\n"
        "    return transforms.Compose([transforms.Normalize((MNIST_MEAN,), (MNIST_STD,)), transforms.ToTensor()])\n")})
    output, _ = run(submission, "exercises/lesson3", "-k", "mnist_transform or load_mnist")
    if "= FAILURES =" not in output and "skipped" in output:
        pytest.skip("MNIST is not prepared here (python -m course_data)")
    blocks = assert_compact(output)
    for lines in blocks.values():
        text = "\n".join(lines)
        hint = next((line for line in lines if line.startswith("Hint: ")), "")  # the grader's own, or the table's
        assert "img should be Tensor Image" in text and "ToTensor" in hint and "Normalize" in hint, text


def test_numpy_on_the_outputs_names_the_pitfall(tmp_path):
    submission = build(tmp_path, "numpy-evaluate", {"lesson5/train.py": (
        "# APPEND\ndef evaluate(model, loader, device):\n"
        "    model.eval()\n    correct = total = 0\n"
        "    for images, labels in loader:\n"
        "        images, labels = images.to(device), labels.to(device)\n"
        "        outputs = model(images).numpy()\n"
        "        correct += int((outputs.argmax(1) == labels.numpy()).sum())\n"
        "        total += labels.numel()\n"
        "    return correct / total\n")})
    output, _ = run(submission, "exercises/lesson5", "-k", "evaluate_gives")
    if "= FAILURES =" not in output and "skipped" in output:
        pytest.skip("MNIST is not prepared here (python -m course_data)")
    blocks = assert_compact(output, failed=1)
    text = "\n".join(next(iter(blocks.values())))
    assert "Pitfall / 常见错误: numpy-on-grad-or-cuda" in text and "outputs = model(images).numpy()" in text, text


def test_a_syntax_error_is_told_once_per_file(tmp_path):
    submission = build(tmp_path, "syntax", {"lesson1/tensors.py": "# APPEND\ndef broken(:\n    pass\n"})
    output, _ = run(submission, "exercises/lesson1")
    blocks = assert_compact(output)
    first, *later = ["\n".join(lines) for lines in blocks.values()]
    assert "syntax error at line" in first and "def broken(:" in first and "语法错误" in first, first
    assert later and all(len(text.splitlines()) == 2 and "same problem as above" in text and "同上" in text
                         for text in later), later


CHECKS = '''import pytest

pytestmark = pytest.mark.lesson2


@pytest.fixture
def broken_fixture():
    raise KeyError("a key the grader forgot")


def test_uses_what_came_back(submission):
    result = submission.lesson2.square_grad(3.0)
    assert result.shape == ()


def test_with_a_broken_fixture(submission, broken_fixture):
    pass


def test_library_error_raised_in_student_code(submission):
    submission.lesson2.accumulated_grad(__import__("torch").tensor(3.0), 2)
'''


def test_an_error_escaping_a_check_is_compact(tmp_path):
    """A check that cannot use the returned value (AttributeError in the test), a grader's fixture that fails,
    and an error raised by a library the student's code called that no check wrapped."""
    submission = build(tmp_path, "wrong-type", {"lesson2/autograd.py": (
        "# APPEND\ndef square_grad(x):\n    return 'twelve'\n\n\n"
        "def accumulated_grad(x, times):\n"
        "    x = x.detach().clone().requires_grad_(True)\n"
        "    y = 2 * x ** 2\n"
        "    for _ in range(times):\n"
        "        y.backward()\n"
        "    return x.grad\n")})
    tests = tmp_path / "checks"
    (tests / "lesson2").mkdir(parents=True)
    (tests / "lesson2" / "test_checks.py").write_text(CHECKS, encoding="utf-8")
    (tests / "pytest.ini").write_text("[pytest]\nmarkers =\n    lesson2: lesson 2\n", encoding="utf-8")
    report = tmp_path / "report.jsonl"
    output, _ = run(submission, "lesson2", "-c", "pytest.ini", "--rootdir", str(tests), "--course-report",
                    str(report), cwd=tests)
    blocks = assert_compact(output, failed=3)
    uses, fixture, library = ("\n".join(blocks[name]) for name in
                              ("test_uses_what_came_back", "test_with_a_broken_fixture",
                               "test_library_error_raised_in_student_code"))
    assert "[lesson2 square_grad] the check could not use what square_grad returned: AttributeError" in uses, uses
    assert "test_checks.py, line 13" in uses and "检查无法使用" in uses, uses
    assert "setting up the test failed with KeyError" in fixture and "not of your code" in fixture, fixture
    assert "请告诉老师" in fixture, fixture
    assert "accumulated_grad(<tensor ()>, 2) raised RuntimeError" in library, library
    assert "lesson2/autograd.py, line" in library and "y.backward()" in library, library
    assert "Pitfall / 常见错误: double-backward" in library, library
    # recorded for tools and for the grading engine's tags (the same user property: pitfall:double-backward)
    records = {record["nodeid"].rsplit("::", 1)[-1]: record
               for record in map(json.loads, report.read_text().splitlines())}
    assert records["test_library_error_raised_in_student_code"]["pitfalls"] == ["double-backward"], records
