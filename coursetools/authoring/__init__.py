"""Authoring: `python -m coursetools generate` and what only it uses (stubs, public tests, notebooks, hints).

编写课程：`python -m coursetools generate` 以及只有它用到的代码（存根、公开测试、笔记本、提示）。

May import the shared base (coursetools, .lessons, .text, .regions, .hints, .exercises, .nbfiles); never the
kernel side, the student command or the checks.
"""
