"""Operating-system pieces around the student process (Linux): limits, user ids, the mount namespace
that lets a sandbox user reach Python, clean-up of what a test left running. The sandbox itself is
bubblewrap (launch.py).

Every function here is best effort where the system may refuse (no root, no mount namespaces):
it returns False or does nothing; launch.py probes bubblewrap and results say whether it stood.

学生进程周围的操作系统手段（Linux）：资源限制、用户 ID、让沙箱用户访问 Python 的挂载命名空间、清理残留进程。
"""
import ctypes
import ctypes.util
import os
import resource
import signal

_PR_SET_PDEATHSIG = 1
_PR_SET_CHILD_SUBREAPER = 36
_PR_SET_NO_NEW_PRIVS = 38
_CLONE_NEWNS = 0x00020000
_MS_NOSUID, _MS_NODEV = 2, 4
_MS_BIND, _MS_REC, _MS_PRIVATE = 0x1000, 0x4000, 1 << 18

_libc = None


def _c():
    global _libc
    if _libc is None:
        _libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    return _libc


def privileged() -> bool:
    """Root, so the root-only walls can stand (AUTOGRADER_UNPRIVILEGED=1 pretends otherwise, to test the rest)."""
    return os.geteuid() == 0 and not os.environ.get("AUTOGRADER_UNPRIVILEGED")


def become_subreaper() -> bool:
    """Orphaned descendants of this process are re-parented to it, so it can kill them all."""
    return _c().prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0


def die_with_parent():
    """Ask the kernel to kill this process when its parent dies."""
    _c().prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


def private_mounts() -> bool:
    """Give this process its own mount namespace (root only); later mounts are seen by it and its children."""
    if not privileged():
        return False
    libc = _c()
    return libc.unshare(_CLONE_NEWNS) == 0 and libc.mount(None, b"/", None, _MS_REC | _MS_PRIVATE, None) == 0


def _closed_ancestor(path: str):
    """The first folder above `path` that other users may not pass through (no o+x), with the next name below it."""
    parts = os.path.abspath(path).strip("/").split("/")
    current = "/"
    for index, name in enumerate(parts[:-1]):
        current = os.path.join(current, name)
        try:
            if not os.stat(current).st_mode & 0o001:
                return current, parts[index + 1]
        except OSError:
            return None
    return None


def open_paths(paths) -> bool:
    """Let other users reach `paths` (after private_mounts), without changing any permission on disk.

    A closed folder above them (say /root, 0700, above a Python installed in /root/.pyenv)
    is covered by a tmpfs (0755) holding bind mounts of only the entries needed; its
    other contents stay out of sight. The entries are bound from the folder as it was, through a
    descriptor opened before it is covered (no stash folder on disk: one inside the covered folder,
    say a run folder under a 0700 TMPDIR, would be covered too). Returns False when that cannot be done.
    """
    libc = _c()
    for _ in range(8):  # each round opens the closed folders found on the way
        blocked = {}
        for path in paths:
            found = _closed_ancestor(path)
            if found:
                blocked.setdefault(found[0], set()).add(found[1])
        if not blocked:
            return True
        for folder, names in blocked.items():
            before = os.open(folder, os.O_PATH | os.O_DIRECTORY)
            try:
                if libc.mount(b"tmpfs", os.fsencode(folder), b"tmpfs", _MS_NOSUID | _MS_NODEV,
                              b"size=64k,mode=0755") != 0:
                    return False
                for name in names:
                    source, target = f"/proc/self/fd/{before}/{name}", os.path.join(folder, name)
                    if os.path.isdir(source):
                        os.mkdir(target)
                    else:
                        open(target, "w").close()
                    if libc.mount(os.fsencode(source), os.fsencode(target), None, _MS_BIND | _MS_REC, None) != 0:
                        return False
            finally:
                os.close(before)
    return False


def held_folder(path: str) -> str:
    """A path to the folder `path` that keeps working after private_mounts and open_paths cover a folder above it
    (/proc/self/fd/N of a descriptor kept open in this process, not inherited by its children): the trusted cache
    in ~/.cache, under a 0700 /root that open_paths covers for a Python in /root/.pyenv. The folder's own
    permissions still apply. None when it cannot be opened."""
    try:
        return f"/proc/self/fd/{os.open(path, os.O_PATH | os.O_DIRECTORY)}"
    except OSError:
        return None


def sandbox_uid_for(run: int, submission: int) -> int:
    """A user id no one else uses, one per submission of a grading run (no name in /etc/passwd needed).

    Each submission's copy is readable by its own user only, so code under test cannot
    read (or borrow) another student's files during a batch.
    """
    return 1_000_000_000 + (run % 10_000) * 100_000 + submission % 100_000


def limit_resources(memory_bytes: int, max_file_bytes: int, max_processes: int = 0):
    """Cap new data memory (beyond what is mapped now), file size, core dumps and processes."""
    if memory_bytes:
        data_now = _status_kib("VmData") * 1024
        limit = data_now + memory_bytes
        resource.setrlimit(resource.RLIMIT_DATA, (limit, limit))
    resource.setrlimit(resource.RLIMIT_FSIZE, (max_file_bytes, max_file_bytes))
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the cap fails with EFBIG instead
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    if max_processes:
        resource.setrlimit(resource.RLIMIT_NPROC, (max_processes, max_processes))


_LESSON_MEMORY = {"home": None, "data": None}  # where the student process goes back to (bound_lesson_memory)


def bound_lesson_memory(cgroup: str, home: str, limit_bytes: int) -> str:
    """Put this lesson process under a memory limit of its own; how, in words ('' when it could not).

    `cgroup`: a memory cgroup made for it by the parent (autograder/parent/box.py: make_cgroup), or None; then
    RLIMIT_DATA: `limit_bytes` of new data beyond what it maps now (RLIMIT_AS would also count the address space
    CUDA reserves). `home`: the cgroup folder of the parent, where the student process goes back to
    (leave_lesson_memory), so a student's memory never counts against the trusted process.
    """
    _LESSON_MEMORY["data"] = resource.getrlimit(resource.RLIMIT_DATA)
    if cgroup and limit_bytes:
        try:
            with open(os.path.join(cgroup, "cgroup.procs"), "w") as procs:
                procs.write("0")
            _LESSON_MEMORY["home"] = home
            return f"its own memory cgroup ({limit_bytes / 2**20:.0f} MiB)"
        except OSError:
            pass
    if limit_bytes:
        soft, hard = _LESSON_MEMORY["data"]
        limit = _status_kib("VmData") * 1024 + limit_bytes
        if hard == resource.RLIM_INFINITY or limit <= hard:
            resource.setrlimit(resource.RLIMIT_DATA, (limit, hard))
            return f"RLIMIT_DATA ({limit_bytes / 2**20:.0f} MiB beyond its start)"
    return ""


def leave_lesson_memory():
    """In the student process before it starts (launch.py): out of the lesson process's cgroup and data limit."""
    home = _LESSON_MEMORY["home"]
    if home:
        try:
            with open(os.path.join(home, "cgroup.procs"), "w") as procs:
                procs.write("0")
        except OSError:
            pass
    if _LESSON_MEMORY["data"] is not None:
        resource.setrlimit(resource.RLIMIT_DATA, _LESSON_MEMORY["data"])


def drop_privileges(uid: int):
    """Become `uid` (group `uid`, no supplementary groups) for good; no way back to root."""
    os.setgroups([])
    os.setgid(uid)
    os.setuid(uid)
    _c().prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)


def _status_kib(key: str) -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


def kill_descendants(max_rounds: int = 50):
    """Kill and reap every remaining child of this (subreaper) process, and theirs in turn."""
    me = os.getpid()
    for _ in range(max_rounds):
        children = _children_of(me)
        if not children:
            break
        for pid in children:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        for pid in children:
            try:
                os.waitpid(pid, 0)
            except ChildProcessError:
                pass
    reap()


def reap():
    """Reap every child of this process that has already exited (without waiting for the others)."""
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            break
        if pid == 0:
            break


def _children_of(parent: int) -> list:
    children = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as stat:
                fields = stat.read().rsplit(b")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == parent:
            children.append(int(name))
    return children
