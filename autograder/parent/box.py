"""What this process really has to work with: CPUs and memory after cgroup limits and CPU affinity.

A container reports the host's CPU count (`os.cpu_count()`) and the host's memory (/proc/meminfo);
what it may use is set by its cgroup (v2 `cpu.max`, `memory.max`; v1 `cpu.cfs_quota_us` and
`cpu.cfs_period_us`, `memory.limit_in_bytes`) and by its CPU affinity. Gradescope's default
container, for one, is 0.5 CPU and 768 MB. The defaults of `--workers` and `--memory-gb` come
from here. Every reader takes `root` (a folder standing for `/`) so tests can feed fake files.

进程实际可用的 CPU 与内存（cgroup 限制与 CPU 亲和性），--workers 与 --memory-gb 的默认值由此而来。
"""
import math
import os
import signal
import time
from dataclasses import dataclass

#: Anonymous memory of the grading parent with torch, torchvision, torch._dynamo and pytest imported; every lesson
#: process is forked from it and shares these pages (measured: 227 MB with torch's CPU wheels, 374 MB with CUDA's).
BASE_BYTES = 400 * 2**20
#: What one more lesson at a time adds at its peak (lesson 6, ResNet-18 state dicts and a checkpoint): the lesson
#: process's own data, its student process (a second torch import with torch._dynamo) and the test's child
#: (measured: about 700 MB with torch's CPU wheels, 860 MB with CUDA's; lessons 1 and 2 about 250 MB).
LESSON_BYTES = 800 * 2**20
#: --memory-gb bounds: a test may always allocate 0.5 GiB (a test child of the reference grows its data by at most
#: 180 MB; where the box has less, the kernel's OOM killer, aimed at the student process by launch.py, stops a
#: hog first) and never more than the old default.
TEST_MEMORY_MIN_GB, TEST_MEMORY_MAX_GB = 0.5, 4.0
_NO_LIMIT = 2**60  # cgroup v1 writes "no limit" as 9223372036854771712 (the largest page count, in bytes)


@dataclass
class Box:
    """CPUs and memory this process may use, and where each figure came from."""

    cpus: float
    memory_bytes: int | None = None  # None: unknown (no /proc/meminfo, no cgroup limit)
    cpu_source: str = ""
    memory_source: str = ""

    def describe(self) -> str:
        """One line, e.g. '0.5 CPU (cgroup v1 cpu.cfs_quota_us), 768 MiB (cgroup v1 memory.limit_in_bytes)'."""
        memory = "memory unknown" if self.memory_bytes is None else f"{self.memory_bytes / 2**20:.0f} MiB"
        return f"{self.cpus:g} CPU ({self.cpu_source}), {memory} ({self.memory_source or 'no source'})"


def limits(root: str = "/", affinity: int | None = None) -> Box:
    """The Box of this process: the least of every CPU and memory limit found under `root`.

    `affinity`: the number of CPUs this process may run on (default: os.sched_getaffinity(0)).
    """
    if affinity is None:
        affinity = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    cpus, cpu_source = float(affinity), "CPU affinity"
    for value, source in _cpu_limits(root):
        if value < cpus:
            cpus, cpu_source = value, source
    memory, memory_source = None, ""
    for value, source in _memory_limits(root):
        if memory is None or value < memory:
            memory, memory_source = value, source
    return Box(round(cpus, 2), memory, cpu_source, memory_source)


def default_workers(box: Box, per_worker_bytes: int = LESSON_BYTES, base_bytes: int = BASE_BYTES) -> int:
    """Lessons graded at the same time: one per whole CPU, as many as the memory holds, at least one."""
    workers = max(1, math.floor(box.cpus))
    if box.memory_bytes is not None:
        workers = min(workers, (box.memory_bytes - base_bytes) // per_worker_bytes)
    return max(1, int(workers))


def default_test_memory_gb(box: Box, workers: int, per_worker_bytes: int = LESSON_BYTES,
                           base_bytes: int = BASE_BYTES) -> float:
    """Memory a test may allocate beyond its student process's own (--memory-gb): its share of what the box has
    left once the parent and `workers` lessons are counted, between 0.25 and 4 GiB (4 where memory is unknown)."""
    if box.memory_bytes is None:
        return TEST_MEMORY_MAX_GB
    spare = (box.memory_bytes - base_bytes - max(1, workers) * per_worker_bytes) / max(1, workers) / 2**30
    return round(min(TEST_MEMORY_MAX_GB, max(TEST_MEMORY_MIN_GB, spare)), 2)


# -- readers


def _read(path: str) -> str:
    try:
        with open(path) as file:
            return file.read().strip()
    except OSError:
        return None


def _inside(root: str, path: str) -> str:
    return os.path.join(root, path.lstrip("/"))


def _own_cgroups(root: str) -> dict:
    """{controller: path} from /proc/self/cgroup; cgroup v2's one hierarchy is under the key ''."""
    found = {}
    for line in (_read(_inside(root, "proc/self/cgroup")) or "").splitlines():
        parts = line.split(":", 2)
        if len(parts) == 3:
            for controller in parts[1].split(",") if parts[1] else [""]:
                found[controller] = parts[2]
    return found


def _unescape(text: str) -> str:
    """mountinfo writes space, tab, newline and backslash in paths as octal escapes (\\040)."""
    for code in ("040", "011", "012", "134"):
        text = text.replace("\\" + code, chr(int(code, 8)))
    return text


def _mounts(root: str) -> list:
    """[(fstype, super options, mount root, mount point)] of the cgroup file systems in /proc/self/mountinfo."""
    mounts = []
    for line in (_read(_inside(root, "proc/self/mountinfo")) or "").splitlines():
        if " - " not in line:
            continue
        before, after = line.split(" - ", 1)
        fields, tail = before.split(), after.split()
        if len(fields) >= 5 and len(tail) >= 3 and tail[0] in ("cgroup", "cgroup2"):
            mounts.append((tail[0], set(tail[2].split(",")), _unescape(fields[3]), _unescape(fields[4])))
    return mounts


def own_cgroup_dir(controller: str, root: str = "/") -> str | None:
    """The folder of this process's cgroup for a cgroup v1 `controller` ('memory', 'cpu'), or for cgroup v2 with
    '' (None where there is none): where a child cgroup for a process started from here would go."""
    folders = _cgroup_dirs(root, controller)
    return folders[0] if folders else None


def _cgroup_dirs(root: str, controller: str) -> list:
    """The folders of this process's cgroup for `controller` ('' for v2) and of each cgroup above it, inner first.

    A limit set on any of them applies; folders above the mount point are out of sight (a container's view).
    """
    path = _own_cgroups(root).get(controller)
    if path is None:
        return []
    for fstype, options, mount_root, mount_point in _mounts(root):
        if (controller == "" and fstype == "cgroup2") or (controller and fstype == "cgroup" and controller in options):
            relative = path[len(mount_root):] if path.startswith(mount_root.rstrip("/") + "/") else ""
            top = _inside(root, mount_point)
            folder = os.path.normpath(os.path.join(top, relative.lstrip("/")))
            if not os.path.isdir(folder):  # a cgroup namespace or a path we cannot map: the mount's own level
                folder = top
            folders = [folder]
            while folders[-1] != top and folders[-1].startswith(top + os.sep):
                folders.append(os.path.dirname(folders[-1]))
            return folders
    return []


def _cpu_limits(root: str):
    """(CPUs, source) for every CPU quota found (cgroup v2 cpu.max, v1 cpu.cfs_quota_us / cpu.cfs_period_us)."""
    for folder in _cgroup_dirs(root, ""):
        parts = (_read(os.path.join(folder, "cpu.max")) or "").split()
        if len(parts) == 2 and parts[0] != "max" and int(parts[1]) > 0:
            yield int(parts[0]) / int(parts[1]), "cgroup v2 cpu.max"
    for folder in _cgroup_dirs(root, "cpu"):
        quota, period = _read(os.path.join(folder, "cpu.cfs_quota_us")), _read(os.path.join(folder, "cpu.cfs_period_us"))
        if quota and period and int(quota) > 0 and int(period) > 0:
            yield int(quota) / int(period), "cgroup v1 cpu.cfs_quota_us"


def _memory_limits(root: str):
    """(bytes, source) for every memory limit found (cgroup v2 memory.max, v1 memory.limit_in_bytes) and for
    /proc/meminfo's MemAvailable (what the machine has free now, page cache it can drop included)."""
    for folder in _cgroup_dirs(root, ""):
        value = _read(os.path.join(folder, "memory.max"))
        if value and value != "max" and int(value) < _NO_LIMIT:
            yield int(value), "cgroup v2 memory.max"
    for folder in _cgroup_dirs(root, "memory"):
        value = _read(os.path.join(folder, "memory.limit_in_bytes"))
        if value and 0 < int(value) < _NO_LIMIT:
            yield int(value), "cgroup v1 memory.limit_in_bytes"
    for line in (_read(_inside(root, "proc/meminfo")) or "").splitlines():
        if line.startswith("MemAvailable:"):
            yield int(line.split()[1]) * 1024, "MemAvailable in /proc/meminfo"


# -- the lesson process's own memory limit

#: Memory of its own a lesson process (trusted: it runs the graders, never student code) may use beyond what it
#: shares with the grading parent: the reference's lesson 6 stays far below (ResNet-18 state dicts, 45 MB each).
#: A student whose answers make it grow past this fails that lesson's tests; nobody else's process is touched.
LESSON_PROCESS_BYTES = 1536 * 2**20


def lesson_process_bytes(box: Box) -> int:
    """The memory limit of each lesson process: LESSON_PROCESS_BYTES, or less where the box itself has less."""
    if box.memory_bytes is None:
        return LESSON_PROCESS_BYTES
    return int(min(LESSON_PROCESS_BYTES, max(LESSON_BYTES, box.memory_bytes - BASE_BYTES)))


def make_cgroup(name: str, limit_bytes: int, root: str = "/") -> str | None:
    """A memory cgroup `name` below this process's own (v1 memory controller, else v2 where the memory controller
    is delegated to children), limited to `limit_bytes`; its folder, or None where none can be made here (then the
    lesson process limits itself with RLIMIT_DATA: autograder/lesson/confine.py)."""
    for controller, limit_file in (("memory", "memory.limit_in_bytes"), ("", "memory.max")):
        parent = own_cgroup_dir(controller, root)
        if parent is None or not os.access(parent, os.W_OK):
            continue
        if controller == "" and "memory" not in (_read(os.path.join(parent, "cgroup.subtree_control")) or "").split():
            continue  # v2 without the memory controller for children (enabling it here is the system's business)
        folder = os.path.join(parent, name)
        try:
            os.mkdir(folder)
        except FileExistsError:
            pass
        except OSError:
            continue
        try:
            with open(os.path.join(folder, limit_file), "w") as file:
                file.write(str(int(limit_bytes)))
            if controller == "memory" and os.path.exists(os.path.join(folder, "memory.memsw.limit_in_bytes")):
                try:  # with swap accounting, swap counts too (the soft limit first, as the kernel requires)
                    with open(os.path.join(folder, "memory.memsw.limit_in_bytes"), "w") as file:
                        file.write(str(int(limit_bytes)))
                except OSError:
                    pass
        except OSError:
            remove_cgroup(folder)
            continue
        return folder
    return None


def cgroup_oom_kills(folder: str) -> int:
    """How many processes the kernel killed in cgroup `folder` for its memory limit (v1 oom_control, v2 events)."""
    for name in ("memory.oom_control", "memory.events"):
        for line in (_read(os.path.join(folder, name)) or "").splitlines():
            parts = line.split()
            if len(parts) == 2 and parts[0] == "oom_kill" and parts[1].isdigit():
                return int(parts[1])
    return 0


def remove_cgroup(folder: str, kill_left: bool = False, wait: float = 0.0):
    """Remove a cgroup folder made by make_cgroup once its processes have ended. With `kill_left`, what is still in
    it (a lesson process's descendants on their way out after it died) is killed first; `wait` seconds are given
    for them to leave (a cgroup with a process in it cannot be removed)."""
    if not folder:
        return
    deadline = time.monotonic() + wait
    while True:
        if kill_left:
            for pid in (_read(os.path.join(folder, "cgroup.procs")) or "").split():
                try:
                    os.kill(int(pid), signal.SIGKILL)
                except (ValueError, OSError):
                    pass
        try:
            os.rmdir(folder)
            return
        except FileNotFoundError:
            return
        except OSError:
            if time.monotonic() >= deadline:
                return
            time.sleep(0.05)


def remove_abandoned_cgroups(prefix: str = "autograder-", root: str = "/"):
    """Remove the empty lesson cgroups `prefix<pid>-<n>` of graders that were killed (their pid no longer runs)."""
    for controller in ("memory", ""):
        parent = own_cgroup_dir(controller, root)
        if parent is None or not os.path.isdir(parent):
            continue
        for name in os.listdir(parent):
            pid = name[len(prefix):].split("-", 1)[0]
            if not name.startswith(prefix) or not pid.isdigit() or os.path.exists(f"/proc/{pid}"):
                continue
            remove_cgroup(os.path.join(parent, name))
