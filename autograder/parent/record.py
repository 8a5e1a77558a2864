"""Results as they come: each student's results.json as soon as that student is done, a progress file,
the gradebook rewritten after every student, and partial results while a student is being graded.

    OUT/results.json                  `grade` (one submission)
    OUT/<folder>/results.json         `batch`: one folder per student (results.safe_folder of its name)
    OUT/gradebook.csv                 `batch`: rewritten each time a student is finished
    OUT/progress.json                 `batch`: grader version, options, who is done, who is being graded
    OUT/shard.json                    `batch --shard I/N`: the slice, the whole class (autograder/parent/shard.py)

Every file is written through a temporary file and a rename, so a reader (or a kill) never sees half
a file. A student being graded has a results.json marked `"finished": false` (tests not run yet show
as failed "not graded yet"), rewritten at most every PARTIAL_EVERY seconds: a kill of the whole
grader (OOM, the platform's timeout) still leaves every finished test on disk. A failure to write one
student's files is reported and never touches another student's.

结果随评随写：每个学生评完即写出其 results.json，批量评分时同时更新进度文件和成绩表；
评分中途被终止时，已完成的测试仍保存在磁盘上。
"""
import copy
import json
import os
import sys
import time

from autograder.parent import neutralise
from autograder.parent import results as results_model
from autograder.parent.runner import Listener

PARTIAL_EVERY = 2.0  # seconds between two partial writes of one student's results
NOT_YET = "not graded yet: grading of this submission had not reached this test / 尚未评分：评分尚未进行到此测试"


class Recorder(Listener):
    """Writes results for `grade` (batch=False: OUT/results.json) or `batch` (OUT/<folder>/results.json)."""

    def __init__(self, out: str, lessons: list, options: dict, batch: bool, names=(), version: "str | None" = None):
        self.out, self.lessons, self.options, self.batch = out, list(lessons), dict(options), batch
        self.version = version or results_model.grader_version()
        self.names = list(names)  # (display name, folder) of the whole class, for the gradebook
        self.last_partial = {}
        self.failures = {}  # folder -> why its results could not be written
        self.done, self.running = [], {}
        self.written = {}  # folder -> path of its results.json
        os.makedirs(out, exist_ok=True)

    # -- where
    def folder_path(self, result) -> str:
        return os.path.join(self.out, result.folder) if self.batch else self.out

    # -- Listener
    def started(self, result):
        self.running[result.folder] = result.display
        self._write(result, partial=True)
        self._progress()

    def progress(self, result):
        now = time.monotonic()
        if now - self.last_partial.get(result.folder, 0.0) >= PARTIAL_EVERY:
            self._write(result, partial=True)

    def finished(self, result):
        self.running.pop(result.folder, None)
        self._write(result, partial=False)
        self.done.append(result.folder)
        if self.batch:
            self.gradebook()
            self._progress()

    # -- files
    def _write(self, result, partial: bool):
        self.last_partial[result.folder] = time.monotonic()
        shown = result
        if partial and not result.finished:
            shown = copy.deepcopy(result)
            for lesson in shown.lessons.values():
                for test in lesson.tests:
                    if not test.reported:
                        test.status, test.score, test.message = "failed", 0.0, NOT_YET
        try:
            path = results_model.write_results_json(shown, self.folder_path(result), self.version, self.options)
        except Exception as error:  # noqa: BLE001 (one student's files never stop the class)
            self.failures[result.folder] = f"{type(error).__name__}: {error}"
            print(neutralise.terminal(f"python -m autograder: could not write the results of {result.display}: {error}"),
                  file=sys.stderr)
            return
        self.failures.pop(result.folder, None)
        self.written[result.folder] = path

    def rows(self) -> list:
        """Gradebook rows of every student of the class with a results.json (this run's or an earlier one's)."""
        rows = []
        for name, folder in self.names:
            data = results_model.read_results_json(os.path.join(self.out, folder))
            if data is None:
                reason = self.failures.get(folder) or "not graded"
                rows.append([name, *[""] * len(self.lessons), "0", "", "0.0", "", reason, folder])
                continue
            row = results_model.gradebook_row(data, self.lessons)
            row[0], row[-1] = name, folder
            if folder in self.failures:
                row[-2] = "; ".join(filter(None, [row[-2], f"results not written: {self.failures[folder]}"]))
            rows.append(row)
        return rows

    def gradebook(self) -> str:
        path = os.path.join(self.out, "gradebook.csv")
        try:
            return results_model.write_gradebook(self.rows(), path, self.lessons)
        except Exception as error:  # noqa: BLE001 (the results are written; a gradebook failure is said, not fatal)
            print(neutralise.terminal(f"python -m autograder: could not write {path}: {error}"), file=sys.stderr)
            return path

    def progress_file(self):
        """Write OUT/progress.json now (`batch`; also for a shard that owns no student)."""
        self._progress()

    def _progress(self):
        if not self.batch:
            return
        state = {"grader_version": self.version, "options": self.options, "total": len(self.names),
                 "finished": len(self.done), "being_graded": sorted(self.running.values()),
                 "updated": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "write_failures": self.failures}
        try:
            results_model._atomic_write(os.path.join(self.out, "progress.json"),
                                        json.dumps(state, ensure_ascii=False, indent=1) + "\n")
        except OSError as error:
            print(f"python -m autograder: could not write progress.json: {error}", file=sys.stderr)


def already_graded(out: str, folder: str, version: str, options: dict) -> bool:
    """A finished, complete results.json from this grader version with these options (`batch --resume`)."""
    data = results_model.read_results_json(os.path.join(out, folder))
    extra = (data or {}).get("extra_data") or {}
    return bool(extra.get("finished") and extra.get("complete") and extra.get("grader_version") == version
                and extra.get("options") == options)
