"""autograder/parent/box.py on fake cgroup files, and one whole grade in Gradescope's default box (768 MB, 0.5 CPU).

The real grade runs in a cgroup of its own (v1 or v2) where this machine lets us make one (root, writable
cgroup file system); elsewhere it samples the memory of the whole process tree every 50 ms instead.
"""
import json
import os
import signal
import subprocess
import sys
import threading
import time

import pytest

from autograder.parent import box
from coursetools import REPO_ROOT

MiB = 2**20


def _tree(root, files: dict):
    for path, text in files.items():
        target = root / path.lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    return str(root)


MEMINFO = "MemTotal:       32000000 kB\nMemAvailable:   16000000 kB\n"
V1_MOUNTS = ("31 23 0:28 / /sys/fs/cgroup rw - tmpfs tmpfs rw\n"
             "32 31 0:29 {root} /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct\n"
             "35 31 0:32 {root} /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n")


def test_box_reads_a_docker_container_on_cgroup_v1(tmp_path):
    """Check a container's view (the mount's root is its own cgroup): 0.5 CPU and 768 MiB, named by source."""
    root = _tree(tmp_path, {
        "proc/self/cgroup": "4:memory:/docker/abc\n2:cpu,cpuacct:/docker/abc\n0::/\n",
        "proc/self/mountinfo": V1_MOUNTS.format(root="/docker/abc"),
        "proc/meminfo": MEMINFO,
        "sys/fs/cgroup/memory/memory.limit_in_bytes": "805306368\n",
        "sys/fs/cgroup/cpu,cpuacct/cpu.cfs_quota_us": "50000\n",
        "sys/fs/cgroup/cpu,cpuacct/cpu.cfs_period_us": "100000\n",
    })
    found = box.limits(root, affinity=8)
    assert (found.cpus, found.memory_bytes) == (0.5, 768 * MiB), found
    assert found.describe() == "0.5 CPU (cgroup v1 cpu.cfs_quota_us), 768 MiB (cgroup v1 memory.limit_in_bytes)"


def test_box_takes_the_least_limit_of_the_cgroups_above(tmp_path):
    """Check a host's view on cgroup v1: a limit set on a parent cgroup applies; "no limit" values are ignored."""
    no_limit = "9223372036854771712\n"
    root = _tree(tmp_path, {
        "proc/self/cgroup": "4:memory:/grading/job\n2:cpu,cpuacct:/grading/job\n",
        "proc/self/mountinfo": V1_MOUNTS.format(root="/"),
        "proc/meminfo": MEMINFO,
        "sys/fs/cgroup/memory/memory.limit_in_bytes": no_limit,
        "sys/fs/cgroup/memory/grading/memory.limit_in_bytes": "2147483648\n",
        "sys/fs/cgroup/memory/grading/job/memory.limit_in_bytes": no_limit,
        "sys/fs/cgroup/cpu,cpuacct/grading/job/cpu.cfs_quota_us": "-1\n",
        "sys/fs/cgroup/cpu,cpuacct/grading/job/cpu.cfs_period_us": "100000\n",
    })
    found = box.limits(root, affinity=4)
    assert (found.cpus, found.memory_bytes, found.cpu_source) == (4.0, 2 * 2**30, "CPU affinity"), found
    assert box.own_cgroup_dir("memory", root) == os.path.join(root, "sys/fs/cgroup/memory/grading/job")


def test_box_reads_cgroup_v2(tmp_path):
    """Check cgroup v2: cpu.max "150000 100000" is 1.5 CPU; memory.max "max" inside a 1 GiB parent is 1 GiB."""
    root = _tree(tmp_path, {
        "proc/self/cgroup": "0::/user.slice/grade\n",
        "proc/self/mountinfo": "41 23 0:38 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n",
        "proc/meminfo": MEMINFO,
        "sys/fs/cgroup/user.slice/memory.max": "1073741824\n",
        "sys/fs/cgroup/user.slice/grade/memory.max": "max\n",
        "sys/fs/cgroup/user.slice/grade/cpu.max": "150000 100000\n",
    })
    found = box.limits(root, affinity=16)
    assert (found.cpus, found.memory_bytes) == (1.5, 2**30), found
    assert (found.cpu_source, found.memory_source) == ("cgroup v2 cpu.max", "cgroup v2 memory.max")


def test_box_without_cgroup_limits_has_the_affinity_and_the_available_memory(tmp_path):
    """Check a machine without limits (v2 "max", a mount point with an escaped space): CPU affinity, MemAvailable."""
    root = _tree(tmp_path, {
        "proc/self/cgroup": "0::/\n",
        "proc/self/mountinfo": "41 23 0:38 / /sys/fs/my\\040cgroup rw - cgroup2 cgroup2 rw\n",
        "proc/meminfo": MEMINFO,
        "sys/fs/my cgroup/cpu.max": "max 100000\n",
        "sys/fs/my cgroup/memory.max": "max\n",
    })
    found = box.limits(root, affinity=2)
    assert (found.cpus, found.memory_bytes) == (2.0, 16000000 * 1024), found
    assert found.memory_source == "MemAvailable in /proc/meminfo"
    assert box.limits(str(tmp_path / "nothing"), affinity=3) == box.Box(3.0, None, "CPU affinity", "")


def test_default_workers_follow_cpus_and_memory():
    """Check one worker per whole CPU, fewer where memory is short, never none."""
    gb = 2**30
    assert box.default_workers(box.Box(0.5, 768 * MiB)) == 1  # Gradescope's default container
    assert box.default_workers(box.Box(8.0, None)) == 8
    assert box.default_workers(box.Box(8.0, 2 * gb), per_worker_bytes=512 * MiB, base_bytes=512 * MiB) == 3
    assert box.default_workers(box.Box(1.9, 64 * gb)) == 1
    assert box.default_workers(box.Box(16.0, 100 * MiB)) == 1


def test_default_test_memory_is_a_share_of_what_is_left():
    """Check --memory-gb's default: 4 GiB where memory is unknown or plenty, the floor in a small box."""
    assert box.default_test_memory_gb(box.Box(2.0, None), 2) == box.TEST_MEMORY_MAX_GB
    assert box.default_test_memory_gb(box.Box(0.5, 768 * MiB), 1) == box.TEST_MEMORY_MIN_GB
    assert box.default_test_memory_gb(box.Box(2.0, 64 * 2**30), 2) == box.TEST_MEMORY_MAX_GB
    share = box.default_test_memory_gb(box.Box(1.0, 4 * 2**30), 1, per_worker_bytes=1 * 2**30, base_bytes=2**30)
    assert share == 2.0


# -- one whole grade in Gradescope's default box

BOX_BYTES = 768 * MiB
CPU_QUOTA_US, CPU_PERIOD_US = 50_000, 100_000  # 0.5 CPU


class _Cgroup:
    """A memory + CPU cgroup of our own under this process's cgroup (v1 or v2), removed by close()."""

    def __init__(self, name: str):
        self.dirs, self.version = [], None
        try:
            memory, cpu = box.own_cgroup_dir("memory"), box.own_cgroup_dir("cpu")
            if memory and cpu:
                self._make([os.path.join(memory, name), os.path.join(cpu, name)])
                self._write(self.dirs[0], "memory.limit_in_bytes", BOX_BYTES)
                if os.path.exists(os.path.join(self.dirs[0], "memory.memsw.limit_in_bytes")):
                    self._write(self.dirs[0], "memory.memsw.limit_in_bytes", BOX_BYTES)
                self._write(self.dirs[1], "cpu.cfs_period_us", CPU_PERIOD_US)
                self._write(self.dirs[1], "cpu.cfs_quota_us", CPU_QUOTA_US)
                self.version = 1
            elif box.own_cgroup_dir(""):
                self._make([os.path.join(box.own_cgroup_dir(""), name)])
                self._write(self.dirs[0], "memory.max", BOX_BYTES)
                self._write(self.dirs[0], "memory.swap.max", 0)
                self._write(self.dirs[0], "cpu.max", f"{CPU_QUOTA_US} {CPU_PERIOD_US}")
                self.version = 2
        except OSError as error:
            self.close()
            self.refused = f"{type(error).__name__}: {error}"
        else:
            self.refused = "" if self.version else "no cgroup file system"

    def _make(self, dirs):
        for folder in dirs:
            os.mkdir(folder)
            self.dirs.append(folder)

    @staticmethod
    def _write(folder, name, value):
        with open(os.path.join(folder, name), "w") as file:
            file.write(str(value))

    def _read(self, name, folder=None) -> str:
        with open(os.path.join(folder or self.dirs[0], name)) as file:
            return file.read()

    def wrap(self, command: list) -> list:
        """`command` run by a shell that first joins the cgroup (so everything the command starts is inside)."""
        join = " && ".join(f'echo $$ > "{folder}/cgroup.procs"' for folder in self.dirs)
        return ["/bin/sh", "-c", f'{join} && exec "$@"', "sh", *command]

    def anon(self) -> int:
        """Anonymous memory and shared memory (tmpfs) of the cgroup now: what cannot be dropped without swap."""
        stat = dict(line.split() for line in self._read("memory.stat").splitlines())
        if self.version == 1:
            return int(stat["total_rss"]) + int(stat["total_shmem"])
        return int(stat["anon"]) + int(stat["shmem"])

    def with_cache(self) -> int:
        """The cgroup's peak usage, page cache included."""
        name = "memory.max_usage_in_bytes" if self.version == 1 else "memory.peak"
        try:
            return int(self._read(name))
        except OSError:
            return 0

    def oom_kills(self) -> int:
        text = self._read("memory.oom_control" if self.version == 1 else "memory.events")
        return next((int(line.split()[1]) for line in text.splitlines() if line.startswith("oom_kill ")), 0)

    def close(self):
        """Kill what is left in the cgroup (only our grade was ever put there) and remove it."""
        for folder in reversed(self.dirs):
            for _ in range(100):
                try:
                    for pid in self._read("cgroup.procs", folder).split():
                        try:
                            os.kill(int(pid), signal.SIGKILL)
                        except ProcessLookupError:
                            pass
                    os.rmdir(folder)
                except FileNotFoundError:
                    break
                except OSError:
                    time.sleep(0.1)
                else:
                    break
        self.dirs = []


def _tree_anon(pid: int) -> int:
    """Proportional anonymous and shared memory (Pss_Anon + Pss_Shmem) of `pid` and all its descendants."""
    children = {}
    for name in os.listdir("/proc"):
        try:
            with open(f"/proc/{name}/stat", "rb") as stat:
                children.setdefault(int(stat.read().rsplit(b")", 1)[1].split()[1]), []).append(int(name))
        except (OSError, ValueError, IndexError):
            continue
    total, todo = 0, [pid]
    while todo:
        current = todo.pop()
        todo += children.get(current, [])
        try:
            with open(f"/proc/{current}/smaps_rollup") as rollup:
                total += sum(int(line.split()[1]) * 1024 for line in rollup
                             if line.startswith(("Pss_Anon:", "Pss_Shmem:")))
        except OSError:
            continue
    return total


CPU_VENV_PYTHON = REPO_ROOT / "build" / "cpu-venv" / "bin" / "python"  # made by scripts/cpu-venv.sh


def _box_python() -> tuple[str, bool]:
    """The interpreter that grades in the box, and whether it was asked for: COURSE_CPU_PYTHON (set by .ci/run, so a
    missing or CUDA venv fails CI instead of skipping), else scripts/cpu-venv.sh's venv where built, else this one."""
    if os.environ.get("COURSE_CPU_PYTHON"):
        return os.environ["COURSE_CPU_PYTHON"], True
    return (str(CPU_VENV_PYTHON), False) if CPU_VENV_PYTHON.exists() else (sys.executable, False)


@pytest.fixture(scope="module")
def boxed_grade(tmp_path_factory):
    """`python -m autograder grade solutions` in a 768 MB, 0.5 CPU box (default --workers and --memory-gb), run by
    the CPU-only venv Gradescope's setup.sh builds (scripts/cpu-venv.sh) where there is one."""
    import course_data

    if not course_data.mnist_ready():
        pytest.skip("MNIST is not prepared (python -m course_data)")
    python, required = _box_python()
    probe = subprocess.run([python, "-c", "import torch, torchvision; print(torch.__version__, torch.version.cuda)"],
                           capture_output=True, text=True)
    if probe.returncode != 0 or probe.stdout.split()[-1:] != ["None"]:
        why = (f"{python} cannot import torch and torchvision: {probe.stderr.strip()[-300:]}" if probe.returncode
               else f"torch {probe.stdout.split()[0]} in {python} is a CUDA build")
        if required:
            pytest.fail(f"COURSE_CPU_PYTHON: {why}; build the CPU venv with scripts/cpu-venv.sh")
        pytest.skip(f"{why}: Gradescope's image installs the CPU wheels (gradescope.py setup.sh; here: "
                    "scripts/cpu-venv.sh); the CUDA libraries take about 140 MB more in each torch process (two "
                    "per lesson), so 768 MB cannot hold them (measured: 0 of 177 points, every student process "
                    "killed while it started, 743 s)")
    out = tmp_path_factory.mktemp("boxed") / "results"
    cgroup = _Cgroup(f"autograder-box-test-{os.getpid()}") if os.geteuid() == 0 else None
    confined = cgroup is not None and not cgroup.refused
    command = [python, "-m", "autograder", "grade", str(REPO_ROOT / "solutions"), "--quiet", "--out", str(out)]
    peak, done = [0], threading.Event()
    try:
        started = time.monotonic()
        process = subprocess.Popen(cgroup.wrap(command) if confined else command, cwd=REPO_ROOT,
                                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT)

        def sample():
            while not done.wait(0.05):
                try:
                    peak[0] = max(peak[0], cgroup.anon() if confined else _tree_anon(process.pid))
                except (OSError, KeyError, ValueError):
                    pass

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        try:
            output, _ = process.communicate(timeout=1800)
        finally:
            done.set()
            sampler.join()
            if process.poll() is None:
                process.kill()
                process.wait()
        wall = time.monotonic() - started
        grade = {"rc": process.returncode, "output": output.decode("utf-8", "replace"), "wall": wall,
                 "peak": peak[0], "with_cache": cgroup.with_cache() if confined else 0,
                 "oom_kills": cgroup.oom_kills() if confined else 0,
                 "how": (f"{probe.stdout.split()[0]}, cgroup v{cgroup.version}, {BOX_BYTES // MiB} MiB and 0.5 CPU"
                         if confined else
                         f"no cgroup ({cgroup.refused if cgroup else 'not root'}): the process tree's memory sampled, "
                         "no CPU limit"),
                 "results": json.loads((out / "results.json").read_text()) if (out / "results.json").exists() else {}}
    finally:
        if cgroup is not None:
            cgroup.close()
    print(f"\n[box] {grade['how']}: peak anonymous + shared memory {grade['peak'] / MiB:.0f} MiB, peak with page cache "
          f"{grade['with_cache'] / MiB:.0f} MiB, {grade['oom_kills']} OOM kills, {grade['wall']:.0f} s; score "
          f"{grade['results'].get('score')} / {grade['results'].get('max_score')}")
    return grade


def _summary(grade) -> str:
    lost = [f"{t['name']}: {t['output'][:160]}" for t in grade["results"].get("tests", []) if t["score"] < t["max_score"]]
    return (f"{grade['how']}: rc {grade['rc']}, peak {grade['peak'] / MiB:.0f} MiB, {grade['oom_kills']} OOM kills, "
            f"{grade['wall']:.0f} s, score {grade['results'].get('score')} / {grade['results'].get('max_score')}; "
            f"lost: {lost[:5]}; output tail: {grade['output'][-1500:]}")


@pytest.mark.slow
@pytest.mark.mnist
def test_grade_in_a_768_mb_box_ends_and_only_student_processes_run_out_of_memory(boxed_grade):
    """Check that a whole grade in Gradescope's default box completes: every lesson reports every test, and a test
    lost to memory is lost to its student process being killed, never to a grading process."""
    results = boxed_grade["results"]
    assert boxed_grade["rc"] == 0 and results.get("tests"), _summary(boxed_grade)
    assert results["extra_data"]["complete"] and not results["extra_data"]["errors"], _summary(boxed_grade)
    assert all(not lesson["error"] for lesson in results["extra_data"]["lessons"].values()), _summary(boxed_grade)
    student_deaths = ("killed by signal 9", "the student process did not start")  # killed running, or starting
    for test in results["tests"]:
        assert test["score"] == test["max_score"] or (
            boxed_grade["oom_kills"] and any(death in test["output"] for death in student_deaths)), _summary(boxed_grade)


@pytest.mark.slow
@pytest.mark.mnist
@pytest.mark.xfail(strict=False, reason=(
    "at the edge: measured 177/177 in 91 s with torch's CPU wheels, but the box's memory peaked at 760 of 768 MiB "
    "(one student process OOM-killed between tests, at no cost); the goal of a 600 MB peak is not reached: two torch "
    "processes per lesson and lesson 6's 45 MB ResNet-18 states on both sides of the boundary"))
def test_grade_in_a_768_mb_box_gets_full_marks(boxed_grade):
    """Check that the reference gets full marks in Gradescope's default box, its memory never over the box."""
    results = boxed_grade["results"]
    assert results.get("max_score", 0) > 0 and results["score"] == results["max_score"], _summary(boxed_grade)
    assert boxed_grade["peak"] <= BOX_BYTES, _summary(boxed_grade)
