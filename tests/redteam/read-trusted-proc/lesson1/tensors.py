# APPEND
# Red team: read the command line, environment and folder of every process it can see (/proc/1 is bubblewrap's)
# and print them, so they land in the results: the trusted side's run folders, test names and secrets must not.
# 红队：读取能看到的每个进程的命令行、环境变量和工作目录并打印出来；评分方的路径、测试名和机密不得出现。
import os as _os


def _read(path):
    try:
        with open(path, "rb") as file:
            return file.read().replace(b"\0", b" ").decode("utf-8", "replace").strip()
    except OSError as error:
        return f"<{type(error).__name__}>"


def _seen():
    lines = []
    for pid in sorted((p for p in _os.listdir("/proc") if p.isdigit()), key=int)[:8]:
        environ = _read(f"/proc/{pid}/environ")
        names = sorted({item.split("=", 1)[0] for item in environ.split(" ") if "=" in item})
        try:
            cwd = _os.readlink(f"/proc/{pid}/cwd")
        except OSError as error:
            cwd = f"<{type(error).__name__}>"
        lines.append(f"redteam-proc pid {pid} cwd {cwd} cmdline {_read(f'/proc/{pid}/cmdline')[:400]}")
        lines.append(f"redteam-proc pid {pid} environ names {' '.join(names)[:400]}")
        lines += [f"redteam-proc pid {pid} environ {item[:200]}" for item in environ.split(" ")
                  if item.startswith(("PYTEST_CURRENT_TEST=", "REDTEAM_CANARY="))]
    return "\n".join(lines)


print(_seen(), flush=True)
