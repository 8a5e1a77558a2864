"""JupyterLab for a student: nbgrader's student tools only (`python -m coursetools.student.jupyter`).

给学生用的 JupyterLab：只保留 nbgrader 的学生工具（`python -m coursetools.student.jupyter`）。

Installing the course installs nbgrader, and nbgrader turns on all of its JupyterLab parts:
the instructor's (Formgrader, Create Assignment, Course List) with the student's (Assignment
List, Validate). As nbgrader's installation guide says, each part is switched off on its own:
the lab extensions with `jupyter labextension disable` (and `lock`, so that JupyterLab's plugin
manager cannot turn them back on), the server extensions with `jupyter server extension disable`.

    python -m coursetools.student.jupyter                # a student's environment (this venv)
    python -m coursetools.student.jupyter --instructor   # back to nbgrader's default: everything on
    python -m coursetools.student.jupyter --user         # for this user only (JUPYTER_CONFIG_DIR); in a
                                                         # virtual environment Jupyter prefers the
                                                         # environment's settings: use the default there

`jupyter labextension list` then shows the instructor's plugins under "Disabled extensions", and
`jupyter server extension list` shows the formgrader and course list disabled.
"""
import argparse
import subprocess
import sys

#: nbgrader's JupyterLab plugins for the instructor (nbgrader 0.9's ids).
INSTRUCTOR_LAB = ("@jupyter/nbgrader:formgrader", "@jupyter/nbgrader:create-assignment",
                  "@jupyter/nbgrader:course-list")
#: nbgrader's server extensions for the instructor; assignment_list and validate_assignment stay on.
INSTRUCTOR_SERVER = ("nbgrader.server_extensions.formgrader", "nbgrader.server_extensions.course_list")
#: What a student keeps. / 学生保留的部分。
STUDENT_LAB = ("@jupyter/nbgrader:assignment-list", "@jupyter/nbgrader:validate-assignment",
               "@jupyter/nbgrader:menu")
STUDENT_SERVER = ("nbgrader.server_extensions.assignment_list", "nbgrader.server_extensions.validate_assignment")


def lab_commands(instructor: bool, level: str) -> list:
    """The `jupyter labextension` command lines (as lists) that set up the instructor's plugins."""
    jupyter = [sys.executable, "-m", "jupyter", "labextension"]
    if instructor:
        return [[*jupyter, "unlock", f"--level={level}", *INSTRUCTOR_LAB],
                [*jupyter, "enable", f"--level={level}", *INSTRUCTOR_LAB]]
    return [[*jupyter, "disable", f"--level={level}", *INSTRUCTOR_LAB],
            [*jupyter, "lock", f"--level={level}", *INSTRUCTOR_LAB]]


def set_server_extensions(instructor: bool, user: bool) -> None:
    """Enable or disable the instructor's server extensions at the user's or this environment's level.

    jupyter_server's own toggle (what `jupyter server extension disable --sys-prefix` writes); called
    directly because the command's `--user` form refuses an extension enabled at another level.
    """
    from jupyter_server.extension.serverextension import toggle_server_extension_python

    for name in INSTRUCTOR_SERVER:
        toggle_server_extension_python(name, enabled=instructor, user=user, sys_prefix=not user)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m coursetools.student.jupyter",
                                     description="Turn nbgrader's instructor tools off in JupyterLab (students) "
                                                 "or back on (--instructor).")
    parser.add_argument("--instructor", action="store_true", help="turn the instructor's tools back on")
    parser.add_argument("--user", action="store_true",
                        help="for this user only (JUPYTER_CONFIG_DIR) instead of this Python environment")
    args = parser.parse_args(argv)
    level = "user" if args.user else "sys_prefix"
    for command in lab_commands(args.instructor, level):
        run = subprocess.run(command, capture_output=True, text=True)
        if run.returncode != 0:
            print(f"error: {' '.join(command[2:])} failed:\n{run.stdout}{run.stderr}", file=sys.stderr)
            return 1
    set_server_extensions(args.instructor, args.user)
    where = "for this user" if args.user else f"in {sys.prefix}"
    where_zh = "（仅当前用户）" if args.user else f"（{sys.prefix}）"
    if args.instructor:
        print(f"nbgrader's instructor tools are on {where}: restart JupyterLab.\n"
              f"nbgrader 的教师工具已启用{where_zh}：请重启 JupyterLab。")
    else:
        print(f"JupyterLab shows nbgrader's student tools only {where} (Formgrader, Create Assignment and Course "
              f"List are off): restart JupyterLab.\n"
              f"JupyterLab 现在只显示 nbgrader 的学生工具{where_zh}（Formgrader、Create Assignment 和 Course List "
              f"已关闭）：请重启 JupyterLab。")
    return 0


if __name__ == "__main__":
    sys.exit(main())
