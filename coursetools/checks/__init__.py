"""Checks: what runs beside student code (the pytest plugin, feedback, diagnoses, oracles, MNIST helpers).

检查：在学生代码旁边运行的部分（pytest 插件、反馈、诊断、参考计算、MNIST 辅助函数）。

Used by the graders (autograder/lessonN), the public tests, the notebook kernel and the engine's lesson
processes. May import the shared base and the boundary (coursetools/boundary, coursetools/sandbox).
"""
