"""Notice when a lesson file is saved, by polling modification times (no extra dependency).

通过轮询修改时间发现课程文件被保存（不需要额外的依赖）。
"""
import time
from pathlib import Path


def snapshot(exercises: Path, lessons: list) -> dict:
    """{path: (modification time, size)} of the .py files of `lessons`."""
    found = {}
    for n in lessons:
        for path in (exercises / f"lesson{n}").glob("*.py"):
            try:
                stat = path.stat()
            except OSError:
                continue
            found[path] = (stat.st_mtime_ns, stat.st_size)
    return found


def changed(exercises: Path, lessons: list, before: dict):
    """(lesson, path) of a .py file of `lessons` saved, added or removed since `before`; None when none was."""
    now = snapshot(exercises, lessons)
    paths = [p for p in set(before) | set(now) if before.get(p) != now.get(p)]
    if not paths:
        return None
    path = min(paths, key=lambda p: (p.parent.name, p.name))
    return int(path.parent.name[len("lesson"):]), path


def wait_for_change(exercises: Path, lessons: list, interval: float, before: dict = None) -> tuple:
    """Poll until a .py file of `lessons` is saved, added or removed since `before` (default: now);
    return (lesson, path). A save made before this call but after `before` returns at once."""
    before = snapshot(exercises, lessons) if before is None else before
    while True:
        found = changed(exercises, lessons, before)
        if found:
            return found
        time.sleep(interval)
