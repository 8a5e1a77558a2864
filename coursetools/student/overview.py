"""What is known about each lesson of an exercises folder, running its public tests when needed.

练习文件夹中每一课的情况；需要时运行它的公开测试。

`course check` always runs the tests; `course status` and `course hint` reuse the
results saved in the progress file while the lesson's files (and those of the
earlier lessons it may import) are unchanged, and skip lessons still made of stubs.
`course check` 总是运行测试；`course status` 和 `course hint` 在本课文件（以及它可能
导入的前面各课文件）没有改动时复用进度文件中保存的结果，并跳过仍全是练习桩的课。
"""
from dataclasses import dataclass
from pathlib import Path

from coursetools import hints as hint_files
from coursetools.lessons import lesson as lesson_row
from coursetools.student.files import Function, StudentFileError, fingerprint, functions, public_test_text
from coursetools.student.printer import Printer
from coursetools.student.progress import Progress


def mnist_ready() -> bool:
    """True when the MNIST data is prepared (course_data imports numpy: only once it is needed)."""
    import course_data

    return course_data.mnist_ready()


DATA_MISSING = ("lesson{n}'s tests use the MNIST data, which is not prepared yet: run `course data` "
                "(once, about a minute).",
                "第 {n} 课的测试需要 MNIST 数据，但数据尚未准备好：请运行 `course data`（只需一次，约一分钟）。")


@dataclass
class LessonView:
    """What is known about one lesson: its state after the tests, or why there is none."""

    lesson: int
    functions: list
    state: object = None  # testrun.LessonState
    error: str = ""
    needs_data: bool = False
    not_started: bool = False

    @property
    def done(self) -> int:
        return self.state.done if self.state is not None else 0


def _names_from_hints(exercises: Path, lesson: int) -> list:
    """The function names of a lesson whose file cannot be parsed, from its hints file."""
    try:
        return [Function(name, 0, False) for name in hint_files.load(exercises / f"lesson{lesson}" / "hints.toml")]
    except (OSError, ValueError):
        return []


def evaluate(exercises: Path, lessons: list, progress: Progress, out: Printer, force: bool = False,
             cancel=None) -> list:
    """A LessonView per lesson; runs the public tests of lessons whose files changed since the last run.

    With `force`, every lesson's tests run (`course check`); otherwise a lesson still
    entirely made of stubs is "not started" and saved results are reused. `cancel`: see
    testrun.run_public_tests (raises testrun.Cancelled).
    """
    from coursetools.student.testrun import PublicTestsError, not_started, run_public_tests, summarize

    views, to_run = {}, []
    for n in lessons:
        try:
            fns = functions(exercises, n)
        except StudentFileError as error:
            views[n] = LessonView(n, _names_from_hints(exercises, n), error=str(error))
            continue
        no_data = lesson_row(n).public_mnist and not mnist_ready()  # its public tests read MNIST
        if not force and all(f.untouched for f in fns):
            views[n] = LessonView(n, fns, state=not_started(fns), not_started=True, needs_data=no_data)
        elif no_data:
            views[n] = LessonView(n, fns, needs_data=True)
        else:
            key = fingerprint(exercises, n)
            saved = None if force else progress.results(n, key)
            if saved is not None:
                views[n] = LessonView(n, fns, state=summarize(fns, saved, public_test_text(exercises, n)))
            else:
                to_run.append((n, fns, key))
    if to_run:
        names = ", ".join(f"lesson{n}" for n, _, _ in to_run)
        out.say(f"Running the public tests of {names} ...", f"正在运行 {names} 的公开测试 ...")
        try:
            records = run_public_tests(exercises, [n for n, _, _ in to_run], cancel,
                                       slow=lambda text: out.message(text, "  "))  # names a function running long
        except PublicTestsError as error:
            records = None
            for n, fns, _ in to_run:
                views[n] = LessonView(n, fns, error=str(error))
        if records is not None:
            for n, fns, key in to_run:
                progress.set_results(n, key, records[n])
                views[n] = LessonView(n, fns, state=summarize(fns, records[n], public_test_text(exercises, n)))
            progress.save()
    return [views[n] for n in lessons]
