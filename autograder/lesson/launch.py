"""Starting the student process: bubblewrap with a show-list of paths, or (where it cannot run) a plain process.

The sandbox sees only: the system's programs and libraries (/usr), Python and its
site-packages, the course's own `coursetools` and `course_data` packages, the prepared
MNIST (read-only), the submission copy (read-only), the lesson's shared fixture folder
(read-only: inputs the trusted side wrote for the tests), and private size-capped
`/tmp` and `/dev/shm`. No network, its own PID, IPC, UTS and cgroup namespaces,
`--die-with-parent`, a new session, no new privileges, and, when the engine runs as
root, a user id of its own for every submission. Nothing else of the repository
(no `.git`, `solutions/`, `autograder/`, `nbgrader/`, `tests/`, no other student, no
results folder) exists in there; where the course was installed without -e, its
`solutions` and `autograder` packages in the shown site-packages are covered by empty
folders (`hide_answers`).

Where bubblewrap is missing or namespaces are refused (a locked-down container), the
student process still runs as a separate process (points are still decided outside
it), but without those walls: results then say NOT ISOLATED.

启动学生进程：优先使用 bubblewrap（只显示列出的路径）；无法使用时以普通进程运行，并在结果中标明“未隔离”。
"""
import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from dataclasses import dataclass, field

TMP_BYTES = 512 * 2**20
SHM_BYTES = 256 * 2**20


@dataclass
class Plan:
    """How one lesson's student process is started."""

    root: str  # the submission copy
    shared: list = field(default_factory=list)  # folders the trusted side writes inputs to (read-only inside)
    uid: int = None  # run as this user (engine running as root)
    memory_bytes: int = 4 * 2**30
    max_file_bytes: int = 1 * 2**30
    preload: list = field(default_factory=list)
    threads: int = 1
    work_dir: str = None  # the student process's folder when it runs without bubblewrap
    #: the data root of the grader's own MNIST copy for this grading (coursetools.checks.mnist.changed_copy): the
    #: student process reads MNIST there, and the prepared MNIST is not shown (None: the prepared MNIST is shown)
    mnist: str = None


def course_paths() -> list:
    """What Python and the course packages need, to be shown read-only inside the sandbox."""
    import course_data
    import coursetools

    paths = {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix,
             os.path.dirname(coursetools.__file__), os.path.dirname(course_data.__file__)}
    for key in ("stdlib", "platstdlib", "purelib", "platlib"):
        paths.add(sysconfig.get_paths()[key])
    return sorted(p for p in paths if p and os.path.exists(p) and not p.startswith("/usr/"))


def _data_root():
    import course_data

    try:
        root = str(course_data.data_root())
    except Exception:
        return None
    return root if os.path.isdir(root) else None


def bwrap_available() -> str:
    """The reason bubblewrap cannot be used here, or '' when it can."""
    if os.environ.get("AUTOGRADER_NO_BWRAP"):
        return "AUTOGRADER_NO_BWRAP is set"
    if not shutil.which("bwrap"):
        return "bubblewrap (bwrap) is not installed"
    return ""


def bwrap_argv(plan: Plan, fd: int) -> list:
    argv = ["bwrap", "--unshare-all", "--die-with-parent", "--new-session", "--clearenv",
            "--ro-bind", "/usr", "/usr",
            # private scratch first: the binds below may lie inside /tmp (the grader's run folder)
            "--size", str(TMP_BYTES), "--tmpfs", "/tmp", "--proc", "/proc", "--dev", "/dev",
            "--size", str(SHM_BYTES), "--tmpfs", "/dev/shm"]
    for name in ("lib", "lib64", "lib32", "bin", "sbin"):
        path = f"/{name}"
        if os.path.islink(path):
            argv += ["--symlink", os.readlink(path), path]
        elif os.path.isdir(path):
            argv += ["--ro-bind", path, path]
    for path in ("/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d", "/etc/alternatives", "/etc/localtime"):
        if os.path.exists(path):
            argv += ["--ro-bind", path, path]
    shown = course_paths()
    data = _data_root()
    if data and not plan.mnist:
        shown.append(data)
    for path in _outermost(shown):
        argv += ["--ro-bind", path, path]
    if plan.mnist:
        argv += _hide_prepared_mnist(data, shown)
    argv += hide_answers(shown)
    for path in [plan.root, *plan.shared]:
        argv += ["--ro-bind", path, path]
    if plan.mnist and not any(os.path.realpath(plan.mnist).startswith(os.path.realpath(path) + os.sep)
                              for path in plan.shared):
        argv += ["--ro-bind", plan.mnist, plan.mnist]
    for device in sorted(os.listdir("/dev")):
        if device.startswith("nvidia"):
            argv += ["--dev-bind", f"/dev/{device}", f"/dev/{device}"]
    if os.path.isdir("/sys"):
        argv += ["--ro-bind", "/sys", "/sys"]  # CUDA reads the PCI topology there
    if plan.uid is not None:
        argv += ["--uid", str(plan.uid), "--gid", str(plan.uid)]
    for key, value in _environment(plan).items():
        argv += ["--setenv", key, value]
    argv += ["--chdir", "/tmp", "--", sys.executable, "-m", "coursetools.sandbox", "--fd", str(fd),
             "--root", plan.root, "--reap"]
    return argv + _sandbox_options(plan)


def _hide_prepared_mnist(data, shown) -> list:
    """bwrap arguments that cover the prepared MNIST with an empty folder where a shown path holds it (the default
    data root is the course_data package itself): a grading on the grader's own copy shows only that copy."""
    if not data:
        return []
    mnist = os.path.realpath(os.path.join(data, "MNIST"))
    inside = any(mnist.startswith(os.path.realpath(path) + os.sep) for path in shown)
    return ["--tmpfs", mnist, "--remount-ro", mnist] if inside and os.path.isdir(mnist) else []


#: packages of the course that the student process never imports and must not read: the answers and the graders
HIDDEN_PACKAGES = ("solutions", "autograder")


def hide_answers(shown, path=None) -> list:
    """bwrap arguments that cover `solutions` and `autograder` with an empty folder wherever a shown folder holds them
    on the import path (`path`, default sys.path). With `pip install -e .` they stay in the repository, which is not
    shown; a course installed without -e (`pip install .`) puts them in site-packages, which is."""
    found = []
    for entry in sys.path if path is None else path:
        entry = os.path.realpath(entry or ".")
        if not any(entry == os.path.realpath(p) or entry.startswith(os.path.realpath(p) + os.sep) for p in shown):
            continue
        for name in HIDDEN_PACKAGES:
            package = os.path.join(entry, name)
            if os.path.isdir(package) and package not in found:
                found.append(package)
    return [option for package in found for option in ("--tmpfs", package, "--remount-ro", package)]


def plain_argv(plan: Plan, fd: int) -> list:
    return [sys.executable, "-m", "coursetools.sandbox", "--fd", str(fd), "--root", plan.root] + _sandbox_options(plan)


def _sandbox_options(plan: Plan) -> list:
    """The student process caps a test's data memory itself, once it has preloaded (its own size is then known)."""
    options = ["--memory-bytes", str(int(plan.memory_bytes))] if plan.memory_bytes else []
    options += ["--mnist", plan.mnist] if plan.mnist else []
    return options + (["--preload", *plan.preload] if plan.preload else [])


def _environment(plan: Plan) -> dict:
    keep = ("LANG", "LC_ALL", "LC_CTYPE", "TZ", "COURSE_DATA_ROOT", "CUDA_VISIBLE_DEVICES", "NVIDIA_VISIBLE_DEVICES",
            "LD_LIBRARY_PATH", "PYTORCH_NVML_BASED_CUDA_CHECK")
    env = {k: v for k, v in os.environ.items() if k in keep}
    import coursetools

    # the course packages from where the grader has them (the folder above holds nothing else in the sandbox)
    env["PYTHONPATH"] = os.path.dirname(os.path.dirname(os.path.abspath(coursetools.__file__)))
    # a uid of its own has no passwd entry: getpass.getuser() (torch._dynamo calls it on import in torch 2.11)
    # reads these first instead of failing in pwd.getpwuid
    env.update(USER="student", LOGNAME="student")
    env.update(PATH="/usr/bin:/bin", HOME="/tmp", TMPDIR="/tmp", PYTHONHASHSEED="0", PYTHONDONTWRITEBYTECODE="1",
               OMP_NUM_THREADS=str(plan.threads), MKL_NUM_THREADS=str(plan.threads),
               MPLCONFIGDIR="/tmp/.matplotlib", TORCH_HOME="/tmp/.torch", XDG_CACHE_HOME="/tmp/.cache",
               # freed blocks of 1 MiB and more go back to the system at once (as in the grading parent): a
               # ResNet's freed state dicts do not stay in the test's memory (glibc raises its threshold otherwise)
               MALLOC_MMAP_THRESHOLD_=str(2**20))
    return env


def _outermost(paths) -> list:
    """Drop paths inside another listed path (bwrap would bind them twice)."""
    result = []
    for path in sorted(set(os.path.realpath(p) for p in paths)):
        if not any(path == r or path.startswith(r + os.sep) for r in result):
            result.append(path)
    return result


def _hidden_options(argv: list) -> tuple:
    """(command line, fd) for bubblewrap given `argv`: its options go through a memory file it reads (`--args FD`,
    closed before the sandboxed command starts), so its own command line, which the student process can read as
    /proc/1/cmdline, holds only what that process's own command line holds."""
    split = argv.index("--")
    try:
        fd = os.memfd_create("bwrap-options")
    except (AttributeError, OSError):  # no memfd here: an unlinked temporary file does the same
        fd = os.dup(tempfile.TemporaryFile().fileno())
    os.write(fd, b"".join(os.fsencode(part) + b"\0" for part in argv[1:split]))
    os.lseek(fd, 0, os.SEEK_SET)
    return [shutil.which(argv[0]) or argv[0], "--args", str(fd), *argv[split:]], fd


def start(plan: Plan, channel_fd: int, output_fd: int, isolated: bool):
    """Start the student process; returns the Popen. Its stdout and stderr go to `output_fd`.

    bubblewrap starts from an empty environment (`env={}`: the lesson process's, with PYTEST_CURRENT_TEST and
    whatever the grading machine holds, is not /proc/1/environ inside) and its options out of its command line;
    the student process gets only the variables `_environment` sets (`--clearenv`, `--setenv`)."""
    options_fd = None
    if isolated:
        argv, options_fd = _hidden_options(bwrap_argv(plan, channel_fd))
        env = {}
    else:
        argv, env = plain_argv(plan, channel_fd), None
    if not isolated:  # no private /tmp: the lesson's own work folder instead
        env = {**_environment(plan), "PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": plan.work_dir,
               "TMPDIR": plan.work_dir, "MPLCONFIGDIR": os.path.join(plan.work_dir, ".matplotlib"),
               "TORCH_HOME": os.path.join(plan.work_dir, ".torch"), "XDG_CACHE_HOME": os.path.join(plan.work_dir, ".cache")}
        if plan.uid is not None:
            os.chown(plan.work_dir, plan.uid, plan.uid)

    def limits():
        from autograder.lesson import confine

        os.setsid()
        confine.leave_lesson_memory()  # the lesson process's own memory limit is not the student's
        _first_to_go()
        confine.limit_resources(0, plan.max_file_bytes, 512 if plan.uid is not None else 0)  # data: --memory-bytes
        if plan.uid is not None:
            confine.drop_privileges(plan.uid)

    try:
        return subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=output_fd, stderr=output_fd,
                                pass_fds=(channel_fd,) + ((options_fd,) if options_fd is not None else ()),
                                preexec_fn=limits, env=env, cwd=plan.work_dir if not isolated else None)
    finally:
        if options_fd is not None:
            os.close(options_fd)


def _first_to_go():
    """Where memory runs out (a container's limit, the machine's), the kernel kills the student process and its
    children before any grading process (oom_score_adj 1000: a test fails, the grade goes on)."""
    try:
        with open("/proc/self/oom_score_adj", "w") as adj:
            adj.write("1000")
    except OSError:
        pass


def describe(plan: Plan, reason: str) -> str:
    """The walls around the student code, for results.json and the table."""
    if reason:
        return (f"NOT ISOLATED ({reason}): student code runs in a separate process (points are still decided "
                "outside it), but it can read what this user can read and reach the network")
    parts = ["bubblewrap sandbox", "show-list of paths (no repository, graders, solutions or other students)",
             "no network", "own PID namespace", f"private /tmp ({TMP_BYTES // 2**20} MiB) and /dev/shm",
             "memory, time and output limits"]
    parts.append(f"unprivileged uid {plan.uid}" if plan.uid is not None else "the grader's own uid (not root)")
    return ", ".join(parts)
