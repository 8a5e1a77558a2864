"""Command line of the grading engine.

    python -m autograder grade SUBMISSION [--lessons 1 3 ...] [--out DIR] [--workers N] [--full]
    python -m autograder batch SUBMISSIONS_DIR --out DIR [--resume] [--workers N] [--lessons ...] [--full]
                                  [--shard I/N | --shard auto | --shard auto/N]   # one slice of the class (shard.py)
    python -m autograder merge DIR [DIR ...] --out DIR     # shards' outputs into one class (merge.py)
    python -m autograder report DIR [--csv PATH] [--threshold X] [--out FOLDER]   # the class report (classreport.py)
    python -m autograder calibrate [--lessons ...]     # time limits from the reference's times on this machine
    python -m autograder gradescope-bundle [--out autograder.zip]

`grade` exits 0 whenever grading itself completed, whatever the score; 1 when the
grader failed somewhere (the results say where); 2 for a usage error; 130/143 when
interrupted (Ctrl-C / SIGTERM: the results written so far stay, marked unfinished).
Results are written as students finish (autograder/parent/record.py).

评分引擎的命令行。grade 只要评分本身完成就以 0 退出（与得分无关）；评分程序出错为 1；用法错误为 2。
"""
import argparse
import os
import signal
import sys

from coursetools import LESSONS
from coursetools.lessons import mnist_lessons

EXIT_OK, EXIT_GRADER_ERROR, EXIT_USAGE = 0, 1, 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m autograder", description=(
        "Grade submissions of the course (folders shaped like exercises/) with the hidden graders, each test "
        "in an isolated child process. / 用隐藏评分测试为提交评分，每个测试在隔离的子进程中运行。"))
    commands = parser.add_subparsers(dest="command", required=True)

    def common(command):
        command.add_argument("--lessons", nargs="+", type=int, choices=sorted(LESSONS), default=sorted(LESSONS),
                            metavar="N", help="lessons to grade (default: all lessons)")
        command.add_argument("--workers", type=int, default=None, metavar="N",
                             help="lessons graded in parallel (default: from the CPUs and memory this process "
                                  "really has: cgroup limits, CPU affinity)")
        command.add_argument("--full", action="store_true",
                             help="also run the student's train_mnist on all of MNIST (minutes)")
        command.add_argument("--timeout-factor", type=float, default=1.0, metavar="F",
                             help="multiply every time limit by F (a slow or busy machine)")
        command.add_argument("--memory-gb", type=float, default=None, metavar="G",
                             help="memory a test may allocate beyond the grader's own (0: no limit; default: "
                                  "from the memory this process really has)")
        command.add_argument("--graders-time-limits", action="store_true",
                             help="use the graders' own time limits even where `calibrate` measured this machine")
        command.add_argument("--quiet", action="store_true", help="no progress bar")
        command.add_argument("--keep-run-dir", action="store_true",
                             help="keep the temporary run folder (lesson logs) for debugging the grader")

    grade = commands.add_parser("grade", help="grade one submission folder")
    first, last = min(LESSONS), max(LESSONS)
    grade.add_argument("submission", help=f"a folder holding lesson{first}/{LESSONS[first]}.py ... "
                                          f"lesson{last}/{LESSONS[last]}.py")
    grade.add_argument("--out", metavar="DIR", default=None,
                       help="write DIR/results.json (default: grading-results/<submission name>)")
    common(grade)
    grade.add_argument("--budget", type=float, default=None, metavar="S",
                       help="stop grading after S seconds: the tests finished by then keep their points, the rest "
                            "fail as not graded (a caller's own time limit, e.g. nbgrader's EngineGrades.timeout)")
    batch = commands.add_parser("batch", help="grade every subfolder of a folder of submissions")
    batch.add_argument("submissions", help="a folder with one subfolder per student")
    batch.add_argument("--out", metavar="DIR", required=True,
                       help="write DIR/<name>/results.json for each (as each is finished), DIR/gradebook.csv and "
                            "DIR/progress.json")
    batch.add_argument("--resume", action="store_true",
                       help="skip the students DIR already holds finished results for (same grader version, "
                            "same options)")
    batch.add_argument("--shard", nargs="?", const="auto", default=None, metavar="I/N",
                       help="grade only slice I of N (0 to N-1; the same slices on every machine, balanced by the "
                            "lessons each submission has) and write DIR/shard.json for `merge`; `auto` (or no value) "
                            "reads COURSE_SHARD=I/N, SLURM_ARRAY_TASK_ID/_COUNT, or JOB_COMPLETION_INDEX with "
                            "COURSE_SHARD_COUNT; `auto/N` gives the count")
    common(batch)
    merge = commands.add_parser("merge", help="combine the output folders of `batch --shard` into one class")
    merge.add_argument("dirs", nargs="+", metavar="DIR",
                       help="shard output folders (or a folder holding them), in any order")
    merge.add_argument("--out", metavar="DIR", required=True,
                       help="write DIR/<name>/results.json for each student, DIR/gradebook.csv, DIR/progress.json "
                            "and DIR/merge.json (which shard each student came from, who is missing)")
    report = commands.add_parser("report", help="the class report of a `batch` or `merge` folder: DIR/report/index.html "
                                 "(pitfalls, items, who to help, grader health), summary.json, pitfalls.csv")
    report.add_argument("dir", metavar="DIR", help="the --out folder of `batch` or `merge` (or, with --nbgrader, an "
                        "nbgrader course folder holding autograded/)")
    report.add_argument("--out", metavar="FOLDER", default=None, help="write the report there (default: DIR/report)")
    report.add_argument("--csv", metavar="PATH", default=None, help="also write the student x pitfall table there")
    report.add_argument("--threshold", type=float, default=None, metavar="X",
                        help="list students below X percent of the maximum under 'who to help' (default: 50)")
    report.add_argument("--nbgrader", nargs="?", const="", default=None, metavar="CSV",
                        help="DIR is an nbgrader course: read `nbgrader export`'s CSV (default: DIR/grades.csv) and "
                             "the engine's diagnoses in DIR/autograded/<student>/lessonN/lessonN.ipynb")
    calibrate = commands.add_parser("calibrate", help="grade the reference once on this machine and keep its test "
                                    "times: later grading gives each test a few times the reference's time")
    common(calibrate)
    calibrate.add_argument("--from-times", metavar="FILE", default=None,
                           help="no reference here: scale the reference's times measured elsewhere (FILE, shipped "
                                "in the Gradescope bundle) by a quick speed probe on this machine")
    bundle = commands.add_parser("gradescope-bundle", help="write a Gradescope autograder zip (autograder/parent/gradescope.py)")
    bundle.add_argument("--out", metavar="ZIP", default="autograder.zip", help="the zip to write (default: autograder.zip)")
    bundle.add_argument("--graders-time-limits", action="store_true",
                        help="build without this machine's calibration: the image then uses the graders' own limits")
    return parser


def _usage_error(message: str) -> int:
    print(f"python -m autograder: error: {message}", file=sys.stderr)
    return EXIT_USAGE


MNIST_LESSONS = mnist_lessons()  # their graders train or load real MNIST (the lesson table)


def _data_problem(lessons) -> str:
    """Why grading these lessons cannot start (MNIST not prepared), or ''."""
    if not MNIST_LESSONS & set(lessons):
        return ""
    import course_data

    if course_data.mnist_ready():
        return ""
    return (f"MNIST is not prepared in {course_data.data_root()}: run `python -m course_data` first (lessons "
            f"{sorted(MNIST_LESSONS & set(lessons))} are graded on it)")


def _options(args, calibrated: bool = True):
    from autograder.parent import box, calibrate
    from autograder.parent.runner import Options

    workers, memory_gb = args.workers, args.memory_gb
    limits = box.limits()
    workers = workers if workers is not None else box.default_workers(limits)
    memory_gb = memory_gb if memory_gb is not None else box.default_test_memory_gb(limits, workers)
    options = Options(lessons=sorted(set(args.lessons)), workers=max(1, workers), full=args.full,
                      timeout_factor=args.timeout_factor, memory_gb=memory_gb, keep=args.keep_run_dir,
                      budget=getattr(args, "budget", None), lesson_memory_bytes=box.lesson_process_bytes(limits))
    if calibrated and not args.graders_time_limits:
        options.time_limits = calibrate.load(options)
        if options.time_limits is None and not args.quiet:
            print("time limits: the graders' own (this machine has no calibration for this grader version: "
                  "`python -m autograder calibrate` scales them to the reference's times here)", file=sys.stderr)
    return options


def _key(options) -> dict:
    """What besides the grader version decides a submission's tests and maximum score."""
    from autograder.parent import calibrate

    return {"lessons": list(options.lessons), "full": bool(options.full), "cuda": calibrate.cuda_present()}


class Terminated(BaseException):
    """SIGTERM (a platform's time limit, `kill`): stop grading, keep what is written."""


def _on_sigterm(signum, frame):
    raise Terminated()


def _grade(args) -> int:
    from autograder.parent import record, report, results, runner

    path = os.path.abspath(args.submission)
    if not os.path.isdir(path):
        return _usage_error(f"{args.submission}: no such folder (expected a folder shaped like exercises/, "
                            "holding lesson1/tensors.py ...)")
    if _data_problem(args.lessons):
        return _usage_error(_data_problem(args.lessons))
    name = os.path.basename(os.path.normpath(path))
    out = args.out or os.path.join("grading-results", results.safe_folder(name))
    options = _options(args)
    recorder = record.Recorder(out, options.lessons, _key(options), batch=False)
    bar = report.ProgressBar(enabled=not args.quiet)
    try:
        [result] = runner.grade_all([(name, path, "")], options, bar, recorder)
    finally:
        bar.close()
    print(report.submission_table(result))
    print(f"results: {recorder.written.get('', os.path.join(out, 'results.json'))}")
    if results.not_isolated(result):
        print(results.NOT_ISOLATED, file=sys.stderr)
    if recorder.failures:
        return EXIT_GRADER_ERROR
    return EXIT_OK if result.complete else EXIT_GRADER_ERROR


def _class(root: str) -> list:
    """(file-system name, display name, results folder) of each submission folder, with unique folders."""
    names = sorted(n for n in os.listdir(root) if not n.startswith(".") and os.path.isdir(os.path.join(root, n)))
    from autograder.parent.results import display_name, safe_folder

    used, entries = set(), []
    for name in names:
        folder, number = safe_folder(name), 2
        while folder.lower() in used or folder in ("gradebook.csv", "progress.json", "report"):  # report: classreport
            folder, number = f"{safe_folder(name)}_{number}", number + 1
        used.add(folder.lower())
        entries.append((name, display_name(name), folder))
    return entries


def _batch(args) -> int:
    from autograder.parent import record, report, results, runner, shard

    root = os.path.abspath(args.submissions)
    if not os.path.isdir(root):
        return _usage_error(f"{args.submissions}: no such folder (expected one subfolder per submission)")
    part = None
    if args.shard is not None:
        try:
            part = shard.parse(args.shard)
        except shard.ShardError as error:
            return _usage_error(f"--shard: {error}")
    entries = _class(root)
    if not entries:
        return _usage_error(f"{args.submissions}: no submission folders inside")
    if _data_problem(args.lessons):
        return _usage_error(_data_problem(args.lessons))
    options = _options(args)
    key = _key(options)
    class_plan = None
    if part is not None:
        index, count, where = part
        class_plan = shard.plan(root, entries, options.lessons, count)
        earlier = shard.read_manifest(args.out)
        if earlier and (earlier.get("shard"), earlier.get("count")) != (index, count):
            return _usage_error(f"{args.out} already holds shard {earlier.get('shard')}/{earlier.get('count')} of a "
                                f"class, not {index}/{count}: give each shard its own --out folder (for example "
                                f"--out results/shard-{index}) and merge them with `python -m autograder merge`")
        owned = {entry["folder"] for entry in class_plan if entry["shard"] == index}
        entries = [entry for entry in entries if entry[2] in owned]
        print(f"shard {index}/{count} (shards 0 to {count - 1}, from {where}): {len(entries)} of {len(class_plan)} "
              f"submissions", file=sys.stderr)
    recorder = record.Recorder(args.out, options.lessons, key, batch=True,
                               names=[(shown, folder) for _, shown, folder in entries])
    if part is not None:
        shard.write_manifest(args.out, index, count, where, class_plan, recorder.version, key, root)
        if not entries:
            recorder.gradebook()
            recorder.progress_file()
            shard.write_manifest(args.out, index, count, where, class_plan, recorder.version, key, root,
                                 finished=True, exit_status=EXIT_OK)
            print(f"shard {index}/{count} owns no submission (a class of {len(class_plan)}); nothing to grade")
            return EXIT_OK
    todo = [(name, os.path.join(root, name), folder) for name, _, folder in entries
            if not (args.resume and record.already_graded(args.out, folder, recorder.version, key))]
    if len(todo) < len(entries):
        print(f"resuming: {len(entries) - len(todo)} of {len(entries)} submissions already graded with this grader "
              f"version, {len(todo)} to grade", file=sys.stderr)
    bar = report.ProgressBar(enabled=not args.quiet)
    graded = []
    try:
        graded = runner.grade_all(todo, options, bar, recorder) if todo else []
    finally:
        bar.close()
        gradebook = recorder.gradebook()
    rows = recorder.rows()
    print(report.batch_table(rows, options.lessons))
    print(f"gradebook: {gradebook}")
    if any(results.not_isolated(r) for r in graded):
        print(results.NOT_ISOLATED, file=sys.stderr)
    status = EXIT_OK if all(not row[-2] for row in rows) else EXIT_GRADER_ERROR
    if part is None:
        _class_report(args.out)
    else:
        shard.write_manifest(args.out, index, count, where, class_plan, recorder.version, key, root,
                             finished=True, exit_status=status)
        print(f"shard {index}/{count} done; combine the shards with: python -m autograder merge "
              f"<the {count} shard folders> --out <class folder>")
    return status


def _merge(args) -> int:
    from autograder.parent import merge

    status = merge.main(args.dirs, args.out)
    if status != merge.EXIT_REFUSED:
        _class_report(args.out)
    return status


def _class_report(folder: str) -> None:
    """After `batch` or `merge`: write FOLDER/report and print its path and the top pitfalls; never changes the
    exit status (a failure to write the report is said on stderr)."""
    from autograder.parent import classreport

    try:
        page, summary = classreport.report(folder)
    except Exception as error:  # noqa: BLE001 (the grading is done and written; the report is extra)
        print(f"python -m autograder: no class report: {type(error).__name__}: {error}", file=sys.stderr)
        return
    print(classreport.announce(page, summary))


def _report(args) -> int:
    from autograder.parent import classreport

    threshold = classreport.DEFAULT_THRESHOLD if args.threshold is None else args.threshold
    try:
        if args.nbgrader is not None:
            from autograder.parent import classreport_nbgrader

            page, summary = classreport_nbgrader.report(args.dir, args.nbgrader or None, args.out, threshold,
                                                        args.csv)
        else:
            page, summary = classreport.report(args.dir, args.out, threshold, args.csv)
    except classreport.ReportError as error:
        return _usage_error(str(error))
    print(classreport.announce(page, summary))
    if args.csv:
        print(f"pitfall table / 常见错误表: {args.csv}")
    return EXIT_OK


def _calibrate(args) -> int:
    from autograder.parent import calibrate, report

    if _data_problem(args.lessons) and not args.from_times:  # --from-times grades nothing
        return _usage_error(_data_problem(args.lessons))
    options = _options(args, calibrated=False)
    if args.from_times:
        try:
            path, limits, scale = calibrate.from_times(options, args.from_times)
        except calibrate.CalibrationError as error:
            print(f"python -m autograder calibrate: {error}", file=sys.stderr)
            return EXIT_GRADER_ERROR
        print(f"{calibrate.summary(limits)}, from the reference's times in {args.from_times} x {scale:.2f} "
              "(this machine's speed probe over the building machine's)")
        print(f"calibration: {path}")
        return EXIT_OK
    bar = report.ProgressBar(enabled=not args.quiet)
    try:
        path, limits = calibrate.calibrate(options, bar)
    except calibrate.CalibrationError as error:
        bar.close()
        print(f"python -m autograder calibrate: {error}", file=sys.stderr)
        return EXIT_GRADER_ERROR
    bar.close()
    print(calibrate.summary(limits))
    print(f"calibration: {path}")
    return EXIT_OK


def main(argv=None) -> int:
    args = _parser().parse_args(argv)
    from coursetools import REPO_ROOT

    if str(REPO_ROOT) not in sys.path:  # the course packages as the repository has them, from any folder
        sys.path.insert(0, str(REPO_ROOT))
    if args.command == "gradescope-bundle":
        from autograder.parent import gradescope

        try:
            built = gradescope.build_bundle(args.out, calibrated=not args.graders_time_limits)
        except gradescope.BundleError as error:
            return _usage_error(str(error))
        print(f"Gradescope autograder bundle: {built}")
        return EXIT_OK
    if args.command == "calibrate":
        return _calibrate(args)
    if args.command == "merge":
        return _merge(args)
    if args.command == "report":
        return _report(args)
    signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        return _grade(args) if args.command == "grade" else _batch(args)
    except (KeyboardInterrupt, Terminated) as stop:
        print("python -m autograder: stopped; every finished test is in the results written so far (the "
              "unfinished submissions are marked \"finished\": false)", file=sys.stderr)
        return 130 if isinstance(stop, KeyboardInterrupt) else 143
