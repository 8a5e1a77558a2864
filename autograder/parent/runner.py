"""The grading parent: copies graders and submissions, forks one lesson process per submission and group of lessons.

The parent is trusted and never imports student code. It imports torch and pytest
once (with one thread, so forking stays safe), then forks up to `workers` lesson
processes at a time, longest first; each grades the lessons of one submission that the
lesson table puts in one process (coursetools.lessons.process_groups: one student process,
one torch start, for them) and reports JSON lines on its own pipe. A lesson process that
dies or overruns costs those lessons of that submission (their tests finished keep their
points), not the batch. The parent alone writes results: a listener hears of each test's verdict and of each
submission as soon as all its lessons have ended (autograder/parent/record.py writes them).

评分父进程：复制评分测试与提交，为每个（提交, 课）fork 一个单课进程；只有父进程写结果文件。
"""
import gc
import json
import os
import select
import shutil
import signal
import stat
import sys
import tempfile
import time
from collections import deque
from dataclasses import dataclass, field

from autograder.lesson import confine
from autograder.parent import box
from autograder.parent.results import LessonResult, SubmissionResult, TestResult, display_name, safe_folder
from coursetools import LESSONS, REPO_ROOT
from coursetools.boundary.cuda_count import keep_cuda_count
from coursetools.lessons import process_groups
from coursetools.text import Text

KEPT_ENVIRONMENT = ("PATH", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "COURSE_DATA_ROOT", "CUDA_VISIBLE_DEVICES",
                    "NVIDIA_VISIBLE_DEVICES", "LD_LIBRARY_PATH", "PYTHONHASHSEED", "OMP_NUM_THREADS",
                    "MKL_NUM_THREADS", "PYTORCH_NVML_BASED_CUDA_CHECK", "AUTOGRADER_UNPRIVILEGED",
                    "AUTOGRADER_NO_BWRAP")
MAX_FILE = 20 * 2**20  # bigger files of a submission are not copied
MAX_SUBMISSION = 200 * 2**20


@dataclass
class Options:
    lessons: list = field(default_factory=lambda: sorted(LESSONS))
    workers: int = 2
    full: bool = False
    timeout_factor: float = 1.0
    memory_gb: float = 4.0
    lesson_memory_bytes: int = 1536 * 2**20  # each lesson process's own limit (box.lesson_process_bytes); 0: none
    threads: int = 1
    keep: bool = False  # keep the run folder (logs) for debugging
    time_limits: dict = None  # test name -> seconds, calibrated on this machine (calibrate.py); else the graders'
    budget: float = None  # seconds for the whole run: then running lessons stop, their finished tests keep points


class Listener:
    """What the runner tells about results as they come (record.py writes files from it)."""
    def started(self, result): pass
    def progress(self, result): pass
    def finished(self, result): pass


class NullProgress:
    def add_total(self, count: int): pass
    def advance(self, label: str): pass


def prepare_environment():
    """Before torch is imported: one thread (fork-safe), no CUDA initialisation for a device count, and memory
    blocks of 1 MiB and more given back to the system when freed (glibc otherwise raises that threshold to 32 MiB
    after the first big free and keeps a ResNet's freed tensors: a lesson process then grows test after test)."""
    os.environ["OMP_NUM_THREADS"] = os.environ["MKL_NUM_THREADS"] = "1"
    os.environ["PYTORCH_NVML_BASED_CUDA_CHECK"] = "1"
    try:
        import ctypes

        ctypes.CDLL(None).mallopt(-3, 2**20)  # M_MMAP_THRESHOLD, fixed (glibc; elsewhere there is no mallopt)
    except (OSError, AttributeError):
        pass
    if str(REPO_ROOT) not in sys.path:
        sys.path.insert(0, str(REPO_ROOT))


def _preload():
    """Import once here what every lesson process needs, so forks start warm."""
    prepare_environment()
    import numpy  # noqa: F401 (imported ahead so every fork starts warm)
    import PIL.Image  # noqa: F401 (imported ahead so every fork starts warm)
    import pytest  # noqa: F401 (imported ahead so every fork starts warm)
    import torch
    import torchvision  # noqa: F401 (imported ahead so every fork starts warm)
    import torchvision.models  # noqa: F401 (imported ahead so every fork starts warm)

    import course_data  # noqa: F401 (imported ahead so every fork starts warm)
    import coursetools.checks.feedback  # noqa: F401 (imported ahead so every fork starts warm)
    import coursetools.checks.pytest_plugin  # noqa: F401 (imported ahead so every fork starts warm)
    from autograder.lesson import worker  # noqa: F401 (imported ahead so every fork starts warm)

    torch.set_num_threads(1)
    keep_cuda_count(torch)  # every Adam step of the trusted side asks NVML otherwise
    _settle_torch(torch)
    gc.collect()
    gc.freeze()  # forks share these objects: the collector leaves them alone (no copy-on-write storm)


def _settle_torch(torch):
    """Let torch make its one-time patches now (an optimizer wraps its class's step() at first use),
    so that a test child sees them as the baseline, not as student code rewriting torch; the first
    optimizer also imports torch._dynamo (a second), which every child would otherwise pay again."""
    parameter = torch.zeros(1, requires_grad=True)
    for name in dir(torch.optim):
        cls = getattr(torch.optim, name)
        if isinstance(cls, type) and issubclass(cls, torch.optim.Optimizer) and cls is not torch.optim.Optimizer:
            try:
                cls([parameter])
            except Exception:
                pass


def copy_submission(source: str, target: str, owner: int = None) -> list:
    """Copy regular files and folders only (no links, no devices, no caches), read-only.

    With `owner` (grading as root): the copy belongs to that user and no one else may read
    it; otherwise it is readable by everyone and writable by no one but its creator.
    Returns [(relative path, why it was not copied)] for every file or folder left out.
    """
    skipped = _copy_tree(source, target)
    for folder, dirs, files in os.walk(target):
        for name in [folder, *(os.path.join(folder, n) for n in dirs + files)]:
            directory = os.path.isdir(name)
            if owner is None:
                os.chmod(name, 0o755 if directory else 0o644)
            else:
                os.chown(name, owner, owner)
                os.chmod(name, 0o500 if directory else 0o400)
    return skipped


def _kind(mode: int) -> str:
    return ("a symbolic link" if stat.S_ISLNK(mode) else "a FIFO" if stat.S_ISFIFO(mode)
            else "a socket" if stat.S_ISSOCK(mode) else "a device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode)
            else "not a regular file")


def _copy_tree(source: str, target: str) -> list:
    """Copy what grading may read; list the rest with the reason (caches and hidden files are not listed)."""
    total, skipped = 0, []
    os.makedirs(target, mode=0o755)
    for folder, dirs, files in os.walk(source, followlinks=False):
        relative = os.path.relpath(folder, source)
        for name in [d for d in dirs if os.path.islink(os.path.join(folder, d))]:
            skipped.append((os.path.normpath(os.path.join(relative, name)), "a symbolic link (not followed)"))
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d != "__pycache__"
                         and not os.path.islink(os.path.join(folder, d)))
        destination = os.path.normpath(os.path.join(target, relative))
        os.makedirs(destination, mode=0o755, exist_ok=True)
        for name in sorted(files):
            path = os.path.join(folder, name)
            shown = os.path.normpath(os.path.join(relative, name))
            if name.endswith(".pyc") or name.startswith("."):
                continue
            info = os.lstat(path)
            if not stat.S_ISREG(info.st_mode):
                skipped.append((shown, f"{_kind(info.st_mode)}: only regular files are graded"))
            elif info.st_size > MAX_FILE:
                skipped.append((shown, f"{info.st_size / 2**20:.1f} MiB, over the {MAX_FILE // 2**20} MiB a file may have"))
            elif total + info.st_size > MAX_SUBMISSION:
                skipped.append((shown, f"over the {MAX_SUBMISSION // 2**20} MiB a submission may have in all"))
            else:
                total += info.st_size
                shutil.copyfile(path, os.path.join(destination, name), follow_symlinks=False)
    return skipped


def copy_graders(run_dir: str, lessons) -> str:
    """autograder/conftest.py and autograder/lessonN/ as the package `_course_graders` in a root-only folder."""
    from autograder.lesson.worker import GRADERS_PACKAGE

    root = os.path.join(run_dir, "graders")
    package = os.path.join(root, GRADERS_PACKAGE)
    os.makedirs(package)
    os.chmod(root, 0o700)
    source = REPO_ROOT / "autograder"
    open(os.path.join(package, "__init__.py"), "w").close()
    if (source / "conftest.py").is_file():
        shutil.copyfile(source / "conftest.py", os.path.join(package, "conftest.py"))
    for lesson in lessons:
        shutil.copytree(source / f"lesson{lesson}", os.path.join(package, f"lesson{lesson}"),
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    return root


@dataclass
class _Job:
    """One lesson process: the lessons of one submission that the table grades together (coursetools.lessons
    .process_groups), with one student process."""
    submission: SubmissionResult
    sub_copy: str
    lessons: tuple
    uid: int = None  # the sandbox user of this submission (grading as root)
    pid: int = 0
    fd: int = -1
    buffer: bytes = b""
    started: float = 0.0
    deadline: float = 0.0
    done: bool = False
    cgroup: str = None  # the lesson process's own memory cgroup (box.make_cgroup), removed when it ends
    out_of_budget: float = 0.0  # stopped by Options.budget (its seconds): unfinished tests not graded, no error
    tests: dict = field(default_factory=dict)
    marked: float = 0.0  # when the last lesson of the job had its last verdict (each lesson's duration ends there)

    @property
    def results(self) -> list:
        return [self.submission.lessons[number] for number in self.lessons]

    def error(self, message: str, only_unset: bool = True):
        """Say `message` on every lesson of the job (on those with no error yet when `only_unset`)."""
        for lesson in self.results:
            if not (only_unset and lesson.error):
                lesson.error = message


def grade_all(submissions, options: Options, progress=None, listener=None) -> list:
    """Grade [(name, path)] or [(name, path, folder)] and return one SubmissionResult each, in the same order.

    The listener hears each verdict and each finished submission as they come. When grading is
    interrupted (KeyboardInterrupt, or the SIGTERM that the CLI turns into one), the lesson processes
    are stopped, every unfinished submission is finished with its tests not run marked as stopped,
    and the exception goes on.
    """
    begun = time.monotonic()  # Options.budget counts from here
    progress = progress or NullProgress()
    listener = listener or Listener()
    _preload()
    _remove_abandoned_runs()
    box.remove_abandoned_cgroups()
    run_dir = tempfile.mkdtemp(prefix=RUN_PREFIX)
    os.chmod(run_dir, 0o711)
    with open(os.path.join(run_dir, "owner.pid"), "w") as owner:
        owner.write(str(os.getpid()))
    results, jobs = [], deque()
    root = confine.privileged()
    scheduler = None
    try:
        graders = copy_graders(run_dir, options.lessons)
        scheduler = _Scheduler(options, run_dir, graders, progress, listener)
        scheduler.begun = begun
        scheduler.known = collect_all(options, run_dir, graders, lasting=scheduler.lasting)
        for index, (name, path, *folder) in enumerate(submissions):
            result = SubmissionResult(name=name, path=str(path), folder=folder[0] if folder else safe_folder(name))
            results.append(result)
            for lesson in options.lessons:
                result.lessons[lesson] = LessonResult(lesson)
                _expected(result.lessons[lesson], scheduler.known.get(lesson, []))
            listener.started(result)
            copy = os.path.join(run_dir, "subs", str(index), "submission")
            uid = confine.sandbox_uid_for(os.getpid(), index) if root else None
            try:
                os.makedirs(os.path.dirname(copy), exist_ok=True)
                os.chmod(os.path.join(run_dir, "subs"), 0o711)
                os.chmod(os.path.dirname(copy), 0o711)
                result.skipped_files = copy_submission(str(path), copy, owner=uid)
            except (OSError, UnicodeError) as error:
                result.error = f"could not read the submission {display_name(str(path))}: {error}"
                result.lessons.clear()
                scheduler.finish_submission(result)
                continue
            groups = process_groups(options.lessons)  # longest first, so two workers finish together
            scheduler.remaining[id(result)] = len(groups)
            for group in groups:
                jobs.append(_Job(result, copy, group, uid))
        scheduler.run(jobs)
    except BaseException as error:
        if scheduler is not None:
            scheduler.abort(f"grading was stopped ({type(error).__name__}) before this lesson finished")
            for result in results:
                if not result.finished:
                    scheduler.finish_submission(result, stopped=True)
        raise
    finally:
        if options.keep:
            print(f"run folder kept: {run_dir}", file=sys.stderr)
        else:
            shutil.rmtree(run_dir, ignore_errors=True)
    return results


RUN_PREFIX = "autograder-"


def _remove_abandoned_runs():
    """Delete run folders left by a grader that was killed (its owner.pid names no live process)."""
    base = tempfile.gettempdir()
    for name in os.listdir(base):
        folder = os.path.join(base, name)
        if not name.startswith(RUN_PREFIX) or not os.path.isdir(folder) or os.stat(folder).st_uid != os.getuid():
            continue
        try:
            pid = int(open(os.path.join(folder, "owner.pid")).read())
        except (OSError, ValueError):
            continue
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            shutil.rmtree(folder, ignore_errors=True)
        except PermissionError:
            pass


class _Scheduler:
    """Runs jobs, at most `workers` at a time, routes each lesson process's JSON lines, and tells the
    listener of each verdict and of each submission whose lessons have all ended."""

    def __init__(self, options, run_dir, graders, progress, listener):
        self.options, self.run_dir, self.graders, self.progress = options, run_dir, graders, progress
        self.listener = listener
        self.running = {}
        self.started = {}
        self.remaining = {}  # id(SubmissionResult) -> lessons not ended yet
        self.known = {}  # lesson -> its collected tests (the same for every submission: graders and machine)
        self.counter = 0
        self.begun = time.monotonic()
        self.lasting = lasting_trusted_cache()  # once per run; None unless grading as root
        self.cache_dir = self.lasting or _trusted_cache(run_dir)  # worker.TRUSTED_CACHE

    def finish_submission(self, result, stopped: bool = False):
        first = self.started.get(id(result))
        result.duration = time.monotonic() - first if first else 0.0
        for number, lesson in result.lessons.items():
            if not lesson.tests and number in self.known:  # never started (stopped) or ended before collecting
                if stopped and not lesson.error:
                    lesson.error = "grading was stopped before this lesson started"
                _expected(lesson, self.known[number])
            for test in lesson.tests:
                if not test.reported:
                    test.status, test.score = "failed", 0.0
                    test.message = test.message or _not_run(lesson)
        result.finished = not stopped
        self.listener.finished(result)

    def end_job(self, job):
        _finish(job, self.known)
        key = id(job.submission)
        self.remaining[key] -= 1
        if self.remaining[key] == 0:
            self.finish_submission(job.submission)

    def abort(self, reason: str):
        """Stop every running lesson process; its lesson keeps the verdicts it sent."""
        for fd, job in list(self.running.items()):
            try:
                os.kill(job.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            job.error(reason)
            _finish(job, self.known)
            del self.running[fd]

    def start(self, job):
        self.counter += 1
        self.started.setdefault(id(job.submission), time.monotonic())
        _start(job, self.counter, self.options, self.run_dir, self.graders, self.cache_dir,
               [j.fd for j in self.running.values()])
        self.running[job.fd] = job

    def out_of_budget(self, jobs):
        """Options.budget has run out: stop the running lessons (their finished tests keep their points) and
        start no other; the tests not finished fail with a message that says why."""
        budget = self.options.budget
        for job in self.running.values():
            job.out_of_budget = budget
            try:
                os.kill(job.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        while jobs:  # never started
            job = jobs.popleft()
            for lesson in job.results:
                lesson.duration = 0.0
                for test in lesson.tests:
                    if not test.reported:
                        test.status, test.score, test.reported = "failed", 0.0, True
                        test.message = _not_graded(lesson.lesson, budget)
            key = id(job.submission)
            self.remaining[key] -= 1
            if self.remaining[key] == 0:
                self.finish_submission(job.submission)

    def run(self, jobs):
        while jobs or self.running:
            if self.options.budget and time.monotonic() - self.begun > self.options.budget:
                self.out_of_budget(jobs)
            while jobs and len(self.running) < max(1, self.options.workers):
                self.start(jobs.popleft())
            ready, _, _ = select.select(list(self.running), [], [], 1.0)
            for fd in ready:
                job = self.running[fd]
                chunk = os.read(fd, 1 << 16)
                if chunk:
                    job.buffer += chunk
                    *lines, job.buffer = job.buffer.split(b"\n")
                    for line in lines:
                        if _handle(job, line, self.options, self.progress, self.known):
                            self.listener.progress(job.submission)
                else:
                    del self.running[fd]
                    self.end_job(job)
            now = time.monotonic()
            for job in self.running.values():
                if now > job.deadline:
                    try:
                        os.kill(job.pid, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
                    job.error(f"the lesson took longer than {job.deadline - job.started:.0f} s")


def _start(job: _Job, counter: int, options: Options, run_dir: str, graders: str, cache_dir: str, other_fds: list):
    from autograder.lesson.worker import GRADERS_PACKAGE

    job_dir = os.path.join(run_dir, "jobs", str(counter))
    work_dir = os.path.join(job_dir, "work")
    os.makedirs(work_dir)
    os.chmod(os.path.join(run_dir, "jobs"), 0o711)
    os.chmod(job_dir, 0o711)
    spec = {
        "lessons": list(job.lessons), "repo_root": str(REPO_ROOT), "submission": job.sub_copy,
        "tests": [os.path.join(graders, GRADERS_PACKAGE, f"lesson{number}") for number in job.lessons],
        "graders_root": graders,
        "inifile": str(REPO_ROOT / "pyproject.toml"), "work_dir": work_dir,
        "basetemp": os.path.join(job_dir, "shared", "pytest"), "memory_bytes": int(options.memory_gb * 2**30),
        "threads": options.threads, "timeout_factor": options.timeout_factor, "full": options.full,
        "sandbox_uid": job.uid, "time_limits": options.time_limits or {},
        "lesson_memory_bytes": options.lesson_memory_bytes, "cache_dir": cache_dir,
    }
    if options.lesson_memory_bytes:
        job.cgroup = box.make_cgroup(f"autograder-{os.getpid()}-{counter}", options.lesson_memory_bytes)
        spec.update(lesson_cgroup=job.cgroup, home_cgroup=os.path.dirname(job.cgroup) if job.cgroup else None)
    log = os.path.join(job_dir, "lesson.log")
    pid, read_fd = _fork("run_lesson", spec, log, job_dir, other_fds)
    job.pid, job.fd, job.started = pid, read_fd, time.monotonic()
    job.marked = job.started
    job.deadline = job.started + 600 * options.timeout_factor  # until the tests are known
    job.log = log


def _trusted_cache(run_dir: str) -> str:
    """The run's own folder for trusted work that every grading repeats identically (worker.TRUSTED_CACHE: lesson 4's
    trusted training, keyed by every byte of the net's start weights), where none lasts from run to run
    (lasting_trusted_cache): the grading user's alone (0700), never shown to a sandbox, read by the graders only with
    the walls up, and removed with the run folder."""
    folder = os.path.join(run_dir, "trusted-cache")
    os.makedirs(folder, mode=0o700, exist_ok=True)
    os.chmod(folder, 0o700)
    return folder


def lasting_trusted_cache():
    """The trusted cache kept from run to run, in the calibration's cache folder (coursetools.limits.cache_dir():
    $AUTOGRADER_CACHE, else ~/.cache/pytorch-from-zero): one folder per grader version, torch version and prepared
    MNIST (size and time of its files), so what is kept there was computed by these graders on this data.

    Only when grading as root: student code then runs as a user of its own in every mode (NOT ISOLATED too), so no
    submission of any run can write there. Grading as an ordinary user, a NOT ISOLATED run's student code would run
    as that user and could leave a forged score for a later run. None (the run's own folder is used) then, and where
    the folder cannot be made, is not the grading user's, or others may write to it or to the folder above."""
    import hashlib

    import torch

    import course_data
    from coursetools import limits

    if not confine.privileged():
        return None
    try:
        data = course_data.data_root() / "MNIST"
        files = sorted(p for p in data.rglob("*") if p.is_file())
        digest = hashlib.sha256(repr([(p.relative_to(data).as_posix(), p.stat().st_size, p.stat().st_mtime_ns)
                                      for p in files]).encode()).hexdigest()[:12]
        base = limits.cache_dir()
        base.mkdir(mode=0o700, parents=True, exist_ok=True)
        folder = base / f"trusted-{limits.grader_version()}-torch{torch.__version__}-mnist{digest}"
        folder.mkdir(mode=0o700, exist_ok=True)
        for path in (base, folder):
            info = os.lstat(path)
            if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.geteuid() or info.st_mode & 0o022:
                return None
        if stat.S_IMODE(os.lstat(folder).st_mode) != 0o700:
            os.chmod(folder, 0o700)
        return str(folder)
    except (OSError, ValueError, RuntimeError):
        return None


def _fork(body: str, spec: dict, log: str, cwd: str, other_fds=()) -> tuple:
    """Fork a process that runs autograder.lesson.worker.<body>(fd, spec), its output in `log`, a clean
    environment, dying with us; returns (pid, the read end of its JSON-lines pipe)."""
    read_fd, write_fd = os.pipe()
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            os.close(read_fd)
            for fd in other_fds:
                os.close(fd)
            log_fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            null = os.open(os.devnull, os.O_RDONLY)
            os.dup2(null, 0)
            os.dup2(log_fd, 1)
            os.dup2(log_fd, 2)
            os.chdir(cwd)
            kept = {k: v for k, v in os.environ.items() if k in KEPT_ENVIRONMENT}
            os.environ.clear()
            os.environ.update(kept)
            from autograder.lesson import confine, worker

            confine.die_with_parent()
            signal.signal(signal.SIGINT, signal.SIG_DFL)
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            code = getattr(worker, body)(write_fd, spec)
        finally:
            os._exit(code)
    os.close(write_fd)
    return pid, read_fd


COLLECT_TIMEOUT = 180.0


def _collection_file(options: Options, cache_dir: str) -> str:
    """Where the collection of these lessons with these options on this machine is kept, in the lasting trusted
    cache (its folder is already one per grader version, torch version and prepared MNIST): what else decides the
    tests, their points, limits and skips (the options, CUDA or not, the Python) makes the name."""
    import hashlib

    import torch

    decided_by = {"lessons": sorted(options.lessons), "full": options.full, "timeout_factor": options.timeout_factor,
                  "time_limits": sorted((options.time_limits or {}).items()), "cuda": bool(torch.cuda.is_available()),
                  "python": sys.version}
    digest = hashlib.sha256(json.dumps(decided_by, sort_keys=True).encode()).hexdigest()[:16]
    return os.path.join(cache_dir, f"collected-{digest}.json")


def collect_all(options: Options, run_dir: str, graders: str, lasting: str = None) -> dict:
    """{lesson: its tests} from one collection of every lesson, before any submission is graded (no student
    code runs in it): the maximum score of every submission is known from the start, also for lessons that
    a kill or a crash stops before they begin. {} when the collection fails (each lesson then collects alone).

    With `lasting` (the lasting trusted cache, grading as root: only root can write there), a collection is done
    once per grader version and options, and later runs read it (a fork and a pytest collection less: about
    0.6 s of a 2-core machine before the first lesson starts)."""
    kept = _collection_file(options, lasting) if lasting else None
    if kept:
        try:
            with open(kept, encoding="utf-8") as file:
                known = {int(lesson): tests for lesson, tests in json.load(file).items()}
            if set(known) == set(options.lessons) and all(isinstance(tests, list) for tests in known.values()):
                return known
        except (OSError, ValueError, TypeError, AttributeError):
            pass
    known = _collect(options, run_dir, graders)
    if kept and known:
        try:
            with tempfile.NamedTemporaryFile("w", dir=lasting, suffix=".part", delete=False, encoding="utf-8") as file:
                json.dump({str(lesson): tests for lesson, tests in known.items()}, file)
            os.replace(file.name, kept)
        except OSError:
            pass
    return known


def _collect(options: Options, run_dir: str, graders: str) -> dict:
    from autograder.lesson.worker import GRADERS_PACKAGE, lesson_of

    folder = os.path.join(run_dir, "collect")
    os.makedirs(os.path.join(folder, "empty"))
    spec = {"tests": [os.path.join(graders, GRADERS_PACKAGE, f"lesson{n}") for n in options.lessons],
            "graders_root": graders, "inifile": str(REPO_ROOT / "pyproject.toml"),
            "basetemp": os.path.join(folder, "pytest"), "submission": os.path.join(folder, "empty"),
            "full": options.full, "timeout_factor": options.timeout_factor, "time_limits": options.time_limits or {}}
    pid, fd = _fork("collect_lessons", spec, os.path.join(folder, "collect.log"), folder)
    data, deadline = b"", time.monotonic() + COLLECT_TIMEOUT * options.timeout_factor
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([fd], [], [], 1.0)
            if ready:
                chunk = os.read(fd, 1 << 16)
                if not chunk:
                    break
                data += chunk
    finally:
        os.close(fd)
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        os.waitpid(pid, 0)
    known, failed = {}, False
    for line in data.split(b"\n"):
        try:
            record = json.loads(line)
        except ValueError:
            continue
        failed |= record.get("type") == "error"
        if record.get("type") == "collected":
            for test in record["tests"]:
                known.setdefault(lesson_of(test["name"]), []).append(test)
    if failed or set(known) != set(options.lessons):
        return {}
    return known


def _expect(job: _Job, lesson: LessonResult, tests: list):
    """The lesson's tests, as collected before any student code ran: the maximum score is fixed here."""
    for result in _expected(lesson, tests):
        job.tests[result.name] = result


def _by_lesson(tests: list) -> dict:
    """{lesson: its tests} of a collected list (the lesson read from each test's name)."""
    from autograder.lesson.worker import lesson_of

    found = {}
    for test in tests:
        found.setdefault(lesson_of(test["name"]), []).append(test)
    return found


def _expected(lesson: LessonResult, tests: list) -> list:
    """Add the collected `tests` to `lesson` (skips this machine decides already final); returns them."""
    added = []
    for test in tests:
        result = TestResult(name=test["name"], lesson=lesson.lesson, max_score=float(test.get("points", 1.0)),
                            hidden=bool(test.get("hidden")), skip=test.get("skip"))
        if result.skip:
            result.status, result.message, result.reported = "skipped", result.skip, True
        lesson.tests.append(result)
        added.append(result)
    return added


def _handle(job: _Job, line: bytes, options: Options, progress, known: dict) -> bool:
    """Apply one JSON line of a lesson process; True when a test's verdict arrived."""
    try:
        record = json.loads(line)
    except ValueError:
        return False
    kind = record.get("type")
    if kind == "collected" and not job.tests:
        collected = _by_lesson(record["tests"])
        for lesson in job.results:
            known.setdefault(lesson.lesson, collected.get(lesson.lesson, []))
            if lesson.tests:  # known from the collection before grading
                job.tests.update({test.name: test for test in lesson.tests})
            else:
                _expect(job, lesson, collected.get(lesson.lesson, []))
        budget = sum(float(test.get("time_limit", 60.0)) + 5 for test in record["tests"] if not test.get("skip"))
        job.deadline = job.started + 120 + budget
        progress.add_total(len(record["tests"]))
    elif kind == "result":
        test = job.tests.get(record["name"])
        if test is None or test.skip:
            progress.advance(f"{display_name(job.submission.name)} lesson{job.lessons[0]}")
            return False
        test.status = record["outcome"] if record["outcome"] in ("passed", "failed", "skipped") else "failed"
        test.score = test.max_score if test.status == "passed" else 0.0
        test.message = (record.get("message") or "").replace(job.sub_copy, display_name(job.submission.path))
        text = Text.from_json(record.get("text"))  # the course message's two languages, when it has them
        test.text = text.map(lambda part: part.replace(job.sub_copy, display_name(job.submission.path))) if text \
            else None
        test.tags = [f"pitfall:{slug}" for slug in dict.fromkeys(record.get("pitfalls") or [])]
        test.not_implemented = record.get("not_implemented")
        test.duration = float(record.get("duration") or 0.0)
        test.output = record.get("output") or ""
        test.reported = True
        lesson = job.submission.lessons.get(test.lesson)
        if lesson is not None and all(t.reported for t in lesson.tests):  # its last verdict: its time ends here
            now = time.monotonic()
            lesson.duration, job.marked = now - job.marked, now
        progress.advance(f"{display_name(job.submission.name)} lesson{test.lesson}")
        return True
    elif kind == "walls":
        for lesson in job.results:
            lesson.walls = record.get("description", "")
            lesson.isolated = bool(record.get("isolated"))
    elif kind == "error":
        message = str(record.get("message"))[:2000]
        named = [lesson for lesson in job.results if f"lesson{lesson.lesson}/" in message]  # a collection error
        for lesson in named[:1] or job.results:
            lesson.error = "; ".join(filter(None, [lesson.error, message]))
    elif kind == "done":
        job.done = True
        for lesson in job.results:
            lesson.starts = record.get("sandbox_starts") if isinstance(record.get("sandbox_starts"), int) else 0
        if record.get("exit_code") not in (0, 1):
            job.error(f"pytest ended with exit code {record.get('exit_code')}")
    return False


def _finish(job: _Job, known: dict):
    os.close(job.fd)
    _, status = os.waitpid(job.pid, 0)
    now = time.monotonic()
    bloated = False
    if job.cgroup:
        bloated = not job.done and box.cgroup_oom_kills(job.cgroup) > 0
        box.remove_cgroup(job.cgroup, kill_left=True, wait=2.0)  # its descendants may still be on their way out
    if not job.done and not job.out_of_budget and not bloated:
        job.error(f"the lesson process stopped unexpectedly (wait status {status}); log: {_tail(job.log)}")
    for lesson in job.results:
        if not lesson.tests and lesson.lesson in known:  # it ended before collecting: the same tests, none run
            _expect(job, lesson, known[lesson.lesson])
        if not lesson.tests or not all(test.reported for test in lesson.tests):  # not ended by its last verdict
            lesson.duration, job.marked = now - job.marked, now
        for test in lesson.tests:
            if not test.reported:
                test.status, test.score = "failed", 0.0
                if bloated and not lesson.error:
                    test.message = _bloated(lesson.lesson)
                elif job.out_of_budget and not lesson.error:
                    test.message = _not_graded(lesson.lesson, job.out_of_budget)
                else:
                    test.message = _not_run(lesson)
                test.reported = True


def _not_run(lesson: LessonResult) -> str:
    from autograder.lesson import messages

    return messages.grader_error(lesson.lesson, lesson.error or "the test was never run")


def _bloated(lesson: int) -> str:
    return (f"[lesson{lesson}] not graded: the grader's process for this lesson ran out of its own memory while it "
            "checked what your code returned (something your code returned or made is far larger than asked: a "
            "dataset or loader much longer than its data, a huge tensor). The tests finished before keep their "
            f"points.\n[第{lesson}课] 未评分：评分程序检查你的代码返回值时，本课的评分进程用完了它自己的内存（你的代码"
            "返回或创建的东西远大于要求：数据集或加载器的长度远超其数据、巨大的张量）。之前完成的测试保留其得分。")


def _not_graded(lesson: int, budget: float) -> str:
    return (f"[lesson{lesson}] not graded: grading this submission may take {budget:g} s, and the tests before "
            "this one used it all (look for the functions whose tests timed out). The tests finished in time keep "
            f"their points.\n[第{lesson}课] 未评分：本提交的评分时间上限为 {budget:g} 秒，之前的测试已用完（请检查"
            "超时的测试所调用的函数）。按时完成的测试保留其得分。")


def _tail(path: str, size: int = 1500) -> str:
    try:
        with open(path, "rb") as file:
            file.seek(0, os.SEEK_END)
            file.seek(max(0, file.tell() - size))
            return file.read().decode("utf-8", "replace")
    except OSError:
        return "(no log)"
