"""What the terminal shows: a tqdm progress bar on stderr while grading, then the tables on stdout.

Everything shown passes through neutralise.terminal (a student's message cannot clear the screen or draw a
line of its own) and columns are padded by display width (a Chinese name keeps the table aligned).

终端输出：评分时在 stderr 上显示 tqdm 进度条，结束后在 stdout 上打印表格。
"""
import sys
import textwrap

from autograder.parent import neutralise
from coursetools import LESSONS


class ProgressBar:
    """A tqdm bar whose total grows as lesson processes report the tests they collected."""

    def __init__(self, enabled: bool = True):
        from tqdm import tqdm

        tqdm.monitor_interval = 0  # no monitor thread: the grading parent forks
        self.bar = tqdm(total=0, unit="test", file=sys.stderr, disable=not enabled, dynamic_ncols=True,
                        desc="grading")

    def add_total(self, count: int):
        self.bar.total += count
        self.bar.refresh()

    def advance(self, label: str):
        self.bar.set_description(neutralise.terminal(label), refresh=False)
        self.bar.update(1)

    def close(self):
        self.bar.set_description("graded")
        self.bar.close()


def _first_line(text: str, width: int = 100) -> str:
    line = next((part.strip() for part in neutralise.terminal(text).splitlines() if part.strip()), "")
    return line if len(line) <= width else line[: width - 3] + "..."


def submission_table(result) -> str:
    """Per lesson: points, passed tests; under it each failed test with its pitfall tags and first line."""
    from autograder.parent.results import display_name

    rows = [f"{result.display}  ({display_name(result.path)})"]
    if result.error:
        rows.append(f"  grading failed: {result.error}")
    for path, why in result.skipped_files[:20]:
        rows.append(f"  not graded: {display_name(path)} ({why})")
    if len(result.skipped_files) > 20:
        rows.append(f"  not graded: {len(result.skipped_files) - 20} more files")
    rows.append(f"  {'lesson':<16}{'points':>12}{'passed':>10}")
    for number in sorted(result.lessons):
        lesson = result.lessons[number]
        scored = lesson.scored
        passed = sum(t.status == "passed" for t in scored)
        rows.append(f"  {number} {neutralise.ljust(LESSONS.get(number, ''), 14)}{lesson.score:>6g} / {lesson.max_score:<4g}"
                    f"{passed:>6} / {len(scored):<4}")
        if lesson.error:
            rows.append(f"      grader error: {_first_line(lesson.error, 200)}")
        stubs = {}
        for test in scored:
            if test.status == "passed":
                continue
            if test.not_implemented:
                stubs[test.not_implemented] = stubs.get(test.not_implemented, 0) + 1
                continue
            function = test.name.split("::", 1)[-1]
            tags = " ".join(f"[{tag}]" for tag in test.tags)
            rows.append(f"      FAILED {function} {tags}".rstrip())
            rows.append(f"             {_first_line(test.message)}")
        if stubs:
            listed = ", ".join(f"{name} ({count})" for name, count in stubs.items())
            rows += textwrap.wrap(f"not implemented yet (failed tests): {listed}", 100,
                                  initial_indent=" " * 6, subsequent_indent=" " * 8)
        skipped = len(lesson.tests) - len(scored)
        if skipped:
            rows.append(f"      ({skipped} not run here, not scored)")
    percent = 100 * result.score / result.max_score if result.max_score else 0.0
    rows.append(f"  {'total':<16}{result.score:>6g} / {result.max_score:<4g}  ({percent:.1f} %)")
    from autograder.parent.results import NOT_ISOLATED, not_isolated

    if not_isolated(result):
        rows.append(f"  {NOT_ISOLATED} (lessons {', '.join(map(str, not_isolated(result)))})")
    return neutralise.terminal("\n".join(rows))


def batch_table(rows, lessons) -> str:
    """One row per submission (gradebook rows): points per lesson, total, percent, a mark where grading failed."""
    rows = [[neutralise.terminal(row[0]), *row[1:]] for row in rows]
    width = max([neutralise.width(row[0]) for row in rows] + [10])
    head = (neutralise.ljust("submission", width) + "".join(f"{'L' + str(n):>7}" for n in lessons)
            + f"{'total':>9}{'%':>7}")
    lines = [head, "-" * len(head)]
    for row in sorted(rows, key=lambda r: r[0]):
        name, *cells = row
        points, (total, _, percent, _, error, _) = cells[:len(lessons)], cells[len(lessons):]
        mark = f"  ({error})" if error.startswith("not graded") else "  (grading error, see results.json)" if error else ""
        lines.append(neutralise.ljust(name, width) + "".join(f"{c or '-':>7}" for c in points)
                     + f"{total:>9}{percent:>7}{mark}")
    return neutralise.terminal("\n".join(lines))
