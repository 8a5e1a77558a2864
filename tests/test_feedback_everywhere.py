"""Check the issue-12 promise on every mutant: `pytest exercises/lessonN` on a submission with that
mistake prints at most 12 lines per failing test, names the pitfall, and shows no traceback.

Each (slug, lesson) pair of tests/mutants is built over solutions/ and the lesson's public tests
run against it in a real pytest, as a student runs them.

检查每个变异提交：对有该错误的提交运行 `pytest exercises/lessonN`，每个失败测试最多 12 行，
指出常见错误的名字，且没有回溯信息。
"""
import os
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import pytest

from autograder import overlay
from coursetools import REPO_ROOT

MUTANTS = REPO_ROOT / "tests" / "mutants"
PAIRS = overlay.lesson_pairs(MUTANTS)


def submission_name(slug: str, lesson: int) -> str:
    return f"{slug}.lesson{lesson}"

MAX_LINES = 12  # per failing test: its header, its message and its line in the short summary
_HEADER = re.compile(r"^_{2,} (.+?) _{2,}$")
_BANNER = re.compile(r"^={3,}.*={3,}$")
_TRACEBACK = re.compile(r"Traceback \(most recent call last\)|site-packages|^E {3}|^>\s", re.M)


def failure_sections(output: str) -> dict:
    """{test name: [lines]} of the FAILURES part of a pytest run's output."""
    sections, name = {}, None
    for line in output.splitlines():
        header = _HEADER.match(line)
        if header:
            name = header.group(1)
            sections[name] = [line]
        elif _BANNER.match(line):
            name = None
        elif name is not None:
            sections[name].append(line)
    return sections


def run_public_tests(slug: str, lesson: int, work) -> str:
    submission = overlay.build(MUTANTS / slug, work / submission_name(slug, lesson), lessons={lesson})
    done = subprocess.run([sys.executable, "-m", "pytest", f"exercises/lesson{lesson}", "--submission",
                           str(submission), "-p", "no:cacheprovider"],
                          cwd=REPO_ROOT, capture_output=True, text=True, timeout=600,
                          env={**os.environ, "COLUMNS": "100"})
    return done.stdout + done.stderr


@pytest.fixture(scope="module")
def outputs(tmp_path_factory):
    """{(slug, lesson): the output of the lesson's public tests on that mutant}, two runs at a time."""
    work = tmp_path_factory.mktemp("public")
    with ThreadPoolExecutor(max_workers=2) as pool:
        texts = pool.map(lambda pair: run_public_tests(*pair, work), PAIRS)
        return dict(zip(PAIRS, texts))


@pytest.mark.slow
@pytest.mark.parametrize("slug, lesson", PAIRS, ids=[submission_name(*pair) for pair in PAIRS])
def test_public_tests_name_the_pitfall_in_a_short_block(outputs, slug, lesson):
    """Check that the public tests fail on the mutant, name its pitfall, and stay short and traceback-free."""
    output = outputs[(slug, lesson)]
    sections = failure_sections(output)
    assert sections, f"{slug} in lesson {lesson}: no public test failed:\n{output[-3000:]}"
    walls = _TRACEBACK.findall(output)
    assert not walls, f"{slug} in lesson {lesson}: a traceback reached the student ({walls[:3]}):\n{output[-4000:]}"
    long = {name: len(lines) + 1 for name, lines in sections.items() if len(lines) + 1 > MAX_LINES}
    assert not long, f"{slug} in lesson {lesson}: more than {MAX_LINES} lines for {long}:\n{output[-4000:]}"
    pitfall = slug.split(".", 1)[0]  # <slug>.<where>: the same mistake made in another place (tests/test_mutants.py)
    assert any(f"pitfall{sep}{pitfall}" in "\n".join(lines) or f": {pitfall}" in "\n".join(lines)
               for lines in sections.values() for sep in (":", " ")), \
        f"{slug} in lesson {lesson}: no failing test names the pitfall:\n{output[-4000:]}"


def test_failure_sections_reads_a_pytest_report():
    """Check that failure_sections splits a pytest FAILURES part by test (the counter above relies on it)."""
    text = "\n".join(["=== FAILURES ===", "____ test_a ____", "msg 1", "msg 2", "____ test_b[x] ____", "msg",
                      "=== short test summary info ===", "FAILED test_a"])
    assert failure_sections(text) == {"test_a": ["____ test_a ____", "msg 1", "msg 2"],
                                      "test_b[x]": ["____ test_b[x] ____", "msg"]}
