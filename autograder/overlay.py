"""Submissions made from the reference plus a few changed files (mutants, variants, hostile cases).

An overlay folder holds only `lessonN/<topic>.py` files; `build` copies solutions/
and puts each overlay file over it. Two first-line directives serve the hostile
cases: `# APPEND` adds the file's text after the reference file (to override one
function or add a side effect), `# REMOVE` deletes the reference file. `grade_batch`
runs `python -m autograder batch` on a folder of such submissions and returns the
parsed results.json of each.

由参考答案加少量改动文件构成的提交（变异体、正确的不同写法、恶意用例）。
"""
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from coursetools import REPO_ROOT


def overlay_files(overlay: Path) -> list:
    """The lessonN/*.py files of an overlay folder, relative to it."""
    return sorted(p.relative_to(overlay) for p in Path(overlay).glob("lesson*/*.py"))


def touched_lessons(overlay: Path) -> set:
    return {int(path.parts[0][len("lesson"):]) for path in overlay_files(overlay)}


def overlay_text(overlay_file: Path, reference_file: Path):
    """The text `overlay_file` makes of `reference_file`: None for `# REMOVE`, the reference
    followed by the overlay for `# APPEND` (a later definition replaces the reference's), else the overlay."""
    text = Path(overlay_file).read_text(encoding="utf-8")
    first = text.splitlines()[0].strip() if text.strip() else ""
    if first == "# REMOVE":
        return None
    if first == "# APPEND":
        return Path(reference_file).read_text(encoding="utf-8") + "\n\n" + text
    return text


def build(overlay: Path, destination: Path, reference: Path = REPO_ROOT / "solutions", lessons=None) -> Path:
    """Copy `reference` to `destination` and apply the overlay (only its `lessons` folders when given);
    returns `destination`."""
    shutil.copytree(reference, destination, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    for relative in overlay_files(overlay):
        if lessons is not None and int(relative.parts[0][len("lesson"):]) not in lessons:
            continue
        target = Path(destination) / relative
        text = overlay_text(Path(overlay) / relative, target)
        if text is None:
            target.unlink()
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
    return Path(destination)


def overlay_names(folder: Path) -> list:
    """The overlay folders inside `folder` (tests/mutants, tests/variants, ...), sorted; [] when it is missing."""
    folder = Path(folder)
    return sorted(p.name for p in folder.iterdir() if p.is_dir() and not p.name.startswith((".", "_"))) \
        if folder.is_dir() else []


def lesson_pairs(folder: Path) -> list:
    """[(overlay name, lesson)] for every lessonN folder of every overlay in `folder`: a mutant folder
    (tests/mutants/<slug>/) may hold the same mistake made in several lessons, each its own submission."""
    return [(name, lesson) for name in overlay_names(folder) for lesson in sorted(touched_lessons(Path(folder) / name))]


def graded_lessons(changed) -> tuple:
    """The lessons whose grades a change to the lessons `changed` can alter: those, and lesson 5 where lesson 3 or
    4 changed (train_mnist runs the student's own lessons 3 and 4). The others are the reference's own files."""
    changed = set(changed)
    return tuple(sorted(changed | ({5} if changed & {3, 4} else set())))


def grade_changed_lessons(entries: dict, work: Path) -> dict:
    """Grade each submission only in the lessons its overlay can change (`graded_lessons`), in one batch per set of
    lessons. `entries`: {submission name: (overlay folder, the overlay's lessons to apply, or None for all)}.
    Returns {submission name: results.json}; the lessons left out are the reference's, graded elsewhere."""
    graded = {name: graded_lessons(touched_lessons(folder) if only is None else only)
              for name, (folder, only) in entries.items()}
    results = {}
    for lessons in sorted(set(graded.values())):
        batch = Path(work) / "-".join(map(str, lessons))
        names = [name for name in entries if graded[name] == lessons]
        for name in names:
            folder, only = entries[name]
            build(folder, batch / "submissions" / name, lessons=only)
        found = grade_batch(batch / "submissions", batch / "out", "--workers", "2", "--lessons", *map(str, lessons))
        results.update({name: found.get(name) for name in names})
    return results


def grade_overlays(folder: Path, names, work: Path, *options: str) -> dict:
    """Build the overlays `names` of `folder` under `work` and grade them in one batch; {name: results.json}."""
    submissions = Path(work) / "submissions"
    for name in names:
        build(Path(folder) / name, submissions / name)
    return grade_batch(submissions, Path(work) / "out", "--workers", "2", *options)


def grade_batch(submissions: Path, out: Path, *options: str, timeout: float = 1800) -> dict:
    """`python -m autograder batch submissions --out out *options`; {name: results.json as a dict}."""
    command = [sys.executable, "-m", "autograder", "batch", str(submissions), "--out", str(out), "--quiet", *options]
    done = subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, "PYTHONHASHSEED": "0"})
    if done.returncode not in (0, 1):
        raise RuntimeError(f"{' '.join(command)} exited {done.returncode}:\n{done.stdout}\n{done.stderr}")
    return {folder.name: json.loads((folder / "results.json").read_text(encoding="utf-8"))
            for folder in Path(out).iterdir() if (folder / "results.json").is_file()}
