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


def wait_for_change(exercises: Path, lessons: list, interval: float, before: dict = None) -> tuple:
    """Poll until a .py file of `lessons` is saved, added or removed since `before` (default: now);
    return (lesson, path)."""
    before = snapshot(exercises, lessons) if before is None else before
    while True:
        time.sleep(interval)
        now = snapshot(exercises, lessons)
        changed = [p for p in set(before) | set(now) if before.get(p) != now.get(p)]
        if changed:
            path = min(changed, key=lambda p: p.parent.name)
            return int(path.parent.name[len("lesson"):]), path
