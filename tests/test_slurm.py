"""A real Slurm cluster grades a class in shards with the shipped job scripts (deploy/slurm/).

The fixture starts a one-node cluster on this machine from Debian's packages (munge, slurmctld,
slurmd, slurm-client): a munge key, slurm.conf, state, spool, logs and pid files in a temporary
folder, its own munge socket and its own ports, so a Slurm or munge already installed here is left
alone. `deploy/slurm/submit.sh` then queues `grade-array.sbatch` as an array job (one shard per task,
`batch --shard auto`) and `merge.sbatch` after it; the merged gradebook must equal a one-machine
`batch` of the same class. Every daemon started here is stopped by its pid at the end.

Skips where Slurm cannot run here (not Linux, not root, packages missing); in CI (CI=true) missing
packages are a failure, since .ci/run installs them. The wall times (sharded class, one-machine batch)
go as JSON to COURSE_SLURM_TIMING (default: /tmp/autograder-slurm-timing.json), where
benchmarks/run.py (item i) reads them.

真实的单节点 Slurm 集群：用仓库自带的作业脚本分片评分、合并，结果须与单机 batch 一致。
"""
import csv
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from autograder import overlay
from coursetools import REPO_ROOT

DEPLOY = REPO_ROOT / "deploy" / "slurm"
SBIN = os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/sbin"])
LESSONS = ["1", "2"]
SHARDS = 3
# A small class: the reference and mutants of lessons 1 and 2 (each built over solutions/).
CLASS = {"ada-reference": None, "ben-view": "view-non-contiguous", "cai-device": "device-mismatch",
         "dee-double": "double-backward", "eli-zero-grad": "no-zero-grad"}
START_TIMEOUT, JOB_TIMEOUT = 60, 300
# Where the wall times go for benchmarks/run.py (item i reads the same variable, the same default).
TIMING = os.environ.get("COURSE_SLURM_TIMING") or os.path.join(tempfile.gettempdir(), "autograder-slurm-timing.json")


def _which(name):
    return shutil.which(name, path=SBIN)


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")


def _cannot(reason: str):
    """Skip, or fail in CI where .ci/run has installed everything this needs."""
    if _in_ci():
        pytest.fail(f"Slurm test cannot run in CI: {reason}")
    pytest.skip(reason)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _tail(path: Path, lines: int = 15) -> str:
    try:
        return f"--- {path.name}:\n" + "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return f"--- {path.name}: (none)"


class Cluster:
    """A one-node Slurm cluster in `root`; every process it starts is kept by pid and stopped by stop()."""

    def __init__(self, root: Path):
        self.root = root
        self.processes = {}  # name -> Popen
        for name in ("state", "spool", "log", "run", "key"):
            (root / name).mkdir()
        os.chmod(root, 0o755)          # munged wants every folder above its socket searchable by all
        # (and --force below lets it start where a folder above, TMPDIR's, is not)
        os.chmod(root / "run", 0o755)
        os.chmod(root / "key", 0o700)
        self.conf = root / "slurm.conf"
        self.env = dict(os.environ, SLURM_CONF=str(self.conf), PATH=SBIN)

    def log(self, name: str) -> Path:
        return self.root / "log" / name

    def _start(self, name: str, argv: list):
        with open(self.log(f"{name}.out"), "wb") as out:
            self.processes[name] = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, env=self.env,
                                                    stdin=subprocess.DEVNULL, start_new_session=True)

    def start(self):
        key, run = self.root / "key" / "munge.key", self.root / "run"
        key.write_bytes(os.urandom(1024))
        os.chmod(key, 0o400)
        socket_path = run / "munge.socket"
        self._start("munged", [_which("munged"), "--foreground", "--force", f"--socket={socket_path}", f"--key-file={key}",
                               f"--log-file={self.log('munged.log')}", f"--pid-file={run / 'munged.pid'}",
                               f"--seed-file={self.root / 'key' / 'munged.seed'}"])
        self._wait(lambda: socket_path.exists(), 15, "munged did not create its socket", "munged.out")
        node = subprocess.run([_which("slurmd"), "-C"], check=False, capture_output=True, text=True, env=self.env, timeout=30)
        node_line = next((line for line in node.stdout.splitlines() if line.startswith("NodeName=")), None)
        if node_line is None:
            raise RuntimeError(f"slurmd -C printed no NodeName line: {node.stdout} {node.stderr}")
        self.node = node_line.split()[0].split("=", 1)[1]
        self.conf.write_text("\n".join([
            "ClusterName=coursetest",
            f"SlurmctldHost={self.node}",
            f"SlurmctldPort={_free_port()}",
            f"SlurmdPort={_free_port()}",
            "AuthType=auth/munge",
            f"AuthInfo=socket={socket_path}",
            "CredType=cred/munge",
            "SlurmUser=root",
            "SlurmdUser=root",
            f"StateSaveLocation={self.root / 'state'}",
            f"SlurmdSpoolDir={self.root / 'spool'}",
            f"SlurmctldPidFile={run / 'slurmctld.pid'}",
            f"SlurmdPidFile={run / 'slurmd.pid'}",
            f"SlurmctldLogFile={self.log('slurmctld.log')}",
            f"SlurmdLogFile={self.log('slurmd.log')}",
            "ProctrackType=proctrack/linuxproc",
            "TaskPlugin=task/none",
            "SelectType=select/cons_tres",
            "SelectTypeParameters=CR_Core",
            "SchedulerType=sched/backfill",
            "MpiDefault=none",
            "MailProg=/bin/true",
            "ReturnToService=2",
            "MinJobAge=900",           # finished jobs stay in scontrol's view (no accounting database here)
            "AccountingStorageType=accounting_storage/none",
            "JobAcctGatherType=jobacct_gather/none",
            "JobCompType=jobcomp/none",
            f"{node_line} State=UNKNOWN",
            f"PartitionName=grade Nodes={self.node} Default=YES MaxTime=INFINITE State=UP",
        ]) + "\n")
        self._start("slurmctld", [_which("slurmctld"), "-D", "-f", str(self.conf)])
        self._start("slurmd", [_which("slurmd"), "-D", "-f", str(self.conf)])
        self._wait(lambda: self.client("sinfo", "-h", "-o", "%T", check=False).stdout.strip() == "idle",
                   START_TIMEOUT, "the node did not become idle", "slurmctld.log", "slurmd.log",
                   "slurmctld.out", "slurmd.out")

    def _wait(self, ready, timeout: float, what: str, *logs: str):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            dead = [name for name, process in self.processes.items() if process.poll() is not None]
            if dead:
                raise RuntimeError(f"{', '.join(dead)} exited while starting\n" +
                                   "\n".join(_tail(self.log(f"{name}.out")) for name in dead))
            if ready():
                return
            time.sleep(0.5)
        raise RuntimeError(f"{what} within {timeout} s\n" + "\n".join(_tail(self.log(name)) for name in logs))

    def client(self, *argv, check=True, timeout=30):
        result = subprocess.run([_which(argv[0]) or argv[0], *argv[1:]], check=False, capture_output=True, text=True,
                                env=self.env, timeout=timeout)
        if check and result.returncode:
            raise RuntimeError(f"{' '.join(argv)}: exit {result.returncode}: {result.stderr}{result.stdout}")
        return result

    def stop(self):
        """Cancel every job, then stop the daemons (slurmd, slurmctld, munged) by pid: TERM, then KILL."""
        if "slurmctld" in self.processes and self.processes["slurmctld"].poll() is None:
            try:
                self.client("scancel", "--user=root", check=False, timeout=15)
                deadline = time.monotonic() + 20
                while time.monotonic() < deadline and \
                        self.client("squeue", "-h", "-o", "%i", check=False, timeout=15).stdout.strip():
                    time.sleep(0.5)
            except (OSError, subprocess.SubprocessError):
                pass
        for name in ("slurmd", "slurmctld", "munged"):
            process = self.processes.get(name)
            if process is None or process.poll() is not None:
                continue
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)


@pytest.fixture(scope="module")
def cluster():
    if not sys.platform.startswith("linux"):
        pytest.skip("Slurm test: Linux only")
    if os.geteuid() != 0:
        pytest.skip("Slurm test: needs root (slurmd runs the jobs as root here; CI runs as root)")
    missing = [name for name in ("munged", "slurmctld", "slurmd", "sbatch", "squeue", "sinfo", "scontrol")
               if not _which(name)]
    if missing:
        _cannot(f"Slurm test: {', '.join(missing)} not installed "
                "(apt-get install -y slurmctld slurmd slurm-client munge; .ci/run does it)")
    root = Path(tempfile.mkdtemp(prefix="course-slurm-"))
    made = Cluster(root)
    try:
        made.start()
    except (RuntimeError, OSError, subprocess.SubprocessError) as error:
        made.stop()
        _cannot(f"Slurm test: the one-node cluster did not start: {error}")
    except BaseException:
        made.stop()
        raise
    try:
        yield made
    finally:
        made.stop()
        shutil.rmtree(root, ignore_errors=True)


def _build_class(folder: Path) -> Path:
    submissions = folder / "submissions"
    submissions.mkdir(parents=True)
    empty = folder / "empty-overlay"
    empty.mkdir()
    lessons = [int(n) for n in LESSONS]
    for student, mutant in CLASS.items():
        source = empty if mutant is None else REPO_ROOT / "tests" / "mutants" / mutant
        overlay.build(source, submissions / student, lessons=lessons)
    return submissions


def _gradebook(path: Path) -> list:
    with open(path, newline="", encoding="utf-8") as file:
        return list(csv.reader(file))


def _jobs(cluster: Cluster, job: str) -> list:
    """scontrol's fields of every task of `job` (it keeps finished jobs MinJobAge seconds: no accounting here)."""
    lines = cluster.client("scontrol", "-o", "show", "job", job, check=False).stdout.splitlines()
    return [dict(part.split("=", 1) for part in line.split() if "=" in part) for line in lines]


def _job_states(tasks: list) -> list:
    return [(task.get("JobState"), task.get("ExitCode")) for task in tasks]


def _seconds(tasks: list, field: str, pick) -> float:
    """The earliest/latest (`pick`) StartTime or EndTime of `tasks`, in seconds since the epoch."""
    return pick(time.mktime(time.strptime(task[field], "%Y-%m-%dT%H:%M:%S")) for task in tasks)


def test_slurm_array_grades_the_class_like_one_machine(cluster, tmp_path):
    submissions = _build_class(tmp_path)
    options = ["--lessons", *LESSONS]

    # One machine, the engine's defaults.
    one = tmp_path / "one-machine"
    began = time.monotonic()
    single = subprocess.run([sys.executable, "-m", "autograder", "batch", str(submissions), "--out", str(one),
                             "--quiet", *options], check=False, capture_output=True, text=True, cwd=REPO_ROOT,
                            timeout=JOB_TIMEOUT)
    one_machine_s = time.monotonic() - began
    assert single.returncode == 0, f"one-machine batch: exit {single.returncode}\n{single.stdout}\n{single.stderr}"

    # The cluster: SHARDS array tasks of 1 CPU each (this node has few), then the merge job.
    out = tmp_path / "slurm"
    env = dict(cluster.env, CPUS_PER_TASK="1", MEM_MB="1200", AUTOGRADER_PYTHON=sys.executable,
               AUTOGRADER_REPO=str(REPO_ROOT))
    began = time.monotonic()
    submitted = subprocess.run(["bash", str(DEPLOY / "submit.sh"), str(submissions), str(out), str(SHARDS),
                                *options, "--workers", "1"], check=False, capture_output=True, text=True, env=env,
                               cwd=tmp_path, timeout=60)
    assert submitted.returncode == 0, f"submit.sh: exit {submitted.returncode}\n{submitted.stdout}{submitted.stderr}"
    words = submitted.stdout.split()
    grade_job = words[words.index("job") + 1]
    merge_job = words[words.index("merge:") + 2]
    deadline = time.monotonic() + JOB_TIMEOUT
    while cluster.client("squeue", "-h", "-o", "%i", "-j", f"{grade_job},{merge_job}", check=False).stdout.strip():
        if time.monotonic() > deadline:
            logs = "\n".join(_tail(path) for path in sorted((out / "logs").glob("*.out")))
            pytest.fail(f"the Slurm jobs did not finish within {JOB_TIMEOUT} s\n{logs}")
        time.sleep(1)
    sharded_s = time.monotonic() - began

    logs = "\n".join(_tail(path, 30) for path in sorted((out / "logs").glob("*.out")))
    grade_tasks, merge_tasks = _jobs(cluster, grade_job), _jobs(cluster, merge_job)
    grade_states, merge_states = _job_states(grade_tasks), _job_states(merge_tasks)
    assert len(grade_states) == SHARDS and all(state == ("COMPLETED", "0:0") for state in grade_states), \
        f"array job {grade_job}: {grade_states}\n{logs}"
    assert merge_states == [("COMPLETED", "0:0")], f"merge job {merge_job}: {merge_states}\n{logs}"

    # Each shard graded its own slice, and the shards together are the class.
    owned = []
    for index in range(SHARDS):
        manifest = json.loads((out / "shards" / str(index) / "shard.json").read_text())
        assert (manifest["shard"], manifest["count"]) == (index, SHARDS), manifest
        owned += manifest["owned"]
    assert sorted(owned) == sorted(CLASS), owned

    merged, single_rows = _gradebook(out / "class" / "gradebook.csv"), _gradebook(one / "gradebook.csv")
    assert merged == single_rows, f"merged gradebook differs from one machine's\n{merged}\n{single_rows}"
    assert len(merged) == len(CLASS) + 1
    for student in CLASS:
        data = json.loads((out / "class" / student / "results.json").read_text(encoding="utf-8"))
        alone = json.loads((one / student / "results.json").read_text(encoding="utf-8"))
        assert data["score"] == alone["score"], student
        # Jobs run as root under slurmd: the sandbox must stand there as it does in a shell.
        assert data["extra_data"]["isolated"] == alone["extra_data"]["isolated"], \
            f"{student}: {data['extra_data'].get('isolation')} under Slurm, {alone['extra_data'].get('isolation')} alone"

    timing = {"submissions": len(CLASS), "lessons": [int(n) for n in LESSONS], "shards": SHARDS,
              "cpus_per_task": 1, "node_cpus": os.cpu_count(), "sharded_wall_s": round(sharded_s, 1),
              "one_machine_wall_s": round(one_machine_s, 1),
              # from Slurm's own clock (whole seconds): first shard's start to last shard's end, and the merge
              "shards_wall_s": _seconds(grade_tasks, "EndTime", max) - _seconds(grade_tasks, "StartTime", min),
              "merge_wait_s": _seconds(merge_tasks, "StartTime", min) - _seconds(grade_tasks, "EndTime", max),
              "merge_s": _seconds(merge_tasks, "EndTime", max) - _seconds(merge_tasks, "StartTime", min)}
    print(f"\nSlurm: {len(CLASS)} submissions, lessons {' '.join(LESSONS)}: {SHARDS} shards on a "
          f"{os.cpu_count()}-CPU node {sharded_s:.1f} s (submit to merged; shards {timing['shards_wall_s']:.0f} s, "
          f"merge waited {timing['merge_wait_s']:.0f} s, ran {timing['merge_s']:.0f} s), "
          f"one-machine batch {one_machine_s:.1f} s")
    Path(TIMING).write_text(json.dumps(timing, indent=1) + "\n", encoding="utf-8")
