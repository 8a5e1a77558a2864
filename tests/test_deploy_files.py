"""The shipped job files (deploy/): Slurm scripts, the Kubernetes Indexed Job, the GitHub Actions workflow.

No Kubernetes cluster or GitHub runner is here: the YAML files are parsed and checked for the fields
each engine needs, and every command they run is parsed with the engine's own argument parser, so a
renamed option fails here. The Slurm scripts are also run with a fake `sbatch` and a fake Python
that records its arguments (tests/test_slurm.py runs them on a real Slurm cluster).

部署文件检查：Slurm 脚本、Kubernetes Indexed Job、GitHub Actions 工作流的必需字段与命令。
"""
import os
import re
import shlex
import stat
import subprocess
from pathlib import Path

import pytest
import yaml

from autograder.parent import box, cli, shard
from coursetools import REPO_ROOT

DEPLOY = REPO_ROOT / "deploy"
MIB = 2**20


def _memory_mib(text: str) -> float:
    """'4G', '3600M', '4Gi', '3600Mi', '1200' (Slurm: MB) -> MiB."""
    number, unit = re.fullmatch(r"([0-9.]+)\s*([A-Za-z]*)", str(text).strip()).groups()
    factor = {"": 1, "m": 1, "mi": 1, "mb": 1, "g": 1024, "gi": 1024, "gb": 1024, "t": 2**20, "ti": 2**20}
    return float(number) * factor[unit.lower()]


def _needed_mib(cpus: float) -> float:
    """What the engine's own rule (box.default_workers) wants for one worker per CPU."""
    return (box.BASE_BYTES + int(cpus) * box.LESSON_BYTES) / MIB


def _autograder_args(argv: list) -> tuple:
    """The engine's parse of `python -m autograder ...` within argv (raises on an unknown option)."""
    words = list(argv)
    at = next(i for i in range(len(words) - 2) if words[i + 1:i + 3] == ["-m", "autograder"])
    return cli._parser().parse_args(words[at + 3:])


# --- Slurm -----------------------------------------------------------------------------------------

SLURM_SCRIPTS = ["grade-array.sbatch", "merge.sbatch", "submit.sh"]


def _sbatch_directives(path: Path) -> dict:
    found = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("#SBATCH "):
            option = line.split()[1]
            name, _, value = option.partition("=")
            found[name] = value
    return found


@pytest.mark.parametrize("name", SLURM_SCRIPTS)
def test_slurm_scripts_are_executable_bash(name):
    path = DEPLOY / "slurm" / name
    assert path.stat().st_mode & stat.S_IXUSR, f"{path} is not executable"
    assert path.read_text(encoding="utf-8").startswith("#!"), path
    subprocess.run(["bash", "-n", str(path)], check=True)


def test_slurm_array_task_size_follows_the_engines_memory_rule():
    directives = _sbatch_directives(DEPLOY / "slurm" / "grade-array.sbatch")
    cpus = int(directives["--cpus-per-task"])
    assert _memory_mib(directives["--mem"]) >= _needed_mib(cpus), directives
    assert "--time" in directives and "--output" in directives, directives
    submit = (DEPLOY / "slurm" / "submit.sh").read_text(encoding="utf-8")
    rule = f"{box.BASE_BYTES // MIB} + {box.LESSON_BYTES // MIB} * cpus"
    assert rule in submit, f"submit.sh's default memory should be the engine's rule ({rule})"


@pytest.fixture
def fakes(tmp_path):
    """A fake python (records argv) and a fake sbatch (records argv, prints a job id)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    record = tmp_path / "calls"
    sbatch = ('n=$(ls "$RECORD".sbatch.* 2>/dev/null | wc -l); '
              'printf "%s\\n" "$@" > "$RECORD.sbatch.$n"; echo $((100 + n))')
    for name, body in (("python", 'printf "%s\\n" "$@" > "$RECORD.python.$$"'), ("sbatch", sbatch)):
        path = bin_dir / name
        path.write_text(f"#!/bin/bash\n{body}\n")
        path.chmod(0o755)
    env = {key: value for key, value in os.environ.items() if not key.startswith(("SLURM_", "SBATCH_"))}
    env.update(PATH=f"{bin_dir}{os.pathsep}{env['PATH']}", RECORD=str(record))
    return bin_dir, record, env


def _recorded(record: Path, kind: str) -> list:
    return [path.read_text(encoding="utf-8").splitlines() for path in sorted(record.parent.glob(f"{record.name}.{kind}.*"))]


def test_slurm_array_task_runs_one_shard(fakes, tmp_path):
    bin_dir, record, env = fakes
    (tmp_path / "class").mkdir()
    env.update(SLURM_ARRAY_TASK_ID="2", SLURM_ARRAY_TASK_COUNT="4", SLURM_ARRAY_TASK_MIN="0",
               SLURM_SUBMIT_DIR=str(tmp_path), AUTOGRADER_PYTHON=str(bin_dir / "python"),
               AUTOGRADER_REPO=str(REPO_ROOT))
    subprocess.run(["bash", str(DEPLOY / "slurm" / "grade-array.sbatch"), "class", "out", "--lessons", "1", "2"],
                   check=True, env=env, cwd=tmp_path, capture_output=True)
    [argv] = _recorded(record, "python")
    args = _autograder_args(["python", *argv])
    assert args.command == "batch" and args.submissions == str(tmp_path / "class")
    assert args.out == str(tmp_path / "out" / "shards" / "2")
    assert args.shard == "auto" and args.resume and args.lessons == [1, 2]
    assert shard.parse(args.shard, env) == (2, 4, shard.parse(args.shard, env)[2])
    # Graded again alone (`SHARDS=4 sbatch --array=2 ...`): the index and count come from SHARDS.
    env.update(SLURM_ARRAY_TASK_COUNT="1", SLURM_ARRAY_TASK_MIN="2", SHARDS="4")
    for path in record.parent.glob(f"{record.name}.python.*"):
        path.unlink()
    subprocess.run(["bash", str(DEPLOY / "slurm" / "grade-array.sbatch"), "class", "out"],
                   check=True, env=env, cwd=tmp_path, capture_output=True)
    [argv] = _recorded(record, "python")
    assert shard.parse(_autograder_args(["python", *argv]).shard, env)[:2] == (2, 4)


def test_slurm_merge_job_merges_every_shard(fakes, tmp_path):
    bin_dir, record, env = fakes
    for index in range(3):
        (tmp_path / "out" / "shards" / str(index)).mkdir(parents=True)
    env.update(SLURM_SUBMIT_DIR=str(tmp_path), AUTOGRADER_PYTHON=str(bin_dir / "python"))
    subprocess.run(["bash", str(DEPLOY / "slurm" / "merge.sbatch"), "out"], check=True, env=env, cwd=tmp_path,
                   capture_output=True)
    [argv] = _recorded(record, "python")
    args = _autograder_args(["python", *argv])
    assert args.command == "merge" and args.out == str(tmp_path / "out" / "class")
    assert sorted(args.dirs) == [str(tmp_path / "out" / "shards" / str(i)) for i in range(3)]


def test_slurm_submit_queues_the_array_then_the_merge(fakes, tmp_path):
    _, record, env = fakes
    (tmp_path / "class").mkdir()
    env.update(CPUS_PER_TASK="2")
    done = subprocess.run(["bash", str(DEPLOY / "slurm" / "submit.sh"), "class", "out", "5", "--lessons", "3"],
                          check=True, env=env, cwd=tmp_path, capture_output=True, text=True)
    grade, merge = _recorded(record, "sbatch")
    assert "--array=0-4" in grade and "--cpus-per-task=2" in grade
    assert f"--mem={(box.BASE_BYTES + 2 * box.LESSON_BYTES) // MIB}M" in grade
    script = grade.index(str(DEPLOY / "slurm" / "grade-array.sbatch"))
    assert grade[script + 1:] == [str(tmp_path / "class"), str(tmp_path / "out"), "--lessons", "3"]
    assert "--dependency=afterany:100" in merge
    assert merge[-2:] == [str(DEPLOY / "slurm" / "merge.sbatch"), str(tmp_path / "out")]
    assert "100" in done.stdout and "101" in done.stdout


# --- Kubernetes ------------------------------------------------------------------------------------

def _kubernetes():
    text = (DEPLOY / "kubernetes" / "grade-indexed-job.yaml").read_text(encoding="utf-8")
    documents = [d for d in yaml.safe_load_all(text) if d]
    jobs = [d for d in documents if d.get("kind") == "Job"]
    indexed = [j for j in jobs if j["spec"].get("completionMode") == "Indexed"]
    others = [j for j in jobs if j["spec"].get("completionMode") != "Indexed"]
    claims = [d for d in documents if d.get("kind") == "PersistentVolumeClaim"]
    assert len(indexed) == 1 and len(others) == 1, [j["metadata"]["name"] for j in jobs]
    return indexed[0], others[0], claims


def _container_command(job: dict) -> tuple:
    """(the container, argv of its `python -m autograder` command, unwrapping `sh -c`)."""
    [container] = job["spec"]["template"]["spec"]["containers"]
    argv = list(container.get("command", [])) + list(container.get("args", []))
    if argv[:2] == ["sh", "-c"] or argv[:2] == ["/bin/sh", "-c"]:
        argv = shlex.split(argv[2])
    return container, argv


def _mounted(job: dict, container: dict, path: str) -> dict:
    """The volume of `job` mounted over `path` in `container` (asserts there is one)."""
    mounts = [m for m in container.get("volumeMounts", [])
              if path == m["mountPath"] or path.startswith(m["mountPath"].rstrip("/") + "/")]
    assert mounts, f"{path} is on no volume mount of {job['metadata']['name']}"
    volumes = {v["name"]: v for v in job["spec"]["template"]["spec"].get("volumes", [])}
    return volumes[mounts[0]["name"]]


def test_kubernetes_indexed_job_has_what_an_indexed_job_needs():
    job, _, claims = _kubernetes()
    spec = job["spec"]
    assert job["apiVersion"] == "batch/v1" and job["kind"] == "Job"
    completions, parallelism = spec["completions"], spec["parallelism"]
    assert isinstance(completions, int) and completions >= 1
    assert isinstance(parallelism, int) and 1 <= parallelism <= completions
    pod = spec["template"]["spec"]
    assert pod["restartPolicy"] in ("Never", "OnFailure")
    assert "backoffLimitPerIndex" in spec or "backoffLimit" in spec
    if "backoffLimitPerIndex" in spec:
        assert pod["restartPolicy"] == "Never", "backoffLimitPerIndex needs restartPolicy: Never"
    container, argv = _container_command(job)
    env = {e["name"]: e.get("value") for e in container.get("env", [])}
    assert int(env["COURSE_SHARD_COUNT"]) == completions, "COURSE_SHARD_COUNT must equal completions"

    args = _autograder_args([word for word in argv if word != "exec"])
    assert args.command == "batch" and args.shard is not None and args.shard.startswith("auto")
    assert "$JOB_COMPLETION_INDEX" in args.out or "$(JOB_COMPLETION_INDEX)" in args.out, \
        "each pod needs its own --out folder"
    # Every index of the Job is a shard of the same count.
    for index in (0, completions - 1):
        found = shard.parse(args.shard, {"JOB_COMPLETION_INDEX": str(index), "COURSE_SHARD_COUNT": env["COURSE_SHARD_COUNT"]})
        assert found[:2] == (index, completions)
    claim_names = {c["metadata"]["name"] for c in claims}
    for path in (args.submissions, args.out):
        volume = _mounted(job, container, path)
        assert volume["persistentVolumeClaim"]["claimName"] in claim_names
    assert any("ReadWriteMany" in c["spec"]["accessModes"] for c in claims), "every pod mounts the class at once"

    resources = container["resources"]
    cpus = float(resources["requests"]["cpu"])
    assert _memory_mib(resources["requests"]["memory"]) >= _needed_mib(cpus)
    assert _memory_mib(resources["limits"]["memory"]) >= _memory_mib(resources["requests"]["memory"])


def test_kubernetes_merge_job_reads_the_shards_of_the_indexed_job():
    job, merge, _ = _kubernetes()
    _, grade_argv = _container_command(job)
    grade_out = _autograder_args([w for w in grade_argv if w != "exec"]).out
    shards_root = grade_out.rsplit("/", 1)[0]
    container, argv = _container_command(merge)
    assert merge["apiVersion"] == "batch/v1" and merge["spec"]["template"]["spec"]["restartPolicy"] in ("Never", "OnFailure")
    args = _autograder_args([w for w in argv if w != "exec"])
    assert args.command == "merge" and args.dirs == [shards_root], (args.dirs, shards_root)
    grade_claims = {v["persistentVolumeClaim"]["claimName"] for v in job["spec"]["template"]["spec"]["volumes"]}
    for path in (*args.dirs, args.out):
        assert _mounted(merge, container, path)["persistentVolumeClaim"]["claimName"] in grade_claims
    # The file says how to run the merge after the grade Job: one document per `step` label.
    text = (DEPLOY / "kubernetes" / "grade-indexed-job.yaml").read_text(encoding="utf-8")
    for document in (job, merge):
        step = document["metadata"]["labels"]["step"]
        assert f"-l step={step}" in text
    assert f"kubectl wait --for=condition=complete job/{job['metadata']['name']}" in text


# --- GitHub Actions --------------------------------------------------------------------------------

def _workflow() -> dict:
    return yaml.safe_load((DEPLOY / "github" / "grade-class.yml").read_text(encoding="utf-8"))


def _step(job: dict, uses: str) -> dict:
    return next(s for s in job["steps"] if s.get("uses", "").startswith(uses))


def _run_with(step: dict, values: dict) -> list:
    text = step["run"]
    for key, value in values.items():
        text = text.replace("${{ " + key + " }}", value)
    text = text.replace("${LESSONS:+--lessons $LESSONS}", "--lessons 1 2").replace("$SUBMISSIONS", "submissions")
    return shlex.split(text)


def test_github_workflow_grades_a_matrix_of_shards_then_merges():
    workflow = _workflow()
    triggers = workflow.get("on", workflow.get(True))  # YAML 1.1 reads a bare `on` as true
    assert "workflow_dispatch" in triggers
    grade, merge = workflow["jobs"]["grade"], workflow["jobs"]["merge"]
    shards = grade["strategy"]["matrix"]["shard"]
    assert shards == list(range(len(shards))) and len(shards) >= 2, shards
    assert grade["strategy"].get("fail-fast") is False
    [run] = [s for s in grade["steps"] if "autograder batch" in s.get("run", "")]
    for index in shards:
        args = _autograder_args(_run_with(run, {"matrix.shard": str(index), "strategy.job-total": str(len(shards))}))
        assert args.command == "batch" and shard.parse(args.shard, {})[:2] == (index, len(shards))
        assert args.lessons == [1, 2]
        upload = _step(grade, "actions/upload-artifact")
        assert upload["with"]["path"].replace("${{ matrix.shard }}", str(index)) == args.out
        assert upload["with"]["name"].replace("${{ matrix.shard }}", str(index)) == f"shard-{index}"

    needs = merge["needs"] if isinstance(merge["needs"], list) else [merge["needs"]]
    assert "grade" in needs
    download = _step(merge, "actions/download-artifact")
    assert download["with"]["pattern"] == "shard-*"
    [run] = [s for s in merge["steps"] if "autograder merge" in s.get("run", "")]
    args = _autograder_args(shlex.split(run["run"]))
    assert args.command == "merge" and args.dirs == [f"{download['with']['path']}/shard-*"]
    assert _step(merge, "actions/upload-artifact") is not None
    assert [s for s in merge["steps"] if s.get("uses", "").startswith("actions/upload-artifact")][-1]["with"]["path"] \
        == args.out


def test_deploy_readme_covers_every_engine():
    readme = (DEPLOY / "README.md").read_text(encoding="utf-8")
    for name in ("grade-array.sbatch", "merge.sbatch", "submit.sh", "grade-indexed-job.yaml", "grade-class.yml",
                 "COURSE_SHARD_COUNT", "--shard"):
        assert name in readme, name
    assert not (REPO_ROOT / ".github" / "workflows" / "grade-class.yml").exists(), \
        "the class workflow is for a course repository, not this one's CI"
