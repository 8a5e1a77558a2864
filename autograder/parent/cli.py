"""Command line of the grading engine.

    python -m autograder grade SUBMISSION [--lessons 1 3 ...] [--out DIR] [--workers N] [--full]
    python -m autograder batch SUBMISSIONS_DIR --out DIR [--workers N] [--lessons ...] [--full]
    python -m autograder gradescope-bundle [--out autograder.zip]

`grade` exits 0 whenever grading itself completed, whatever the score; 1 when the
grader failed somewhere (the results say where); 2 for a usage error.

评分引擎的命令行。grade 只要评分本身完成就以 0 退出（与得分无关）；评分程序出错为 1；用法错误为 2。
"""
import argparse
import os
import sys

from coursetools import LESSONS

EXIT_OK, EXIT_GRADER_ERROR, EXIT_USAGE = 0, 1, 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m autograder", description=(
        "Grade submissions of the course (folders shaped like exercises/) with the hidden graders, each test "
        "in an isolated child process. / 用隐藏评分测试为提交评分，每个测试在隔离的子进程中运行。"))
    commands = parser.add_subparsers(dest="command", required=True)

    def common(command):
        command.add_argument("--lessons", nargs="+", type=int, choices=sorted(LESSONS), default=sorted(LESSONS),
                            metavar="N", help="lessons to grade (default: all six)")
        command.add_argument("--workers", type=int, default=os.cpu_count() or 1, metavar="N",
                             help="lessons graded in parallel (default: the number of CPU cores)")
        command.add_argument("--full", action="store_true",
                             help="also run the student's train_mnist on all of MNIST (minutes)")
        command.add_argument("--timeout-factor", type=float, default=1.0, metavar="F",
                             help="multiply every time limit by F (a slow or busy machine)")
        command.add_argument("--memory-gb", type=float, default=4.0, metavar="G",
                             help="memory a test may allocate beyond the grader's own (0: no limit)")
        command.add_argument("--quiet", action="store_true", help="no progress bar")
        command.add_argument("--keep-run-dir", action="store_true",
                             help="keep the temporary run folder (lesson logs) for debugging the grader")

    grade = commands.add_parser("grade", help="grade one submission folder")
    grade.add_argument("submission", help="a folder holding lesson1/tensors.py ... lesson6/advanced.py")
    grade.add_argument("--out", metavar="DIR", default=None,
                       help="write DIR/results.json (default: grading-results/<submission name>)")
    common(grade)
    batch = commands.add_parser("batch", help="grade every subfolder of a folder of submissions")
    batch.add_argument("submissions", help="a folder with one subfolder per student")
    batch.add_argument("--out", metavar="DIR", required=True,
                       help="write DIR/<name>/results.json for each and DIR/gradebook.csv")
    common(batch)
    bundle = commands.add_parser("gradescope-bundle", help="write a Gradescope autograder zip (autograder/parent/gradescope.py)")
    bundle.add_argument("--out", metavar="ZIP", default="autograder.zip", help="the zip to write (default: autograder.zip)")
    return parser


def _usage_error(message: str) -> int:
    print(f"python -m autograder: error: {message}", file=sys.stderr)
    return EXIT_USAGE


MNIST_LESSONS = {3, 4, 5}  # their graders train or load real MNIST


def _data_problem(lessons) -> str:
    """Why grading these lessons cannot start (MNIST not prepared), or ''."""
    if not MNIST_LESSONS & set(lessons):
        return ""
    import course_data

    if course_data.mnist_ready():
        return ""
    return (f"MNIST is not prepared in {course_data.data_root()}: run `python -m course_data` first (lessons "
            f"{sorted(MNIST_LESSONS & set(lessons))} are graded on it)")


def _options(args):
    from autograder.parent.runner import Options

    return Options(lessons=sorted(set(args.lessons)), workers=max(1, args.workers), full=args.full,
                   timeout_factor=args.timeout_factor, memory_gb=args.memory_gb, keep=args.keep_run_dir)


def _grade(args) -> int:
    from autograder.parent import report, results, runner

    path = os.path.abspath(args.submission)
    if not os.path.isdir(path):
        return _usage_error(f"{args.submission}: no such folder (expected a folder shaped like exercises/, "
                            "holding lesson1/tensors.py ...)")
    if _data_problem(args.lessons):
        return _usage_error(_data_problem(args.lessons))
    name = os.path.basename(os.path.normpath(path))
    out = args.out or os.path.join("grading-results", name)
    bar = report.ProgressBar(enabled=not args.quiet)
    try:
        [result] = runner.grade_all([(name, path)], _options(args), bar)
    finally:
        bar.close()
    written = results.write_results_json(result, out)
    print(report.submission_table(result))
    print(f"results: {written}")
    if results.not_isolated(result):
        print(results.NOT_ISOLATED, file=sys.stderr)
    return EXIT_OK if result.complete else EXIT_GRADER_ERROR


def _batch(args) -> int:
    from autograder.parent import report, results, runner

    root = os.path.abspath(args.submissions)
    if not os.path.isdir(root):
        return _usage_error(f"{args.submissions}: no such folder (expected one subfolder per submission)")
    names = sorted(n for n in os.listdir(root) if not n.startswith(".") and os.path.isdir(os.path.join(root, n)))
    if not names:
        return _usage_error(f"{args.submissions}: no submission folders inside")
    if _data_problem(args.lessons):
        return _usage_error(_data_problem(args.lessons))
    options = _options(args)
    bar = report.ProgressBar(enabled=not args.quiet)
    try:
        graded = runner.grade_all([(n, os.path.join(root, n)) for n in names], options, bar)
    finally:
        bar.close()
    used = set()
    for result in graded:
        folder = runner._safe(result.name)
        while folder in used:  # two names that read the same once made safe for a path
            folder += "_"
        used.add(folder)
        try:
            results.write_results_json(result, os.path.join(args.out, folder))
        except OSError as error:
            result.error = result.error or f"could not write results: {error}"
    gradebook = results.write_gradebook(graded, os.path.join(args.out, "gradebook.csv"), options.lessons)
    print(report.batch_table(graded, options.lessons))
    print(f"gradebook: {gradebook}")
    if any(results.not_isolated(r) for r in graded):
        print(results.NOT_ISOLATED, file=sys.stderr)
    return EXIT_OK if all(r.complete for r in graded) else EXIT_GRADER_ERROR


def main(argv=None) -> int:
    args = _parser().parse_args(argv)
    from coursetools import REPO_ROOT

    if str(REPO_ROOT) not in sys.path:  # the course packages as the repository has them, from any folder
        sys.path.insert(0, str(REPO_ROOT))
    if args.command == "gradescope-bundle":
        from autograder.parent import gradescope

        print(f"Gradescope autograder bundle: {gradescope.build_bundle(args.out)}")
        return EXIT_OK
    try:
        return _grade(args) if args.command == "grade" else _batch(args)
    except KeyboardInterrupt:
        print("python -m autograder: interrupted; nothing written for the submissions not finished",
              file=sys.stderr)
        return 130
