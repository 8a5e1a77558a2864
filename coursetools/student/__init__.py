"""The student's command, `course` (status, check, watch, hint), and the student's JupyterLab launcher.

学生命令 `course`（status、check、watch、hint）以及学生版 JupyterLab 启动器。

May import the shared base and the checks; never authoring, the kernel side or the engine.
"""
